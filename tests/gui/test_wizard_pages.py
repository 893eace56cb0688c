"""The wizard's pages with recorded machines and the real catalog and planner (no installs here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wizard_driver import REPO, go_to, recorded_detect

from installer.core.plan import choices_from_answers
from installer.gui.wizard import PageId


def test_system_page_shows_checklist_and_saves_report(qtbot: Any, make_wizard: Any, catalog: Any,
                                                      tmp_path: Path) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.SYSTEM)
    page = wizard.currentPage()
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    texts = [page.tree.topLevelItem(i).text(1) for i in range(page.tree.topLevelItemCount())]
    assert any("4090" in t for t in texts), texts
    assert page.details_button.isEnabled() and page.save_button.isEnabled()
    page.save_report(tmp_path / "report.json")
    from installer.core.report import SystemReport

    saved = SystemReport.load(tmp_path / "report.json")
    assert saved.gpus[0].name == wizard.state.report.gpus[0].name
    page.copy_report()
    from PySide6.QtGui import QGuiApplication

    assert '"schema_version": 1' in QGuiApplication.clipboard().text()
    # Rescan runs detection again and the page is usable again afterwards
    page.rescan_button.click()
    assert not page.isComplete()
    qtbot.waitUntil(page.isComplete, timeout=10_000)


def test_detection_failure_is_shown_and_rescan_recovers(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    calls: list[int] = []
    good = recorded_detect("linux-rtx4090")

    def flaky_detect(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("the probe exploded")
        return good(**kwargs)

    wizard = make_wizard(detect_fn=flaky_detect, catalog=catalog)
    go_to(qtbot, wizard, PageId.SYSTEM)
    page = wizard.currentPage()
    qtbot.waitUntil(lambda: page.error is not None, timeout=10_000)
    assert "the probe exploded" in page.busy_label.text()
    assert not page.isComplete()
    qtbot.waitUntil(page.rescan_button.isEnabled)
    page.rescan_button.click()
    qtbot.waitUntil(page.isComplete, timeout=10_000)


def test_method_page_recommends_and_explains_backend(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.METHOD)
    page = wizard.currentPage()
    assert page.selected_method() == "pip"
    assert "recommended" in page.method_buttons["pip"].text()
    # conda is not on that machine: disabled, with what to do
    assert not page.method_buttons["conda"].isEnabled()
    assert page.method_notes["conda"].text()
    # automatic backend: the planner's choice and reason, live
    assert "cu" in page.backend_note.text()
    # an override says what it needs
    labels = [page.backend_combo.itemText(i) for i in range(page.backend_combo.count())]
    assert any(label.startswith("cpu:") for label in labels), labels
    page.backend_combo.setCurrentIndex(page.backend_combo.findData("cpu"))
    assert wizard.state.choices.backend == "cpu"
    assert "cpu" in page.backend_note.text()
    page.torchaudio.setChecked(True)
    assert "torchaudio" in wizard.state.choices.packages
    assert page.isComplete()


def test_back_and_next_keep_choices(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.METHOD)
    method = wizard.currentPage()
    method.backend_combo.setCurrentIndex(method.backend_combo.findData("cpu"))
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    env = wizard.currentPage()
    env.name_edit.setText("keepme")
    qtbot.waitUntil(env.isComplete)
    wizard.back()
    assert wizard.currentId() == PageId.METHOD
    assert method.backend_combo.currentData() == "cpu"
    wizard.back()
    assert wizard.currentId() == PageId.SYSTEM
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    assert env.name_edit.text() == "keepme"
    assert wizard.state.choices.backend == "cpu"
    go_to(qtbot, wizard, PageId.REVIEW)
    assert wizard.state.plan.backend == "cpu"
    assert wizard.state.plan.env.endswith("keepme")


@pytest.mark.parametrize("name", ["my env", "-dash-first", "../escape", "a/b", "x" * 65, ".hidden"])
def test_bad_environment_names_are_refused_inline(qtbot: Any, make_wizard: Any, catalog: Any, name: str) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    qtbot.waitUntil(page.isComplete)
    page.name_edit.setText(name)
    qtbot.waitUntil(lambda: page.problem_label.isVisible() and not page.isComplete())
    assert "letters, digits" in page.problem_label.text()
    assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()
    page.name_edit.setText("fine-name_1.0")
    qtbot.waitUntil(page.isComplete)
    assert not page.problem_label.isVisible()


def test_bad_locations_are_refused_inline(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    qtbot.waitUntil(page.isComplete)

    def refused(location: str, name: str, words: str) -> None:
        page.location_edit.setText(location)
        page.name_edit.setText(name)
        qtbot.waitUntil(lambda: not page.isComplete() and words in page.problem_label.text(), timeout=5000)

    occupied = tmp_path / "occupied"
    (occupied / "work").mkdir(parents=True)
    (occupied / "work" / "thesis.tex").write_text("precious")
    refused(str(occupied), "work", "not empty")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    refused(str(a_file), "env", "is a file")
    refused("relative/folder", "env", "full path")
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        refused(str(locked), "env", "no permission")

    # too little disk: the drive reports 100 MB free
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    with monkeypatch.context() as patch:
        patch.setattr(shutil, "disk_usage", lambda _p: usage(10**12, 10**12 - 100 * 2**20, 100 * 2**20))
        refused(str(tmp_path), "fresh", "free")
    page.name_edit.setText("fresh2")
    page.name_edit.setText("fresh")
    qtbot.waitUntil(page.isComplete)
    assert wizard.state.choices.env == str(tmp_path / "fresh")
    assert occupied.joinpath("work", "thesis.tex").read_text() == "precious"


def test_only_compatible_pythons_are_offered(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    offered = [str(page.python_combo.itemData(i)) for i in range(page.python_combo.count())]
    assert offered
    report = wizard.state.report
    for exe in offered:
        if exe.startswith("managed:"):
            continue
        py = next(p for p in report.pythons if p.executable == exe)
        assert catalog.latest().python_range("linux-x86_64").supports(py.minor), py.version


def test_no_fitting_python_offers_a_managed_one(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-no-python"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    items = [str(page.python_combo.itemData(i)) for i in range(page.python_combo.count())]
    assert items and all(i.startswith("managed:") for i in items), items
    assert "download" in page.python_combo.itemText(0)
    assert "download" in page.python_note.text()


def test_advanced_settings_are_validated(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    qtbot.waitUntil(page.isComplete)
    assert not page.advanced.is_expanded()
    page.index_edit.setText("http://insecure.example.org/simple")
    qtbot.waitUntil(lambda: "https" in page.advanced_problem.text())
    assert not page.isComplete()
    assert page.advanced.is_expanded()
    page.index_edit.clear()
    page.source_combo.setCurrentIndex(page.source_combo.findData("folder"))
    page.source_edit.setText(str(tmp_path / "no-such-folder"))
    qtbot.waitUntil(lambda: not page.isComplete() and "folder" in page.advanced_problem.text())
    page.source_edit.setText(str(tmp_path))
    qtbot.waitUntil(lambda: "no torch wheel" in page.problem_label.text())
    # the planner only reads wheel names here; nothing is installed from this file
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    page.source_edit.setText(str(tmp_path) + "/")
    page.source_edit.setText(str(tmp_path))
    page.jupyter_check.setChecked(True)
    # that machine has Pythons 3.10 and 3.12 only: the cp311 wheel needs a managed 3.11, which uv can fetch
    qtbot.waitUntil(page.isComplete)
    assert page.python_combo.currentData() == "managed:3.11"
    page.engine_combo.setCurrentIndex(page.engine_combo.findData("pip"))
    qtbot.waitUntil(lambda: "pip engine cannot download" in page.problem_label.text())
    page.engine_combo.setCurrentIndex(page.engine_combo.findData("uv"))
    qtbot.waitUntil(page.isComplete)
    choices = wizard.state.choices
    assert (choices.torch_source, choices.jupyter, choices.engine, choices.python) == (
        str(tmp_path), True, "uv", "3.11")


def test_review_is_a_commit_page_with_commands_and_answer_file(qtbot: Any, make_wizard: Any, catalog: Any,
                                                              tmp_path: Path) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.REVIEW)
    page = wizard.currentPage()
    assert page.isCommitPage()
    assert wizard.button(wizard.WizardButton.CommitButton).text().replace("&", "") == "Install"
    plan = wizard.state.plan
    commands = page.commands.toPlainText()
    for step in plan.steps:
        assert step.name in commands
    assert "Download: about" in page.estimates.text()
    assert plan.env in page.summary.text()
    page.save_answers(tmp_path / "answers.toml")
    back = choices_from_answers(tmp_path / "answers.toml")
    assert (back.method, back.backend, back.env, back.python) == (
        wizard.state.choices.method, wizard.state.choices.backend, wizard.state.choices.env,
        wizard.state.choices.python)
    assert "--answers" in page.save_note.text()


def test_keyboard_focus_and_accessible_names(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit

    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    for page_id in PageId:
        page = wizard.page(int(page_id))
        widgets = [w for kind in (QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit) for w in page.findChildren(kind)]
        for widget in widgets:
            if widget.parent() is not None and "qt_" in widget.objectName():
                continue
            assert widget.accessibleName(), f"{PageId(page_id).name}: {type(widget).__name__} {widget.text() if hasattr(widget, 'text') else ''}"


def test_window_size_is_remembered(qtbot: Any, make_wizard: Any, catalog: Any, scratch_settings: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    wizard.resize(1000, 777)
    wizard.close()
    again = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    assert (again.width(), again.height()) == (1000, 777)


def test_no_display_prints_cli_help_and_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-c", "import sys; from installer.gui.app import run_gui; "
                           "sys.exit(run_gui(['torch-setup']))"], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    if sys.platform in ("win32", "darwin"):
        pytest.skip("there is always a display on Windows and macOS")
    assert proc.returncode == 2, proc.stderr
    assert "torch-setup install" in proc.stderr


def test_self_test_prints_timings(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TORCH_SETUP_HOME=str(tmp_path), PYTHONFAULTHANDLER="1")
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from installer.gui.app import self_test; "
                             "sys.exit(self_test())"], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        import signal

        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        stdout, stderr = proc.communicate(timeout=30)
        pytest.fail(f"the self-test hung:\n{stderr[-6000:]}")
    assert proc.returncode == 0, stderr
    import json

    data = json.loads(stdout.strip().splitlines()[-1])
    assert data["first_paint_s"] is not None and data["first_paint_s"] > 0
    assert data["detect_s"] is not None and data["checklist_rows"] > 0


def test_missing_x11_libraries_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from installer.gui.app import missing_xcb_libraries

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    if not sys.platform.startswith("linux"):
        assert missing_xcb_libraries() == []
        return
    assert missing_xcb_libraries({"libtorch-setup-no-such-library.so.7": "no-such-package"}) == ["no-such-package"]
    assert missing_xcb_libraries({"libc.so.6": "libc6"}) == []


def test_default_python_is_left_to_the_planner(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    """Leaving the suggested Python selected must not read as the user's own choice on the Review page."""
    from installer.core.detect import detect

    def detect_this_machine(**kwargs: Any) -> Any:  # real interpreters: their paths exist here
        kwargs["offline"] = True
        return detect(**kwargs)

    wizard = make_wizard(detect_fn=detect_this_machine, catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    assert page.python_combo.currentIndex() >= 0
    assert wizard.state.choices.python is None
    plan, _err = wizard.try_plan(wizard.choices_copy())
    assert plan is not None
    assert not any("as asked" in reason for reason in plan.reasons), plan.reasons
    if page.python_combo.count() > 1:  # picking another one is the user's choice, and says so
        page.python_combo.setCurrentIndex(page.python_combo.count() - 1)
        qtbot.waitUntil(lambda: wizard.state.choices.python is not None, timeout=5000)


def test_nightly_offers_the_nightly_builds(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    """The override list follows the chosen version, as the planner does: nightly has builds no release has."""
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.METHOD)
    page = wizard.currentPage()

    def offered() -> set[str]:
        return {str(page.backend_combo.itemData(i)) for i in range(page.backend_combo.count())}

    nightly_only = set(catalog.variants(catalog.release("nightly"), "linux-x86_64")) - set(
        catalog.variants(catalog.latest(), "linux-x86_64"))
    assert nightly_only, "the catalog's nightly has no build of its own: pick another case"
    assert not nightly_only & offered()
    page.version_combo.setCurrentIndex(page.version_combo.findData("nightly"))
    qtbot.waitUntil(lambda: nightly_only <= offered(), timeout=5000)
