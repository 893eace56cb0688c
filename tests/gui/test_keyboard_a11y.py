"""Keyboard and screen-reader use, page by page: unique mnemonics (the wizard's own buttons included), an
accessible name on every control, status rows read as words, and every page readable at 640×480."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from wizard_driver import go_to, recorded_detect

from installer.gui.wizard import MINIMUM_SIZE, PageId


def mnemonic(text: str) -> str | None:
    """The letter after a single '&' ("Na&me" → "m"), or None."""
    i = 0
    while i < len(text) - 1:
        if text[i] == "&":
            if text[i + 1] != "&":
                return text[i + 1].lower()
            i += 1
        i += 1
    return None


def page_mnemonics(wizard: Any, page: Any) -> list[tuple[str, str]]:
    """(letter, where) for every control of the page, shown or not, and the wizard buttons shown on it."""
    from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QTabWidget

    found: list[tuple[str, str]] = []
    for widget in page.findChildren(QAbstractButton):
        if (letter := mnemonic(widget.text())) is not None:
            found.append((letter, f"button {widget.text()!r}"))
    for label in page.findChildren(QLabel):
        if label.buddy() is not None and (letter := mnemonic(label.text())) is not None:
            found.append((letter, f"label {label.text()!r}"))
    for box in page.findChildren(QGroupBox):
        if (letter := mnemonic(box.title())) is not None:
            found.append((letter, f"group {box.title()!r}"))
    for tabs in page.findChildren(QTabWidget):
        for i in range(tabs.count()):
            if (letter := mnemonic(tabs.tabText(i))) is not None:
                found.append((letter, f"tab {tabs.tabText(i)!r}"))
    for which in (wizard.WizardButton.BackButton, wizard.WizardButton.NextButton, wizard.WizardButton.CommitButton,
                  wizard.WizardButton.FinishButton, wizard.WizardButton.CancelButton):
        button = wizard.button(which)
        if button.isVisible() and (letter := mnemonic(button.text())) is not None:
            found.append((letter, f"wizard button {button.text()!r}"))
    return found


def walk_every_page(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path) -> Any:
    """A wizard walked from Welcome to Finish with a replayed install, yielding (page id, wizard) on each page."""
    from installer.gui.screenshots import ReplayRunner

    def replay(plan: Any, on_event: Any, cancel: Any = None, force: bool = False) -> ReplayRunner:
        return ReplayRunner(plan, on_event, cancel, force)

    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog, runner_factory=replay)
    # The install path only: Next on Finish does not lead to the doctor's pages (Welcome's choice does).
    for page_id in (p for p in PageId if p <= PageId.FINISH):
        if wizard.currentId() != page_id:
            go_to(qtbot, wizard, page_id, timeout=60_000)
        page = wizard.currentPage()
        if page_id == PageId.INSTALL:
            qtbot.waitUntil(lambda p=page: wizard.state.result is not None and not p.is_running(), timeout=60_000)
        if page_id == PageId.ENVIRONMENT:
            page.advanced.set_expanded(True)  # its controls count too
        yield page_id, wizard


def test_every_page_has_unique_mnemonics(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path) -> None:
    seen_pages = []
    for page_id, wizard in walk_every_page(qtbot, make_wizard, catalog, tmp_path):
        found = page_mnemonics(wizard, wizard.currentPage())
        letters = [letter for letter, _ in found]
        clashes = {letter: [w for x, w in found if x == letter] for letter in letters if letters.count(letter) > 1}
        assert not clashes, f"{page_id.name}: {clashes}"
        seen_pages.append(page_id)
    assert seen_pages == [p for p in PageId if p <= PageId.FINISH]


def test_every_control_has_a_mnemonic(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path) -> None:
    """Buttons, boxes and fields are reachable with Alt+letter: their own text or their label's buddy."""
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit

    for page_id, wizard in walk_every_page(qtbot, make_wizard, catalog, tmp_path):
        page = wizard.currentPage()
        buddied = {id(label.buddy()) for label in page.findChildren(QLabel) if label.buddy() is not None
                   and mnemonic(label.text())}
        for button in page.findChildren(QAbstractButton):
            if button.objectName().startswith("qt_") or not button.text():
                continue  # Qt's own (scroll bar arrows, tab scrollers) and icon-only buttons
            assert mnemonic(button.text()), f"{page_id.name}: {button.text()!r} has no mnemonic"
        for field in [*page.findChildren(QComboBox), *page.findChildren(QLineEdit)]:
            if isinstance(field.parent(), QComboBox):
                continue  # a combo's own line edit
            if isinstance(field, QLineEdit) and field.isReadOnly() and not field.isVisibleTo(page):
                continue
            assert id(field) in buddied, f"{page_id.name}: {field.accessibleName()!r} has no labelled mnemonic"


def test_accessibility_tree_names_every_focusable_control(qtbot: Any, make_wizard: Any, catalog: Any,
                                                          tmp_path: Path) -> None:
    """What a screen reader gets from Qt's accessibility tree: a name (and for inputs a description) on every
    control that takes focus, and the status rows of the lists in words, not ✓/⚠/✗ marks."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAccessible
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QComboBox,
        QLineEdit,
        QTreeWidget,
        QWidget,
    )

    for page_id, wizard in walk_every_page(qtbot, make_wizard, catalog, tmp_path):
        page = wizard.currentPage()
        controls = [w for w in page.findChildren(QWidget)
                    if w.focusPolicy() & Qt.FocusPolicy.TabFocus and w.isVisibleTo(page)
                    and not w.objectName().startswith("qt_") and not isinstance(w.parent(), QComboBox)]
        controls += [b for b in (wizard.button(which) for which in (
            wizard.WizardButton.BackButton, wizard.WizardButton.NextButton, wizard.WizardButton.CommitButton,
            wizard.WizardButton.FinishButton, wizard.WizardButton.CancelButton)) if b.isVisible()]
        for widget in controls:
            iface = QAccessible.queryAccessibleInterface(widget)
            assert iface is not None and iface.isValid(), f"{page_id.name}: {widget!r}"
            name = iface.text(QAccessible.Text.Name)
            assert name and name.strip(), f"{page_id.name}: {type(widget).__name__} has no accessible name"
            assert "&" not in name.replace("&&", ""), f"{page_id.name}: {name!r} reads its mnemonic marker"
            if isinstance(widget, (QAbstractButton, QComboBox, QLineEdit, QAbstractItemView)):
                assert iface.text(QAccessible.Text.Description), \
                    f"{page_id.name}: {name!r} has no accessible description"
        for tree in page.findChildren(QTreeWidget):
            for i in range(tree.topLevelItemCount()):
                spoken = tree.topLevelItem(i).data(0, Qt.ItemDataRole.AccessibleTextRole)
                assert spoken and not any(mark in spoken for mark in "✓⚠✗"), f"{page_id.name}: {spoken!r}"
                assert spoken.split(":", 1)[0] in ("OK", "Warning", "Problem", "Note", "Passed", "Failed",
                                                   "Information"), spoken
        # The side panel says where the user is, in words.
        expected = {PageId.SYSTEM: "Look current", PageId.METHOD: "Choose current", PageId.INSTALL: "Install current",
                    PageId.VERIFY: "Check current", PageId.FINISH: "Check done"}.get(page_id)
        if expected:
            assert expected in wizard.step_list.accessibleName(), (page_id.name, wizard.step_list.accessibleName())


def test_python_reasons_are_reachable_by_keyboard(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    """Why a Python is not offered was a tooltip ("hover here"); now a section Space opens, its text in a label."""
    from PySide6.QtCore import Qt

    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    qtbot.waitUntil(page.isComplete)
    if not page.python_why.isVisibleTo(page):
        pytest.skip("every Python of this recorded machine fits")
    assert "Hover" not in page.python_note.text()
    page.python_why.toggle.setFocus()
    qtbot.keyClick(page.python_why.toggle, Qt.Key.Key_Space)
    assert page.python_why.is_expanded() and page.python_details.isVisibleTo(page)
    assert page.python_details.text() and page.python_details.text() == page.python_note.toolTip()


@pytest.mark.parametrize("page_id", list(PageId))
def test_each_page_fits_the_minimum_window(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path,
                                           page_id: PageId) -> None:
    """At 640×480 nothing is squeezed below its own minimum (the page scrolls instead) and no word-wrapped
    text is cut: each page's content keeps its minimum size and the widest line fits without a horizontal bar."""
    from PySide6.QtWidgets import QComboBox, QLineEdit

    for current, wizard in walk_every_page(qtbot, make_wizard, catalog, tmp_path):
        if current != page_id:
            continue
        wizard.resize(MINIMUM_SIZE)
        qtbot.waitUntil(lambda w=wizard: w.size() == MINIMUM_SIZE)
        page = wizard.currentPage()
        area = page.property("scrollArea")
        assert area is not None, f"{page_id.name} does not scroll"
        content = area.widget()
        assert content.height() >= content.minimumSizeHint().height() - 1
        assert not area.horizontalScrollBar().isVisible(), f"{page_id.name} is wider than the window"
        for field in [*page.findChildren(QComboBox), *page.findChildren(QLineEdit)]:
            if field.isVisibleTo(page) and not isinstance(field.parent(), QComboBox):
                assert field.height() >= field.minimumSizeHint().height() - 1, field.accessibleName()
                assert field.width() >= 60, (page_id.name, field.accessibleName(), field.width())
        break


def test_a_remembered_size_below_the_minimum_is_not_restored(qtbot: Any, make_wizard: Any, catalog: Any,
                                                              scratch_settings: Any) -> None:
    from PySide6.QtCore import QSize

    scratch_settings.setValue("window/size", QSize(500, 300))
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    assert wizard.width() >= MINIMUM_SIZE.width() and wizard.height() >= MINIMUM_SIZE.height()
    assert wizard.minimumSize() == MINIMUM_SIZE


def test_header_icon_on_every_page(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    logo = wizard.pixmap(wizard.WizardPixmap.LogoPixmap)
    if logo.isNull():
        pytest.skip("this copy has no icon files")
    for page_id in PageId:
        assert wizard.page(int(page_id)).subTitle(), f"{page_id.name}: without a subtitle ModernStyle hides the logo"


def test_unicode_environment_name_is_accepted(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    qtbot.waitUntil(page.isComplete)
    page.name_edit.setText("tørch_環境")
    qtbot.waitUntil(lambda: page.isComplete() and not page.problem_label.isVisible())
    assert wizard.state.choices.env.endswith("tørch_環境")
    page.name_edit.setText("tørch/環境")
    qtbot.waitUntil(lambda: page.problem_label.isVisible() and not page.isComplete())
    assert "letters, digits" in page.problem_label.text()


def test_review_says_no_download_for_a_wheel_folder(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from installer.gui.pages.review import estimates_text

    plan = SimpleNamespace(choices={"torch_source": str(tmp_path)}, download_mib=200, disk_mib=1000)
    text = estimates_text(plan)
    assert "200 MB" not in text and "Download: about" not in text
    assert "wheel folder" in text and "Disk space: about 1.0 GB" in text
    for source in ("pytorch", "pypi", "https://mirror.example/whl"):
        assert "Download: about 200 MB" in estimates_text(SimpleNamespace(choices={"torch_source": source},
                                                                          download_mib=200, disk_mib=1000))


def test_open_log_without_a_desktop_launcher_says_so(qtbot: Any, make_wizard: Any, catalog: Any,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QDesktopServices.openUrl returns False where no launcher exists: the window says so and offers the path."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices, QGuiApplication

    opened: list[str] = []

    def no_launcher(url: QUrl) -> bool:
        opened.append(url.toLocalFile())
        return False  # what Qt returns where no xdg-open / file manager exists

    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(no_launcher))
    from installer.gui.widgets import PathFallback

    note = PathFallback()
    qtbot.addWidget(note)
    log = tmp_path / "install.log"
    log.write_text("x")
    assert note.open(str(log), "log file") is False
    assert opened == [str(log)]
    assert not note.isHidden()
    assert "no program to open the log file" in note.label.text() and str(log) in note.label.text()
    note.copy_button.click()
    assert QGuiApplication.clipboard().text() == str(log)


def test_details_show_a_readable_report_with_json_one_tab_away(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    import json

    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.SYSTEM)
    page = wizard.currentPage()
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    page.show_details()
    dialog = page._details
    qtbot.addWidget(dialog)
    assert dialog.tabs.currentWidget() is dialog.readable
    readable = dialog.readable.toPlainText()
    assert "4090" in readable and "{" not in readable
    assert json.loads(dialog.json_view.toPlainText())["schema_version"] == 1
    dialog.close()


def test_dark_scheme_gives_a_dark_palette() -> None:
    """The screenshots' --scheme dark and a dark desktop: Qt's style hint, with our palette where the platform
    has none (this runs in a fresh process: a scheme is set once per application)."""
    import os
    import subprocess

    code = ("import os; os.environ['TORCH_SETUP_COLOR_SCHEME']='dark'\n"
            "from installer.gui.app import make_application\nfrom installer.gui.widgets import is_dark\n"
            "app = make_application(['x'])\nprint(is_dark())")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "True", proc.stderr
