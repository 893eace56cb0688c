"""Helpers for driving the wizard in tests: prerequisites, recorded machines, walking to a page."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
REPORTS = REPO / "tests" / "fixtures" / "reports"
CONDA_STANDIN = REPO / "tests" / "fixtures" / "conda-standin"


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


def need(thing: str, why: str) -> None:
    """Skip for a missing prerequisite on a developer machine, but fail in CI where it must be present."""
    if _in_ci():
        pytest.fail(f"{thing} is missing in CI: {why}")
    pytest.skip(f"{thing} is missing: {why}")


def wheels_folder() -> Path | None:
    candidates = [os.environ.get("TORCH_SETUP_TEST_WHEELS", "")]
    if not candidates[0]:
        try:
            out = subprocess.run(["pip", "config", "get", "global.find-links"], capture_output=True, text=True,
                                 timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        candidates.extend(out.split())
    for candidate in candidates:
        if candidate and glob.glob(os.path.join(candidate, "torch-2.13.0*.whl")):
            return Path(candidate)
    return None


def python311() -> str | None:
    found = shutil.which("python3.11")
    if found:
        # a pyenv shim may exist without 3.11 behind it; ask it
        try:
            ok = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                                capture_output=True, text=True, timeout=30).stdout.strip() == "True"
        except (OSError, subprocess.SubprocessError):
            ok = False
        if ok:
            return os.path.realpath(found) if "shims" not in found else _pyenv_311() or found
    return _pyenv_311()


def _pyenv_311() -> str | None:
    for path in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11*/bin/python3.11")), reverse=True):
        return path
    return None



def load_report(name: str) -> Any:
    from installer.core.report import SystemReport

    return SystemReport.load(REPORTS / f"{name}.json")


class Confirmations:
    """Answers the wizard's yes/no questions and records them (instead of a modal QMessageBox)."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def __call__(self, _parent: Any, title: str, _text: str) -> bool:
        self.asked.append(title)
        return self.answer
def recorded_detect(name: str) -> Callable[..., Any]:
    report = load_report(name)

    def detect_fn(**_kwargs: Any) -> Any:
        return report

    return detect_fn


def go_to(qtbot: Any, wizard: Any, page_id: Any, timeout: int = 60_000) -> None:
    """Press Next until page_id is current, waiting for each page to become complete (as a user would)."""
    from installer.gui.wizard import PageId

    while wizard.currentId() != page_id:
        page = wizard.currentPage()
        qtbot.waitUntil(page.isComplete, timeout=timeout)
        before = wizard.currentId()
        wizard.next()
        assert wizard.currentId() != before, f"Next did nothing on {PageId(before).name}"
