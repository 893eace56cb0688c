"""Decisions as values: what the planner chose is data on the Plan (and its JSON), not prose to search."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from installer.core.catalog import Catalog
from installer.core.plan import Choices, Plan
from installer.core.planner import make_plan
from installer.core.report import OSInfo, PythonInfo, SystemReport

REPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "reports"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.bundled()


def plan_for(report: SystemReport, catalog: Catalog, **choices: object) -> Plan:
    return make_plan(report, Choices(**choices), catalog, uv="/opt/uv/bin/uv")  # type: ignore[arg-type]


def two_pythons() -> SystemReport:
    """A hand-written Linux machine with Python 3.12 (system) and 3.13 (a virtual environment)."""
    return SystemReport(
        os=OSInfo(name="linux", version="24.04", arch="x86_64", glibc="2.39"),
        pythons=[
            PythonInfo(sys.executable, "3.12.3", "x86_64", 64, False, "PATH"),  # a path that exists here
            PythonInfo("/home/u/venv/bin/python", "3.13.1", "x86_64", 64, False, "venv", is_venv=True),
        ],
    )


def test_every_choice_is_a_decision_and_survives_json(catalog: Catalog) -> None:
    plan = plan_for(SystemReport.load(REPORTS / "linux-rtx4090.json"), catalog)
    backend = plan.decision("backend")
    assert backend is not None and backend.value == plan.backend == "cu126"
    assert plan.decision("release") is not None and plan.decision("release").value == plan.torch  # type: ignore[union-attr]
    assert plan.decision("python") is not None and plan.decision("python").value == plan.python  # type: ignore[union-attr]
    assert plan.decision("env") is not None and plan.decision("env").value == plan.env  # type: ignore[union-attr]
    assert plan.decision("nothing-like-this") is None
    again = Plan.from_json(plan.to_json())
    assert again.decisions == plan.decisions
    # Rendered in one place: each spoken decision is one reason, subject first.
    assert any(r.startswith("cu126: ") for r in plan.reasons)
    assert plan.reasons[0].startswith(f"torch {plan.torch}: ")


def test_python_the_user_picked_reads_as_asked_not_newest(catalog: Catalog) -> None:
    """Issue 13: with a Python the user picked, the reason says it was chosen."""
    plan = plan_for(two_pythons(), catalog, python=sys.executable)
    python = plan.decision("python")
    assert python is not None and python.why == "as asked."
    assert not any("newest" in r for r in plan.reasons if r.startswith("Python")), plan.reasons
    plan = plan_for(two_pythons(), catalog, python="3.12")
    assert plan.decision("python").why == "as asked."  # type: ignore[union-attr]


def test_automatic_python_is_not_called_the_newest_when_a_newer_one_exists(catalog: Catalog) -> None:
    plan = plan_for(two_pythons(), catalog)
    python = plan.decision("python")
    assert python is not None and python.value == "3.12"
    assert "newest" not in python.why and "3.13.1" in python.why and "virtual environment" in python.why
