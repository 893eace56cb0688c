"""Verification against real interpreters: the torch 2.13.0 CPU wheel, a venv without torch, a torch that
fails to load like the Windows DLL error does, and crashes. Every probe here is a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from installer.core import paths
from installer.core.diagnose import diagnose_facts, diagnose_text
from installer.core.report import GPUInfo, OSInfo, SystemReport
from installer.core.verify import MARKER, VerifyReport, probe_argv, report_from_output, verify_python
from tests.torch_env import TorchEnvUnavailable, ensure_torch_env, in_ci, make_env, python311

DLL_ERROR = ('[WinError 126] The specified module could not be found. Error loading '
             '"C:\\\\envs\\\\t\\\\Lib\\\\site-packages\\\\torch\\\\lib\\\\c10.dll" or one of its dependencies.')


def _need(exc: TorchEnvUnavailable) -> None:
    if in_ci():
        pytest.fail(f"CI must be able to build the torch environment: {exc}")
    pytest.skip(str(exc))


@pytest.fixture(scope="session")
def torch_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return ensure_torch_env(tmp_path_factory.mktemp("torch-env"))
    except TorchEnvUnavailable as exc:
        _need(exc)
        raise


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with no torch at all."""
    try:
        return make_env(tmp_path_factory.mktemp("bare-env"), "env", with_torch=False)
    except TorchEnvUnavailable as exc:
        _need(exc)
        raise


@pytest.fixture(scope="session")
def cpu_report(torch_python: Path) -> VerifyReport:
    return verify_python(str(torch_python), expect="cpu")


def _fake_package(root: Path, body: str) -> Path:
    """A folder with a 'torch' package whose __init__ runs `body`; put on PYTHONPATH of the child."""
    pkg = root / "torch"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(body, encoding="utf-8")
    return root


def _run_probe(python: str, args: list[str], pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    # Run directly, not through process.run_captured: its clean environment drops PYTHONPATH on purpose.
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([python, str(paths.resource("verify_probe.py")), *args], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=600)


def _install_fake_torch(python: Path, body: str) -> None:
    """Shadow torch in a venv: a torch/ package in its site-packages."""
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    _fake_package(Path(out.stdout.strip()), body)


# -- the real wheel --------------------------------------------------------------------------------


def test_cpu_wheel_verifies_ok_with_expect_cpu(cpu_report: VerifyReport) -> None:
    r = cpu_report
    assert r.ok, r.dumps()
    assert r.torch == "2.13.0+cpu"
    assert r.cuda is None and r.hip is None
    assert r.build == "cpu" and r.backend == "cpu" and r.expect == "cpu"
    assert r.python and r.python.startswith("3.11")
    assert r.devices == []
    names = [c.name for c in r.checks]
    assert names[:3] == ["python", "import torch", "cpu kernel"]
    assert "backend" in names
    assert r.throughput_gflops is not None and r.throughput_gflops > 0
    assert r.throughput_device == "cpu"
    assert r.packages["torchvision"].installed is False and r.packages["torchvision"].ok is None
    assert r.error is None and r.returncode == 0
    assert r.seconds is not None and r.seconds > 0
    assert "import torch" in r.step_seconds


def test_report_round_trips_through_json(cpu_report: VerifyReport) -> None:
    data = json.loads(json.dumps(cpu_report.to_json()))
    for key in ("ok", "torch", "cuda", "devices", "checks", "python", "hip", "expect", "backend",
                "throughput_gflops", "packages", "error", "seconds"):
        assert key in data
    assert all(set(c) >= {"name", "ok", "detail"} for c in data["checks"])
    again = VerifyReport.from_json(data)
    assert again == cpu_report


def test_cpu_build_fails_when_cuda_is_expected(torch_python: Path) -> None:
    r = verify_python(str(torch_python), expect="cu130")
    assert not r.ok
    backend = next(c for c in r.checks if c.name == "backend")
    assert not backend.ok
    assert "CUDA 13.0" in backend.detail and "CPU-only build" in backend.detail
    # the GPU machine this would run on: diagnosis names the cause, not a vague failure
    system = SystemReport(os=OSInfo("windows", "11", "x86_64"),
                          gpus=[GPUInfo("nvidia", "NVIDIA GeForce RTX 4070", compute_capability="8.9")],
                          nvidia_driver="572.60")
    diags = diagnose_facts(r, system)
    assert diags[0].category == "cpu-build-on-gpu"
    assert "RTX 4070" in diags[0].summary
    # and the failed check's text alone leads to the same category
    assert diagnose_text(backend.detail)[0].category == "cpu-build-on-gpu"


def test_required_package_missing_fails(torch_python: Path) -> None:
    r = verify_python(str(torch_python), expect="cpu", require=["torchvision"])
    assert not r.ok
    check = next(c for c in r.checks if c.name == "torchvision")
    assert not check.ok and "not installed" in check.detail


def test_probe_output_survives_stray_stdout(torch_python: Path, tmp_path: Path) -> None:
    """A sitecustomize that prints to stdout (as some distributions' do) cannot break the JSON."""
    fake = tmp_path / "site"
    fake.mkdir()
    (fake / "sitecustomize.py").write_text('print("hello from sitecustomize {not json")\n', encoding="utf-8")
    done = _run_probe(str(torch_python), ["--json", "--expect", "cpu", "--bench-seconds", "0"], fake)
    assert done.stdout.startswith("hello from sitecustomize")
    r = report_from_output(done.stdout, done.returncode, "cpu")
    assert r.ok, r.dumps()
    assert r.throughput_gflops is None  # --bench-seconds 0 skips the benchmark


# -- no torch, a torch that cannot load, crashes -------------------------------------------------


def test_venv_without_torch_reports_a_clear_error(bare_python: Path) -> None:
    r = verify_python(str(bare_python), expect="cpu")
    assert not r.ok
    assert r.torch is None
    assert r.error == "import torch failed: ModuleNotFoundError: No module named 'torch'"
    check = next(c for c in r.checks if c.name == "import torch")
    assert not check.ok


def test_windows_dll_error_is_reported_and_diagnosed(tmp_path: Path) -> None:
    env_root = tmp_path / "dll-env"
    py = make_env(env_root, "env", with_torch=False)
    _install_fake_torch(py, f"raise OSError({DLL_ERROR!r})\n")
    r = verify_python(str(py), expect="cpu")
    assert not r.ok
    assert r.error is not None and "OSError: [WinError 126]" in r.error and "c10.dll" in r.error
    assert r.returncode == 1  # a clean exit with a verdict, not a traceback
    diags = diagnose_facts(r, None)
    assert diags[0].category == "windows-dll-load"
    assert "Visual C++ Redistributable" in diags[0].fix
    assert "c10.dll" in (diags[0].evidence or "")


def test_torch_that_exits_during_import_still_gives_json(tmp_path: Path) -> None:
    py = make_env(tmp_path, "env", with_torch=False)
    _install_fake_torch(py, "import sys\nsys.exit('broken install')\n")
    r = verify_python(str(py))
    assert not r.ok and r.torch is None
    assert "SystemExit: broken install" in (r.error or "")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signal")
def test_illegal_instruction_crash_is_named(tmp_path: Path) -> None:
    """An illegal instruction cannot be caught in Python: the parent reads the signal and the last step."""
    py = make_env(tmp_path, "env", with_torch=False)
    _install_fake_torch(py, "import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    r = verify_python(str(py), expect="cpu")
    assert not r.ok
    assert r.returncode == -signal.SIGILL
    assert r.last_step == "import torch"
    assert r.error is not None and r.error.startswith("illegal instruction")
    assert diagnose_facts(r, None)[0].category == "illegal-instruction"


def test_timeout_is_an_error_not_a_hang(tmp_path: Path) -> None:
    py = make_env(tmp_path, "env", with_torch=False)
    _install_fake_torch(py, "import time\ntime.sleep(60)\n")
    started = time.monotonic()
    r = verify_python(str(py), timeout=3)
    assert time.monotonic() - started < 30
    assert not r.ok and "did not finish within 3 s" in (r.error or "")


def test_missing_interpreter(tmp_path: Path) -> None:
    r = verify_python(str(tmp_path / "no-python"))
    assert not r.ok and "not found" in (r.error or "")


def test_probe_runs_on_python_38_without_torch() -> None:
    """The probe is standalone and must run on any Python from 3.8 on."""
    import glob

    old = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))
    if not old:
        pytest.skip("no Python 3.8 here")
    done = _run_probe(old[-1], ["--json"])
    r = report_from_output(done.stdout, done.returncode, None)
    assert r.python and r.python.startswith("3.8")
    assert r.error == "import torch failed: ModuleNotFoundError: No module named 'torch'"


def test_probe_argv_uses_the_bundled_probe() -> None:
    argv = probe_argv("/env/bin/python", "cu126", ["torchvision"])
    assert argv[0] == "/env/bin/python"
    assert Path(argv[1]) == paths.resource("verify_probe.py") and Path(argv[1]).is_file()
    assert argv[2:] == ["--json", "--expect", "cu126", "--require", "torchvision"]
    assert probe_argv("py", None) == ["py", argv[1], "--json"]


def test_python311_helper_finds_an_interpreter() -> None:
    if python311() is None and not in_ci():
        pytest.skip("no Python 3.11")
    assert python311()


def test_marker_is_the_probes_marker() -> None:
    text = paths.resource("verify_probe.py").read_text(encoding="utf-8")
    assert f'MARKER = "{MARKER}"' in text


def test_throughput_is_a_median_of_warmed_up_runs(cpu_report: VerifyReport) -> None:
    # One cold run swung between 54 and 270 GFLOP/s; the figure is now the median of several after a warm-up.
    detail = cpu_report.throughput_detail or ""
    assert detail.startswith("median of "), detail
    runs = int(detail.split()[2])
    assert runs >= 5 and "after a warm-up" in detail
    low, high = (float(x) for x in detail.rsplit("; ", 1)[1].split()[0].split("-"))
    assert cpu_report.throughput_gflops is not None and low <= cpu_report.throughput_gflops <= high
