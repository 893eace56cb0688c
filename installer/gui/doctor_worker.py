"""The doctor's long jobs for the wizard: checking environments and repairing one, each a worker on a QThread.

Like the install worker, the repair's output goes into a LogBuffer that the page drains with a timer, and
cancel() sets the event the repair checks (it then stops the running program and restores the env).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from installer.gui.worker import LogBuffer


class DoctorCheckWorker(QObject):
    """Detect (unless the wizard already did), then find, inspect and judge the environments."""

    finished = Signal()
    succeeded = Signal(object, object)  # list[EnvVerdict], SystemReport
    failed = Signal(str)

    def __init__(self, paths: list[str], scan: bool, report: Any, detect_fn: Callable[..., Any],
                 torch_source: str = "pytorch") -> None:
        super().__init__()
        self._paths, self._scan, self._report, self._detect = paths, scan, report, detect_fn
        self._torch_source = torch_source

    def cancel(self) -> None:
        """Inspection has its own deadlines; it is left to end by itself."""

    @Slot()
    def run(self) -> None:
        try:
            from installer.core.catalog import Catalog
            from installer.core.doctor import RepairRequest, check_envs
            from installer.core.uvbin import uv_executable

            report = self._report if self._report is not None else self._detect(offline=True)
            verdicts = check_envs(self._paths, report, Catalog.load(), scan=self._scan, uv=uv_executable(),
                                  request=RepairRequest(torch_source=self._torch_source))
            self.succeeded.emit(verdicts, report)
        except Exception as exc:  # a bug must reach the page as a sentence, not kill the thread silently
            self.failed.emit(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
        finally:
            self.finished.emit()


class RepairWorker(QObject):
    """Repair (or upgrade, or add PyTorch to) one environment with the engine's EnvRepair."""

    finished = Signal()
    result = Signal(object)  # RepairResult
    failed = Signal(str)  # a one-sentence refusal (ChoiceError) or a bug

    def __init__(self, env: str, report: Any, torch_source: str = "pytorch", torch: str | None = None) -> None:
        super().__init__()
        self._env, self._report, self._torch_source, self._torch = env, report, torch_source, torch
        self._cancel = threading.Event()
        self.log = LogBuffer()

    def cancel(self) -> None:
        self._cancel.set()

    def _on_event(self, event: Any) -> None:
        text = getattr(event, "text", None)
        name = getattr(event, "name", None)
        if type(event).__name__ == "OutputLine" and text:
            self.log.append(text)
        elif type(event).__name__ == "StepStarted" and name:
            self.log.append(f"==> {name}")

    @Slot()
    def run(self) -> None:
        try:
            from installer.core.catalog import Catalog
            from installer.core.doctor.inspect import inspect_env
            from installer.core.doctor.planning import RepairRequest, plan_repair
            from installer.core.doctor.repair import EnvRepair
            from installer.core.journal import new_run_id
            from installer.core.plan import ChoiceError
            from installer.core.uvbin import uv_executable

            uv = uv_executable()
            run_id = new_run_id()
            facts = inspect_env(self._env, "given")
            try:
                plan = plan_repair(facts, self._report, Catalog.load(),
                                   RepairRequest(torch=self._torch, torch_source=self._torch_source), run_id, uv=uv)
                outcome = EnvRepair(facts, plan, uv, on_event=self._on_event, on_note=self.log.append,
                                    cancel=self._cancel, run_id=run_id).run()
            except ChoiceError as exc:
                self.failed.emit(str(exc))
                return
            self.result.emit(outcome)
        except Exception as exc:
            self.failed.emit(f"Torch Setup stopped on an internal error: {type(exc).__name__}: {exc}")
        finally:
            self.finished.emit()
