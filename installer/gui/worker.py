"""Long jobs of the wizard (detection, installing, verifying), each a QObject worker on its own QThread.

The workers call the engine in installer.core and report back through signals only; the pages connect
those signals to their own bound slots, so every widget is touched on the GUI thread.
"""

from __future__ import annotations

import collections
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QThread, Signal, Slot

from installer.gui import signal_refs

# Every page and worker imports this module before it emits a signal: repair PySide6's lost references to
# True/False here, once, before the first emit (issue 8; signal_refs says why).
signal_refs.repair()

# How many log lines may wait for the GUI; beyond this the oldest are dropped from the window (never from the
# log file) so a 100 000-line pip log cannot grow memory or stall the event loop.
LOG_BUFFER_LINES = 20_000
# Progress events can arrive for every output line; the GUI needs at most ~20 per second.
PROGRESS_INTERVAL_S = 0.05


class LogBuffer:
    """Lines written by a worker thread and drained by a GUI timer, in batches."""

    def __init__(self, max_lines: int = LOG_BUFFER_LINES) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=max_lines)
        self._lock = threading.Lock()
        self._dropped = 0

    def append(self, line: str) -> None:
        with self._lock:
            if len(self._lines) == self._lines.maxlen:
                self._dropped += 1
            self._lines.append(line)

    def drain(self) -> tuple[list[str], int]:
        """Everything buffered so far, and how many older lines were dropped since the last drain."""
        with self._lock:
            lines = list(self._lines)
            self._lines.clear()
            dropped, self._dropped = self._dropped, 0
        return lines, dropped


class Job(QObject):
    """One worker on one QThread, wired the house way (STYLE rule 3); keeps both alive until the thread ends."""

    def __init__(self, worker: QObject) -> None:
        super().__init__()
        self.worker: Any = worker
        self.qthread: QThread | None = QThread()
        self.qthread.setObjectName(type(worker).__name__)
        worker.moveToThread(self.qthread)
        self.qthread.started.connect(worker.run)  # type: ignore[attr-defined]
        worker.finished.connect(self.qthread.quit)  # type: ignore[attr-defined]
        worker.finished.connect(worker.deleteLater)  # type: ignore[attr-defined]
        self._done = False
        # Job lives in the GUI thread, so this slot runs there (queued), after the thread has really ended.
        self.qthread.finished.connect(self._on_thread_finished)

    def start(self) -> None:
        assert self.qthread is not None
        self.qthread.start()

    @property
    def running(self) -> bool:
        return not self._done

    @Slot()
    def _on_thread_finished(self) -> None:
        self._done = True
        thread, self.qthread = self.qthread, None
        if thread is not None:
            thread.deleteLater()
        self.worker = None

    def stop(self, timeout_ms: int = 60_000) -> bool:
        """Ask the worker to cancel and wait for its thread, keeping the event loop alive meanwhile."""
        if not self.running:
            return True
        worker = self.worker
        if worker is not None and hasattr(worker, "cancel"):
            worker.cancel()
        return self.wait(timeout_ms)

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Wait for the thread while delivering events: the worker's last signals, its quit() and our slot
        are all queued to this (GUI) thread, so a blocking QThread.wait() alone would never return."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self.running and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            thread = self.qthread
            if thread is not None:
                thread.wait(20)
                if thread.isFinished():
                    QCoreApplication.processEvents()  # deliver finished -> _on_thread_finished
                    if self.qthread is thread:  # its slot did not run (no event loop here): tidy up ourselves
                        self._on_thread_finished()
        return not self.running


# -- detection -------------------------------------------------------------------------------------------


@dataclass
class DetectOutcome:
    report: Any  # SystemReport
    catalog: Any  # Catalog | None
    rows: list[Any]  # ChecklistRow
    seconds: float
    catalog_error: str | None = None


def _load_catalog() -> Any:
    from installer.core.catalog import Catalog

    return Catalog.load(refresh_timeout=None)


def _checklist(report: Any) -> list[Any]:
    from installer.core.checklist import checklist

    return checklist(report)


class DetectWorker(QObject):
    """Runs detect() (and loads the bundled catalog, which the next pages need) off the GUI thread."""

    finished = Signal()
    progress = Signal(str)
    succeeded = Signal(object)  # DetectOutcome
    failed = Signal(str)

    def __init__(self, detect_fn: Callable[..., Any], catalog: Any = None,
                 catalog_loader: Callable[[], Any] = _load_catalog, offline: bool = False) -> None:
        super().__init__()
        self._detect_fn = detect_fn
        self._catalog = catalog
        self._catalog_loader = catalog_loader
        self._offline = offline

    @Slot()
    def run(self) -> None:
        started = time.perf_counter()
        try:
            try:
                report = self._detect_fn(offline=self._offline, progress=self._report_progress)
            except TypeError:  # a recorded-report function that takes no keywords
                report = self._detect_fn()
            seconds = time.perf_counter() - started
            catalog, catalog_error = self._catalog, None
            if catalog is None:
                try:
                    catalog = self._catalog_loader()
                except Exception as exc:  # a broken install: say so on the page instead of crashing
                    catalog_error = f"The list of PyTorch releases could not be read: {exc}"
            try:
                rows = _checklist(report)
            except Exception:
                rows = []
            self.succeeded.emit(DetectOutcome(report, catalog, rows, seconds, catalog_error))
        except Exception as exc:
            self.failed.emit(f"Detection failed: {exc}\n\n{traceback.format_exc(limit=4)}")
        finally:
            self.finished.emit()

    def _report_progress(self, text: str) -> None:
        self.progress.emit(str(text))


# -- installing ------------------------------------------------------------------------------------------


def _runner_class() -> Any:
    from installer.core.runner import Runner

    return Runner


class InstallWorker(QObject):
    """Runs one Plan with core.runner.Runner. Output lines go to a LogBuffer; structure goes out as signals.

    Cancel is cooperative: cancel() sets the threading.Event the runner checks between steps and while
    reading output; the runner then ends the child process tree and rolls back what it created.
    """

    finished = Signal()
    runner_event = Signal(object)  # PlanStarted, StepStarted, StepFinished, PlanFinished, throttled Progress
    result = Signal(object)  # RunResult
    crashed = Signal(str)

    def __init__(self, plan: Any, runner_factory: Callable[..., Any] | None = None, force: bool = False,
                 log: LogBuffer | None = None) -> None:
        super().__init__()
        self._plan = plan
        self._runner_factory = runner_factory
        self._force = force
        self.log = log or LogBuffer()
        self._cancel = threading.Event()
        self._last_progress = 0.0
        self._last_progress_index = -1

    def cancel(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        try:
            factory = self._runner_factory or _runner_class()
            runner = factory(self._plan, self._on_event, cancel=self._cancel, force=self._force)
            outcome = runner.run()
            self.result.emit(outcome)
        except ValueError as exc:  # plan.ChoiceError from the runner's preflight: nothing was changed
            self.crashed.emit(f"{exc} Nothing was changed.")
        except Exception as exc:
            self.log.append(traceback.format_exc())
            self.crashed.emit(f"Torch Setup hit an internal error while installing: {exc}")
        finally:
            self.finished.emit()

    def _on_event(self, ev: Any) -> None:
        """Called by the runner on this worker's thread."""
        kind = getattr(ev, "type", "")
        if kind == "output":
            self.log.append(ev.text)
            return
        if kind == "progress":
            now = time.monotonic()
            new_step = ev.index != self._last_progress_index
            done = ev.fraction is not None and ev.fraction >= 1.0
            if not (new_step or done) and now - self._last_progress < PROGRESS_INTERVAL_S:
                return
            self._last_progress, self._last_progress_index = now, ev.index
        elif kind == "step-started":
            self.log.append("")
            self.log.append(f"▶ {ev.name}")
            argv = getattr(ev, "argv", None)
            if argv:
                self.log.append("  $ " + _display_argv(argv))
        elif kind == "step-finished":
            state = "done" if ev.ok else "FAILED"
            self.log.append(f"◀ {ev.name}: {state} in {ev.seconds:.1f} s")
        elif kind == "plan-finished" and getattr(ev, "message", ""):
            self.log.append("")
            self.log.append(ev.message)
        self.runner_event.emit(ev)


def _display_argv(argv: list[str]) -> str:
    import shlex

    return shlex.join(str(a) for a in argv)


# -- verifying -------------------------------------------------------------------------------------------


def _verify_fn() -> Callable[..., Any]:
    from installer.core.verify import verify_python

    return verify_python


class VerifyWorker(QObject):
    """Runs the verification probe inside the new environment."""

    finished = Signal()
    succeeded = Signal(object)  # VerifyReport
    failed = Signal(str)

    def __init__(self, python: str, expect: str | None, verify_fn: Callable[..., Any] | None = None) -> None:
        super().__init__()
        self._python = python
        self._expect = expect
        self._verify_fn = verify_fn

    def cancel(self) -> None:
        """The probe has its own timeout; nothing to interrupt cooperatively."""

    @Slot()
    def run(self) -> None:
        try:
            fn = self._verify_fn or _verify_fn()
            self.succeeded.emit(fn(self._python, self._expect))
        except Exception as exc:
            self.failed.emit(f"The verification could not run: {exc}")
        finally:
            self.finished.emit()


# -- leftovers of interrupted runs ------------------------------------------------------------------------


class CleanupWorker(QObject):
    """Removes what interrupted earlier runs left behind (only paths those runs recorded and marked)."""

    finished = Signal()
    done = Signal(list, list)  # removed paths, what was kept and why

    def __init__(self, runs: list[Any]) -> None:
        super().__init__()
        self._runs = runs

    def cancel(self) -> None:
        """Removing a folder cannot be interrupted halfway sensibly; it is quick, so it runs to its end."""

    @Slot()
    def run(self) -> None:
        from installer.core import journal

        removed: list[str] = []
        kept: list[str] = []
        try:
            for run in self._runs:
                removed.extend(journal.cleanup(run))
                kept.extend(run.kept)
        except OSError as exc:
            kept.append(f"cleanup stopped: {exc}")
        finally:
            self.done.emit(removed, kept)
            self.finished.emit()
