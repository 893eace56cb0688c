"""Install the real torch 2.13.0 CPU wheel into fresh environments with each engine, then verify it."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import psutil
import pytest
from conftest import env_python, make_plan

from installer.core import process
from installer.core.events import Event, OutputLine, PlanFinished, Progress, StepFinished
from installer.core.plan import ChoiceError
from installer.core.runner import Runner

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_install_and_verify(engine: str, tmp_path: Path, python311: str, wheels: str) -> None:
    env = tmp_path / f"torch-{engine}"
    plan = make_plan(engine, env, python311, wheels)
    events: list[Event] = []
    result = Runner(plan, events.append).run()
    tail = "\n".join(e.text for e in events if isinstance(e, OutputLine))[-3000:]
    assert result.exit_code == 0, f"{result.message}\n{tail}"
    assert result.ok and all(e.ok for e in events if isinstance(e, StepFinished))
    assert isinstance(events[-1], PlanFinished) and events[-1].ok
    out = subprocess.run([env_python(env), "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().startswith("2.13.0"), out.stderr
    if result.verify is not None:
        assert result.verify.ok
        assert result.verify.torch.startswith("2.13.0")
    assert any(isinstance(e, Progress) and e.fraction == 1.0 for e in events)
    assert (env / ".torch-setup.json").is_file()


def test_cancel_mid_install_leaves_nothing(tmp_path: Path, python311: str, wheels: str) -> None:
    env = tmp_path / "torch-cancel"
    plan = make_plan("pip", env, python311, wheels)
    cancel = threading.Event()
    children: list[int] = []

    def on_event(event: Event) -> None:
        # Cancel once pip is at work on the install step, as a person pressing Cancel would.
        if isinstance(event, OutputLine) and event.index == 1 and not cancel.is_set():
            me = psutil.Process()
            guard = process.watchdog_pid()  # Torch Setup's own watchdog lives as long as it does
            children.extend(p.pid for p in me.children(recursive=True) if p.pid != guard)
            cancel.set()

    result = Runner(plan, on_event, cancel=cancel).run()
    assert result.exit_code == 130 and result.cancelled
    assert children, "pip was running when Cancel was pressed"
    assert not env.exists()
    for pid in children:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_foreign_folder_is_refused_and_untouched(tmp_path: Path, python311: str, wheels: str) -> None:
    env = tmp_path / "project"
    env.mkdir()
    (env / "notes.txt").write_text("mine")
    plan = make_plan("uv", env, python311, wheels)
    with pytest.raises(ChoiceError, match="not made by Torch Setup"):
        Runner(plan, lambda e: None).run()
    assert [p.name for p in env.iterdir()] == ["notes.txt"]
    assert (env / "notes.txt").read_text() == "mine"
