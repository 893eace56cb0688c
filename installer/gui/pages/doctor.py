"""The doctor's pages: "Check the PyTorch I already have" (every environment with ✓ ⚠ ✗, Repair) and
"Environments Torch Setup made" (list, upgrade, remove). Nothing changes before the user confirms.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from installer.core.checklist import MARKS

LOG_FLUSH_MS = 100


class _RepairPanel:
    """The shared part of both pages: a log fed in batches, a result line, and the repair job."""

    def __init__(self, page: Any, wizard: Any) -> None:
        self.page, self.wizard = page, wizard
        self.log = QPlainTextEdit(page)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(20_000)
        self.log.setAccessibleName("What the repair is doing")
        self.log.hide()
        self.result = QLabel(page)
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setAccessibleName("Result of the repair")
        self.worker: Any = None
        self.timer = QTimer(page)
        self.timer.setInterval(LOG_FLUSH_MS)
        self.timer.timeout.connect(page.flush_log)

    def start(self, env: str, torch: str | None = None) -> None:
        from installer.gui.doctor_worker import RepairWorker

        report = self.wizard.state.report
        worker = RepairWorker(env, report, torch_source=self.wizard.state.choices.torch_source, torch=torch)
        worker.result.connect(self.page.repair_done)
        worker.failed.connect(self.page.repair_failed)
        self.worker = worker
        self.log.clear()
        self.log.show()
        self.result.setText("<p>Working… (Cancel stops it and puts the environment back as it was)</p>")
        self.timer.start()
        self.wizard.start_job(worker)

    def flush(self) -> None:
        if self.worker is None:
            return
        lines, dropped = self.worker.log.drain()
        if dropped:
            self.log.appendPlainText(f"[… {dropped} lines not shown; the full log has them …]")
        if lines:
            self.log.appendPlainText("\n".join(lines))

    def finish(self, ok: bool, message: str, after: str = "") -> None:
        """The job is over: the last log lines, then its outcome in one line (✓/✗ and the message)."""
        self.flush()
        self.timer.stop()
        self.worker = None
        self.result.setText(f"<p><b>{'✓' if ok else '✗'} {html.escape(message)}</b>{after}</p>")

    @property
    def running(self) -> bool:
        return self.worker is not None


class DoctorPage(QWizardPage):
    """Every environment found, judged against this machine; Repair for the selected one."""

    def __init__(self, wizard: Any) -> None:
        super().__init__()
        self._wizard = wizard
        self.verdicts: list[Any] = []
        self.setTitle("Check the PyTorch you already have")
        self.setSubTitle("Torch Setup looks for Python environments, reads what is installed in each (without "
                         "running it) and says whether it fits this computer.")
        self.status = QLabel("Looking for environments…", self)
        self.status.setWordWrap(True)
        self.envs = QListWidget(self)
        self.envs.setAccessibleName("Environments found")
        self.envs.currentRowChanged.connect(self._show_selected)
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAccessibleName("Findings for the selected environment")
        self.add_button = QPushButton("&Add a project folder…", self)
        self.add_button.setAccessibleName("Add a project folder or environment to check")
        self.add_button.clicked.connect(self._add_folder)
        self.repair_button = QPushButton("&Repair", self)
        self.repair_button.setEnabled(False)
        self.repair_button.setAccessibleName("Repair the selected environment in place")
        self.repair_button.clicked.connect(self._repair)
        self.panel = _RepairPanel(self, wizard)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(self.repair_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.envs, 2)
        layout.addWidget(self.details, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.panel.log, 2)
        layout.addWidget(self.panel.result)
        self.setFinalPage(True)
        self._checking = False

    def initializePage(self) -> None:
        self.check()

    def nextId(self) -> int:
        return -1

    def is_busy(self) -> bool:
        return self._checking or self.panel.running

    def check(self) -> None:
        from installer.gui.doctor_worker import DoctorCheckWorker

        self._checking = True
        self.status.setText("Looking for environments and reading what each has installed…")
        self.repair_button.setEnabled(False)
        wizard = self._wizard
        worker = DoctorCheckWorker(list(getattr(wizard, "doctor_paths", [])), bool(getattr(wizard, "doctor_scan", True)),
                                   wizard.state.report, wizard.detect_fn, wizard.state.choices.torch_source)
        worker.succeeded.connect(self._checked)
        worker.failed.connect(self._check_failed)
        wizard.start_job(worker)

    @Slot(object, object)
    def _checked(self, verdicts: list[Any], report: Any) -> None:
        self._checking = False
        self._wizard.state.report = report
        self.verdicts = verdicts
        self.envs.clear()
        for v in verdicts:
            torch = f"torch {v.torch} ({v.build})" if v.torch else "no PyTorch"
            headline = v.findings[0].text if v.findings else ""
            # The folder's name and the verdict fit the row; the full path is in the tooltip and the details.
            item = QListWidgetItem(f"{MARKS.get(v.status, '•')}  {Path(v.env).name}  —  {torch}  —  {headline}")
            item.setToolTip(v.env)
            self.envs.addItem(item)
        bad = sum(1 for v in verdicts if v.status == "fail")
        self.status.setText(f"{len(verdicts)} environment(s) found; {bad} need(s) attention. Select one to see why.")
        if verdicts:
            self.envs.setCurrentRow(0)

    @Slot(str)
    def _check_failed(self, message: str) -> None:
        self._checking = False
        self.status.setText(f"✗ The check stopped: {html.escape(message.splitlines()[0])}")

    @Slot(int)
    def _show_selected(self, row: int) -> None:
        if not 0 <= row < len(self.verdicts):
            self.details.clear()
            self.repair_button.setEnabled(False)
            return
        v = self.verdicts[row]
        parts = [f"<p><b>{html.escape(v.env)}</b> ({html.escape(v.kind)}, Python {html.escape(v.python or '?')})</p>"]
        for f in v.findings:
            parts.append(f"<p>{f.mark} <b>{html.escape(f.text)}</b><br>{html.escape(f.meaning)}</p>")
        fix = v.planned_fix or {}
        if "error" in fix:
            parts.append(f"<p>No repair planned: {html.escape(fix['error'])}</p>")
        elif fix:
            parts.append(f"<p><b>Repair:</b> install torch {html.escape(str(fix['torch']))} "
                         f"({html.escape(str(fix['backend']))}) into this environment, then verify it; if anything "
                         "fails it is put back exactly as it was.</p>")
        for line in v.pinned:
            parts.append(f"<p>⚠ {html.escape(line)}</p>")
        self.details.setText("".join(parts))
        self.repair_button.setText("&Add PyTorch" if not v.torch else "&Repair")
        self.repair_button.setEnabled(bool(fix) and "error" not in fix and not self.panel.running)

    @Slot()
    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A project folder or environment to check")
        if folder:
            self._wizard.doctor_paths = [*getattr(self._wizard, "doctor_paths", []), folder]
            self.check()

    @Slot()
    def _repair(self) -> None:
        row = self.envs.currentRow()
        if not 0 <= row < len(self.verdicts):
            return
        v = self.verdicts[row]
        fix = v.planned_fix or {}
        text = (f"Install torch {fix.get('torch')} ({fix.get('backend')}) into {v.env}? What it replaces is saved "
                "first and put back if the install or the check fails.")
        if v.pinned:
            text += "\n\n" + "\n".join(v.pinned) + "\n\nRepairing will break these packages: continue?"
        if not self._wizard.confirm(self, "Repair this environment?", text):
            return
        self.repair_button.setEnabled(False)
        self.add_button.setEnabled(False)
        self.panel.start(v.env)

    @Slot()
    def flush_log(self) -> None:
        self.panel.flush()

    @Slot(object)
    def repair_done(self, outcome: Any) -> None:
        self.panel.finish(outcome.ok, outcome.message)
        self.add_button.setEnabled(True)
        if outcome.ok:
            self.check()

    @Slot(str)
    def repair_failed(self, message: str) -> None:
        self.panel.finish(False, message, " Nothing was changed.")
        self.add_button.setEnabled(True)


class EnvsPage(QWizardPage):
    """The environments Torch Setup made: when, which torch, last verified; upgrade or remove one."""

    def __init__(self, wizard: Any) -> None:
        super().__init__()
        self._wizard = wizard
        self.rows: list[dict[str, Any]] = []
        self.setTitle("Environments Torch Setup made")
        self.setSubTitle("Only folders carrying Torch Setup's marker are listed, and only those can be removed here.")
        self.envs = QListWidget(self)
        self.envs.setAccessibleName("Environments Torch Setup made")
        self.empty = QLabel("", self)
        self.upgrade_button = QPushButton("&Upgrade PyTorch", self)
        self.upgrade_button.setAccessibleName("Upgrade PyTorch in the selected environment")
        self.upgrade_button.clicked.connect(self._upgrade)
        self.remove_button = QPushButton("Re&move…", self)
        self.remove_button.setAccessibleName("Remove the selected environment")
        self.remove_button.clicked.connect(self._remove)
        self.panel = _RepairPanel(self, wizard)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.upgrade_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.empty)
        layout.addWidget(self.envs, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.panel.log, 2)
        layout.addWidget(self.panel.result)
        self.setFinalPage(True)

    def initializePage(self) -> None:
        self.refresh()

    def nextId(self) -> int:
        return -1

    def is_busy(self) -> bool:
        return self.panel.running

    def refresh(self) -> None:
        from installer.core.doctor.discover import torch_setup_envs
        from installer.core.journal import read_marker

        self.rows = []
        self.envs.clear()
        for env in torch_setup_envs([self._wizard.env_root]):  # a few small JSON files: cheap here
            marker = read_marker(env) or {}
            plan = marker.get("plan") or {}
            row = {"env": str(env), "torch": plan.get("torch"), "backend": plan.get("backend"),
                   "created": marker.get("created"), "verified": plan.get("verified") or marker.get("created")}
            if row["env"] in (r["env"] for r in self.rows):
                continue
            self.rows.append(row)
            item = QListWidgetItem(f"{env.name}  —  torch {row['torch'] or '?'} ({row['backend'] or '?'})  —  created "
                                   f"{str(row['created'] or '?')[:10]}, last verified {str(row['verified'] or '?')[:10]}")
            item.setToolTip(str(env))
            self.envs.addItem(item)
        self.empty.setText("" if self.rows else "Torch Setup has not made any environment yet.")
        if self.rows:
            self.envs.setCurrentRow(0)
        self.upgrade_button.setEnabled(bool(self.rows))
        self.remove_button.setEnabled(bool(self.rows))

    def _selected(self) -> dict[str, Any] | None:
        row = self.envs.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    @Slot()
    def _remove(self) -> None:
        from installer.core import locks
        from installer.core.journal import new_run_id, read_marker, remove_path

        row = self._selected()
        if row is None or read_marker(row["env"]) is None:
            return
        if not self._wizard.confirm(self, "Remove this environment?",
                                    f"Delete {row['env']} and everything in it? This cannot be undone."):
            return
        try:
            with locks.hold(row["env"], new_run_id()):
                remove_path(Path(row["env"]))
            self.panel.result.setText(f"<p>✓ Removed {html.escape(row['env'])}.</p>")
        except (OSError, ValueError) as exc:
            self.panel.result.setText(f"<p>✗ Could not remove {html.escape(row['env'])}: {html.escape(str(exc))}</p>")
        self.refresh()

    @Slot()
    def _upgrade(self) -> None:
        row = self._selected()
        if row is None:
            return
        if not self._wizard.confirm(self, "Upgrade PyTorch?",
                                    f"Install the newest PyTorch this computer's plan picks into {row['env']}? "
                                    "If it fails, the environment is put back as it was."):
            return
        if self._wizard.state.report is None:
            self._wizard.state.report = self._wizard.detect_fn(offline=True)
        self.upgrade_button.setEnabled(False)
        self.remove_button.setEnabled(False)
        self.panel.start(row["env"], torch="latest")

    @Slot()
    def flush_log(self) -> None:
        self.panel.flush()

    @Slot(object)
    def repair_done(self, outcome: Any) -> None:
        self.panel.finish(outcome.ok, outcome.message)
        self.refresh()

    @Slot(str)
    def repair_failed(self, message: str) -> None:
        self.panel.finish(False, message)
        self.refresh()
