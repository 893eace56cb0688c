"""Helpers for driving the wizard in tests: prerequisites, recorded machines, walking to a page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.torch_env import in_ci

REPO = Path(__file__).resolve().parents[2]
REPORTS = REPO / "tests" / "fixtures" / "reports"
CONDA_STANDIN = REPO / "tests" / "fixtures" / "conda-standin"


def need(thing: str, why: str) -> None:
    """Skip for a missing prerequisite on a developer machine, but fail in CI where it must be present."""
    if in_ci():
        pytest.fail(f"{thing} is missing in CI: {why}")
    pytest.skip(f"{thing} is missing: {why}")


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
