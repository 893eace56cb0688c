"""Page 5 (commit page, button "Install"): the plan in words, its exact commands, estimates and warnings."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QWizard,
    QWizardPage,
)

from installer.core.plan import Plan
from installer.gui.widgets import escape, human_mib, monospace_font, scrolling_layout, status_color

METHOD_WORDS = {
    "pip": "a Python virtual environment",
    "conda": "a conda environment",
    "source": "a Python virtual environment, with PyTorch built from its source code",
}


def command_lines(plan: Plan) -> str:
    """The plan's commands for people to read or paste, quoted as this computer's shell reads them
    (installer.core.cmdline); the runner never goes through a shell."""
    from installer.core.cmdline import command_text, plan_os, quote
    from installer.core.redact import redact_text

    os_name = plan_os(plan)
    lines = []
    for index, step in enumerate(plan.steps, 1):
        lines.append(f"# {index}. {step.name}")
        if step.cwd:
            lines.append(f"cd {quote(step.cwd, os_name)}")
        # Redact each value before quoting: the quoting of a password with a ' would hide where the URL ends.
        lines.append(command_text([redact_text(str(a)) for a in step.argv], os_name,
                                  {k: redact_text(v) for k, v in sorted(step.env.items())}))
    return "\n".join(redact_text(line) for line in lines)


def plan_in_words(plan: Plan) -> str:
    packages = ", ".join(plan.packages) if plan.packages else "torch"
    python = f"Python {plan.python}"
    if plan.python_executable:
        python += f" ({plan.python_executable})"
    elif plan.method != "conda":
        python += " (downloaded just for this environment)"
    items = [
        f"Create {METHOD_WORDS.get(plan.method, plan.method)} in <b>{escape(plan.env)}</b> with {escape(python)}.",
        f"Install <b>PyTorch {escape(plan.torch)}</b> for <b>{escape(plan.backend)}</b>: {escape(packages)}.",
        "Check that it works: run a small calculation on "
        + ("the processor." if plan.expect == "cpu" else f"the graphics card ({escape(plan.expect)}).")
    ]
    if plan.choices.get("jupyter"):
        items.insert(2, "Register it as a Jupyter kernel.")
    text = "<ol>" + "".join(f"<li>{i}</li>" for i in items) + "</ol>"
    reasons = list(plan.reasons)
    if reasons:
        text += "<p><b>Why:</b></p><ul>" + "".join(f"<li>{escape(r)}</li>" for r in reasons) + "</ul>"
    return text


def estimates_text(plan: Any) -> str:
    """Download and disk estimates; a wheel folder downloads nothing of PyTorch, so no figure is claimed."""
    disk = f"Disk space: about {human_mib(plan.disk_mib)}"
    if Plan.torch_from_folder(plan):
        return f"Download: none for PyTorch, it comes from the wheel folder  ·  {disk}"
    return f"Download: about {human_mib(plan.download_mib)}  ·  {disk}"


def unreachable_index_warning(plan: Any, report: Any) -> str | None:
    """When detection found the index this plan takes PyTorch from not answering: why, and the wizard's fix.

    Only for PyTorch's index (or PyPI, when chosen as the source), which detection asked; a wheel folder needs
    no network, and a mirror was not asked, so nothing is claimed about it.
    """
    network = getattr(report, "network", None)
    if network is None or not network.checked or plan.method not in ("pip", "source"):
        return None
    source = (getattr(plan, "choices", None) or {}).get("torch_source", "pytorch")
    if source == "pytorch":
        reachable, what, prefix = network.pytorch_index, "PyTorch's package index", "PyTorch index:"
    elif source == "pypi":
        reachable, what, prefix = network.package_index, "The package index", "package index"
    else:
        return None
    if reachable is not False:
        return None
    detail = next((part.split(":", 1)[-1].strip() for part in (network.detail or "").split("; ")
                   if part.startswith(prefix)), "")
    from installer.core.diagnose import diagnose_text

    found = [d for d in diagnose_text(detail) if d.category == "network"]
    why = found[0].summary if found else (f"It gave: {detail}." if detail else "")
    fix = (found[0].gui_fix if found else None) or ("Check the connection and the proxy settings (HTTPS_PROXY), "
                                                    "or use a folder of wheel files or a mirror instead.")
    return (f"{what} did not answer when this computer was checked, so this install would fail. {why} {fix}"
            ).replace("  ", " ")


class ReviewPage(QWizardPage):
    def __init__(self, wizard: Any) -> None:
        super().__init__()
        self._wizard = wizard
        self.plan_error: str | None = None
        self.setTitle("Review")
        self.setSubTitle("Nothing has been changed yet. Press Install to do the following.")
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, "&Install")

        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setAccessibleName("What will happen")
        self.estimates = QLabel(self)
        self.estimates.setWordWrap(True)
        self.estimates.setAccessibleName("Download and disk estimates")
        self.warnings = QLabel(self)
        self.warnings.setWordWrap(True)
        self.warnings.setTextFormat(Qt.TextFormat.RichText)
        self.warnings.setAccessibleName("Warnings")
        self.source_button = QPushButton("Use a wheel folder or &mirror…", self)
        self.source_button.setAccessibleName("Use a wheel folder or mirror")
        self.source_button.setAccessibleDescription("Goes back to the environment settings, at where PyTorch "
                                                    "comes from.")
        self.source_button.hide()
        commands_label = QLabel("The exact &commands:", self)
        self.commands = QPlainTextEdit(self)
        self.commands.setReadOnly(True)
        self.commands.setFont(monospace_font())
        self.commands.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.commands.setAccessibleName("The exact commands")
        self.commands.setAccessibleDescription("Read-only: every command the install will run, in order.")
        self.commands.setMinimumHeight(self.fontMetrics().height() * 6)
        self.commands.setTabChangesFocus(True)
        commands_label.setBuddy(self.commands)
        self.copy_button = QPushButton("C&opy commands", self)
        self.copy_button.setAccessibleName("Copy commands")
        self.copy_button.setAccessibleDescription("Puts the commands on the clipboard.")
        self.save_button = QPushButton("&Save answer file…", self)
        self.save_button.setAccessibleName("Save answer file")
        self.save_button.setAccessibleDescription("Saves these choices for unattended installs with "
                                                  "torch-setup install --answers.")
        self.save_note = QLabel(self)
        self.save_note.setWordWrap(True)
        self.save_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_note.setAccessibleName("Answer file status")
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.save_note, 1)

        layout = scrolling_layout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.estimates)
        layout.addWidget(self.warnings)
        source_row = QHBoxLayout()
        source_row.addWidget(self.source_button)
        source_row.addStretch(1)
        layout.addLayout(source_row)
        layout.addWidget(commands_label)
        layout.addWidget(self.commands, 1)
        layout.addLayout(buttons)

        self.copy_button.clicked.connect(self.copy_commands)
        self.save_button.clicked.connect(self.save_answers_dialog)
        self.source_button.clicked.connect(self.choose_source)

    def initializePage(self) -> None:
        state = self._wizard.state
        state.plan = None
        self.save_note.clear()
        plan, error = self._wizard.try_plan()
        if plan is not None:
            try:
                from installer.core.runner import preflight

                preflight(plan, state.choices.force)
            except ImportError:
                pass
            except ValueError as exc:  # ChoiceError: a folder we must not touch
                plan, error = None, str(exc)
        self.plan_error = error
        state.plan = plan
        fail = status_color("fail", self)
        network: str | None = None
        if plan is None:
            self.summary.setText(f"<span style='color:{fail}'>✗ {escape(error)}</span><br>Go Back and change "
                                 "the choices.")
            self.estimates.clear()
            self.warnings.clear()
            self.commands.clear()
        else:
            self.summary.setText(plan_in_words(plan))
            self.estimates.setText(estimates_text(plan))
            warn = status_color("warn", self)
            warnings = list(plan.warnings)
            network = unreachable_index_warning(plan, state.report)
            if network:
                warnings.insert(0, network)
            self.warnings.setText("<br>".join(f"<span style='color:{warn}'>⚠ {escape(w)}</span>"
                                              for w in warnings))
            self.commands.setPlainText(command_lines(plan))
        self.warnings.setVisible(bool(plan is not None and (plan.warnings or network)))
        self.source_button.setVisible(bool(network))
        self.copy_button.setEnabled(plan is not None)
        self.save_button.setEnabled(plan is not None)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self._wizard.state.plan is not None

    @Slot()
    def choose_source(self) -> None:
        """Back to the Environment page, at "PyTorch from" (the fix the network warning names)."""
        from installer.gui.wizard import PageId

        self._wizard.back()
        if self._wizard.currentId() == PageId.ENVIRONMENT:
            self._wizard.page_of(PageId.ENVIRONMENT).focus_torch_source()

    @Slot()
    def copy_commands(self) -> None:
        QGuiApplication.clipboard().setText(self.commands.toPlainText())

    @Slot()
    def save_answers_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the answer file", str(Path.home() / "torch-setup.toml"),
                                              "Answer file (*.toml)")
        if path:
            self.save_answers(Path(path))

    def save_answers(self, path: Path) -> None:
        from installer.core.plan import answers_toml

        try:
            from installer.core.runlog import write_private_text

            # The answer file keeps the real index URL (it must work unattended), so only its owner may read it.
            write_private_text(path, answers_toml(self._wizard.state.choices))
        except OSError as exc:
            self.save_note.setText(f"Could not save: {exc.strerror or exc}")
            return
        self.save_note.setText(f"Saved. Use it with: torch-setup install --answers {shlex.quote(str(path))} --yes")
