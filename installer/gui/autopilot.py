"""A developer's autopilot: drives the real wizard from an answer file by clicking its own buttons.

Hidden on purpose (no menu, no --help line): set TORCH_SETUP_GUI_AUTOPILOT=ANSWERS.toml (the answer-file
format of `torch-setup install --answers`) and run `torch-setup gui`. It fills each page's widgets from the
answers, waits until the page is complete, and presses Next / Install / Close -- or Cancel on the
Checking page with TORCH_SETUP_GUI_AUTOPILOT_CLOSE=checking -- through the same QWizard buttons a user
presses, so every page, worker thread and the normal shutdown run exactly as in a real session.
tests/gui/test_wizard_process.py uses it to run the real process through real installs and closes.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWizard

ANSWERS_ENV = "TORCH_SETUP_GUI_AUTOPILOT"
CLOSE_ENV = "TORCH_SETUP_GUI_AUTOPILOT_CLOSE"
TIMEOUT_ENV = "TORCH_SETUP_GUI_AUTOPILOT_TIMEOUT"
CLOSE_WAYS = ("finish", "checking")
POLL_MS = 50


def requested() -> str | None:
    """The answer file the autopilot should follow, or None when the wizard is for a person."""
    return os.environ.get(ANSWERS_ENV) or None


class Autopilot(QObject):
    """Polls the wizard on the GUI thread and acts once the current page is complete, as a patient user."""

    def __init__(self, wizard: Any, answers: Path, close: str = "finish", timeout_s: float = 900.0) -> None:
        from installer.core.plan import choices_from_answers

        super().__init__(wizard)
        if close not in CLOSE_WAYS:
            raise ValueError(f"{CLOSE_ENV} must be one of {', '.join(CLOSE_WAYS)}, not {close!r}.")
        self.wizard = wizard
        self.choices = choices_from_answers(answers)
        self.close = close
        self.error: str | None = None
        self._deadline = time.monotonic() + timeout_s
        self._filled: set[int] = set()
        self._pressed: tuple[int, Any] | None = None  # (page id, wizard button) already pressed there
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._step)

    @classmethod
    def from_environment(cls, wizard: Any) -> Autopilot | None:
        path = requested()
        if path is None:
            return None
        timeout = float(os.environ.get(TIMEOUT_ENV) or 900)
        return cls(wizard, Path(path), os.environ.get(CLOSE_ENV) or "finish", timeout)

    def start(self) -> None:
        self._timer.start()

    def _say(self, text: str) -> None:
        print(f"autopilot: {text}", file=sys.stderr, flush=True)

    def _fail(self, text: str) -> None:
        """Stop driving and close the window the way a user would give up: with Cancel."""
        self.error = text
        self._timer.stop()
        self._say(f"giving up: {text}")
        self.wizard.reject()

    @Slot()
    def _step(self) -> None:
        try:
            self._act()
        except Exception as exc:  # a bug here must end the run with a message, not repeat every 50 ms
            self._fail(f"{type(exc).__name__}: {exc}")

    def _act(self) -> None:
        from installer.gui.wizard import PageId

        wizard = self.wizard
        if not wizard.isVisible():
            self._timer.stop()
            return
        if time.monotonic() > self._deadline:
            self._fail(f"timed out on the {PageId(wizard.currentId()).name} page")
            return
        page_id = wizard.currentId()
        page = wizard.currentPage()
        if page is None:
            return
        try:
            if page_id not in self._filled:
                self._filled.add(page_id)
                self._fill(PageId(page_id), page)
                return  # let the page react (debounced checks, planning) before judging it complete
        except LookupError as exc:
            self._fail(str(exc))
            return
        if not page.isComplete():
            return
        if page_id == PageId.INSTALL:
            result = wizard.state.result
            if result is None or not getattr(result, "ok", False):
                self._fail(f"the install did not succeed: {page.status.text() or page.current_label.text()}")
                return
        if page_id == PageId.VERIFY and self.close == "checking":
            self._press(page_id, QWizard.WizardButton.CancelButton)
            return
        if page_id == PageId.FINISH:
            self._press(page_id, QWizard.WizardButton.FinishButton)
            return
        commit = page.isCommitPage()
        self._press(page_id, QWizard.WizardButton.CommitButton if commit else QWizard.WizardButton.NextButton)

    def _press(self, page_id: int, which: QWizard.WizardButton) -> None:
        if self._pressed == (page_id, which):
            return  # one press per page; the wizard is busy acting on it
        button = self.wizard.button(which)
        if button is None or not button.isVisible() or not button.isEnabled():
            return
        self._pressed = (page_id, which)
        self._say(f"{self.wizard.currentPage().title()}: pressing {button.text().replace('&', '')}")
        button.click()

    # -- filling the pages from the answers -------------------------------------------------------------

    def _fill(self, page_id: Any, page: Any) -> None:
        from installer.gui.wizard import PageId

        if page_id == PageId.METHOD:
            self._fill_method(page)
        elif page_id == PageId.ENVIRONMENT:
            self._fill_environment(page)

    def _fill_method(self, page: Any) -> None:
        c = self.choices
        button = page.method_buttons.get(c.method)
        if button is None or not button.isEnabled():
            raise LookupError(f"the method {c.method!r} is not offered")
        button.click()
        _choose(page.version_combo, c.torch, "PyTorch version")
        _choose(page.backend_combo, c.backend, "compute platform")
        names = {p.split("[")[0].split("=")[0].strip() for p in c.packages}
        for box, name in ((page.torchvision, "torchvision"), (page.torchaudio, "torchaudio")):
            if box.isEnabled() and box.isChecked() != (name in names):
                box.click()

    def _fill_environment(self, page: Any) -> None:
        c = self.choices
        if c.env:
            folder = Path(c.env).expanduser()
            _type_into(page.location_edit, str(folder.parent))
            _type_into(page.name_edit, folder.name)
        elif c.env_name:
            _type_into(page.name_edit, c.env_name)
        _choose(page.engine_combo, c.engine, "engine")
        if c.torch_source in ("pytorch", "pypi"):
            _choose(page.source_combo, c.torch_source, "source")
        else:
            _choose(page.source_combo, "url" if "://" in c.torch_source else "folder", "source")
            page.source_edit.setText(c.torch_source)
        if c.python:
            # The Python list depends on the engine and source just set: the page rebuilds it on revalidate().
            page.revalidate()
            combo = page.python_combo
            wanted = [i for i in range(combo.count()) if _same_python(combo.itemData(i), c.python)]
            if not wanted:
                offered = [combo.itemText(i) for i in range(combo.count())]
                raise LookupError(f"Python {c.python} is not offered; offered: {offered}")
            combo.setCurrentIndex(wanted[0])


def _type_into(edit: Any, text: str) -> None:
    """Replace a field's text key by key, as a person types it (each key runs the page's live checks)."""
    edit.setFocus()
    edit.selectAll()
    _press(edit, Qt.Key.Key_Delete)
    for ch in text:
        _press(edit, Qt.Key.Key_unknown, ch)
    if edit.text() != text:  # an input method or validator changed it: say so rather than install elsewhere
        raise LookupError(f"typing {text!r} into {edit.accessibleName() or 'a field'} gave {edit.text()!r}")


def _press(widget: Any, key: Qt.Key, text: str = "") -> None:
    """One key press and release delivered to `widget`, as the keyboard would (QtTest is not in the app)."""
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text))


def _same_python(data: Any, wanted: str) -> bool:
    text = str(data)
    if text == wanted or text == f"managed:{wanted}":
        return True
    try:
        return os.path.realpath(text) == os.path.realpath(wanted)
    except (OSError, ValueError):
        return False


def _choose(combo: Any, data: str, what: str) -> None:
    index = combo.findData(data)
    if index < 0:
        offered = [combo.itemData(i) for i in range(combo.count())]
        raise LookupError(f"the {what} {data!r} is not offered; offered: {offered}")
    combo.setCurrentIndex(index)
