"""`torch-setup doctor` and `envs` on real environments: found, judged, repaired, restored.

The envs are real venvs with the real torch 2.13.0 CPU wheel; the other torch builds are STAND-IN wheels
built by tests/doctor_standins.py (they say so in their code): a torch that fails to import (to make the
verification fail) and a torchvision that pins another torch.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from installer.core.catalog import Catalog
from installer.core.doctor.inspect import inspect_env
from installer.core.doctor.planning import RepairRequest, plan_repair
from installer.core.report import SystemReport
from tests.doctor_standins import standin_pinning_package, standin_torch, standin_torchvision
from tests.e2e.cli_run import REPO, cli_env
from tests.torch_env import make_env, uv_bin

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")]
REPORTS = REPO / "tests" / "fixtures" / "reports"


def cli(tmp: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "installer", *args], cwd=REPO, env=cli_env(tmp),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def freeze(python: Path | str) -> str:
    return subprocess.run([uv_bin(), "pip", "freeze", "--python", str(python)], capture_output=True, text=True,
                          check=True).stdout


def pip_install(python: Path, *args: str) -> None:
    subprocess.run([uv_bin(), "pip", "install", "-q", "--python", str(python), *args], check=True,
                   capture_output=True, timeout=600)


def install_standins(python: Path, *wheels: Path) -> None:
    """By name from the folder (not by file), so `uv pip freeze` lists them as name==version."""
    specs = ["==".join(w.name.split("-")[:2]) for w in wheels]
    pip_install(python, "--no-deps", "--no-index", "--find-links", str(wheels[0].parent), *specs)


def by_env(data: dict, env: Path) -> dict:
    found = [e for e in data["environments"] if Path(e["env"]) == env]
    assert found, f"{env} not in {[e['env'] for e in data['environments']]}"
    return found[0]


@pytest.fixture(scope="module")
def envs(tmp_path_factory: pytest.TempPathFactory, python311: str, wheels: str) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("doctor-envs")
    cpu = make_env(root, "cpu-env", with_torch=True)
    mismatch = make_env(root, "mismatch-env", with_torch=True)
    standin_torchvision(root / "standin-wheels", "0.99.0", torch_pin="2.12.0")
    install_standins(mismatch, next((root / "standin-wheels").glob("torchvision-*.whl")))
    project = root / "project"
    project.mkdir()
    make_env(project, ".venv", with_torch=False)
    broken = root / "broken-env"
    make_env(root, "broken-env", with_torch=False)
    (broken / "bin" / "python").unlink()
    (broken / "bin" / "python").symlink_to(root / "a-python-that-was-uninstalled")
    return {"cpu": cpu.parent.parent, "mismatch": mismatch.parent.parent, "project": project,
            "empty": project / ".venv", "broken": broken}


def test_doctor_judges_real_envs_on_this_machine(tmp_path: Path, envs: dict[str, Path]) -> None:
    done = cli(tmp_path, "doctor", "--json", "--no-scan", *(str(envs[k]) for k in ("cpu", "mismatch", "project",
                                                                                   "broken")))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    cpu = by_env(data, envs["cpu"])
    assert cpu["torch"] == "2.13.0+cpu" and cpu["build"] == "cpu"
    if not data["machine"]["gpus"]:
        assert [f["code"] for f in cpu["findings"]] == ["works"] and cpu["status"] == "ok"
    mismatch = by_env(data, envs["mismatch"])
    assert "family-mismatch" in [f["code"] for f in mismatch["findings"]]
    assert "torchvision 0.99.0 requires torch==2.12.0" in json.dumps(mismatch["findings"])
    empty = by_env(data, envs["empty"])  # the project folder was given; its .venv is the environment
    assert [f["code"] for f in empty["findings"]] == ["no-torch"] and empty["planned_fix"]["torch"]
    broken = by_env(data, envs["broken"])
    assert broken["status"] == "fail" and broken["findings"][0]["code"] == "broken-interpreter"


@pytest.mark.parametrize("report", ["linux-rtx4090.json", "wsl-rtx3060.json", "linux-gtx1080-old-driver.json"])
def test_doctor_under_recorded_gpu_reports(tmp_path: Path, envs: dict[str, Path], report: str) -> None:
    done = cli(tmp_path, "doctor", "--json", "--no-scan", "--system", str(REPORTS / report), str(envs["cpu"]))
    assert done.returncode == 0, done.stderr
    verdict = by_env(json.loads(done.stdout), envs["cpu"])
    # The planner's own answer for this env's Python on that machine: the doctor must report that fix.
    system = SystemReport.load(REPORTS / report)
    plan = plan_repair(inspect_env(envs["cpu"]), system, Catalog.load(), RepairRequest(), "test-run-id")
    codes = [f["code"] for f in verdict["findings"]]
    if plan.backend.startswith("cu"):
        assert codes[0] == "cpu-only-on-gpu", verdict
        assert verdict["findings"][0]["text"] == "CPU-only build on a machine with a usable GPU"
        assert verdict["planned_fix"]["backend"] == plan.backend
        assert verdict["planned_fix"]["torch"] == plan.torch == "2.13.0"  # the installed release is kept
    else:  # the old driver runs no CUDA build PyTorch publishes: the CPU build is right there
        assert codes == ["works"], verdict
    if report == "linux-rtx4090.json":
        assert plan.backend == "cu126"


def test_repair_standin_env_to_real_torch(tmp_path: Path, python311: str, wheels: str) -> None:
    py = make_env(tmp_path, "env", with_torch=False)
    install_standins(py, standin_torch(tmp_path / "standin", "2.12.0+cpu", tag="py3-none-any"))
    assert "torch==2.12.0+cpu" in freeze(py)
    done = cli(tmp_path, "doctor", "--fix", str(py.parent.parent), "--torch-source", wheels, "--backend", "cpu",
               "--yes")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert inspect_env(py.parent.parent).torch == "2.13.0+cpu"
    assert "installed and verified" in done.stdout
    judged = cli(tmp_path, "doctor", "--json", "--no-scan", str(py.parent.parent))
    assert by_env(json.loads(judged.stdout), py.parent.parent)["torch"] == "2.13.0+cpu"
    assert not list((tmp_path / "torch-setup-home" / "state" / "runs").glob("*.json"))


def _stage_failing_repair(tmp_path: Path) -> tuple[Path, str, Path]:
    py = make_env(tmp_path, "env", with_torch=True)
    standin_torch(tmp_path / "standin", "2.13.1+cpu")  # newer than the real one: the planner picks it
    return py, freeze(py), tmp_path / "standin"


def test_failed_verification_restores_exact_packages(tmp_path: Path, python311: str, wheels: str) -> None:
    py, before, standin = _stage_failing_repair(tmp_path)
    torch_dir = py.parent.parent / "lib" / "python3.11" / "site-packages" / "torch"
    files_before = sorted(str(p.relative_to(torch_dir)) for p in torch_dir.rglob("*"))
    done = cli(tmp_path, "doctor", "--fix", str(py.parent.parent), "--torch-source", str(standin), "--backend", "cpu",
               "--yes")
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr
    assert "+ torch==2.13.1+cpu" in done.stdout  # the stand-in really was installed before the restore
    assert "restored to exactly its previous packages" in done.stderr
    assert freeze(py) == before
    assert sorted(str(p.relative_to(torch_dir)) for p in torch_dir.rglob("*")) == files_before
    assert subprocess.run([str(py), "-c", "import torch; assert torch.__version__ == '2.13.0+cpu'"]).returncode == 0
    home = tmp_path / "torch-setup-home" / "state"
    assert not list((home / "runs").glob("*.json")) and not list((home / "backups").glob("*"))


def _start_fix(tmp_path: Path, env: Path, source: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "installer", "doctor", "--fix", str(env), "--torch-source", source,
                             "--backend", "cpu", "--yes"], cwd=REPO, env=cli_env(tmp_path), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(proc: subprocess.Popen[str], text: str) -> str:
    seen = ""
    assert proc.stdout is not None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"never saw {text!r}:\n{seen[-3000:]}")


def test_ctrl_c_during_repair_restores(tmp_path: Path, python311: str, wheels: str) -> None:
    py = make_env(tmp_path, "env", with_torch=False)
    install_standins(py, standin_torch(tmp_path / "standin", "2.12.0+cpu", tag="py3-none-any"))
    before = freeze(py)
    proc = _start_fix(tmp_path, py.parent.parent, wheels)
    try:
        seen = _wait_for(proc, "==> Install PyTorch")
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (seen + rest)[-3000:]
    assert "restored to exactly its previous packages" in rest
    assert freeze(py) == before


def test_crash_mid_repair_is_restored_by_cleanup(tmp_path: Path, python311: str, wheels: str) -> None:
    py = make_env(tmp_path, "env", with_torch=False)
    install_standins(py, standin_torch(tmp_path / "standin", "2.12.0+cpu", tag="py3-none-any"))
    before = freeze(py)
    proc = _start_fix(tmp_path, py.parent.parent, wheels)
    try:
        _wait_for(proc, "==> Install PyTorch")
        os.killpg(proc.pid, signal.SIGKILL)  # a power cut: no handler runs
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    listed = cli(tmp_path, "cleanup")
    assert f"A repair of {py.parent.parent}" in listed.stdout, listed.stdout + listed.stderr
    done = cli(tmp_path, "cleanup", "--yes")
    assert done.returncode == 0 and "restored the packages" in done.stdout, done.stdout + done.stderr
    assert freeze(py) == before


def test_add_torch_to_empty_project_venv(tmp_path: Path, python311: str, wheels: str) -> None:
    project = tmp_path / "my-project"
    project.mkdir()
    py = make_env(project, ".venv", with_torch=False)
    done = cli(tmp_path, "doctor", "--fix", str(project), "--torch-source", wheels, "--backend", "cpu", "--yes")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "no PyTorch → torch 2.13.0 (cpu)" in done.stdout
    ran = subprocess.run([str(py), "-c", "import torch; print(torch.__version__, torch.ones(3).sum().item())"],
                         capture_output=True, text=True)
    assert ran.stdout.split() == ["2.13.0+cpu", "3.0"], ran.stderr


def test_pinned_package_is_named_and_needs_yes(tmp_path: Path, python311: str, wheels: str) -> None:
    py = make_env(tmp_path, "env", with_torch=False)
    install_standins(py, standin_torch(tmp_path / "standin", "2.12.0+cpu", tag="py3-none-any"),
                     standin_pinning_package(tmp_path / "standin", "xformers", "0.0.28", "2.12.0+cpu"))
    before = freeze(py)
    done = cli(tmp_path, "doctor", "--fix", str(py.parent.parent), "--torch-source", wheels, "--backend", "cpu")
    assert done.returncode == 2
    assert "xformers 0.0.28 requires torch==2.12.0+cpu; repairing will break it" in done.stderr
    assert "add --yes" in done.stderr.splitlines()[-1]
    assert freeze(py) == before


def test_fix_refuses_base_interpreter_and_missing_env(tmp_path: Path) -> None:
    assert cli(tmp_path, "doctor", "--fix", str(tmp_path / "nowhere"), "--yes").returncode == 2
    done = cli(tmp_path, "doctor", "--fix", sys.base_prefix, "--yes")
    assert done.returncode == 2 and "not an environment" in done.stderr and "Traceback" not in done.stderr


def test_envs_list_upgrade_remove(tmp_path: Path, python311: str, wheels: str) -> None:
    env = tmp_path / "torch-setup-home" / "envs" / "made"
    made = cli(tmp_path, "install", "--torch-source", wheels, "--python", python311, "--torch", "2.13.0",
               "--backend", "cpu", "--env", str(env), "--yes")
    assert made.returncode == 0, made.stderr[-2000:]
    listed = json.loads(cli(tmp_path, "envs", "list", "--json").stdout)["environments"]
    assert [(Path(e["env"]), e["torch"]) for e in listed] == [(env, "2.13.0+cpu")] and listed[0]["created"]
    # already the newest the folder has: nothing to do
    same = cli(tmp_path, "envs", "upgrade", str(env), "--torch-source", wheels, "--backend", "cpu", "--yes")
    assert same.returncode == 0 and "nothing to do" in same.stdout, same.stdout + same.stderr
    # a newer (STAND-IN) torch that fails verification: rolled back to exactly what it was
    before = freeze(env / "bin" / "python")
    standin_torch(tmp_path / "standin", "2.13.1+cpu")
    up = cli(tmp_path, "envs", "upgrade", str(env), "--torch-source", str(tmp_path / "standin"), "--backend", "cpu",
             "--yes")
    assert up.returncode == 3 and "restored" in up.stderr, up.stdout[-2000:] + up.stderr
    assert freeze(env / "bin" / "python") == before
    # remove: refuses a venv Torch Setup did not make, removes its own
    other = make_env(tmp_path, "not-ours", with_torch=False).parent.parent
    refused = cli(tmp_path, "envs", "remove", str(other), "--yes")
    assert refused.returncode == 2 and "no Torch Setup marker" in refused.stderr and other.exists()
    assert cli(tmp_path, "envs", "remove", str(env)).returncode == 2 and env.exists()  # no --yes, no tty
    gone = cli(tmp_path, "envs", "remove", str(env), "--yes")
    assert gone.returncode == 0 and not env.exists()
    assert json.loads(cli(tmp_path, "envs", "list", "--json").stdout)["environments"] == []


def test_home_scan_finds_virtualenvs(tmp_path: Path, python311: str) -> None:
    home = tmp_path / "home"
    make_env(home / ".virtualenvs", "notebook", with_torch=False)
    env = cli_env(tmp_path, {"HOME": str(home)})
    done = subprocess.run([sys.executable, "-m", "installer", "doctor", "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found = {Path(e["env"]): e["source"] for e in json.loads(done.stdout)["environments"]}
    assert found.get(home / ".virtualenvs" / "notebook") == "home"
    shutil.rmtree(home)
