"""Page 2: detection runs on a worker thread as the page opens, then a ✓ / ⚠ / ✗ checklist of what was found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from installer.gui.widgets import (
    STATUS_MARK,
    escape,
    monospace_font,
    scrolling_layout,
    status_icon,
    status_words,
)
from installer.gui.worker import DetectOutcome, DetectWorker, Job

TOPIC_NAMES = {"os": "System", "cpu": "CPU", "ram": "Memory", "disk": "Disk", "gpu": "GPU", "python": "Python",
               "conda": "conda", "tools": "Build tools", "network": "Network", "driver": "Driver"}


def display_topic(topic: str) -> str:
    return TOPIC_NAMES.get(topic, topic[:1].upper() + topic[1:])


def readable_report(rows: list[Any]) -> str:
    """The checklist as a page of rich text: each topic, its status in words, what was found and what it means."""
    parts = []
    for row in rows:
        mark = STATUS_MARK.get(row.status, "")
        parts.append(f"<p><b>{escape(display_topic(row.topic))}</b> ({mark} {escape(status_words(row.status))}): "
                     f"{escape(row.text)}<br><i>{escape(row.meaning)}</i></p>")
    return "".join(parts) or "<p>Nothing was found yet.</p>"


class ReportDialog(QDialog):
    """The report, readable first, the JSON one tab away; read-only and non-modal (the wizard stays usable)."""

    def __init__(self, text: str, parent: QWidget | None = None, rows: list[Any] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("System report")
        self.resize(720, 560)
        self.setMinimumSize(420, 320)
        self.readable = QTextBrowser(self)
        self.readable.setOpenExternalLinks(False)
        self.readable.setHtml(readable_report(rows or []))
        self.readable.setAccessibleName("System report")
        self.readable.setAccessibleDescription("What was found, topic by topic, with what it means.")
        self.json_view = QPlainTextEdit(self)
        self.json_view.setReadOnly(True)
        self.json_view.setFont(monospace_font())
        self.json_view.setPlainText(text)
        self.json_view.setAccessibleName("System report as JSON")
        self.json_view.setAccessibleDescription("Everything detection found, as saved by Save report.")
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.readable, "&Readable")
        self.tabs.addTab(self.json_view, "&JSON")
        self.tabs.setAccessibleName("Report views")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)


class SystemPage(QWizardPage):
    def __init__(self, wizard: Any) -> None:
        super().__init__()
        self._wizard = wizard
        self.job: Job | None = None
        self.detecting = False
        self.error: str | None = None
        self._details: ReportDialog | None = None
        self.setTitle("This computer")
        self.setSubTitle("What Torch Setup found. Nothing has been changed.")

        self.busy_label = QLabel("Looking at this computer…", self)
        self.busy_label.setAccessibleName("Detection status")
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setAccessibleName("Detection in progress")

        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Topic", "What was found"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setWordWrap(True)
        self.tree.setAccessibleName("Checklist of what was found")
        self.tree.setAccessibleDescription("One row per topic; select a row to read what it means below.")
        self.tree.setMinimumHeight(self.fontMetrics().height() * 7)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        self.meaning = QLabel(self)
        self.meaning.setWordWrap(True)
        self.meaning.setAccessibleName("What the selected row means")
        self.meaning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meaning.setMinimumHeight(self.fontMetrics().height() * 2 + 4)

        self.details_button = QPushButton("&Details…", self)
        self.details_button.setAccessibleName("Details")
        self.details_button.setAccessibleDescription("Shows the whole report, readable or as JSON.")
        self.copy_button = QPushButton("&Copy report", self)
        self.copy_button.setAccessibleName("Copy report")
        self.copy_button.setAccessibleDescription("Puts the report, as JSON, on the clipboard.")
        self.save_button = QPushButton("&Save report…", self)
        self.save_button.setAccessibleName("Save report")
        self.save_button.setAccessibleDescription("Saves the report as a JSON file.")
        self.rescan_button = QPushButton("&Rescan", self)
        self.rescan_button.setAccessibleName("Rescan")
        self.rescan_button.setAccessibleDescription("Looks at this computer again.")
        buttons = QHBoxLayout()
        for b in (self.details_button, self.copy_button, self.save_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.rescan_button)

        layout = scrolling_layout(self)
        layout.addWidget(self.busy_label)
        layout.addWidget(self.busy)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.meaning)
        layout.addLayout(buttons)

        self.details_button.clicked.connect(self.show_details)
        self.copy_button.clicked.connect(self.copy_report)
        self.save_button.clicked.connect(self.save_report_dialog)
        self.rescan_button.clicked.connect(self.rescan)
        self.tree.currentItemChanged.connect(self._on_current_changed)
        self._set_buttons_enabled(False)

    # -- lifecycle --------------------------------------------------------------------------------------

    def initializePage(self) -> None:
        if self._wizard.state.report is None and not self.is_detecting():
            self.start_detection()

    def isComplete(self) -> bool:
        state = self._wizard.state
        return state.report is not None and state.catalog is not None and not self.is_detecting()

    def is_detecting(self) -> bool:
        return self.detecting

    # -- detection --------------------------------------------------------------------------------------

    @Slot()
    def rescan(self) -> None:
        if not self.is_detecting():
            self.start_detection()

    def start_detection(self) -> None:
        wizard = self._wizard
        self.error = None
        self.tree.clear()
        self.meaning.clear()
        self.busy_label.setText("Looking at this computer…")
        self.busy.show()
        self._set_buttons_enabled(False)
        self.rescan_button.setEnabled(False)
        kwargs: dict[str, Any] = {"offline": wizard.offline}
        if wizard.catalog_loader is not None:
            kwargs["catalog_loader"] = wizard.catalog_loader
        worker = DetectWorker(wizard.detect_fn, catalog=wizard.state.catalog, **kwargs)
        worker.progress.connect(self.on_progress)
        worker.succeeded.connect(self.on_detected)
        worker.failed.connect(self.on_failed)
        worker.finished.connect(self.on_finished)
        self.detecting = True
        self.job = wizard.start_job(worker)
        self.completeChanged.emit()

    @Slot(str)
    def on_progress(self, text: str) -> None:
        self.busy_label.setText(f"Looking at this computer… {text}")

    @Slot(object)
    def on_detected(self, outcome: DetectOutcome) -> None:
        state = self._wizard.state
        state.report = outcome.report
        state.checklist = outcome.rows
        state.detect_seconds = outcome.seconds
        if outcome.catalog is not None:
            state.catalog = outcome.catalog
        state.catalog_error = outcome.catalog_error
        state.plan = None
        self.show_rows(outcome.rows)
        note = f"Done in {outcome.seconds:.1f} s."
        if outcome.catalog_error:
            note += " " + outcome.catalog_error
        self.busy_label.setText(note)

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self.error = message
        self.busy_label.setText(message.split("\n", 1)[0] + " Press Rescan to try again.")

    @Slot()
    def on_finished(self) -> None:
        self.detecting = False
        self.busy.hide()
        self.rescan_button.setEnabled(True)
        self._set_buttons_enabled(self._wizard.state.report is not None)
        self.completeChanged.emit()

    def show_rows(self, rows: list[Any]) -> None:
        self.tree.clear()
        for row in rows:
            item = QTreeWidgetItem([display_topic(row.topic), str(row.text)])
            item.setIcon(0, status_icon(row.status, self))
            # Read as words ("Warning: GPU"), not as a mark a screen reader may skip.
            item.setData(0, Qt.ItemDataRole.AccessibleTextRole, f"{status_words(row.status)}: {display_topic(row.topic)}")
            item.setData(1, Qt.ItemDataRole.AccessibleTextRole, str(row.text))
            item.setData(1, Qt.ItemDataRole.AccessibleDescriptionRole, str(row.meaning))
            item.setToolTip(1, str(row.meaning))
            item.setData(0, Qt.ItemDataRole.UserRole, row)
            self.tree.addTopLevelItem(item)
        if rows:
            first_problem = next((i for i, r in enumerate(rows) if r.status in ("fail", "warn")), 0)
            first = self.tree.topLevelItem(first_problem)
            if first is not None:
                self.tree.setCurrentItem(first)

    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        row = current.data(0, Qt.ItemDataRole.UserRole) if current is not None else None
        if row is None:
            self.meaning.clear()
            return
        mark = STATUS_MARK.get(row.status, "")
        self.meaning.setText(f"{mark} <b>{escape(display_topic(row.topic))}</b>: {escape(row.meaning)}")

    def _set_buttons_enabled(self, enabled: bool) -> None:
        for b in (self.details_button, self.copy_button, self.save_button):
            b.setEnabled(enabled)

    # -- the report -------------------------------------------------------------------------------------

    def report_text(self) -> str:
        report = self._wizard.state.report
        if report is None:
            return ""
        if hasattr(report, "dumps"):
            return str(report.dumps())
        return json.dumps(report.to_json(), indent=2)

    @Slot()
    def show_details(self) -> None:
        self._details = ReportDialog(self.report_text(), self, rows=list(self._wizard.state.checklist))
        self._details.show()

    @Slot()
    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.report_text())

    @Slot()
    def save_report_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the system report", str(Path.home() / "system-report.json"),
                                              "JSON (*.json)")
        if path:
            self.save_report(Path(path))

    def save_report(self, path: Path) -> None:
        from installer.core.runlog import write_private_text

        try:
            write_private_text(path, self.report_text() + "\n")  # owner-readable only, like every report
            self.busy_label.setText(f"Saved the report to {path}.")
        except OSError as exc:
            self.busy_label.setText(f"Could not save the report: {exc}")
