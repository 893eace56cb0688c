"""Walk the whole wizard with the real engine: real detection, planner, runner and verification.

pip installs the real torch 2.13.0 CPU wheel into a Python 3.11 environment; conda does the same through
the conda stand-in (tests/fixtures/conda-standin), which makes real environments with real interpreters.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from wizard_driver import CONDA_STANDIN, go_to

from installer.gui.wizard import PageId

pytestmark = pytest.mark.e2e


def choose(combo: Any, data: str) -> None:
    index = combo.findData(data)
    assert index >= 0, f"{data!r} not offered: {[combo.itemData(i) for i in range(combo.count())]}"
    combo.setCurrentIndex(index)


def walk_and_install(qtbot: Any, wizard: Any, method: str, python: str, name: str) -> None:
    go_to(qtbot, wizard, PageId.METHOD)
    page = wizard.currentPage()
    assert page.method_buttons[method].isEnabled(), page.method_notes[method].text()
    page.method_buttons[method].setChecked(True)
    choose(page.version_combo, "2.13.0")
    choose(page.backend_combo, "cpu")
    page.torchvision.setChecked(False)
    page.torchaudio.setChecked(False)
    qtbot.waitUntil(page.isComplete)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    env_page = wizard.currentPage()
    env_page.name_edit.setText(name)
    combo = env_page.python_combo
    wanted = [i for i in range(combo.count())
              if str(combo.itemData(i)) == python
              or os.path.realpath(str(combo.itemData(i))) == os.path.realpath(python)]
    assert wanted, f"{python} not offered: {[combo.itemText(i) for i in range(combo.count())]}"
    combo.setCurrentIndex(wanted[0])
    qtbot.waitUntil(env_page.isComplete, timeout=10_000)
    go_to(qtbot, wizard, PageId.REVIEW)
    review = wizard.currentPage()
    assert review.isComplete(), review.summary.text()
    wizard.next()  # "Install"
    assert wizard.currentId() == PageId.INSTALL
    install = wizard.currentPage()
    qtbot.waitUntil(lambda: wizard.state.result is not None and not install.is_running(), timeout=900_000)
    result = wizard.state.result
    assert result.ok, f"{install.status.text()}\n{install.log_view.toPlainText()[-3000:]}"
    assert wizard.button(wizard.WizardButton.NextButton).isEnabled()


def check_verify_and_finish(qtbot: Any, wizard: Any, tmp_path: Path) -> None:
    go_to(qtbot, wizard, PageId.VERIFY, timeout=600_000)
    verify = wizard.currentPage()
    qtbot.waitUntil(verify.isComplete, timeout=600_000)
    assert "works" in verify.headline.text() and "2.13.0" in verify.headline.text()
    rows = [verify.facts.topLevelItem(i).text(0) for i in range(verify.facts.topLevelItemCount())]
    assert "PyTorch version" in rows and "Calculation on the processor" in rows, rows
    go_to(qtbot, wizard, PageId.FINISH)
    finish = wizard.currentPage()
    plan = wizard.state.plan
    assert plan.env in finish.activate.text()
    finish.save_report(tmp_path / "report.json")
    finish.save_report(tmp_path / "report.html")
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["verify"]["ok"] and data["plan"]["env"] == plan.env
    assert "Torch Setup report" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_pip_end_to_end(qtbot: Any, make_wizard: Any, tmp_path: Path, wheels: Path, py311: str) -> None:
    wizard = make_wizard(torch_source=str(wheels), env_root=tmp_path / "envs")
    walk_and_install(qtbot, wizard, "pip", py311, "gui-pip")
    env = Path(wizard.state.plan.env)
    assert env == tmp_path / "envs" / "gui-pip" and env.is_dir()
    check_verify_and_finish(qtbot, wizard, tmp_path)
    assert "source" in wizard.currentPage().activate.text()


def test_conda_end_to_end(qtbot: Any, make_wizard: Any, tmp_path: Path, wheels: Path, py311: str,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{CONDA_STANDIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CONDA_STANDIN_ROOT", str(tmp_path / "conda-root"))
    monkeypatch.setenv("CONDA_STANDIN_WHEELS", str(wheels))
    monkeypatch.setenv("CONDA_STANDIN_PYTHONS", py311)
    wizard = make_wizard(env_root=tmp_path / "envs")
    walk_and_install(qtbot, wizard, "conda", "3.11", "gui-conda")
    assert wizard.state.plan.method == "conda"
    assert (Path(wizard.state.plan.env) / "conda-meta").is_dir()
    check_verify_and_finish(qtbot, wizard, tmp_path)
    assert "conda activate" in wizard.currentPage().activate.text()


def make_source_repository(folder: Path, wheels: Path) -> Path:
    """A local git repository shaped like PyTorch's for the source method: tag v2.13.0, requirements.txt, and
    a project that `pip install --no-build-isolation .` builds. Its requirements bring the real torch wheel,
    so the plan's verify step checks a real torch; compiling PyTorch itself would take hours."""
    import subprocess

    repo = folder / "pytorch-local"
    repo.mkdir(parents=True)
    (repo / "requirements.txt").write_text(f"--find-links {wheels}\ntorch==2.13.0\nsetuptools\nwheel\n")
    (repo / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "pytorch-local-build"\nversion = "2.13.0"\n\n[tool.setuptools]\npy-modules = []\n')
    git = ["git", "-c", "user.name=Torch Setup tests", "-c", "user.email=tests@invalid", "-C", str(repo)]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "a source tree for the GUI test"],
                 ["tag", "v2.13.0"]):
        subprocess.run(git + args, check=True, capture_output=True, timeout=60)
    return repo


def test_source_end_to_end(qtbot: Any, make_wizard: Any, tmp_path: Path, wheels: Path, py311: str) -> None:
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is needed for the source method")
    repo = make_source_repository(tmp_path / "repos", wheels)
    wizard = make_wizard(env_root=tmp_path / "envs", source_repo=str(repo))
    walk_and_install(qtbot, wizard, "source", py311, "gui-source")
    plan = wizard.state.plan
    assert plan.method == "source"
    assert any(step.kind == "clone" and str(repo) in step.argv for step in plan.steps)
    assert (Path(plan.env) / "src" / "pytorch" / "pyproject.toml").is_file()
    check_verify_and_finish(qtbot, wizard, tmp_path)
