"""The journal: a run killed outright (kill -9) is found at the next start, and its leftovers are cleaned."""

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
from test_runner_support import HANG_WITH_GRANDCHILD, MAKE_ENV, script

from installer.core.journal import (
    MARKER_NAME,
    Journal,
    atomic_write_json,
    cleanup,
    interrupted_runs,
    read_marker,
    runs_dir,
    write_marker,
)

REPO = Path(__file__).resolve().parents[2]

DRIVER = """
import sys
from installer.core.plan import Plan, Step
from installer.core.runner import Runner
env, make_env, hang, pids = sys.argv[1:5]
plan = Plan(method="pip", backend="cpu", torch="2.13.0", python="3.11", env=env, steps=[
    Step("make env", [sys.executable, make_env, env], kind="venv"),
    Step("install", [sys.executable, hang, pids], kind="install"),
])
Runner(plan, lambda event: None).run()
"""


def _wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")
def test_killed_run_is_found_and_cleaned(tmp_path: Path) -> None:
    env = tmp_path / "env"
    pids = tmp_path / "pids"
    driver = subprocess.Popen(
        [sys.executable, script(tmp_path, "driver", DRIVER), str(env), script(tmp_path, "make_env", MAKE_ENV),
         script(tmp_path, "hang", HANG_WITH_GRANDCHILD), str(pids)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        _wait_for(pids)
        assert interrupted_runs() == [], "a run that is still going is not 'interrupted'"
        driver.send_signal(signal.SIGKILL)  # no rollback can run: the journal is all that is left
        driver.wait(10)
    finally:
        for pid in [int(p) for p in pids.read_text().split()] if pids.exists() else []:
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass
        if driver.poll() is None:
            driver.kill()
    assert env.is_dir() and read_marker(env) is not None
    runs = interrupted_runs()
    assert len(runs) == 1
    run = runs[0]
    scratch = [p for p in run.leftovers if p != str(env)]
    assert str(env) in run.leftovers and len(scratch) == 1 and "torch-setup-" in scratch[0]
    assert str(env) in run.describe()
    done = cleanup(run)
    assert sorted(done) == sorted(run.leftovers) and run.kept == []
    assert not env.exists() and not Path(scratch[0]).exists()
    assert interrupted_runs() == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _fake_journal(tmp_path: Path, created: list[dict], quarantined: list[dict] | None = None) -> Journal:
    data = {"run_id": "20250101-000000-1-abcdef", "pid": _dead_pid(), "pid_started": 1.0,
            "started": time.time() - 60, "env": str(tmp_path / "env"), "summary": {},
            "created": created, "quarantined": quarantined or []}
    journal = Journal.from_json(data)
    journal.save()
    return journal


def test_cleanup_leaves_a_folder_nothing_shows_we_made(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.mkdir()
    (env / "thesis.tex").write_text("someone else's work")  # made after the crash by someone else
    _fake_journal(tmp_path, [{"path": str(env), "kind": "env", "existed": False}])
    [run] = interrupted_runs()
    done = cleanup(run)
    assert done == [] and "left in place" in run.kept[0]
    assert (env / "thesis.tex").read_text() == "someone else's work"
    assert Path(run.journal_path).exists(), "kept while something is unresolved"


def test_cleanup_keeps_an_unmarked_venv_even_when_newer_than_the_run(tmp_path: Path) -> None:
    # After a crash the user made their own venv at that path: a venv newer than the run is not proof.
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    _fake_journal(tmp_path, [{"path": str(env), "kind": "env", "existed": False}])
    [run] = interrupted_runs()
    done = cleanup(run)
    assert done == [] and "nothing proves" in run.kept[0] and (env / "pyvenv.cfg").exists()


def test_cleanup_removes_a_half_made_venv_that_carries_the_runs_creating_marker(tmp_path: Path) -> None:
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    write_marker(env, "20250101-000000-1-abcdef", {}, state="creating")  # the run died inside `uv venv`
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    _fake_journal(tmp_path, [{"path": str(env), "kind": "env", "existed": False}])
    [run] = interrupted_runs()
    done = cleanup(run)
    assert done == [str(env)] and run.kept == [] and not env.exists()


def test_cleanup_ignores_a_marker_of_another_run(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.mkdir()
    write_marker(env, "some-other-run", {})
    _fake_journal(tmp_path, [{"path": str(env), "kind": "env", "existed": False}])
    [run] = interrupted_runs()
    assert cleanup(run) == [] and env.is_dir()


def test_cleanup_puts_back_a_quarantined_env(tmp_path: Path) -> None:
    env = tmp_path / "env"
    moved = tmp_path / "env.old-20250101-000000"
    moved.mkdir()
    write_marker(moved, "older-run", {})
    (moved / "site.txt").write_text("old env")
    _fake_journal(tmp_path, [{"path": str(env), "kind": "env", "existed": False}],
                  [{"original": str(env), "moved_to": str(moved)}])
    [run] = interrupted_runs()
    assert run.quarantined and str(moved) in run.describe()
    assert cleanup(run) == [f"restored {env}"]
    assert run.kept == [] and (env / "site.txt").read_text() == "old env" and not moved.exists()


def test_damaged_journal_files_are_ignored(tmp_path: Path) -> None:
    runs_dir().mkdir(parents=True, exist_ok=True)
    (runs_dir() / "broken.json").write_text("{not json")
    (runs_dir() / "foreign.json").write_text(json.dumps({"hello": 1}))
    assert interrupted_runs() == []


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "j" / "run.json"
    for i in range(5):
        atomic_write_json(target, {"i": i})
    assert json.loads(target.read_text()) == {"i": 4}
    assert [p.name for p in target.parent.iterdir()] == ["run.json"]


def test_marker_of_a_checkout_goes_inside_git(tmp_path: Path) -> None:
    checkout = tmp_path / "pytorch"
    (checkout / ".git").mkdir(parents=True)
    write_marker(checkout, "run-1", {})
    assert (checkout / ".git" / MARKER_NAME).is_file() and not (checkout / MARKER_NAME).exists()
    assert read_marker(checkout)["run_id"] == "run-1"  # type: ignore[index]


def test_journal_records_before_and_finish_forgets(tmp_path: Path) -> None:
    journal = Journal.start(str(tmp_path / "env"), {"torch": "2.13.0"})
    journal.record_created(tmp_path / "env", "env")
    saved = json.loads(journal.path.read_text())
    assert saved["created"][0]["path"] == str(tmp_path / "env")
    assert saved["pid"] == os.getpid()
    journal.finish()
    assert not journal.path.exists()
