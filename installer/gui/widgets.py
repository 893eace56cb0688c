"""Small widgets several pages share: a collapsible section, a copyable command line, status icons and colours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
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
# What a screen reader says for a status icon or mark: words, not "check mark" or nothing at all.
STATUS_WORDS = {"ok": "OK", "warn": "Warning", "fail": "Problem", "info": "Note", "running": "Running",
                "pending": "Waiting", "skipped": "Skipped", "undone": "Undone"}


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status.capitalize())


def plain_text(label_text: str) -> str:
    """A control's text without its mnemonic marker ("&Next" → "Next", "&&" → "&"), for accessible names."""
    return label_text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def scrolling_layout(page: QWidget, margins: bool = False) -> QVBoxLayout:
    """A vertical layout for a wizard page whose content scrolls when the window is too small for it.

    The page keeps one frameless scroll area; everything added to the returned layout lives inside it, so at
    the 640×480 minimum nothing is squeezed below its own minimum size or cut off, it scrolls instead.
    """
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    area = QScrollArea(page)
    area.setObjectName("pageScrollArea")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the controls inside take focus, not the frame around them
    inner = QWidget(area)
    inner.setObjectName("pageContent")
    # Transparent, so the page's own background (and the wizard's header style) shows through.
    inner.setAutoFillBackground(False)
    area.viewport().setAutoFillBackground(False)
    area.setWidget(inner)
    outer.addWidget(area)
    layout = QVBoxLayout(inner)
    if not margins:
        layout.setContentsMargins(0, 0, 4, 0)  # a little room for the scroll bar
    page.setProperty("scrollArea", area)
    return layout


class StepList(QWidget):
    """The wizard's side panel: Look → Choose → Install → Check, with the current step marked.

    Marked in three ways at once, so it reads in any colour scheme and to a screen reader: bold text, an
    arrow before the current step, a ✓ before the finished ones (and the accessible name says it in words).
    """

    STEPS = ("Look", "Choose", "Install", "Check")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepList")
        self.labels: list[QLabel] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 16, 12, 12)
        layout.setSpacing(10)
        for name in self.STEPS:
            label = QLabel(name, self)
            label.setTextFormat(Qt.TextFormat.PlainText)
            self.labels.append(label)
            layout.addWidget(label)
        layout.addStretch(1)
        self.current = -1
        self.set_current(-1)

    def set_current(self, index: int, all_done: bool = False) -> None:
        """index: 0..3 for Look..Check, -1 before the first step; all_done marks every step finished."""
        self.current = index
        for i, (name, label) in enumerate(zip(self.STEPS, self.labels, strict=True)):
            done = all_done or i < index
            current = i == index and not all_done
            mark = "✓" if done else ("▸" if current else "  ")
            label.setText(f"{mark} {name}")
            font = label.font()
            font.setBold(current)
            label.setFont(font)
            label.setEnabled(done or current)
            state = "done" if done else ("current step" if current else "to do")
            label.setAccessibleName(f"Step {i + 1} of {len(self.STEPS)}, {name}: {state}")
        self.setAccessibleName("Steps: " + ", ".join(
            f"{n} {'done' if all_done or i < index else ('current' if i == index else 'to do')}"
            for i, n in enumerate(self.STEPS)))


class PathFallback(QWidget):
    """Shown when the desktop cannot open a file or folder (no launcher, no file manager): says so in the
    window, with the path to copy, instead of failing silently."""

    def __init__(self, copy_text: str = "Copy the pat&h", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = ""
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Could not open")
        self.copy_button = QPushButton(copy_text, self)
        self.copy_button.setAccessibleName("Copy the path to the clipboard")
        self.copy_button.setAccessibleDescription("Paste it into a file manager or a terminal.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.copy_button)
        self.copy_button.clicked.connect(self.copy)
        self.hide()

    def open(self, path: str, what: str) -> bool:
        """Ask the desktop to open path; on failure show why and offer the copy. True when it opened."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        if QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            self.hide()
            return True
        self.path = path
        self.label.setText(f"{STATUS_MARK['warn']} This desktop has no program to open the {what}. It is at: {path}")
        self.label.setAccessibleDescription(f"Warning: the {what} could not be opened. It is at {path}")
        self.show()
        return False

    @Slot()
    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.path)


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
        self.toggle.setAccessibleName(plain_text(title))
        self.toggle.setAccessibleDescription("Shows or hides more settings; Space toggles.")
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

    def __init__(self, accessible_name: str, parent: QWidget | None = None, copy_text: str = "&Copy") -> None:
        super().__init__(parent)
        self.field = QLineEdit(self)
        self.field.setReadOnly(True)
        self.field.setFont(monospace_font())
        self.field.setAccessibleName(accessible_name)
        self.field.setAccessibleDescription("Read-only; select it or use the Copy button next to it.")
        self.field.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.field.setMinimumWidth(120)
        # Several command lines share a page, so each Copy button gets its own mnemonic from the caller.
        self.copy_button = QPushButton(copy_text, self)
        self.copy_button.setAccessibleName(f"Copy the {accessible_name}")
        self.copy_button.setAccessibleDescription("Puts the command on the clipboard.")
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
