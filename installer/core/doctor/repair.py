"""Repair (or add PyTorch to) an existing environment, with a way back on every way out.

Under the environment's lock: ask uv what the install will replace (--dry-run), copy exactly that into a
journaled backup, run the retargeted plan with the runner (the same steps, retries, events and verify
probe as a new install), and on a failed install, a failed verification, Ctrl-C or SIGTERM put the
backup back and prove it with `uv pip freeze`. A crash in between leaves the journal; `cleanup` restores.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer.core import locks, safepath
from installer.core.diagnose import Diagnosis
from installer.core.doctor import backup
from installer.core.doctor.inspect import EnvFacts
from installer.core.events import Event
from installer.core.journal import Journal, new_run_id, read_marker, write_marker
from installer.core.plan import Plan

EXIT_OK, EXIT_FAILED, EXIT_VERIFY_FAILED, EXIT_CANCELLED = 0, 1, 3, 130


@dataclass
class RepairResult:
    ok: bool
    exit_code: int
    message: str
    env: str
    restored: bool = False  # the environment was put back as it was
    problems: list[str] = field(default_factory=list)  # what the restore could not do
    freeze_before: str = ""
    freeze_after: str = ""
    verify: Any | None = None
    diagnoses: list[Diagnosis] = field(default_factory=list)
    log_path: str | None = None
    backup: str | None = None  # where the backup stays when the restore was incomplete
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        verify = self.verify.to_json() if self.verify is not None and hasattr(self.verify, "to_json") else None
        return {"ok": self.ok, "exit_code": self.exit_code, "message": self.message, "env": self.env,
                "restored": self.restored, "problems": self.problems, "verify": verify,
                "diagnoses": [d.to_json() for d in self.diagnoses], "log_path": self.log_path,
                "backup": self.backup, "seconds": round(self.seconds, 3),
                "freeze_before": self.freeze_before.splitlines(), "freeze_after": self.freeze_after.splitlines()}


class EnvRepair:
    """One repair of one environment. run() blocks; `cancel` (set by Ctrl-C, SIGTERM or the GUI) stops it and
    restores."""

    def __init__(self, facts: EnvFacts, plan: Plan, uv: str, on_event: Callable[[Event], None] | None = None,
                 on_note: Callable[[str], None] | None = None, cancel: threading.Event | None = None,
                 run_id: str | None = None) -> None:
        self.facts = facts
        self.plan = plan
        self.uv = uv
        self.on_event = on_event or (lambda _e: None)
        self.on_note = on_note or (lambda _t: None)
        self.cancel = cancel or threading.Event()
        self.run_id = run_id or new_run_id()
        self.env = safepath.canonical(facts.path)
        self.python = facts.python_executable

    def run(self) -> RepairResult:
        t0 = time.monotonic()
        with locks.hold(self.env, self.run_id):
            result = self._run_locked()
        result.seconds = time.monotonic() - t0
        return result

    def _result(self, ok: bool, code: int, message: str, **extra: Any) -> RepairResult:
        return RepairResult(ok=ok, exit_code=code, message=message, env=str(self.env), **extra)

    def _run_locked(self) -> RepairResult:
        folder = backup.backup_folder(self.run_id)
        summary = {"kind": "repair", "torch": self.plan.torch, "backend": self.plan.backend, "env": str(self.env)}
        journal = Journal.start(str(self.env), summary, run_id=self.run_id)
        journal.restore_from = str(folder)
        journal.save()  # journaled before the backup folder exists: a crash from here on is found by cleanup
        before = ""
        try:
            self.on_note(f"Listing the packages of {self.env}…")
            before = backup.freeze(self.uv, self.python)
            changes = backup.Changes()
            for step in self.plan.steps:
                if step.kind != "install":
                    continue
                self.on_note(f"Asking uv what “{step.name}” would change (dry run)…")
                found, output = backup.dry_run(step.argv)
                if found is None:
                    journal.finish()
                    from installer.core.diagnose import diagnose_text

                    return self._result(False, EXIT_FAILED, "The install cannot be resolved; nothing was changed.",
                                        diagnoses=diagnose_text(output), freeze_before=before, freeze_after=before)
                changes.removed += [r for r in found.removed if r not in changes.removed]
                changes.added += [a for a in found.added if a not in changes.added]
                if self.cancel.is_set():
                    break
            if self.cancel.is_set():
                journal.finish()
                return self._result(False, EXIT_CANCELLED, "Cancelled before anything was changed.",
                                    freeze_before=before, freeze_after=before)
            self.on_note("Saving what will be replaced: " + (", ".join(changes.removed) or "nothing (only additions)")
                         + f" → {folder}")
            backup.take(self.run_id, str(self.env), self.python, self.facts.site_packages, changes, before, folder)
            if self.cancel.is_set():
                return self._restore(journal, folder, EXIT_CANCELLED, "Cancelled", before)
            from installer.core.runner import Runner

            run = Runner(self.plan, self.on_event, cancel=self.cancel).run()
        except BaseException:
            self._restore(journal, folder, EXIT_FAILED, "Stopped", before)
            raise
        if run.ok:
            journal.finish()
            backup.discard(folder)
            self._update_marker()
            after = _safe_freeze(self.uv, self.python)
            return self._result(True, EXIT_OK, f"PyTorch {self.plan.torch} ({self.plan.backend}) is installed and "
                                f"verified in {self.env}.", freeze_before=before, freeze_after=after,
                                verify=run.verify, log_path=run.log_path)
        what = ("Cancelled" if run.cancelled else run.message.rstrip(".") or "The repair failed")
        result = self._restore(journal, folder, run.exit_code, what, before)
        result.verify, result.diagnoses, result.log_path = run.verify, run.diagnoses, run.log_path
        return result

    def _restore(self, journal: Journal, folder: Path, code: int, what: str, before: str) -> RepairResult:
        self.on_note(f"Putting {self.env} back as it was…")
        problems, after = backup.restore(folder, self.uv)
        if problems:
            # The journal and the backup stay: `torch-setup cleanup` (or Welcome) can try again.
            return self._result(False, code, f"{what}. The environment could not be fully restored: "
                                + "; ".join(problems) + f". The backup stays at {folder}.",
                                problems=problems, freeze_before=before, freeze_after=after or "", backup=str(folder))
        journal.finish()
        backup.discard(folder)
        return self._result(False, code, f"{what}. The environment was restored to exactly its previous packages.",
                            restored=True, freeze_before=before, freeze_after=after or before)

    def _update_marker(self) -> None:
        marker = read_marker(self.env)
        if marker is None:
            return
        summary = dict(marker.get("plan") or {})
        summary.update(torch=self.plan.torch, backend=self.plan.backend,
                       verified=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        try:
            write_marker(self.env, str(marker.get("run_id") or self.run_id), summary)
        except OSError:
            pass


def _safe_freeze(uv: str, python: str) -> str:
    try:
        return backup.freeze(uv, python)
    except backup.BackupError:
        return ""
