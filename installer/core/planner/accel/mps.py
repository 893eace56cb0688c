"""Apple: the macOS wheel, on the GPU through Metal (MPS) where macOS is new enough (the floor is data)."""

from __future__ import annotations

from installer.core.catalog import Release
from installer.core.planner.context import PlanContext
from installer.core.planner.facts import hardware
from installer.core.planner.fit import Build, Fit
from installer.core.versions import version_tuple


def fit(ctx: PlanContext) -> Fit:
    floor = hardware().mps_min_macos
    if ctx.platform != "macos-arm64":
        return Fit(False, "MPS needs an Apple Silicon Mac.")
    if (version_tuple(ctx.report.os.version) or (0,)) < version_tuple(floor):
        return Fit(False, f"MPS needs macOS {floor} or newer; this Mac has {ctx.report.os.version}.")
    return Fit(True)


def mac_build(ctx: PlanContext, rel: Release) -> Build:
    if ctx.platform == "macos-x86_64":
        return Build("cpu", "cpu", why="PyTorch has no GPU support on Intel Macs.", label="CPU build")
    floor = hardware().mps_min_macos
    if fit(ctx).ok:
        return Build(
            "mps", "mps", why="the standard macOS wheel uses the GPU through Metal (MPS).", label="Apple Silicon"
        )
    return Build(
        "cpu",
        "mps",
        why=f"the Metal (MPS) GPU backend needs macOS {floor} or newer.",
        label="The standard macOS wheel, on the CPU",
        warnings=[f"macOS {ctx.report.os.version} is too old for MPS: update macOS to {floor}+ to use the GPU."],
    )
