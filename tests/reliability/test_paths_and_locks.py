"""Nothing foreign is touched: `..` and links in paths, two runs at once, kill -9 and cleanup, forged journals.

Each test attacks the real CLI as a child process (`python -m installer`), with Torch Setup's state in a
private TORCH_SETUP_HOME. Installs use the real torch 2.13.0 CPU wheel and Python 3.11; a failing install is
made by asking for a package that no index has, so a step fails after the env exists.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.e2e.cli_run import REPO, cli_env
from tests.torch_env import in_ci, python311, wheel_folder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and links")


@pytest.fixture(scope="module")
def real() -> tuple[str, str]:
    py, wheels = python311(), wheel_folder()
    if not py or not wheels:
        if in_ci():
            pytest.fail("Python 3.11 and the torch wheel folder are required in CI")
        pytest.skip("needs Python 3.11 and the torch 2.13.0 wheel folder")
    return py, str(wheels)


def _argv(env: str, real: tuple[str, str], *extra: str) -> list[str]:
    py, wheels = real
    return [sys.executable, "-m", "installer", "install", "--yes", "--json-events", "--env", env,
            "--python", py, "--torch", "2.13.0", "--backend", "cpu", "--torch-source", wheels, *extra]


# A package no index has: torch installs, then the step for the other packages fails, after the env exists.
FAIL = ("--packages", "torch", "no-such-package-xyz")


def _failing_env(tmp_path: Path) -> dict[str, str]:
    """uv offline with an empty cache, so the failure comes fast and never from the network."""
    return cli_env(tmp_path, {"UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "empty-uv-cache"),
                              "TMPDIR": str(_tmp(tmp_path))})


def _tmp(tmp_path: Path) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir(exist_ok=True)
    return folder


def _run(argv: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def _user_files(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "thesis.tex").write_text("three years of work")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "results.csv").write_text("1,2,3")
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_dotdot_through_a_missing_folder_is_judged_on_the_real_target(tmp_path: Path, real: tuple[str, str]) -> None:
    parent = tmp_path / "parent"
    before = _user_files(parent / "v")
    done = _run(_argv(f"{parent}/missing/../v", real, *FAIL), _failing_env(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "was not made by Torch Setup" in done.stderr and "Traceback" not in done.stderr
    assert _snapshot(parent / "v") == before
    assert not (parent / "missing").exists(), "nothing may be created for a path that resolves elsewhere"


def test_failed_install_through_dotdot_removes_only_its_own_folder(tmp_path: Path, real: tuple[str, str]) -> None:
    parent = tmp_path / "parent"
    before = _user_files(parent / "v")
    done = _run(_argv(f"{parent}/missing/../new", real, *FAIL), _failing_env(tmp_path))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    assert _snapshot(parent / "v") == before
    assert not (parent / "missing").exists() and not (parent / "new").exists()
    assert sorted(p.name for p in parent.iterdir()) == ["v"]


def test_env_given_as_a_link_to_an_empty_folder(tmp_path: Path, real: tuple[str, str]) -> None:
    target = tmp_path / "big-disk" / "envs"
    target.mkdir(parents=True)
    link = tmp_path / "my-env"
    link.symlink_to(target)
    done = _run(_argv(str(link), real, *FAIL), _failing_env(tmp_path))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    assert link.is_symlink() and os.readlink(link) == str(target), "the user's link is left alone"
    assert target.is_dir() and list(target.iterdir()) == [], "the folder that was empty is empty again"


def test_rollback_removes_the_parent_folders_it_made_and_its_temp(tmp_path: Path, real: tuple[str, str]) -> None:
    env = tmp_path / "New Parent" / "deeper" / "env"
    done = _run(_argv(str(env), real, *FAIL), _failing_env(tmp_path))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    assert not (tmp_path / "New Parent").exists()
    assert list(_tmp(tmp_path).iterdir()) == [], "nothing left in the temp folder"
    assert not list((tmp_path / "torch-setup-home" / "state" / "runs").glob("*.json"))


def test_rollback_keeps_a_parent_folder_someone_else_filled(tmp_path: Path, real: tuple[str, str]) -> None:
    env = tmp_path / "made" / "env"
    proc = subprocess.Popen(_argv(str(env), real, *FAIL), cwd=REPO, env=_failing_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:  # as soon as the run has made the folder, the user saves a file into it
        if '"step-started"' in line:
            (tmp_path / "made" / "notes.txt").write_text("mine")
            break
    proc.communicate(timeout=900)
    assert proc.returncode == 1
    assert (tmp_path / "made" / "notes.txt").read_text() == "mine" and not env.exists()


def test_two_runs_into_one_env_at_once(tmp_path: Path, real: tuple[str, str]) -> None:
    env = tmp_path / "env"
    for round_ in range(2):
        extra = ("--force",) if round_ else ()
        environ = cli_env(tmp_path)
        procs = [subprocess.Popen(_argv(str(env), real, *extra), cwd=REPO, env=environ,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [p.communicate(timeout=900) for p in procs]
        results = [(p.returncode, err) for p, (_out, err) in zip(procs, outputs, strict=True)]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 2], results
        refused = next(err for code, err in results if code == 2)
        assert "is installing into" in refused and "Traceback" not in refused
        assert (env / "bin" / "python").exists()
        check = _run([str(env / "bin" / "python"), "-c", "import torch; print(torch.__version__)"], environ)
        assert check.stdout.strip().startswith("2.13.0")
        assert not list(tmp_path.glob("env.old-*")), "no quarantine is left behind"
        assert not list((tmp_path / "torch-setup-home" / "state" / "runs").glob("*.json")), "no phantom journal"


def _start_and_kill_during(tmp_path: Path, real: tuple[str, str], env: Path, step_name: str) -> list[int]:
    """Start an install, kill -9 it once `step_name` has started; returns the pids of its descendants then."""
    proc = subprocess.Popen(_argv(str(env), real), cwd=REPO, env=cli_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    descendants: list[int] = []
    for line in proc.stdout:
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("type") == "step-started" and event.get("name") == step_name:
            deadline = time.monotonic() + 10
            while not descendants and time.monotonic() < deadline:
                descendants = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    return descendants


def test_cleanup_after_kill9_never_deletes_a_venv_the_user_made_since(tmp_path: Path, real: tuple[str, str]) -> None:
    env = tmp_path / "env"
    _start_and_kill_during(tmp_path, real, env, "Create the environment")
    time.sleep(1)
    subprocess.run(["rm", "-rf", str(env)], check=True)
    subprocess.run([real[0], "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    (env / "my-notebook.ipynb").write_text("{}")
    done = _run([sys.executable, "-m", "installer", "cleanup", "--yes"], cli_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (env / "pyvenv.cfg").exists() and (env / "my-notebook.ipynb").exists()
    assert "left in place" in done.stdout + done.stderr


def test_kill9_then_cleanup_leaves_no_process_and_no_env(tmp_path: Path, real: tuple[str, str]) -> None:
    env = tmp_path / "env"
    descendants = _start_and_kill_during(tmp_path, real, env, "Install PyTorch")
    done = _run([sys.executable, "-m", "installer", "cleanup", "--yes"], cli_env(tmp_path))
    assert done.returncode == 0, done.stderr
    time.sleep(5)  # an orphaned uv would have recreated the env by now
    assert not env.exists(), done.stdout
    alive = [pid for pid in descendants if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], "no process of the killed run survives"
    assert not list((tmp_path / "torch-setup-home" / "state" / "runs").glob("*.json"))


def _forge(home: Path, name: str, data: object) -> Path:
    runs = home / "state" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / name
    path.write_text(json.dumps(data))
    return path


def test_forged_journals_delete_nothing_and_do_not_block_others(tmp_path: Path) -> None:
    home = tmp_path / "torch-setup-home"
    victim = tmp_path / "precious"
    before = _user_files(victim)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    base = {"pid": pid, "pid_started": 1.0, "started": time.time() - 60, "env": str(tmp_path / "env"),
            "summary": {}, "quarantined": []}
    _forge(home, ".json", {**base, "run_id": "", "created": [{"path": str(victim), "kind": "temp"}]})
    _forge(home, "bad-types.json", {**base, "run_id": "bad-types", "created": [{"path": 5, "kind": []}]})
    _forge(home, "outside.json", {**base, "run_id": "outside", "created": [{"path": str(victim), "kind": "temp"}]})
    _forge(home, "env-elsewhere.json", {**base, "run_id": "env-elsewhere",
                                        "created": [{"path": str(victim), "kind": "env"}]})
    # One genuine interrupted run: its leftover carries its marker and must still be cleaned.
    real_env = tmp_path / "env"
    real_env.mkdir()
    (real_env / ".torch-setup.json").write_text(json.dumps({"made_by": "torch-setup", "run_id": "genuine-run"}))
    _forge(home, "genuine-run.json", {**base, "run_id": "genuine-run",
                                      "created": [{"path": str(real_env), "kind": "env"}]})
    done = _run([sys.executable, "-m", "installer", "cleanup", "--yes"], cli_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert _snapshot(victim) == before
    assert not real_env.exists(), done.stdout
    assert "bad-types.json" in done.stdout + done.stderr, "a damaged journal is reported, not silently skipped"


def test_cancelled_pip_engine_run_leaves_nothing_in_temp(tmp_path: Path, real: tuple[str, str]) -> None:
    """pip's and ensurepip's scratch folders go into the run's own temp folder, which goes with the run."""
    env = tmp_path / "env"
    environ = cli_env(tmp_path, {"TMPDIR": str(_tmp(tmp_path))})
    proc = subprocess.Popen(_argv(str(env), real, "--engine", "pip"), cwd=REPO, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("type") == "output" and event.get("index") == 1:  # pip is working on the install
            proc.send_signal(signal.SIGINT)
            break
    proc.communicate(timeout=300)
    assert proc.returncode == 130
    assert not env.exists()
    assert list(_tmp(tmp_path).iterdir()) == [], [p.name for p in _tmp(tmp_path).iterdir()]


def test_a_dangling_link_or_a_file_on_the_way_is_refused(tmp_path: Path, real: tuple[str, str]) -> None:
    link = tmp_path / "usb-env"
    link.symlink_to(tmp_path / "media" / "usb" / "env")  # the drive is not mounted
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for target in (str(link), f"{blocker}/env"):
        done = _run(_argv(target, real), cli_env(tmp_path))
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "media").exists() and blocker.read_text() == "not a folder"
