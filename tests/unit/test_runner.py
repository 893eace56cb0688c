"""The runner against real child processes: streaming, progress, failure, retries, cancel, 100 000 lines."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import psutil
import pytest
from test_runner_support import (
    FAIL,
    FLAKY,
    HANG_WITH_GRANDCHILD,
    MAKE_ENV,
    MANY_LINES,
    STREAMING,
    plan_for,
    step,
)

from installer.core import runner as runner_mod
from installer.core.events import (
    Event,
    OutputLine,
    PlanFinished,
    PlanStarted,
    Progress,
    StepFinished,
    StepStarted,
)
from installer.core.plan import Step
from installer.core.runner import Runner, install_signal_handlers, relocation_env


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, cls: type) -> list:
        return [e for e in self.events if isinstance(e, cls)]

    def lines(self, stream: str | None = None) -> list[str]:
        return [e.text for e in self.of(OutputLine) if stream is None or e.stream == stream]


def test_streams_stdout_and_stderr_with_progress(tmp_path: Path) -> None:
    env = tmp_path / "env"
    plan = plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv"),
                          step(tmp_path, "install", STREAMING, kind="install", progress="pip")])
    rec = Recorder()
    result = Runner(plan, rec).run()
    assert result.ok and result.exit_code == 0
    kinds = [type(e) for e in rec.events]
    assert kinds[0] is PlanStarted and kinds[-1] is PlanFinished
    assert [e.index for e in rec.of(StepStarted)] == [0, 1]
    assert all(e.ok for e in rec.of(StepFinished))
    out = rec.lines("stdout")
    assert [f"out {i}" for i in range(5)] == [t for t in out if t.startswith("out ")]
    assert [f"err {i}" for i in range(5)] == [t for t in rec.lines("stderr") if t.startswith("err ")]
    # each carriage-return frame of the bar is its own line
    bars = [t for t in out if "/2310.0 MB" in t]
    assert len(bars) == 4
    assert "café bytes: \ufffd\ufffd broken utf-8" in out  # undecodable bytes are replaced, not fatal
    progress = [p for p in rec.of(Progress) if p.index == 1]
    assert "torch 412/2310 MB" in [p.text for p in progress]
    overall = [p.overall for p in progress if p.overall is not None]
    assert overall == sorted(overall) and 0 < overall[0] < overall[-1] <= 1
    # the environment is marked as ours, and the log holds every line
    assert (env / ".torch-setup.json").is_file()
    log = Path(result.log_path).read_text(encoding="utf-8")
    assert "err 4" in log and "Successfully installed torch-2.13.0" in log and "exit 0" in log
    assert set(result.step_seconds) == {"make env", "install"}


def test_failure_exit_code_message_and_rollback(tmp_path: Path) -> None:
    env = tmp_path / "env"
    plan = plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv"),
                          step(tmp_path, "install torch", FAIL, kind="install")])
    rec = Recorder()
    result = Runner(plan, rec).run()
    assert not result.ok and result.exit_code == 1
    assert result.failed_step == "install torch"
    assert "exit code 7" in result.message
    finished = rec.of(PlanFinished)[0]
    assert finished.failed_step == "install torch" and not finished.ok
    assert rec.of(StepFinished)[-1].returncode == 7
    assert not env.exists(), "the environment this run made is removed"
    assert str(env) in finished.rolled_back
    assert "could not find a version" in Path(result.log_path).read_text(encoding="utf-8").lower()


def test_program_that_cannot_start_fails_cleanly(tmp_path: Path) -> None:
    plan = plan_for(tmp_path / "env", [Step("missing", [str(tmp_path / "no-such-program")])])
    result = Runner(plan, Recorder()).run()
    assert result.exit_code == 1 and "could not start" in result.message


def test_steps_after_a_failure_do_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "second-ran"
    plan = plan_for(tmp_path / "env", [
        step(tmp_path, "fails", FAIL),
        Step("second", [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]),
    ])
    rec = Recorder()
    Runner(plan, rec).run()
    assert not marker.exists()
    assert [e.name for e in rec.of(StepStarted)] == ["fails"]


def test_transient_network_failure_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Runner, "retry_delay", 0.05)
    state = tmp_path / "state"
    plan = plan_for(tmp_path / "env", [step(tmp_path, "install", FLAKY, str(state), kind="install", retries=2)])
    rec = Recorder()
    result = Runner(plan, rec).run()
    assert result.ok
    assert any("trying again" in t for t in rec.lines())
    assert len(rec.of(StepFinished)) == 1  # one step, two attempts


def test_no_retry_without_retries_or_for_a_real_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Runner, "retry_delay", 0.05)
    state = tmp_path / "state"
    result = Runner(plan_for(tmp_path / "e1", [step(tmp_path, "flaky", FLAKY, str(state))]), Recorder()).run()
    assert result.exit_code == 1
    rec = Recorder()
    result = Runner(plan_for(tmp_path / "e2", [step(tmp_path, "fails", FAIL, retries=3)]), rec).run()
    assert result.exit_code == 1 and not any("trying again" in t for t in rec.lines())


def _pids(pid_file: Path) -> list[int]:
    return [int(p) for p in pid_file.read_text().split()]


def test_cancel_kills_the_whole_tree_and_rolls_back(tmp_path: Path) -> None:
    env = tmp_path / "env"
    pid_file = tmp_path / "pids"
    cancel = threading.Event()

    def on_event(event: Event) -> None:
        rec(event)
        if isinstance(event, OutputLine) and event.text.startswith("Downloading torch"):
            alive_at_cancel.extend(pid for pid in _pids(pid_file) if psutil.pid_exists(pid))
            cancel.set()  # as the GUI's button or Ctrl-C would, while output is flowing

    rec = Recorder()
    alive_at_cancel: list[int] = []
    plan = plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv"),
                          step(tmp_path, "install", HANG_WITH_GRANDCHILD, str(pid_file), kind="install"),
                          Step("never", [sys.executable, "-c", "print('never')"])])
    result = Runner(plan, on_event, cancel=cancel).run()
    assert result.cancelled and result.exit_code == 130
    assert len(alive_at_cancel) == 2  # the child and its grandchild were running
    for pid in _pids(pid_file):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not env.exists()
    finished = rec.of(PlanFinished)[0]
    assert finished.cancelled and not finished.ok
    assert "never" not in [e.name for e in rec.of(StepStarted)]


def test_cancel_before_start_runs_nothing(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    rec = Recorder()
    result = Runner(plan_for(tmp_path / "env", [step(tmp_path, "s", FAIL)]), rec, cancel=cancel).run()
    assert result.exit_code == 130 and not rec.of(StepStarted)


def test_step_timeout_stops_the_tree(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    plan = plan_for(tmp_path / "env", [step(tmp_path, "hang", HANG_WITH_GRANDCHILD, str(pid_file), timeout=1.0)])
    result = Runner(plan, Recorder()).run()
    assert result.exit_code == 1 and "longer than 1 s" in result.message
    for pid in _pids(pid_file):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_hundred_thousand_lines(tmp_path: Path) -> None:
    count = 0
    last: list[str] = []

    def on_event(event: Event) -> None:
        nonlocal count
        if isinstance(event, OutputLine):
            count += 1
            last[:] = [event.text]

    plan = plan_for(tmp_path / "env", [step(tmp_path, "noisy", MANY_LINES, progress="ninja")])
    result = Runner(plan, on_event).run()
    assert result.ok
    assert count == 100_001
    assert last == ["[100/100] Building CXX object the-end.o"]
    with open(result.log_path, encoding="utf-8") as fh:
        assert sum(1 for line in fh if " | line " in line) == 100_000


def test_verify_step_without_verify_module_uses_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_mod, "_verify_report", lambda stdout, rc, expect: None)
    plan = plan_for(tmp_path / "env", [
        Step("verify", [sys.executable, "-c", "import sys; print('{}'); sys.exit(1)"], kind="verify")])
    result = Runner(plan, Recorder()).run()
    assert result.exit_code == 3 and not result.ok


def test_verify_report_decides_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeReport:
        def __init__(self, ok: bool) -> None:
            self.ok = ok

    seen: list[str] = []

    def fake_verify(stdout: str, rc: int | None, expect: str | None) -> FakeReport:
        seen.append(stdout)
        return FakeReport('"ok": true' in stdout)

    monkeypatch.setattr(runner_mod, "_verify_report", fake_verify)
    good = plan_for(tmp_path / "a", [Step("verify", [sys.executable, "-c", "print('{\"ok\": true}')"], kind="verify")])
    assert Runner(good, Recorder()).run().exit_code == 0
    assert seen == ['{"ok": true}']
    env = tmp_path / "b"
    bad = plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv"),
                         Step("verify", [sys.executable, "-c", "print('{\"ok\": false}')"], kind="verify")])
    result = Runner(bad, Recorder()).run()
    assert result.exit_code == 3 and result.failed_step == "verify"
    assert env.is_dir(), "an installed environment that fails verification is kept for diagnosis"


def test_credentials_are_redacted_in_events_and_log(tmp_path: Path) -> None:
    secret_url = "https://user:s3cret@mirror.example.invalid/simple"
    plan = plan_for(tmp_path / "env", [Step("echo", [sys.executable, "-c", "import sys; print(sys.argv[1])",
                                                     secret_url])])
    rec = Recorder()
    result = Runner(plan, rec).run()
    assert result.ok
    assert all("s3cret" not in " ".join(e.argv) for e in rec.of(StepStarted))
    assert "https://user:***@mirror.example.invalid/simple" in rec.lines("stdout")
    assert "s3cret" not in Path(result.log_path).read_text(encoding="utf-8")


def test_logs_rotate_to_twenty(tmp_path: Path, torch_setup_home: Path) -> None:
    for _ in range(23):
        Runner(plan_for(tmp_path / "env", [Step("ok", [sys.executable, "-c", "pass"])]), Recorder()).run()
    assert len(list((torch_setup_home / "logs").glob("install-*.log"))) == 20


def test_child_sees_clean_environment_and_step_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    code = "import os; print(os.environ.get('PYTHONPATH'), os.environ['PYTHONUNBUFFERED'], os.environ['EXTRA'])"
    rec = Recorder()
    Runner(plan_for(tmp_path / "env", [Step("env", [sys.executable, "-c", code], env={"EXTRA": "yes"},
                                            cwd=str(tmp_path))]), rec).run()
    assert "None 1 yes" in rec.lines("stdout")


def test_relocation_when_temp_and_cache_are_short(tmp_path: Path) -> None:
    plan = plan_for(tmp_path / "envs" / "torch", [], download_mib=200)
    plan.engine = "uv"
    target = tmp_path.resolve()

    def free(path: Path) -> int:
        return 10**12 if str(path.resolve()).startswith(str(target)) else 100 * 1024 * 1024

    extra, folders = relocation_env(plan, "run1", disk_free=free)
    assert extra["TMPDIR"] == extra["TEMP"] == extra["TMP"] == str(tmp_path / ".torch-setup-tmp-run1")
    assert extra["UV_CACHE_DIR"].startswith(str(tmp_path / ".torch-setup-cache-run1"))
    assert len(folders) == 2
    assert relocation_env(plan, "run1", disk_free=lambda p: 10**12) == ({}, [])


def test_scratch_folders_are_made_and_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / "env"
    monkeypatch.setattr(runner_mod, "relocation_env",
                        lambda plan, run_id: ({"TMPDIR": str(tmp_path / f"scratch-{run_id}")},
                                              [tmp_path / f"scratch-{run_id}"]))
    rec = Recorder()
    code = "import os, tempfile; print('tmp=' + tempfile.gettempdir())"
    result = Runner(plan_for(env, [Step("t", [sys.executable, "-c", code])]), rec).run()
    assert result.ok
    used = next(t for t in rec.lines("stdout") if t.startswith("tmp="))[4:]
    assert Path(used).name.startswith("scratch-")
    assert not Path(used).exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_signal_handlers_set_cancel_and_restore() -> None:
    import signal

    before = signal.getsignal(signal.SIGTERM)
    cancel = threading.Event()
    with install_signal_handlers(cancel) as handlers:
        os.kill(os.getpid(), signal.SIGTERM)
        assert cancel.wait(5)
        assert handlers.received == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is before


def test_failure_carries_a_diagnosis(tmp_path: Path) -> None:
    pytest.importorskip("installer.core.diagnose")
    rec = Recorder()
    result = Runner(plan_for(tmp_path / "env", [step(tmp_path, "install", FAIL, kind="install")]), rec).run()
    assert result.exit_code == 1
    assert result.diagnoses and result.diagnoses[0].category == "no-matching-wheel"
    assert rec.of(PlanFinished)[0].diagnoses[0]["category"] == "no-matching-wheel"
