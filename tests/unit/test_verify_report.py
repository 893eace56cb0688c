"""Reading the probe's output: JSON among noise, crashes by signal or NTSTATUS, no output at all; and the
probe's arch-list rule, loaded from resources/ the way the target interpreter runs it."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import pytest

from installer.core import paths
from installer.core.verify import MARKER, STEP_PREFIX, VerifyReport, crash_reason, report_from_output


def _probe_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_probe", paths.resource("verify_probe.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe = _probe_module()


def _json(**over: Any) -> str:
    data = {"ok": True, "torch": "2.13.0+cu126", "cuda": "12.6", "hip": None, "build": "cu126", "backend": "cu126",
            "expect": None, "python": "3.12.4", "available": {"cuda": True, "mps": False, "xpu": False},
            "arch_list": ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"],
            "devices": [{"index": 0, "kind": "cuda", "device": "cuda:0", "name": "NVIDIA GeForce RTX 3060",
                         "capability": "8.6", "memory_mib": 12288, "arch_ok": True, "kernel_ok": True,
                         "max_abs_diff": 1e-6, "some_future_key": 1}],
            "checks": [{"name": "import torch", "ok": True, "detail": "torch 2.13.0+cu126"},
                       {"name": "kernel cuda:0", "ok": True, "detail": "matches"}],
            "throughput_gflops": 9800.5, "packages": {"torchvision": {"installed": True, "version": "0.28.0+cu126",
                                                                      "ok": True, "detail": "ok"}},
            "error": None, "seconds": 6.2, "a_new_key": [1, 2]}
    data.update(over)
    return json.dumps(data)


def test_json_after_marker_is_found_among_noise() -> None:
    out = f"{STEP_PREFIX}import torch\nwarning: something {{braces}}\n\n{MARKER}\n{_json()}\ntrailing junk\n"
    r = report_from_output(out, 0, None)
    assert r.ok and r.torch == "2.13.0+cu126" and r.backend == "cu126"
    assert r.devices[0].capability == "8.6" and r.devices[0].kernel_ok
    assert r.packages["torchvision"].version == "0.28.0+cu126"
    assert r.last_step == "import torch"


def test_a_probe_without_expect_is_judged_by_the_parent() -> None:
    r = report_from_output(f"{MARKER}\n{_json()}", 0, "cu130")
    assert not r.ok
    assert r.expect == "cu130"
    assert "expected cu130" in r.failed_checks()[0].detail
    cpu = report_from_output(f"{MARKER}\n" + _json(cuda=None, build="cpu", backend="cpu", devices=[], torch="2.13.0+cpu"),
                             0, "cu126")
    assert not cpu.ok and "CPU-only build" in cpu.failed_checks()[0].detail


@pytest.mark.parametrize(("code", "name"), [
    (-4, "illegal instruction"), (132, "illegal instruction"), (0xC000001D, "illegal instruction"),
    (-1073741795, "illegal instruction"), (-11, "segmentation fault"), (0xC0000005, "access violation"),
    (-9, "killed (often: out of memory)"), (0xC0000135, "a DLL was not found (STATUS_DLL_NOT_FOUND)"),
])
def test_crash_codes_are_named(code: int, name: str) -> None:
    assert crash_reason(code) == name
    r = report_from_output(f"{STEP_PREFIX}import torch\n", code, "cpu")
    assert not r.ok and r.error and r.error.startswith(name)
    assert "while running 'import torch'" in r.error


def test_windows_illegal_instruction_shows_the_ntstatus() -> None:
    r = report_from_output(f"{STEP_PREFIX}cpu kernel\n", 3221225501, "cpu")
    assert "0xC000001D" in (r.error or "") and "cpu kernel" in (r.error or "")


def test_no_json_keeps_the_tail_of_the_output() -> None:
    out = "Traceback (most recent call last):\n  File \"x\"\nSyntaxError: invalid syntax\n"
    r = report_from_output(out, 1, "cpu")
    assert not r.ok
    assert r.error and r.error.startswith("the probe printed no result (exit code 1)")
    assert "SyntaxError: invalid syntax" in (r.output_tail or "")
    assert not crash_reason(1) and not crash_reason(0) and not crash_reason(None)


def test_crash_after_the_results_fails_verification() -> None:
    r = report_from_output(f"{MARKER}\n{_json()}\n", -11, None)
    assert not r.ok
    assert r.checks[-1].name == "clean exit" and "segmentation fault" in r.checks[-1].detail


def test_from_json_rejects_non_objects() -> None:
    with pytest.raises(ValueError):
        VerifyReport.from_json([1, 2])


# -- the arch-list rule ------------------------------------------------------------------------------

CU126 = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
CU130 = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"]


@pytest.mark.parametrize(("cap", "arch", "ok", "word"), [
    ("8.6", CU126, True, "in this build's arch list"),
    ("8.9", CU126, True, "runs sm_86 kernels"),  # Ada: same major, lower minor SASS
    ("6.1", CU126, True, "runs sm_60"),  # GTX 1080: Pascal SASS
    ("6.1", CU130, False, "no kernels for sm_61"),  # cu130 dropped Pascal
    ("12.0", CU126, False, "no kernels for sm_120"),  # Blackwell on cu126
    ("12.1", CU130, True, "runs sm_120"),
    ("13.0", CU130, True, "JIT-compile compute_120"),  # PTX runs on newer majors
    ("9.0", ["sm_80", "sm_90a"], True, "in this build"),
    ("9.1", ["sm_80", "sm_90a"], False, "no kernels"),  # 'a' kernels run only on exactly 9.0
    ("3.7", CU126, False, "no kernels for sm_37"),
])
def test_cuda_arch_compatibility(cap: str, arch: list[str], ok: bool, word: str) -> None:
    got, detail = probe.cuda_arch_compatible(cap, arch)
    assert got is ok
    assert word in detail


@pytest.mark.parametrize(("backend", "cuda"), [("cu126", "12.6"), ("cu130", "13.0"), ("cu118", "11.8"),
                                              ("cu92", "9.2"), ("cuda", None)])
def test_cuda_from_backend(backend: str, cuda: str | None) -> None:
    assert probe.cuda_from_backend(backend) == cuda
