"""Intel: the XPU build, for discrete Arc / Data Center GPUs and the integrated Arc graphics of Core Ultra
processors that PyTorch validates (the list is data: resources/hardware.json "intel_xpu")."""

from __future__ import annotations

from packaging.version import Version

from installer.core.catalog import Release
from installer.core.planner.context import PlanContext
from installer.core.planner.facts import hardware
from installer.core.planner.fit import Build, Fit, join_words
from installer.core.planner.suggest import either
from installer.core.report import GPUInfo


def xpu_gpus(ctx: PlanContext, rel: Release) -> list[GPUInfo]:
    """The Intel GPUs of this machine that the XPU build of `rel` targets."""
    facts = hardware()
    out = []
    for g in ctx.report.gpus_of("intel"):
        if g.discrete or (facts.intel_integrated_xpu(g.name) and (rel.nightly or Version(rel.series) >= Version(_since(g)))):
            out.append(g)
    return out


def _since(gpu: GPUInfo) -> str:
    """The release that first validated this integrated GPU's family (the XPU start if unnamed)."""
    facts = hardware()
    lowered = gpu.name.lower()
    for family in facts.xpu_integrated:
        if family["codename"].lower() in lowered:
            return family["since"]
    return facts.xpu_since


def fit(ctx: PlanContext, rel: Release) -> Fit:
    if xpu_gpus(ctx, rel):
        return Fit(True)
    return Fit(False, "no Intel GPU that PyTorch's XPU build targets was found (a discrete Arc or Data Center "
                      "GPU, or the integrated Arc graphics of a Core Ultra processor).")


def intel_build(ctx: PlanContext, rel: Release, variants: list[str], gpus: list[GPUInfo], notes: list[str]
) -> Build | None:
    usable = xpu_gpus(ctx, rel)
    if not usable:
        others = join_words([g.name for g in gpus])
        notes.append(
            f"Your {others} is integrated Intel graphics that PyTorch's XPU builds do not target (they need a "
            "discrete Intel Arc or Data Center GPU, or a Core Ultra processor with Intel Arc graphics)."
        )
        return None
    names = join_words([g.name for g in usable])
    if ctx.choices.method == "conda":
        pip = either(ctx, [("use --method pip", {"method": "pip"})], "choose another method")
        notes.append(f"conda-forge has no XPU builds of PyTorch: {pip} to use your {names}.")
        return None
    if "xpu" not in variants:
        facts = hardware()
        notes.append(
            f"PyTorch {rel.version} has no XPU build for {ctx.platform} (XPU wheels start with {facts.xpu_since} "
            f"on {join_words(facts.xpu_platforms)}), so your {names} is not used."
        )
        return None
    kind = "a discrete Intel GPU" if all(g.discrete for g in usable) else "Intel Arc graphics"
    return Build(
        "xpu",
        "xpu",
        why=f"your {names} is {kind}, which PyTorch's XPU build uses.",
        warnings=[
            "The XPU build needs Intel's GPU driver (Level Zero) installed; Torch Setup does not install it."
        ],
    )
