"""End-to-end set-up: a real Python 3.11 and the real torch 2.13.0 CPU wheel folder.

Missing either skips these tests on a developer's machine, but fails them in CI (CI=true), where a
skipped end-to-end test would hide that nothing was proven.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from installer.core.plan import Choices, Plan, Step

TORCH = "2.13.0"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"end-to-end prerequisite missing in CI: {reason}")
    pytest.skip(reason)


def find_python311() -> str | None:
    found = shutil.which("python3.11")
    candidates = [found] if found else []
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11*/bin/python3.11")), reverse=True)
    for candidate in candidates:
        try:
            out = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.stdout.strip() == "True":
            return candidate
    return None


def find_wheels() -> str | None:
    folder = os.environ.get("TORCH_SETUP_TEST_WHEELS")
    if not folder:
        try:
            out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.find-links"],
                                 capture_output=True, text=True, timeout=60)
            folder = out.stdout.strip().split()[0] if out.returncode == 0 and out.stdout.strip() else None
        except (OSError, subprocess.TimeoutExpired):
            folder = None
    if folder and glob.glob(os.path.join(folder, f"torch-{TORCH}*-cp311-*.whl")):
        return folder
    return None


@pytest.fixture(scope="session")
def python311() -> str:
    found = find_python311()
    if not found:
        _unavailable("no Python 3.11 interpreter (python3.11 or ~/.pyenv/versions/3.11*)")
    return found  # type: ignore[return-value]


@pytest.fixture(scope="session")
def wheels() -> str:
    found = find_wheels()
    if not found:
        _unavailable(f"no folder with the torch {TORCH} cp311 wheel (TORCH_SETUP_TEST_WHEELS or pip's find-links)")
    return found  # type: ignore[return-value]


def env_python(env: Path) -> str:
    return str(env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))


def verify_argv(python: str) -> list[str]:
    try:
        from installer.core.verify import probe_argv
    except ImportError:
        return [python, "-c", "import torch; print(torch.__version__)"]
    return probe_argv(python, "cpu")


def choices_for(engine: str, env: Path, python: str, wheels: str) -> Choices:
    return Choices(method="pip", engine=engine, torch=TORCH, backend="cpu", python=python, env=str(env),
                   torch_source=wheels, yes=True)


def hand_plan(engine: str, env: Path, python: str, wheels: str) -> Plan:
    """The plan the planner makes for these choices, written out by hand (used until planner.py exists)."""
    py = env_python(env)
    if engine == "uv":
        from uv import find_uv_bin

        uv = find_uv_bin()
        steps = [
            Step("Create the environment", [uv, "venv", "--python", python, str(env)], kind="venv", progress="uv",
                 creates=str(env)),
            Step("Install PyTorch", [uv, "pip", "install", "--python", py, "--find-links", wheels,
                                     f"torch=={TORCH}"], kind="install", progress="uv", retries=2),
        ]
    else:
        steps = [
            Step("Create the environment", [python, "-m", "venv", str(env)], kind="venv", creates=str(env)),
            Step("Install PyTorch", [py, "-m", "pip", "install", "--find-links", wheels, f"torch=={TORCH}"],
                 kind="install", progress="pip", retries=2),
        ]
    steps.append(Step("Check that PyTorch works", verify_argv(py), kind="verify", timeout=600))
    return Plan(method="pip", backend="cpu", torch=TORCH, python="3.11", env=str(env), steps=steps,
                engine=engine, python_executable=python, env_python=py, packages=[f"torch=={TORCH}"],
                torch_index=wheels, expect="cpu", download_mib=200)


def make_plan(engine: str, env: Path, python: str, wheels: str) -> Plan:
    """Through the real planner when it exists (with a real detect of this machine), else by hand."""
    try:
        from installer.core import planner  # type: ignore[attr-defined,unused-ignore]
        from installer.core.catalog import Catalog
        from installer.core.detect import detect
        from installer.core.uvbin import uv_executable
    except ImportError:
        return hand_plan(engine, env, python, wheels)
    report = detect(offline=True, env_dir=str(env.parent))
    return planner.make_plan(report, choices_for(engine, env, python, wheels), Catalog.load(),
                             uv=uv_executable())
