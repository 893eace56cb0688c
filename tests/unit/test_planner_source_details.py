"""Planner details found by the source- and conda-method end-to-end tests: git progress through a pipe, and
`--python` naming a detected interpreter through another name (…/python3.11 beside the …/python3 detected)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from installer.core.catalog import Catalog
from installer.core.plan import Choices
from installer.core.planner import make_plan
from installer.core.report import OSInfo, PythonInfo, SystemReport, ToolInfo

UV = "/opt/uv/bin/uv"


def machine(python: str) -> SystemReport:
    report = SystemReport(
        os=OSInfo(name="linux", version="24.04", arch="x86_64", glibc="2.39"),
        pythons=[PythonInfo(python, "3.11.7", "x86_64", 64, False, "pyenv")],
    )
    report.tools.git = ToolInfo("/usr/bin/git", "2.43.0")
    report.tools.compiler = ToolInfo("/usr/bin/g++", "13.2.0")
    report.tools.cmake = ToolInfo("/usr/bin/cmake", "3.28.3")
    report.tools.ninja = ToolInfo("/usr/bin/ninja", "1.11.1")
    return report


def test_clone_asks_git_for_progress(tmp_path: Path) -> None:
    """git prints "Receiving objects: n%" only to a terminal unless told; the runner reads a pipe."""
    plan = make_plan(machine("/usr/bin/python3.11"), Choices(method="source", torch="2.13", backend="cpu",
                                                             env=str(tmp_path / "env")),
                     Catalog.bundled(), uv=UV, source_repo="https://example.invalid/pytorch.git")
    clone = next(s for s in plan.steps if s.kind == "clone")
    assert "--progress" in clone.argv and clone.progress == "git"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_python_named_through_a_link_is_the_detected_one(tmp_path: Path) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    real = folder / "python3.11"
    real.write_text("")  # stands for the interpreter file; the planner only compares paths
    link = folder / "python3"
    link.symlink_to(real.name)
    env = tmp_path / "env"
    for detected, asked in ((link, real), (real, link)):
        plan = make_plan(machine(str(detected)), Choices(torch="2.13", backend="cpu", python=str(asked),
                                                         env=str(env)), Catalog.bundled(), uv=UV)
        assert not any("did not inspect" in w for w in plan.warnings), plan.warnings
        assert plan.python == "3.11" and plan.python_executable == str(asked)
        assert any("Python 3.11.7" in r for r in plan.reasons)
    # a different interpreter that is not detected is still named as unchecked
    other = folder / "python3.12"
    other.write_text("")
    plan = make_plan(machine(str(real)), Choices(torch="2.13", backend="cpu", python=str(other), env=str(env)),
                     Catalog.bundled(), uv=UV)
    assert any("did not inspect" in w for w in plan.warnings)
    assert os.path.realpath(other) != os.path.realpath(real)
