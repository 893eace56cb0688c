"""End-to-end set-up: a real Python 3.11 and the real torch 2.13.0 CPU wheel folder (see tests/torch_env.py).

Missing either skips these tests on a developer's machine, but fails them in CI (CI=true), where a
skipped end-to-end test would hide that nothing was proven.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.core.catalog import Catalog
from installer.core.detect import detect
from installer.core.plan import Choices, Plan
from installer.core.planner import make_plan as planner_make_plan
from installer.core.uvbin import uv_executable
from tests.torch_env import TORCH_VERSION, in_ci, wheel_folder
from tests.torch_env import python311 as find_python311

TORCH = TORCH_VERSION


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"end-to-end prerequisite missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def python311() -> str:
    found = find_python311()
    if not found:
        _unavailable("no Python 3.11 interpreter (python3.11 or ~/.pyenv/versions/3.11*)")
    return found  # type: ignore[return-value]


@pytest.fixture(scope="session")
def wheels() -> str:
    found = wheel_folder()
    if not found:
        _unavailable(f"no folder with the torch {TORCH} cp311 wheel (TORCH_SETUP_TEST_WHEELS or pip's find-links)")
    return str(found)


def env_python(env: Path) -> str:
    from tests.torch_env import env_python as _env_python

    return str(_env_python(env))


def make_plan(engine: str, env: Path, python: str, wheels: str) -> Plan:
    """The real planner's plan for this machine (a real, offline detect) and these choices."""
    choices = Choices(method="pip", engine=engine, torch=TORCH, backend="cpu", python=python, env=str(env),
                      torch_source=wheels, yes=True)
    report = detect(offline=True, env_dir=str(env.parent))
    return planner_make_plan(report, choices, Catalog.load(), uv=uv_executable())
