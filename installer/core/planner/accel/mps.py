"""Apple: the macOS wheel, on the GPU through Metal (MPS) where macOS is new enough."""

from __future__ import annotations

from installer.core.catalog import (
    Release,
)
from installer.core.planner.context import (
    PlanContext,
)
from installer.core.planner.fit import Build
from installer.core.versions import version_tuple


def mac_build(ctx: PlanContext, rel: Release) -> Build:
    if ctx.platform == "macos-x86_64":
        return Build(
            "cpu",
            "cpu",
            why="PyTorch has no GPU support on Intel Macs.", label="CPU build",
        )
    mac = version_tuple(ctx.report.os.version) or (0,)
    if mac >= (12, 3):
        return Build(
            "mps",
            "mps",
            why="the standard macOS wheel uses the GPU through Metal (MPS).", label="Apple Silicon",
        )
    return Build(
        "cpu",
        "mps",
        why="the Metal (MPS) GPU backend needs macOS 12.3 or newer.",
        label="The standard macOS wheel, on the CPU",
        warnings=[
            f"macOS {ctx.report.os.version} is too old for MPS: update macOS to 12.3+ to use the GPU."
        ],
    )
