"""Page 1: what Torch Setup will do, in plain words; nothing changes before the Review page."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from installer.gui.widgets import scrolling_layout
from installer.gui.wizard import scaled_icon_pixmap
from installer.gui.worker import CleanupWorker

WELCOME_TEXT = """
<p>Torch Setup installs a working <b>PyTorch</b> on this computer, in four steps:</p>
<ol>
<li><b>Look</b> at this computer: its graphics card and driver, the Pythons it has, the free disk space.</li>
<li><b>Choose</b> the right PyTorch build for it (you can change every choice).</li>
<li><b>Install</b> it into a new, separate environment, so nothing else on the computer changes.</li>
<li><b>Check</b> that it really works: PyTorch runs a small calculation on your graphics card or processor.</li>
</ol>
<p><b>Nothing is installed before the Review page</b>, where you see every command and press
<i>Install</i>. You can cancel at any time; whatever was created is then removed again.</p>
<p>Press <b>Next</b> to let Torch Setup look at this computer. It takes a few seconds.</p>
"""


class WelcomePage(QWizardPage):
    def __init__(self, wizard: Any) -> None:
        super().__init__()
        self._wizard = wizard
        self._runs: list[Any] = []
        self.setTitle("Welcome to Torch Setup")
        self.setSubTitle("A working PyTorch, chosen for this computer and checked before you use it.")
        icon = QLabel(self)
        icon.setPixmap(scaled_icon_pixmap(96, self.devicePixelRatio()))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        icon.setAccessibleName("Torch Setup logo")
        text = QLabel(WELCOME_TEXT, self)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        text.setAccessibleName("What Torch Setup will do")
        row = QHBoxLayout()
        row.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addSpacing(16)
        row.addWidget(text, 1)
        layout = scrolling_layout(self)
        layout.addLayout(row)
        layout.addLayout(self._make_mode_choice())
        layout.addWidget(self._make_leftovers_box())
        layout.addStretch(1)
        self._find_interrupted_runs()

    # -- the first choice: a new install, or the doctor for what is already there --------------------------

    def _make_mode_choice(self) -> QVBoxLayout:
        self.install_choice = QRadioButton("&Install a new PyTorch", self)
        self.doctor_choice = QRadioButton("&Check the PyTorch I already have (and repair it)", self)
        self.envs_choice = QRadioButton("&Manage the environments Torch Setup made", self)
        self.install_choice.setChecked(True)
        self.install_choice.setAccessibleName("Install a new PyTorch into a new environment")
        self.doctor_choice.setAccessibleName("Check and repair the PyTorch installs this computer already has")
        self.envs_choice.setAccessibleName("List, upgrade or remove the environments Torch Setup made")
        self.install_choice.setAccessibleDescription("Next looks at this computer, then asks what to install.")
        self.doctor_choice.setAccessibleDescription("Next finds the PyTorch installs here and says what is wrong "
                                                    "with each.")
        self.envs_choice.setAccessibleDescription("Next lists the environments Torch Setup made.")
        self._modes = QButtonGroup(self)
        box = QVBoxLayout()
        for button in (self.install_choice, self.doctor_choice, self.envs_choice):
            self._modes.addButton(button)
            box.addWidget(button)
        return box

    @property
    def mode(self) -> str:
        """"install", "doctor" or "envs": where Next leads (the wizard's nextId reads it)."""
        if self.doctor_choice.isChecked():
            return "doctor"
        if self.envs_choice.isChecked():
            return "envs"
        return "install"

    # -- an earlier install that was interrupted (power cut, killed) left files behind -----------------

    def _make_leftovers_box(self) -> QFrame:
        self.leftovers_box = QFrame(self)
        self.leftovers_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.leftovers_label = QLabel(self.leftovers_box)
        self.leftovers_label.setWordWrap(True)
        self.leftovers_label.setTextFormat(Qt.TextFormat.RichText)
        self.leftovers_label.setAccessibleName("Leftovers of an interrupted install")
        self.cleanup_button = QPushButton("&Remove leftovers", self.leftovers_box)
        self.cleanup_button.setAccessibleName("Remove leftovers")
        self.cleanup_button.setAccessibleDescription("Removes only what the interrupted install created.")
        self.cleanup_button.clicked.connect(self._clean_up)
        box = QVBoxLayout(self.leftovers_box)
        box.addWidget(self.leftovers_label)
        box.addWidget(self.cleanup_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.leftovers_box.hide()
        return self.leftovers_box

    def _find_interrupted_runs(self) -> None:
        from installer.core import journal

        try:
            self._runs = journal.interrupted_runs()  # a few small JSON files: cheap enough to read here
        except OSError:
            self._runs = []
        if not self._runs:
            return
        items = "".join(f"<li>{html.escape(run.describe())}</li>" for run in self._runs)
        self.leftovers_label.setText(
            "<p><b>⚠ An earlier install was interrupted</b> and left files behind:</p>"
            f"<ul>{items}</ul><p>Only what that install created is removed; nothing else is touched.</p>"
        )
        self.leftovers_box.show()

    @Slot()
    def _clean_up(self) -> None:
        self.cleanup_button.setEnabled(False)
        self.cleanup_button.setText("Removing…")
        worker = CleanupWorker(self._runs)
        worker.done.connect(self._cleaned_up)
        self._wizard.start_job(worker)

    @Slot(list, list)
    def _cleaned_up(self, removed: list[str], kept: list[str]) -> None:
        self._runs = []
        lines = [f"Removed {html.escape(path)}" for path in removed] or ["Nothing needed removing."]
        lines += [f"Kept {html.escape(reason)}" for reason in kept]
        self.leftovers_label.setText("<p><b>✓ Cleaned up.</b></p><p>" + "<br>".join(lines) + "</p>")
        self.cleanup_button.hide()
