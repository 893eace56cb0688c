"""The wizard asks core for what it offers and reads the planner's decisions, holding no planner rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wizard_driver import go_to, recorded_detect

from installer.core.plan import Choices
from installer.core.planner import default_env_name, make_plan, python_options
from installer.gui.wizard import PageId


def test_the_default_environment_name_is_the_clis(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    """Issue 13: one default name for CLI and wizard, the planner's torch-<series>-<backend>."""
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    cli_plan = make_plan(wizard.state.report, Choices(), catalog)
    assert page.name_edit.text() == Path(cli_plan.env).name == "torch-2.14-cu126"
    assert default_env_name(wizard.state.report, Choices(), catalog) == "torch-2.14-cu126"


def test_method_page_shows_the_backend_decision(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.METHOD)
    page = wizard.currentPage()
    plan, _ = wizard.try_plan()
    decision = plan.decision("backend")
    assert decision is not None and decision.value == "cu126"
    assert re.sub(r"\s+", " ", decision.why)[:40] in page.backend_note.text()


def test_environment_page_offers_what_core_offers(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-no-python"), catalog=catalog)
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    page = wizard.currentPage()
    offered = python_options(wizard.state.report, wizard.choices_copy(), catalog)
    shown = [page.python_combo.itemData(i) for i in range(page.python_combo.count())]
    assert shown == [o.key for o in offered.options] and shown and shown[-1].startswith("managed:")
    assert offered.left_out and "Not offered" in page.python_note.text()
