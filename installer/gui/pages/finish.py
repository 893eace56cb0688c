"""Page 8: how to use the new environment (activation per shell, VS Code, Jupyter) and the saved report."""

from __future__ import annotations

import dataclasses
import datetime
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWizardPage,
)

from installer.core.activation import activation_command, shells_for
from installer.gui.widgets import CommandLine, PathFallback, escape, scrolling_layout, status_color


def _jsonable(obj: Any) -> Any:
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "to_json"):
        return obj.to_json()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return str(obj)


def run_summary(state: Any) -> dict[str, Any]:
    """Everything a lab admin or a helper on a forum needs, as one JSON object."""
    from installer import __version__
    from installer.core.redact import redact_json

    result = state.result
    data: dict[str, Any] = redact_json({
        "torch_setup": __version__,
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "choices": _jsonable(state.choices),
        "system": _jsonable(state.report),
        "plan": _jsonable(state.plan),
        "result": None if result is None else {
            k: _jsonable(getattr(result, k, None))
            for k in ("ok", "cancelled", "exit_code", "seconds", "step_seconds", "log_path", "diagnoses")
        },
        "verify": _jsonable(state.verify),
    })
    return data  # redacted: the report is made to be shared


def summary_html(data: dict[str, Any]) -> str:
    """A readable, self-contained page: the same renderer as the CLI's reports (installer/core/htmlreport.py)."""
    from installer.core.htmlreport import machine_html

    return machine_html(data)


class FinishPage(QWizardPage):
    def __init__(self, wizard: Any) -> None:
        super().__init__()
        self._wizard = wizard
        self.setTitle("Done")
        self.setSubTitle("How to use the new environment.")
        self.setFinalPage(True)

        self.headline = QLabel(self)
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setAccessibleName("Outcome")

        use_box = QGroupBox("Use it", self)
        self.shell_combo = QComboBox(use_box)
        self.shell_combo.setAccessibleName("Shell")
        self.shell_combo.setAccessibleDescription("The shell you type commands in; the activation command follows it.")
        # Three Copy buttons on one page: each its own mnemonic (O, Y, P), the fields theirs (A, D, T).
        self.activate = CommandLine("activation command", use_box, copy_text="C&opy")
        self.python_line = CommandLine("Python of the environment", use_box, copy_text="Cop&y")
        self.try_line = CommandLine("first command to try", use_box, copy_text="Co&py")
        form = QFormLayout(use_box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("&Shell:", self.shell_combo)
        form.addRow("&Activate:", self.activate)
        form.addRow("Or run &directly:", self.python_line)
        form.addRow("&Try:", self.try_line)
        for row in (self.activate, self.python_line, self.try_line):
            label = form.labelForField(row)
            if isinstance(label, QLabel):
                label.setBuddy(row.field)
        self.hints = QLabel(self)
        self.hints.setWordWrap(True)
        self.hints.setTextFormat(Qt.TextFormat.RichText)
        self.hints.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hints.setAccessibleName("How to use it in VS Code and Jupyter")

        self.save_button = QPushButton("Save &report…", self)
        self.save_button.setAccessibleName("Save report")
        self.save_button.setAccessibleDescription("Saves a report of this install as a readable page or as JSON.")
        self.folder_button = QPushButton("Open &folder", self)
        self.folder_button.setAccessibleName("Open folder")
        self.folder_button.setAccessibleDescription("Opens the environment folder in the file manager.")
        self.log_button = QPushButton("Open &log", self)
        self.log_button.setAccessibleName("Open log")
        self.log_button.setAccessibleDescription("Opens the log file in the desktop's text viewer.")
        self.open_failed = PathFallback(parent=self)
        self.saved_label = QLabel(self)
        self.saved_label.setWordWrap(True)
        self.saved_label.setAccessibleName("Report status")
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.folder_button)
        buttons.addWidget(self.log_button)
        buttons.addStretch(1)

        layout = scrolling_layout(self)
        layout.addWidget(self.headline)
        layout.addWidget(use_box)
        layout.addWidget(self.hints)
        layout.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(self.open_failed)
        layout.addWidget(self.saved_label)

        self.shell_combo.currentIndexChanged.connect(self._on_shell_changed)
        self.save_button.clicked.connect(self.save_report_dialog)
        self.folder_button.clicked.connect(self.open_folder)
        self.log_button.clicked.connect(self.open_log)

    def _os_name(self) -> str:
        report = self._wizard.state.report
        if report is not None:
            return str(report.os.name)
        return {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")

    def initializePage(self) -> None:
        state = self._wizard.state
        plan = state.plan
        verify = state.verify
        works = bool(getattr(verify, "ok", False)) if verify is not None else bool(getattr(state.result, "ok", False))
        if works:
            self.headline.setText(f"<span style='color:{status_color('ok', self)}'>✓ PyTorch is ready.</span> "
                                  "Here is how to use it.")
        else:
            self.headline.setText(f"<span style='color:{status_color('warn', self)}'>⚠ PyTorch is installed but did "
                                  "not pass the check.</span> Save the report and the log if you ask for help.")
        self.shell_combo.blockSignals(True)
        self.shell_combo.clear()
        for shell in shells_for(self._os_name()):
            self.shell_combo.addItem(shell)
        self.shell_combo.blockSignals(False)
        self._on_shell_changed(0)
        if plan is None:
            return
        env_python = plan.env_python or ""
        self.python_line.set_text(shlex.join([env_python]) if env_python else "")
        self.try_line.set_text(shlex.join([env_python or "python", "-c", "import torch; print(torch.rand(2, 3))"]))
        name = Path(plan.env).name
        jupyter = ("it is registered as a Jupyter kernel: pick <b>" + escape(name) + "</b> in Jupyter's kernel list."
                   if state.choices.jupyter else
                   "install <code>ipykernel</code> into the environment, then run "
                   f"<code>{escape(shlex.join([env_python, '-m', 'ipykernel', 'install', '--user', '--name', name]))}</code>.")
        self.hints.setText(
            f"<b>VS Code:</b> open the Command Palette ({'⇧⌘P' if self._os_name() == 'macos' else 'Ctrl+Shift+P'}), "
            "run <i>Python: Select Interpreter</i>, "
            f"and enter <code>{escape(env_python)}</code>.<br><b>Jupyter:</b> {jupyter}")
        self.log_button.setEnabled(bool(state.log_path))
        self.folder_button.setEnabled(Path(plan.env).exists())

    @Slot(int)
    def _on_shell_changed(self, _index: int) -> None:
        plan = self._wizard.state.plan
        if plan is None:
            self.activate.set_text("")
            return
        shell = self.shell_combo.currentText()
        self.activate.set_text(activation_command(plan.method, plan.env, shell, self._os_name() == "windows"))

    @Slot()
    def save_report_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Save the report", str(Path.home() / "torch-setup-report.html"),
            "Readable page (*.html);;JSON for scripts (*.json)")
        if path:
            if not Path(path).suffix:
                path += ".json" if "json" in chosen.lower() else ".html"
            self.save_report(Path(path))

    def save_report(self, path: Path) -> None:
        data = run_summary(self._wizard.state)
        text = (json.dumps(data, indent=2, ensure_ascii=False) + "\n") if path.suffix.lower() == ".json" \
            else summary_html(data)
        from installer.core.runlog import write_private_text

        try:
            write_private_text(path, text)  # owner-readable only, like the CLI's --report
        except OSError as exc:
            self.saved_label.setText(f"Could not save the report: {exc.strerror or exc}")
            return
        self.saved_label.setText(f"Saved {path}.")

    @Slot()
    def open_folder(self) -> None:
        plan = self._wizard.state.plan
        if plan is not None:
            self.open_failed.open(plan.env, "environment folder")

    @Slot()
    def open_log(self) -> None:
        if self._wizard.state.log_path:
            self.open_failed.open(self._wizard.state.log_path, "log file")
