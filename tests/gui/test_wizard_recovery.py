"""Ways out in the wizard: a failed install leads back to the choices with everything kept, fixes that are
choices are buttons, Review warns when PyTorch's index did not answer, and an environment the wizard made
earlier can be replaced (never a foreign folder).

The installs are real (uv, the local torch wheel, Python 3.11); the failure is a real refused connection.
"""

from __future__ import annotations

import dataclasses
import html
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from wizard_driver import go_to, load_report, recorded_detect

from installer.core.journal import read_marker
from installer.core.plan import Plan, Step
from installer.gui.wizard import PageId

# A port where nothing listens (discard): the connection is refused at once, on any machine.
REFUSED_MIRROR = "http://127.0.0.1:9/whl"


def choose(combo: Any, data: str) -> None:
    index = combo.findData(data)
    assert index >= 0, f"{data!r} not offered: {[combo.itemData(i) for i in range(combo.count())]}"
    combo.setCurrentIndex(index)


def choose_python(combo: Any, python: str) -> None:
    wanted = [i for i in range(combo.count()) if os.path.realpath(str(combo.itemData(i))) == os.path.realpath(python)]
    assert wanted, f"{python} not offered: {[combo.itemText(i) for i in range(combo.count())]}"
    combo.setCurrentIndex(wanted[0])


def pick_cpu_torch(qtbot: Any, wizard: Any) -> None:
    go_to(qtbot, wizard, PageId.METHOD)
    page = wizard.currentPage()
    page.method_buttons["pip"].setChecked(True)
    choose(page.version_combo, "2.13.0")
    choose(page.backend_combo, "cpu")
    page.torchvision.setChecked(False)
    page.torchaudio.setChecked(False)
    qtbot.waitUntil(page.isComplete)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)


def set_source(env_page: Any, kind: str, text: str = "") -> None:
    env_page.advanced.set_expanded(True)
    choose(env_page.source_combo, kind)
    env_page.source_edit.setText(text)


def install_from_review(qtbot: Any, wizard: Any) -> Any:
    go_to(qtbot, wizard, PageId.REVIEW, timeout=20_000)
    review = wizard.currentPage()
    assert review.isComplete(), review.summary.text()
    wizard.next()  # "Install"
    install = wizard.currentPage()
    assert wizard.currentId() == PageId.INSTALL
    qtbot.waitUntil(lambda: wizard.state.result is not None and not install.is_running(), timeout=600_000)
    return install


def install_twice_ready(qtbot: Any, make_wizard: Any, tmp_path: Path, wheels: Path, py311: str, name: str) -> Any:
    """A wizard on the Environment page with pip, torch 2.13.0 cpu from the wheel folder and Python 3.11."""
    wizard = make_wizard(torch_source=str(wheels), env_root=tmp_path / "envs")
    pick_cpu_torch(qtbot, wizard)
    env_page = wizard.currentPage()
    env_page.name_edit.setText(name)
    choose_python(env_page.python_combo, py311)
    return wizard


@pytest.mark.e2e
def test_failed_install_leads_back_to_the_choices_with_everything_kept(
        qtbot: Any, make_wizard: Any, tmp_path: Path, wheels: Path, py311: str) -> None:
    wizard = make_wizard(env_root=tmp_path / "envs")
    pick_cpu_torch(qtbot, wizard)
    env_page = wizard.currentPage()
    env_page.name_edit.setText("comeback")
    choose_python(env_page.python_combo, py311)
    set_source(env_page, "url", REFUSED_MIRROR)
    qtbot.waitUntil(env_page.isComplete, timeout=10_000)
    install = install_from_review(qtbot, wizard)
    result = wizard.state.result
    assert not result.ok and result.verify is None
    status = install.status.text()
    assert "refused the connection" in status, status
    assert "--torch-source" not in status and "--find-links" not in status  # the wizard's words, not flags
    assert install.change_button.isVisible()
    assert install.fix_buttons["torch-source"].isVisible()
    assert not install.fix_buttons["python"].isVisible()
    assert Path(result.log_path).is_file() and install.open_log_button.isEnabled()  # the log is there to open

    # "Change choices": back to the Method page, everything as it was
    install.change_button.click()
    assert wizard.currentId() == PageId.METHOD
    method = wizard.currentPage()
    assert method.version_combo.currentData() == "2.13.0" and method.backend_combo.currentData() == "cpu"
    assert method.method_buttons["pip"].isChecked()
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    assert env_page.name_edit.text() == "comeback"
    assert os.path.realpath(str(env_page.python_combo.currentData())) == os.path.realpath(py311)
    assert env_page.source_combo.currentData() == "url" and env_page.source_edit.text() == REFUSED_MIRROR

    # the corrected choice installs
    set_source(env_page, "folder", str(wheels))
    qtbot.waitUntil(env_page.isComplete, timeout=10_000)
    install = install_from_review(qtbot, wizard)
    assert wizard.state.result.ok, install.status.text()
    assert wizard.state.plan.env == str(tmp_path / "envs" / "comeback")
    assert not install.change_button.isVisible()


def test_a_fix_button_opens_the_control_it_names(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path) -> None:
    env = tmp_path / "envs" / "handmade"
    uv_dns_failure = (Path(__file__).parents[1] / "fixtures" / "logs" / "network-6.log").read_text(encoding="utf-8")
    plan = Plan(method="pip", backend="cpu", torch="2.13.0", python="3.11", env=str(env),
                steps=[Step(name="Install PyTorch", kind="install",
                            argv=[sys.executable, "-c", f"import sys; sys.stderr.write({uv_dns_failure!r}); sys.exit(2)"])],
                env_python=str(env / "bin" / "python"), download_mib=1, disk_mib=1, expect="cpu")
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog,
                         plan_fn=lambda _report, _choices, _catalog: plan)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    env_page = wizard.currentPage()
    env_page.name_edit.setText("kept-name")
    go_to(qtbot, wizard, PageId.INSTALL)
    install = wizard.currentPage()
    qtbot.waitUntil(lambda: wizard.state.result is not None and not install.is_running(), timeout=60_000)
    assert "could not be resolved" in install.status.text()
    button = install.fix_buttons["torch-source"]
    assert button.isVisible() and "wheel folder" in button.text()
    button.click()
    assert wizard.currentId() == PageId.ENVIRONMENT
    assert env_page.advanced.toggle.isChecked()
    assert env_page.source_combo.currentData() == "folder"
    qtbot.waitUntil(lambda: env_page.source_edit.hasFocus(), timeout=5_000)
    assert env_page.name_edit.text() == "kept-name"
    assert wizard.state.result is None  # going forward again installs anew


def _unreachable(report: Any, detail: str) -> Any:
    network = dataclasses.replace(report.network, checked=True, pytorch_index=False, package_index=True,
                                  detail=detail)
    return dataclasses.replace(report, network=network)


def test_review_warns_when_pytorchs_index_did_not_answer(qtbot: Any, make_wizard: Any, catalog: Any,
                                                         tmp_path: Path) -> None:
    report = _unreachable(load_report("linux-rtx4090"), "PyTorch index: [Errno -2] Name or service not known; "
                                                        "package index (pip's default): HTTP 200")
    wizard = make_wizard(detect_fn=lambda **_kw: report, catalog=catalog)
    go_to(qtbot, wizard, PageId.REVIEW)
    review = wizard.currentPage()
    assert review.isComplete()
    text = html.unescape(review.warnings.text())
    assert review.warnings.isVisible()
    assert "PyTorch's package index did not answer" in text and "could not be resolved" in text, text
    assert "wheel" in text and "--" not in text
    assert review.source_button.isVisible()
    review.source_button.click()
    assert wizard.currentId() == PageId.ENVIRONMENT
    env_page = wizard.currentPage()
    assert env_page.advanced.toggle.isChecked() and env_page.source_combo.currentData() == "folder"

    # a wheel folder needs no index, and a mirror was not asked: no warning for either
    from installer.gui.pages.review import unreachable_index_warning

    plan = wizard.state.plan
    assert unreachable_index_warning(plan, report)
    for source in (str(tmp_path), "https://mirror.example.org/whl"):
        assert unreachable_index_warning(dataclasses.replace(plan, choices={**plan.choices, "torch_source": source}),
                                         report) is None


def test_review_is_quiet_when_the_index_answered(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.REVIEW)
    review = wizard.currentPage()
    assert "did not answer" not in review.warnings.text()
    assert not review.source_button.isVisible()


def test_a_foreign_folder_is_refused_without_a_replace_offer(qtbot: Any, make_wizard: Any, catalog: Any,
                                                             tmp_path: Path) -> None:
    foreign = tmp_path / "envs" / "mine"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("my own files", encoding="utf-8")
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    env_page = wizard.currentPage()
    env_page.name_edit.setText("mine")
    qtbot.waitUntil(lambda: not env_page._debounce.isActive())
    assert not env_page.isComplete()
    assert "not empty" in env_page.problem_label.text()
    assert not env_page.replace_check.isVisible()
    assert not wizard.state.choices.force
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "my own files"


@pytest.mark.e2e
def test_replace_an_environment_the_wizard_made(qtbot: Any, make_wizard: Any, tmp_path: Path, wheels: Path,
                                                py311: str) -> None:
    first = install_twice_ready(qtbot, make_wizard, tmp_path, wheels, py311, "twice")
    env_page = first.currentPage()
    qtbot.waitUntil(env_page.isComplete, timeout=10_000)
    assert not env_page.replace_check.isVisible()
    install = install_from_review(qtbot, first)
    assert first.state.result.ok, install.status.text()
    env = tmp_path / "envs" / "twice"
    marker = read_marker(env)
    assert marker is not None

    second = install_twice_ready(qtbot, make_wizard, tmp_path, wheels, py311, "twice")
    env_page = second.currentPage()
    qtbot.waitUntil(lambda: not env_page._debounce.isActive())
    assert env_page.replace_check.isVisible() and not env_page.isComplete()
    assert "made earlier" in env_page.problem_label.text()
    env_page.replace_check.setChecked(True)
    qtbot.waitUntil(env_page.isComplete, timeout=10_000)
    assert second.state.choices.force
    install = install_from_review(qtbot, second)
    assert second.state.result.ok, install.status.text()
    new_marker = read_marker(env)
    assert new_marker is not None and new_marker.get("run_id") != marker.get("run_id")
    assert [p.name for p in env.parent.iterdir()] == ["twice"]  # the old one was dropped once the new one worked
