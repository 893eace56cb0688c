"""Render every wizard page to DIR/NN-page.png for the README and for reviewing the look.

It walks the real wizard: this machine's real detection and a real (dry-run) plan. The Install and
Verify pages replay a recording of a real install (resources/gui/demo-run.json: the runner's events and
its VerifyReport) against the plan of this machine, because installing PyTorch for a screenshot would take
minutes and change the computer.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PAGE_FILES = ["01-welcome", "02-system", "03-method", "04-environment", "05-review", "06-install", "07-verify",
              "08-finish"]
EXTRA_FILES = {"advanced": "04b-environment-advanced", "details": "02b-system-details"}
WINDOW_SIZE = (860, 640)  # the wizard's default size
# The sets docs/screenshots/ keeps: (sub-folder, size, scheme, scale). The first, at the top, is the README's.
MATRIX = [
    ("", None, "light", 1.0),
    ("default-dark", None, "dark", 1.0),
    ("640x480-light", (640, 480), "light", 1.0),
    ("640x480-dark", (640, 480), "dark", 1.0),
    ("200-percent-light", None, "light", 2.0),
    ("200-percent-dark-640x480", (640, 480), "dark", 2.0),
]


def parse_size(text: str) -> tuple[int, int]:
    """ "640x480" → (640, 480); ValueError with one sentence otherwise."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"{text!r} is not a size: give it as WIDTHxHEIGHT, e.g. 640x480.") from None
    if width < 1 or height < 1:
        raise ValueError(f"{text!r} is not a size: both sides must be positive.")
    return width, height


def demo_recording() -> dict[str, Any]:
    from installer.core.paths import resource

    return dict(json.loads(resource("gui", "demo-run.json").read_text(encoding="utf-8")))


def record_demo_run(out: Path, python: str, wheels: str, work: Path) -> int:
    """Install the torch CPU wheel for real (pip method) and keep what the screenshots replay."""
    from installer.core.catalog import Catalog
    from installer.core.detect import detect
    from installer.core.plan import Choices
    from installer.core.planner import make_plan
    from installer.core.runner import Runner
    from installer.core.uvbin import uv_executable

    env = work / "pytorch"
    report = detect(offline=True, env_dir=str(work))
    choices = Choices(method="pip", torch="latest", backend="cpu", python=python, env=str(env), torch_source=wheels)
    plan = make_plan(report, choices, Catalog.load(), uv=uv_executable())
    steps: list[dict[str, Any]] = [{"name": s.name, "kind": s.kind, "output": [], "progress": []} for s in plan.steps]

    def on_event(ev: Any) -> None:
        if ev.type == "output" and len(steps[ev.index]["output"]) < 400:
            steps[ev.index]["output"].append(ev.text.replace(str(env), "{env}"))
        elif ev.type == "progress" and len(steps[ev.index]["progress"]) < 400:
            steps[ev.index]["progress"].append({"fraction": ev.fraction, "text": ev.text})
        elif ev.type == "step-finished":
            steps[ev.index]["seconds"] = round(ev.seconds, 2)

    result = Runner(plan, on_event).run()
    if not result.ok:
        print(result.message, file=sys.stderr)
        return 1
    for step in steps:  # keep a dozen progress points per step: enough to look real
        points = step["progress"]
        step["progress"] = points[:: max(1, len(points) // 12)] + points[-1:] if points else []
    data = {"recorded": "a real `pip` install of the torch CPU wheel by Torch Setup, replayed for screenshots",
            "log_name": Path(result.log_path).name, "steps": steps,
            "verify": _swap(result.verify.to_json(), str(env), "{env}") if result.verify is not None else None}
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def _swap(data: Any, old: str, new: str) -> Any:
    """Replace a path inside every string of a JSON-like structure."""
    if isinstance(data, str):
        return data.replace(old, new)
    if isinstance(data, list):
        return [_swap(v, old, new) for v in data]
    if isinstance(data, dict):
        return {k: _swap(v, old, new) for k, v in data.items()}
    return data


class ReplayRunner:
    """Plays a recorded run back through on_event with the Runner's interface (used for screenshots only)."""

    def __init__(self, plan: Any, on_event: Callable[[Any], None], cancel: threading.Event | None = None,
                 force: bool = False, recording: dict[str, Any] | None = None) -> None:
        self.plan = plan
        self.on_event = on_event
        self.cancel = cancel or threading.Event()
        self.recording = recording if recording is not None else demo_recording()

    def run(self) -> Any:
        from installer.core import events
        from installer.core.paths import log_dir
        from installer.core.runner import RunResult
        from installer.core.verify import VerifyReport

        rec = self.recording
        names = [s.name for s in self.plan.steps]
        recorded_steps: dict[str, dict[str, Any]] = {s["name"]: s for s in rec.get("steps", [])}
        recorded_by_kind: dict[str, dict[str, Any]] = {s.get("kind", ""): s for s in rec.get("steps", [])}
        log_path = str(log_dir() / rec.get("log_name", "install.log"))
        self.on_event(events.PlanStarted(steps=names, log_path=log_path))
        total = 0.0
        step_seconds: dict[str, float] = {}
        for index, step in enumerate(self.plan.steps):
            recorded = recorded_steps.get(step.name) or recorded_by_kind.get(step.kind) or {}
            self.on_event(events.StepStarted(index=index, name=step.name, argv=list(step.argv)))
            for line in recorded.get("output", []):
                self.on_event(events.OutputLine(index=index, text=line.replace("{env}", self.plan.env)))
            for progress in recorded.get("progress", []):
                self.on_event(events.Progress(index=index, fraction=progress.get("fraction"),
                                              text=progress.get("text", ""),
                                              overall=(index + (progress.get("fraction") or 0)) / len(names)))
            seconds = float(recorded.get("seconds", 0.5))
            step_seconds[step.name] = seconds
            total += seconds
            self.on_event(events.StepFinished(index=index, name=step.name, ok=True, seconds=seconds, returncode=0))
        self.on_event(events.PlanFinished(ok=True, seconds=total, message="PyTorch is installed and works.",
                                          log_path=log_path))
        verify = VerifyReport.from_json(_swap(rec["verify"], "{env}", self.plan.env)) if rec.get("verify") else None
        return RunResult(ok=True, cancelled=False, exit_code=0, verify=verify, diagnoses=[], log_path=log_path,
                         seconds=total, step_seconds=step_seconds)


def _wait(app: Any, done: Callable[[], bool], timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if done():
            return True
        time.sleep(0.01)
    return False


def _settle(app: Any, seconds: float = 0.2) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _scroll_to(page: Any, widget: Any) -> None:
    """Scroll the page so `widget` is at the top (None: back to the top)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QScrollArea

    area = page.findChild(QScrollArea)
    if area is None or area.widget() is None:
        return
    top = widget.mapTo(area.widget(), QPoint(0, 0)).y() if widget is not None else 0
    area.verticalScrollBar().setValue(top)


def render_all(out_dir: Path, size: tuple[int, int] | None = None, scheme: str | None = None,
               scale: float | None = None) -> int:
    """Walk the wizard page by page and save DIR/NN-page.png for each; returns 0 (1 when a page failed).

    size: the window in logical pixels (default: the wizard's default size); scheme: "light" or "dark"
    (default: the desktop's); scale: the screen scale, e.g. 2 for 200 % (only before the first window).
    """
    from installer.gui.app import display_available

    if not display_available():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if scale:
        os.environ["QT_SCALE_FACTOR"] = f"{scale:g}"  # read when the QApplication starts
    if scheme:
        os.environ["TORCH_SETUP_COLOR_SCHEME"] = scheme
    from installer.gui.app import _scratch_settings, make_application

    app = make_application(sys.argv[:1])
    from installer.gui.wizard import PageId, TorchSetupWizard

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recording = demo_recording()

    def replay_factory(plan: Any, on_event: Callable[[Any], None], cancel: threading.Event | None = None,
                       force: bool = False) -> ReplayRunner:
        return ReplayRunner(plan, on_event, cancel, force, recording=recording)

    wizard = TorchSetupWizard(settings=_scratch_settings(), runner_factory=replay_factory,
                              torch_source=os.environ.get("TORCH_SETUP_SCREENSHOT_SOURCE") or None)
    wizard.resize(*(size or WINDOW_SIZE))
    wizard.show()
    failures: list[str] = []
    written: list[str] = []

    def shoot(index: int | str, widget: Any = None) -> None:
        _settle(app)
        name = PAGE_FILES[index] if isinstance(index, int) else EXTRA_FILES[index]
        path = out_dir / f"{name}.png"
        if not (widget or wizard).grab().save(str(path)):
            failures.append(f"could not write {path}")
        written.append(str(path))

    shoot(0)
    wizard.next()
    system = wizard.page_of(PageId.SYSTEM)
    if not _wait(app, lambda: wizard.state.report is not None and not system.is_detecting()):
        failures.append("detection did not finish")
    shoot(1)
    system.show_details()
    if system._details is not None:
        system._details.resize(*(size or (720, 560)))
        shoot("details", system._details)
        system._details.close()
    for index, page_id in ((2, PageId.METHOD), (3, PageId.ENVIRONMENT), (4, PageId.REVIEW)):
        wizard.next()
        if wizard.currentId() != page_id:
            failures.append(f"could not reach {page_id.name}: {wizard.currentPage().title()}")
            break
        if page_id == PageId.ENVIRONMENT:
            env_page = wizard.page_of(PageId.ENVIRONMENT)
            _wait(app, env_page.isComplete, 5)
            env_page.advanced.set_expanded(True)
            _settle(app)
            _scroll_to(env_page, env_page.advanced)  # the picture is of the Advanced fields, not the top
            shoot("advanced")
            _scroll_to(env_page, None)
            env_page.advanced.set_expanded(False)
        shoot(index)
    if wizard.currentId() == PageId.REVIEW and wizard.currentPage().isComplete():
        wizard.next()
        install = wizard.page_of(PageId.INSTALL)
        if not _wait(app, lambda: wizard.state.result is not None and not install.is_running()):
            failures.append("the replayed install did not finish")
        install.log_section.set_expanded(True)
        shoot(5)
        wizard.next()
        verify = wizard.page_of(PageId.VERIFY)
        _wait(app, lambda: not verify.is_running())
        shoot(6)
        wizard.next()
        shoot(7)
    else:
        failures.append("the review page has no plan")
    wizard.stop_jobs()
    wizard.hide()
    for path in written:
        print(path)
    for failure in failures:
        print(f"screenshots: {failure}", file=sys.stderr)
    return 1 if failures else 0


def render_matrix(out_root: Path) -> int:
    """Every set of MATRIX, each in a fresh process (the scale is fixed when Qt starts); 0 when all worked."""
    import subprocess

    from installer.core.frozen import self_argv

    status = 0
    for folder, size, scheme, scale in MATRIX:
        argv = [*self_argv("installer.gui.screenshots"), str(Path(out_root) / folder),
                "--scheme", scheme, "--scale", f"{scale:g}"]
        if size:
            argv += ["--size", f"{size[0]}x{size[1]}"]
        status = subprocess.run(argv, check=False).returncode or status
    return status


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="record the run the screenshots replay, or render them")
    parser.add_argument("--record", metavar="JSON", help="install for real and write the recording here")
    parser.add_argument("--python", help="the base Python for --record")
    parser.add_argument("--wheels", help="a folder with the torch wheel for --record")
    parser.add_argument("--size", help="window size WIDTHxHEIGHT (default 860x640)")
    parser.add_argument("--scheme", choices=("light", "dark"), help="colour scheme (default: the desktop's)")
    parser.add_argument("--scale", type=float, help="screen scale, e.g. 1.5 or 2")
    parser.add_argument("--matrix", action="store_true", help="render every set docs/screenshots keeps into OUT")
    parser.add_argument("out", nargs="?", help="folder for the PNGs")
    ns = parser.parse_args()
    if ns.record:
        with tempfile.TemporaryDirectory() as work:
            sys.exit(record_demo_run(Path(ns.record), ns.python, ns.wheels, Path(work)))
    if ns.matrix:
        sys.exit(render_matrix(Path(ns.out or "docs/screenshots")))
    try:
        window = parse_size(ns.size) if ns.size else None
    except ValueError as exc:
        parser.error(str(exc))
    sys.exit(render_all(Path(ns.out or "screenshots"), size=window, scheme=ns.scheme, scale=ns.scale))
