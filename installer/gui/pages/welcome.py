"""Page 1: what Torch Setup will do, in plain words; nothing changes before the Review page."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWizardPage

from installer.gui.wizard import scaled_icon_pixmap

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
        self.setTitle("Welcome to Torch Setup")
        self.setSubTitle("A working PyTorch, chosen for this computer and checked before you use it.")
        icon = QLabel(self)
        icon.setPixmap(scaled_icon_pixmap(96))
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
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addStretch(1)
