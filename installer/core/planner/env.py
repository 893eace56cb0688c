"""Where the environment goes and where its interpreter will be."""

from __future__ import annotations

from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from installer.core import paths, safepath
from installer.core.catalog import Release
from installer.core.planner.context import PlanContext
from installer.core.planner.fit import Build


def env_path(ctx: PlanContext, rel: Release, build: Build) -> PurePath:
    c = ctx.choices
    name = c.env_name or f"torch-{'nightly' if rel.nightly else rel.series}-{build.backend}"
    if ctx.elsewhere:
        # A plan for another machine: its own path conventions and default root, nothing of this machine's.
        if c.env:
            return target_path(ctx, c.env)
        return target_path(ctx, "%USERPROFILE%" if ctx.windows else "~", "torch-envs", name)
    # Canonical (links followed, `..` collapsed): the plan shows, and every step uses, the real target.
    if c.env:
        return safepath.canonical(c.env)
    return safepath.canonical(paths.default_env_root() / name)


def target_path(ctx: PlanContext, *parts: str) -> PurePath:
    """A path in the conventions of the machine the plan is for (Windows or POSIX), whatever runs the planner."""
    return PureWindowsPath(*parts) if ctx.windows else PurePosixPath(*parts)


def home_path(ctx: PlanContext) -> PurePath:
    """The target user's home: this machine's when planning here, a placeholder the target expands otherwise."""
    if ctx.elsewhere:
        return target_path(ctx, "%USERPROFILE%" if ctx.windows else "~")
    return target_path(ctx, str(Path.home()))


def env_why(ctx: PlanContext) -> str:
    c = ctx.choices
    if c.env:
        return "the folder you gave."
    if c.env_name:
        return "the name you gave, under the default environments folder."
    return "the default name (torch-<release>-<backend>) under the default environments folder."


def env_python_path(ctx: PlanContext, env: PurePath, conda: bool = False) -> str:
    if ctx.windows:
        p = PureWindowsPath(str(env))
        return str(p / "python.exe") if conda else str(p / "Scripts" / "python.exe")
    return str(PurePosixPath(str(env)) / "bin" / "python")
