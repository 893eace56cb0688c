"""Small widgets several pages share: a collapsible section, a copyable command line, status icons and colours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from installer.core.events import Diagnosis


def monospace_font() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def is_dark(widget: QWidget | None = None) -> bool:
    palette = widget.palette() if widget is not None else QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def status_color(status: str, widget: QWidget | None = None) -> str:
    """Readable on the system's light and dark schemes alike (text colour only; the palette stays native)."""
    dark = is_dark(widget)
    colors = {
        "ok": "#7ed987" if dark else "#1b7a2b",
        "warn": "#f0c05a" if dark else "#8a5a00",
        "fail": "#ff8a80" if dark else "#b3261e",
        "info": "#9ab8ff" if dark else "#2755a3",
    }
    return colors.get(status, colors["info"])


def status_icon(status: str, widget: QWidget | None = None) -> QIcon:
    style = (widget.style() if widget is not None else QApplication.style())
    pixmap = {
        "ok": QStyle.StandardPixmap.SP_DialogApplyButton,
        "warn": QStyle.StandardPixmap.SP_MessageBoxWarning,
        "fail": QStyle.StandardPixmap.SP_MessageBoxCritical,
        "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
        "running": QStyle.StandardPixmap.SP_MediaPlay,
        "pending": QStyle.StandardPixmap.SP_MediaPause,
        "skipped": QStyle.StandardPixmap.SP_DialogCancelButton,
    }.get(status, QStyle.StandardPixmap.SP_MessageBoxInformation)
    return style.standardIcon(pixmap)


STATUS_MARK = {"ok": "✓", "warn": "⚠", "fail": "✗", "info": "ℹ"}


class CollapsibleSection(QWidget):
    """A header button with an arrow that shows or hides its content; keyboard: Space toggles."""

    def __init__(self, title: str, content: QWidget, expanded: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QToolButton(self)
        self.toggle.setText(title)
        self.toggle.setCheckable(True)
        self.toggle.setChecked(expanded)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setAutoRaise(True)
        self.toggle.setAccessibleName(title)
        self.toggle.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.content = content
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(content)
        self.toggle.toggled.connect(self._on_toggled)
        self._on_toggled(expanded)

    @Slot(bool)
    def _on_toggled(self, expanded: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.content.setVisible(expanded)

    def is_expanded(self) -> bool:
        return self.toggle.isChecked()

    def set_expanded(self, expanded: bool) -> None:
        self.toggle.setChecked(expanded)


class CommandLine(QWidget):
    """A read-only command in a monospace field with a Copy button."""

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = QLineEdit(self)
        self.field.setReadOnly(True)
        self.field.setFont(monospace_font())
        self.field.setAccessibleName(accessible_name)
        self.field.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setAccessibleName(f"Copy {accessible_name}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.field)
        layout.addWidget(self.copy_button)
        self.copy_button.clicked.connect(self.copy)

    def set_text(self, text: str) -> None:
        self.field.setText(text)
        self.field.setCursorPosition(0)

    def text(self) -> str:
        return self.field.text()

    @Slot()
    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.field.text())


def human_mib(mib: float | int | None) -> str:
    if mib is None:
        return "unknown"
    if mib >= 1000:
        return f"{mib / 1024:.1f} GB"
    return f"{int(mib)} MB"


def human_seconds(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def escape(text: object) -> str:
    """Text for a rich-text label: URL credentials hidden (labels show plans, messages and child output,
    and end up in screenshots), then HTML-escaped."""
    import html

    from installer.core.redact import redact_text

    return html.escape(redact_text(str(text)))


def linkify(text: object) -> str:
    """Escape text for a rich-text label and make its web addresses clickable."""
    import re

    escaped = escape(text)
    return re.sub(r"(https?://[^\s<>()]+[^\s<>().,;:])", r'<a href="\1">\1</a>', escaped)


def diagnosis_html(diagnosis: Diagnosis) -> str:
    """A Diagnosis as "Why / What to do" rich text, the same on the Install and Verify pages.

    The fix in the wizard's own words where the diagnosis has them: the CLI's names flags the wizard has not.
    """
    return (f"<b>Why:</b> {escape(diagnosis.summary)}<br>"
            f"<b>What to do:</b> {escape(diagnosis.gui_fix or diagnosis.fix)}")
