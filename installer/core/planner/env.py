"""Where the environment goes and where its interpreter will be."""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from installer.core import paths, safepath
from installer.core.catalog import (
    Release,
)
from installer.core.planner.context import (
    PlanContext,
)
from installer.core.planner.fit import Build


def env_path(ctx: PlanContext, rel: Release, build: Build) -> Path:
    c = ctx.choices
    # Canonical (links followed, `..` collapsed): the plan shows, and every step uses, the real target.
    if c.env:
        return safepath.canonical(c.env)
    name = c.env_name or f"torch-{'nightly' if rel.nightly else rel.series}-{build.backend}"
    return safepath.canonical(paths.default_env_root() / name)


def env_why(ctx: PlanContext) -> str:
    c = ctx.choices
    if c.env:
        return "the folder you gave."
    if c.env_name:
        return "the name you gave, under the default environments folder."
    return "the default name (torch-<release>-<backend>) under the default environments folder."


def env_python_path(ctx: PlanContext, env: Path, conda: bool = False) -> str:
    if ctx.windows:
        p = PureWindowsPath(str(env))
        return str(p / "python.exe") if conda else str(p / "Scripts" / "python.exe")
    return str(PurePosixPath(str(env)) / "bin" / "python")
