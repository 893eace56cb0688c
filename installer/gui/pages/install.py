"""Page 6: the runner on an InstallWorker thread; steps, progress, elapsed time, live log, cancel and retry.

The log view is fed in batches by a timer from the worker's LogBuffer (STYLE rule 8); the full log is
the runner's file under the log folder, whose path the page shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QElapsedTimer, QSize, Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QWizardPage,
)

from installer.core.redact import redact_text
from installer.gui.widgets import (
    CollapsibleSection,
    PathFallback,
    diagnosis_html,
    escape,
    human_seconds,
    monospace_font,
    plain_text,
    scrolling_layout,
    status_color,
    status_icon,
)
from installer.gui.wizard import PageId
from installer.gui.worker import InstallWorker, Job, LogBuffer

LOG_VIEW_MAX_LINES = 5000  # the window keeps the tail; the log file keeps everything
LOG_FLUSH_MS = 100
RUNNING_SUBTITLE = "You can keep working meanwhile. Stopping removes everything this run created."
# A diagnosis's action → the button that takes the user to the control that applies its fix.
FIX_BUTTONS = {
    "torch-source": ("Use a wheel folder or &mirror…", "Choose where PyTorch comes from"),
    "python": ("Use another &Python…", "Choose another Python for the environment"),
    "location": ("Choose another &folder…", "Choose another folder for the environment"),
}
# What the step list says after a cancel: the finished steps were rolled back, so no ✓ on them.
UNDONE = "undone"
STEP_WORDS = {"pending": "waiting", "running": "running", "ok": "done", "fail": "failed", UNDONE: "undone"}

if TYPE_CHECKING:
    from installer.core.events import PlanFinished
    from installer.core.runner import RunResult


class InstallPage(QWizardPage):
    def __init__(self, wizard: Any) -> None:
        super().__init__()
        self._wizard = wizard
        self.job: Job | None = None
        self.running = False
        self.log_buffer: LogBuffer | None = None
        self.finished_event: PlanFinished | None = None
        self.crash: str | None = None
        self.cancelling = False
        self._env_existed = False
        self._step_count = 0
        self._steps_done = 0
        self.lines_shown = 0
        self.setTitle("Installing")
        self.setSubTitle(RUNNING_SUBTITLE)

        self.steps = QListWidget(self)
        self.steps.setAccessibleName("Steps")
        self.steps.setAccessibleDescription("Each step of the installation with its state.")
        self.steps.setMinimumHeight(self.fontMetrics().height() * 5)
        self.steps.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.steps.setIconSize(QSize(16, 16))
        self.steps.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.overall = QProgressBar(self)
        self.overall.setRange(0, 1000)
        self.overall.setAccessibleName("Overall progress")
        self.overall.setFormat("%p%")
        self.current_label = QLabel(self)
        self.current_label.setAccessibleName("Current step")
        self.current_label.setWordWrap(True)
        self.step_bar = QProgressBar(self)
        self.step_bar.setRange(0, 1000)
        self.step_bar.setTextVisible(False)
        self.step_bar.setAccessibleName("Progress of the current step")
        self.sizes_label = QLabel(self)
        self.sizes_label.setAccessibleName("Download sizes")
        self.elapsed_label = QLabel(self)
        self.elapsed_label.setAccessibleName("Elapsed time")
        self.elapsed_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        sizes_row = QHBoxLayout()
        sizes_row.addWidget(self.sizes_label, 1)
        sizes_row.addWidget(self.elapsed_label)

        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setAccessibleName("Result")

        self.log_view = QPlainTextEdit(self)
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_VIEW_MAX_LINES)
        self.log_view.setFont(monospace_font())
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log_view.setUndoRedoEnabled(False)
        self.log_view.setAccessibleName("Live log")
        self.log_view.setTabChangesFocus(True)
        self.log_view.setMinimumHeight(140)
        self.log_view.setAccessibleDescription("The output of the commands; the log file keeps all of it.")
        self.log_section = CollapsibleSection("Show the lo&g", self.log_view, expanded=False, parent=self)
        self.log_path_label = QLabel(self)
        self.log_path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log_path_label.setAccessibleName("Log file")
        self.log_path_label.setWordWrap(True)

        self.cancel_button = QPushButton("&Stop installing", self)
        self.cancel_button.setAccessibleName("Stop installing")
        self.cancel_button.setAccessibleDescription("Stops and removes everything this run created.")
        self.retry_button = QPushButton("&Retry", self)
        self.retry_button.setAccessibleName("Retry")
        self.retry_button.setAccessibleDescription("Runs the installation again.")
        self.open_log_button = QPushButton("Open &log", self)
        self.open_log_button.setAccessibleName("Open log")
        self.open_log_button.setAccessibleDescription("Opens the log file in the desktop's text viewer.")
        self.open_failed = PathFallback(parent=self)
        # After a failure the way out is in the wizard: back to the choices, with everything kept.
        self.change_button = QPushButton("&Change choices", self)  # the wizard's Cancel has no mnemonic
        self.change_button.setAccessibleName("Change choices")
        self.change_button.setAccessibleDescription("Goes back to the choices; everything you entered is kept.")
        self.fix_buttons: dict[str, QPushButton] = {}
        fix_row = QHBoxLayout()
        for action, (label, accessible) in FIX_BUTTONS.items():
            button = QPushButton(label, self)
            button.setAccessibleName(plain_text(label).rstrip("…"))
            button.setAccessibleDescription(accessible + ".")
            button.setProperty("action", action)
            button.clicked.connect(self.apply_fix)
            self.fix_buttons[action] = button
            fix_row.addWidget(button)
        fix_row.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_log_button)
        buttons.addWidget(self.change_button)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.cancel_button)

        layout = scrolling_layout(self)
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.overall)
        layout.addWidget(self.current_label)
        layout.addWidget(self.step_bar)
        layout.addLayout(sizes_row)
        layout.addWidget(self.status)
        layout.addLayout(fix_row)
        layout.addWidget(self.log_section, 2)
        layout.addWidget(self.log_path_label)
        layout.addWidget(self.open_failed)
        layout.addLayout(buttons)

        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(LOG_FLUSH_MS)
        self._flush_timer.timeout.connect(self.flush_log)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._tick)
        self._elapsed = QElapsedTimer()

        self.cancel_button.clicked.connect(self.ask_cancel)
        self.retry_button.clicked.connect(self.retry)
        self.change_button.clicked.connect(self.change_choices)
        self.open_log_button.clicked.connect(self.open_log)
        self.log_section.toggle.toggled.connect(self._on_log_toggled)

    # -- lifecycle --------------------------------------------------------------------------------------

    def initializePage(self) -> None:
        if not self.is_running() and self._wizard.state.result is None:
            self.start_install()

    def isComplete(self) -> bool:
        result = self._wizard.state.result
        if result is None or self.is_running():
            return False
        return result.ok or result.verify is not None

    def is_running(self) -> bool:
        return self.running

    # -- running ----------------------------------------------------------------------------------------

    def start_install(self) -> None:
        wizard = self._wizard
        state = wizard.state
        plan = state.plan
        state.result = None
        state.verify = None
        self.finished_event = None
        self.crash = None
        self.cancelling = False
        self._steps_done = 0
        self.lines_shown = 0
        self._env_existed = bool(plan is not None and Path(plan.env).exists())
        self.steps.clear()
        self._step_count = len(plan.steps) if plan is not None else 0
        for step in (plan.steps if plan is not None else []):
            item = QListWidgetItem(status_icon("pending", self), step.name)
            item.setToolTip(step.description or step.name)
            self.steps.addItem(item)
            self._set_step_icon(self.steps.count() - 1, "pending")
        self.overall.setValue(0)
        self.overall.setFormat("%p%")
        self.open_failed.hide()
        self.step_bar.setRange(0, 1000)
        self.step_bar.setValue(0)
        self.current_label.setText("Starting…")
        self.sizes_label.clear()
        self.status.clear()
        self.log_view.clear()
        self.log_path_label.clear()
        self.retry_button.hide()
        self._hide_way_out()
        self.open_log_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.setTitle("Installing")
        self.setSubTitle(RUNNING_SUBTITLE)
        self.log_buffer = LogBuffer()
        worker = InstallWorker(plan, runner_factory=wizard.runner_factory, force=state.choices.force,
                               log=self.log_buffer)
        worker.runner_event.connect(self.on_event)
        worker.result.connect(self.on_result)
        worker.crashed.connect(self.on_crashed)
        worker.finished.connect(self.on_finished)
        self._elapsed.start()
        self._tick()
        self._clock.start()
        self._flush_timer.start()
        self.running = True
        self.job = wizard.start_job(worker)
        self.completeChanged.emit()

    @Slot()
    def ask_cancel(self) -> None:
        if not self.is_running() or self.cancelling:
            return
        if self._wizard.confirm(self, "Stop the installation?",
                                "Stop installing PyTorch? Everything this run created will be removed."):
            self.begin_cancel()

    def begin_cancel(self) -> None:
        if self.cancelling or not self.running or self.job is None:
            return
        self.cancelling = True
        self.cancel_button.setEnabled(False)
        self.current_label.setText("Stopping… removing what this run created.")
        worker = self.job.worker
        if worker is not None:
            worker.cancel()

    @Slot()
    def retry(self) -> None:
        if not self.is_running():
            self.start_install()

    @Slot()
    def change_choices(self) -> None:
        self.go_back_to(PageId.METHOD)

    @Slot()
    def apply_fix(self) -> None:
        """A fix button: back to the Environment page, at the control its diagnosis names."""
        button = self.sender()
        action = button.property("action") if button is not None else None
        if not self.go_back_to(PageId.ENVIRONMENT):
            return
        page = self._wizard.page_of(PageId.ENVIRONMENT)
        focus = {"torch-source": page.focus_torch_source, "python": page.focus_python,
                 "location": page.focus_location}.get(str(action))
        if focus is not None:
            focus()

    def go_back_to(self, page_id: PageId) -> bool:
        """Leave a finished run for an earlier page; the pages keep what was entered, and Install runs anew."""
        wizard = self._wizard
        if self.is_running():
            return False
        wizard.state.result = None
        wizard.state.verify = None
        # QWizard's back() walks the history even past the commit page; only its Back button refuses to.
        while wizard.currentId() != page_id:
            before = wizard.currentId()
            wizard.back()
            if wizard.currentId() == before:
                return False
        return True

    def _hide_way_out(self) -> None:
        self.change_button.hide()
        for button in self.fix_buttons.values():
            button.hide()

    def _show_way_out(self, actions: list[str]) -> None:
        self.change_button.show()
        for action, button in self.fix_buttons.items():
            button.setVisible(action in actions)

    @Slot()
    def open_log(self) -> None:
        path = self._wizard.state.log_path
        if path:
            self.open_failed.open(path, "log file")

    # -- events from the worker ---------------------------------------------------------------------------

    @Slot(object)
    def on_event(self, ev: Any) -> None:
        kind = getattr(ev, "type", "")
        if kind == "plan-started":
            self._set_log_path(ev.log_path)
            if self.steps.count() != len(ev.steps):
                self.steps.clear()
                for name in ev.steps:
                    self.steps.addItem(QListWidgetItem(status_icon("pending", self), name))
                    self._set_step_icon(self.steps.count() - 1, "pending")
                self._step_count = len(ev.steps)
        elif kind == "step-started":
            self._set_step_icon(ev.index, "running")
            self.current_label.setText(f"Step {ev.index + 1} of {max(self._step_count, 1)}: <b>{escape(ev.name)}</b>"
                                       if not self.cancelling else self.current_label.text())
            self.step_bar.setRange(0, 0)  # busy until the step reports a fraction
            self.sizes_label.clear()
            self._set_overall(ev.index, 0.0)
        elif kind == "progress":
            if ev.fraction is not None:
                self.step_bar.setRange(0, 1000)
                self.step_bar.setValue(int(max(0.0, min(1.0, ev.fraction)) * 1000))
            if ev.text:
                self.sizes_label.setText(ev.text)
            if ev.overall is not None:
                self.overall.setValue(int(max(0.0, min(1.0, ev.overall)) * 1000))
            else:
                self._set_overall(ev.index, ev.fraction or 0.0)
        elif kind == "step-finished":
            self._set_step_icon(ev.index, "ok" if ev.ok else "fail")
            self._steps_done = max(self._steps_done, ev.index + 1)
            self.step_bar.setRange(0, 1000)
            self.step_bar.setValue(1000 if ev.ok else self.step_bar.value())
            self._set_overall(ev.index + 1, 0.0)
        elif kind == "plan-finished":
            self.finished_event = ev
            if ev.log_path:
                self._set_log_path(ev.log_path)

    def _set_overall(self, steps_done: int, fraction: float) -> None:
        if self._step_count:
            value = (steps_done + fraction) / self._step_count
            self.overall.setValue(max(self.overall.value(), int(min(1.0, value) * 1000)))

    def _set_step_icon(self, index: int, status: str) -> None:
        item = self.steps.item(index)
        if item is not None:
            item.setIcon(status_icon("skipped" if status == UNDONE else status, self))
            item.setData(Qt.ItemDataRole.UserRole, status)
            if item.data(Qt.ItemDataRole.UserRole + 1) is None:
                item.setData(Qt.ItemDataRole.UserRole + 1, item.text())
            item.setData(Qt.ItemDataRole.AccessibleTextRole,
                         f"{item.data(Qt.ItemDataRole.UserRole + 1)}: {STEP_WORDS.get(status, status)}")
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, STEP_WORDS.get(status, status))
            if status == "running":
                self.steps.scrollToItem(item)

    def _set_log_path(self, path: str) -> None:
        self._wizard.state.log_path = path
        self.log_path_label.setText(f"Log file: {path}")
        self.open_log_button.setEnabled(True)

    @Slot(object)
    def on_result(self, result: RunResult) -> None:
        state = self._wizard.state
        state.result = result
        state.verify = result.verify
        log_path = result.log_path
        if log_path:
            self._set_log_path(log_path)

    @Slot(str)
    def on_crashed(self, message: str) -> None:
        self.crash = message

    @Slot()
    def on_finished(self) -> None:
        self.running = False
        self._clock.stop()
        self._flush_timer.stop()
        self.flush_log()
        self._tick()
        self.cancel_button.hide()
        self.step_bar.setRange(0, 1000)
        self.show_outcome()
        self.completeChanged.emit()

    # -- the outcome ----------------------------------------------------------------------------------

    def show_outcome(self) -> None:
        result = self._wizard.state.result
        ok_color, fail_color, warn_color = (status_color(s, self) for s in ("ok", "fail", "warn"))
        if result is None:
            self.setTitle("The installation stopped")
            self.setSubTitle("Torch Setup hit a problem before the installation could finish.")
            self.status.setText(f"<span style='color:{fail_color}'>✗ {escape(self.crash or 'No result.')}</span>")
            self.retry_button.show()
            self._show_way_out([])
            return
        seconds = float(result.seconds or 0.0)
        if seconds:
            self.elapsed_label.setText(f"Took {human_seconds(seconds)}")
        if result.cancelled:
            self.setTitle("Installation cancelled")
            self.setSubTitle("You stopped the installation.")
            self.current_label.setText("Cancelled. What was done is undone again.")
            self._mark_undone()
            self.status.setText(self._rollback_text())
            self.retry_button.setText("Start &again")  # S is "Stop installing"
            self.retry_button.show()
            self._show_way_out([])
            return
        if result.ok:
            self.setTitle("PyTorch is installed")
            self.setSubTitle("Every step finished.")
            self.overall.setValue(1000)
            self.current_label.setText(f"<span style='color:{ok_color}'>✓ Installed in {human_seconds(seconds)}."
                                       "</span> Press Next to see what the check found.")
            return
        verify = result.verify
        if verify is not None:
            self.setTitle("Installed, but the check failed")
            self.setSubTitle("PyTorch was installed, but it did not pass the check.")
            self.current_label.setText(f"<span style='color:{warn_color}'>⚠ PyTorch was installed, but it does not "
                                       "work as expected.</span> Press Next to see why.")
            return
        self.setTitle("The installation failed")
        self.setSubTitle("Here is what went wrong and what to do about it.")
        failed = self.finished_event.failed_step if self.finished_event is not None else None
        lines = [f"<span style='color:{fail_color}'>✗ <b>The installation failed"
                 + (f" at “{escape(failed)}”" if failed else "") + ".</b></span>"]
        actions: list[str] = []
        for diagnosis in result.diagnoses[:3]:
            lines.append(diagnosis_html(diagnosis))
            action = diagnosis.action
            if action in FIX_BUTTONS and action not in actions:
                actions.append(action)
        if len(lines) == 1:
            message = self.finished_event.message if self.finished_event is not None else ""
            lines.append(escape(message or "The log has the details."))
        lines.append(self._rollback_text(short=True))
        self.status.setText("<br><br>".join(lines))
        self.current_label.setText("")
        self.retry_button.setText("&Retry")
        self.retry_button.show()
        self._show_way_out(actions)
        self.log_section.set_expanded(True)

    def _mark_undone(self) -> None:
        """After a cancel the finished steps were rolled back: say so on them, and no 100 % bar."""
        for index in range(self.steps.count()):
            item = self.steps.item(index)
            done = item is not None and item.data(Qt.ItemDataRole.UserRole) in ("ok", "running", "fail")
            if item is not None and done:
                self._set_step_icon(index, UNDONE)
                item.setText(f"{item.data(Qt.ItemDataRole.UserRole + 1) or item.text()}: undone")
        self.overall.setValue(0)
        self.overall.setFormat("Cancelled")
        self.step_bar.setValue(0)
        self.sizes_label.clear()

    def _rollback_text(self, short: bool = False) -> str:
        plan = self._wizard.state.plan
        removed = list(self.finished_event.rolled_back) if self.finished_event is not None else []
        leftover = (plan is not None and not self._env_existed and Path(plan.env).exists())
        if leftover:
            return (f"<span style='color:{status_color('warn', self)}'>⚠ {escape(plan.env)} could not be removed "
                    "completely; you can delete it yourself.</span>")
        if short:
            return "Nothing was left behind."
        if not removed:
            return "Nothing was left behind: nothing had been created yet."
        items = "".join(f"<li>{escape(r)}</li>" for r in removed[:8])
        more = f"<li>and {len(removed) - 8} more</li>" if len(removed) > 8 else ""
        return f"Nothing was left behind. Undone:<ul>{items}{more}</ul>"

    # -- the log ------------------------------------------------------------------------------------------

    @Slot()
    def flush_log(self) -> None:
        if self.log_buffer is None:
            return
        lines, dropped = self.log_buffer.drain()
        if dropped:
            lines.insert(0, f"… {dropped} lines are only in the log file …")
        if not lines:
            return
        if len(lines) > LOG_VIEW_MAX_LINES:
            skipped = len(lines) - LOG_VIEW_MAX_LINES
            lines = [f"… {skipped} lines are only in the log file …", *lines[-LOG_VIEW_MAX_LINES:]]
        scrollbar = self.log_view.verticalScrollBar()
        at_bottom = scrollbar.value() >= scrollbar.maximum() - 2
        # The runner's events are redacted already; the view redacts again so no other source can leak.
        self.log_view.appendPlainText(redact_text("\n".join(lines)))
        self.lines_shown += len(lines)
        if at_bottom:
            scrollbar.setValue(scrollbar.maximum())

    @Slot(bool)
    def _on_log_toggled(self, expanded: bool) -> None:
        self.log_section.toggle.setText("Hide the lo&g" if expanded else "Show the lo&g")
        self.log_section.toggle.setAccessibleName("Hide the log" if expanded else "Show the log")

    @Slot()
    def _tick(self) -> None:
        if self._elapsed.isValid():
            self.elapsed_label.setText(f"Elapsed: {human_seconds(self._elapsed.elapsed() / 1000)}")
