"""Signatures that no fixture log carries yet, one realistic line each (the messages as the tools print
them), and diagnosis from facts: a VerifyReport plus a SystemReport."""

from __future__ import annotations

import pytest

from installer.core.diagnose import diagnose_facts, diagnose_text
from installer.core.report import GPUInfo, OSInfo, SystemReport
from installer.core.verify import Check, DeviceReport, VerifyReport

SAMPLES = [
    ("ERROR: torch-2.13.0-cp314-cp314-win_amd64.whl is not a supported wheel on this platform.", "no-matching-wheel"),
    ("CUDA used to build PyTorch: None", "cpu-build-on-gpu"),
    ("expected a CUDA 13.0 build (cu130), but torch 2.13.0+cpu is a CPU-only build (torch.version.cuda is None)",
     "cpu-build-on-gpu"),
    ("RuntimeError: CUDA error: CUDA driver version is insufficient for CUDA runtime version", "driver-too-old"),
    ("cudaGetDeviceCount returned 35 (cudaErrorInsufficientDriver)", "driver-too-old"),
    ("CUDA_ERROR_SYSTEM_DRIVER_MISMATCH: system has unsupported display driver / cuda driver combination",
     "driver-too-old"),
    ("RuntimeError: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a driver",
     "driver-too-old"),
    ("Found GPU0 GeForce GTX 770 which is of cuda capability 3.0. PyTorch no longer supports this GPU because it is too old.",
     "gpu-arch-unsupported"),
    ("NVIDIA GeForce GTX 1080 (6.1): this build has no kernels for sm_61; it supports sm_75 sm_80", "gpu-arch-unsupported"),
    ("RuntimeError: HIP error: invalid device function", "gpu-arch-unsupported"),
    ("hipErrorNoBinaryForGpu: Unable to find code object for all current devices!", "gpu-arch-unsupported"),
    ("RuntimeError: CUDA error: invalid device function", "gpu-arch-unsupported"),
    ('OSError: [WinError 1114] A dynamic link library (DLL) initialization routine failed. '
     'Error loading "C:\\e\\torch\\lib\\c10.dll" or one of its dependencies.', "windows-dll-load"),
    ("ImportError: DLL load failed while importing _C: The specified module could not be found.", "windows-dll-load"),
    ("FileNotFoundError: Could not find module 'C:\\e\\torch\\lib\\torch_cpu.dll' (or one of its dependencies).",
     "windows-dll-load"),
    ("Process finished with exit code -1073741515 (0xC0000135)", "windows-dll-load"),
    ("The code execution cannot proceed because VCRUNTIME140_1.dll was not found.", "vc-runtime-missing"),
    ("The program can't start because MSVCP140.dll is missing from your computer.", "vc-runtime-missing"),
    ("Error loading \"C:\\e\\torch\\lib\\fbgemm.dll\": libomp140.x86_64.dll was not found", "vc-runtime-missing"),
    ("ImportError: /lib64/libc.so.6: version `GLIBC_2.28' not found (required by torch/lib/libtorch_cpu.so)",
     "abi-mismatch"),
    ("RuntimeError: Couldn't load custom C++ ops. This can happen if your PyTorch and torchvision versions are incompatible",
     "abi-mismatch"),
    ("RuntimeError: Detected that PyTorch and torchvision were compiled with different CUDA major versions.",
     "abi-mismatch"),
    ("ImportError: dlopen(_C.cpython-312-darwin.so, 0x0002): Symbol not found: __ZN3c1017RegisterOperatorsD1Ev",
     "abi-mismatch"),
    ("A module that was compiled using NumPy 1.x cannot be run in NumPy 2.0.0 as it may crash.", "abi-mismatch"),
    ("UserWarning: Failed to initialize NumPy: _ARRAY_API not found", "abi-mismatch"),
    ("OSError: [WinError 127] The specified procedure could not be found", "abi-mismatch"),
    ("npm ERR! code ENOSPC", "disk-full"),
    ("error: Failed to extract archive: No space left on device (os error 28)", "disk-full"),
    ("OSError: [WinError 112] There is not enough space on the disk", "disk-full"),
    ("OSError: [Errno 28] Nicht genügend Speicherplatz auf dem Datenträger", "disk-full"),
    ("OSError: [Errno 122] Disk quota exceeded", "disk-full"),
    ("Process finished with exit code -1073741795 (0xC000001D)", "illegal-instruction"),
    ("OSError: [Errno 36] File name too long: '/home/u/.cache/pip/...'", "long-path"),
    ("error: Hash mismatch for `torch==2.13.0`", "hash-mismatch"),
    ("Failed to establish a new connection: [Errno -3] Temporary failure in name resolution", "network"),
    ("urllib3.exceptions.ProxyError: ('Unable to connect to proxy', OSError('Tunnel connection failed: 407 "
     "Proxy Authentication Required'))", "network"),
    ("Caused by: HTTP status server error (503 Service Unavailable) for url (https://download.pytorch.org/whl/cu130/torch/)",
     "network"),
    ("PermissionError: [Errno 1] Operation not permitted (EPERM)", "permission-denied"),
    ("OSError: [WinError 32] The process cannot access the file because it is being used by another process",
     "permission-denied"),
]


@pytest.mark.parametrize(("text", "category"), SAMPLES, ids=[c + "-" + str(i) for i, (_, c) in enumerate(SAMPLES)])
def test_signature_sample(text: str, category: str) -> None:
    found = diagnose_text(text)
    assert found and found[0].category == category


def test_words_that_only_look_like_errors_do_not_match() -> None:
    benign = "\n".join([
        "Successfully installed torch-2.13.0+cpu typing-extensions-4.16.0",
        "UserWarning: Failed to initialize NumPy: No module named 'numpy'",
        "Requirement already satisfied: openssl-python in ./env (1.0)",
        "Using cached nvidia_cudnn_cu12-9.10.2.21-py3-none-manylinux_2_27_x86_64.whl (706.8 MB)",
        "torch.cuda.is_available() is False because this machine has no GPU; the CPU build was asked for",
        "Downloading torch (2.7GiB)",
    ])
    assert diagnose_text(benign) == []


# -- facts --------------------------------------------------------------------------------------------


def _system(name: str = "linux", driver: str | None = "550.54.14", cap: str | None = "8.6",
            gpu: str = "NVIDIA GeForce RTX 3060", cuda_driver: str | None = None) -> SystemReport:
    return SystemReport(os=OSInfo(name, "x", "x86_64"), nvidia_driver=driver, cuda_driver_version=cuda_driver,
                        gpus=[GPUInfo("nvidia", gpu, compute_capability=cap)])


def _verify(**over: object) -> VerifyReport:
    base = VerifyReport(ok=False, torch="2.13.0+cu130", cuda="13.0", build="cu130", backend="cpu",
                        available={"cuda": False, "mps": False, "xpu": False},
                        arch_list=["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"],
                        checks=[Check("backend", False, "torch 2.13.0+cu130 is a cu130 build but no CUDA device is available")])
    for key, value in over.items():
        setattr(base, key, value)
    return base


def test_cpu_build_with_an_nvidia_gpu() -> None:
    v = _verify(torch="2.13.0+cpu", cuda=None, build="cpu", arch_list=[], checks=[])
    d = diagnose_facts(v, _system())
    assert [x.category for x in d] == ["cpu-build-on-gpu"]
    assert "RTX 3060" in d[0].summary and "torch.version.cuda is None" in d[0].summary


def test_cpu_build_on_a_machine_without_gpu_is_fine() -> None:
    v = _verify(ok=True, torch="2.13.0+cpu", cuda=None, build="cpu", arch_list=[], checks=[Check("backend", True, "")])
    assert diagnose_facts(v, SystemReport(os=OSInfo("linux", "x", "x86_64"))) == []


def test_driver_too_old_for_cuda13_on_linux() -> None:
    d = diagnose_facts(_verify(), _system(driver="550.54.14"))
    assert d[0].category == "driver-too-old"
    assert "550.54.14" in d[0].summary and "580.65.06" in d[0].fix


def test_driver_new_enough_is_not_blamed() -> None:
    d = diagnose_facts(_verify(), _system(driver="580.95.05"))
    assert "driver-too-old" not in [x.category for x in d]


def test_driver_judged_from_cuda_version_when_number_unknown() -> None:
    d = diagnose_facts(_verify(), _system(driver=None, cuda_driver="12.4"))
    assert d[0].category == "driver-too-old"


def test_pascal_gpu_with_cu130_build_is_arch_unsupported() -> None:
    v = _verify(available={"cuda": True}, backend="cu130", checks=[])
    d = diagnose_facts(v, _system(cap="6.1", gpu="NVIDIA GeForce GTX 1080", driver="580.95.05"))
    assert d[0].category == "gpu-arch-unsupported"
    assert "GTX 1080" in d[0].summary and "6.1" in d[0].summary
    assert "cu126" in d[0].fix


def test_device_measured_without_kernels() -> None:
    dev = DeviceReport(0, "cuda", "cuda:0", "NVIDIA GeForce RTX 5090", "12.0", arch_ok=False, kernel_ok=False,
                       error="RuntimeError: CUDA error: no kernel image is available for execution on the device")
    v = _verify(torch="2.13.0+cu126", cuda="12.6", build="cu126", backend="cu126", available={"cuda": True},
                arch_list=["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"], devices=[dev],
                checks=[Check("kernel cuda:0", False, dev.error or "")])
    d = diagnose_facts(v, _system(cap="12.0", driver="580.95.05"))
    assert [x.category for x in d] == ["gpu-arch-unsupported"]  # text evidence of the same cause is not repeated
    assert "RTX 5090" in d[0].summary


def test_crash_text_is_diagnosed_without_a_system_report() -> None:
    v = VerifyReport(ok=False, error="illegal instruction: the probe crashed while running 'import torch' (exit code -4)")
    assert diagnose_facts(v, None)[0].category == "illegal-instruction"


def test_no_inputs() -> None:
    assert diagnose_facts(None, None) == []


def test_literal_prefilter_never_hides_a_match() -> None:
    """The substring shortcut must find exactly what a full regex scan finds, on every log and sample."""
    from installer.core.diagnose import _last_match, load_signatures
    from tests.conftest import FIXTURES

    texts = [p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "logs").glob("*.log"))]
    texts += [text for text, _ in SAMPLES]
    texts.append("\n".join(texts))
    for sig in load_signatures().signatures:
        for text in texts:
            full = None
            for full in sig.pattern.finditer(text):  # noqa: B007
                pass
            fast = _last_match(sig, text, text.lower())
            assert (full is None) == (fast is None), sig.pattern.pattern
            if full and fast:
                assert full.start() == fast.start(), sig.pattern.pattern


def test_required_literals() -> None:
    from installer.core.diagnose import required_literals

    assert required_literals(r"\[WinError 126\]") == ["[winerror 126]"]
    assert required_literals(r"version `?GLIBCXX_[\d.]+'? not found") == [" not found"]
    assert required_literals(r"No matching distribution found for (torch|torchvision)\b") == \
        ["no matching distribution found for "]
    assert required_literals(r"a|\d+") is None  # an alternative without a usable literal: scan everything
    assert required_literals(r"Read timed out|ReadTimeoutError") == ["read timed out", "readtimeouterror"]


# A truncated torch wheel, as real uv 0.13 printed it on the development machine: named as a file, and
# when a resolver met it among other candidates. Both are a damaged wheel, not "no matching wheel".
DAMAGED_WHEEL_UV = """\
error: Failed to read `torch @ file:///w/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl`
  cause: Failed to read metadata: /w/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
  cause: Failed to read from zip file
  cause: unable to locate the end of central directory record
"""
DAMAGED_WHEEL_UV_RESOLVING = """\
error: No solution found when resolving dependencies
  cause: Because torch==2.13.0+cpu has an invalid package format and there is no version of torch==2.13.0, we can conclude that all of:
hint: The structure of `torch` (v2.13.0+cpu) was invalid:
  Failed to read from zip file
"""


@pytest.mark.parametrize("text", [DAMAGED_WHEEL_UV, DAMAGED_WHEEL_UV_RESOLVING,
                                  "zipfile.BadZipFile: File is not a zip file"])
def test_a_damaged_wheel_is_named_as_such(text: str) -> None:
    first = diagnose_text(text)[0]
    assert first.category == "hash-mismatch"
    assert "damaged or incomplete" in first.summary and "complete copy" in first.fix
    if text is DAMAGED_WHEEL_UV:
        assert "/w/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl" in first.summary
