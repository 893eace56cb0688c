"""Intel: the XPU build for Intel GPUs PyTorch supports."""

from __future__ import annotations

from installer.core.catalog import (
    Release,
)
from installer.core.planner.context import (
    PlanContext,
)
from installer.core.planner.fit import Build, join_words
from installer.core.report import GPUInfo


def intel_build(ctx: PlanContext, rel: Release, variants: list[str], gpus: list[GPUInfo], notes: list[str]
) -> Build | None:
    discrete = [g for g in gpus if g.discrete]
    if not discrete:
        integrated = join_words([g.name for g in gpus])
        notes.append(
            f"Your {integrated} is integrated Intel graphics, which PyTorch's XPU builds do not target "
            "(they need a discrete Intel Arc or Data Center GPU)."
        )
        return None
    names = join_words([g.name for g in discrete])
    if ctx.choices.method == "conda":
        notes.append(f"conda-forge has no XPU builds of PyTorch: use --method pip to use your {names}.")
        return None
    if "xpu" not in variants:
        notes.append(
            f"PyTorch {rel.version} has no XPU build for {ctx.platform} (XPU wheels start with 2.5 on Linux and "
            f"Windows x86_64), so your {names} is not used."
        )
        return None
    return Build(
        "xpu",
        "xpu",
        why=f"your {names} is a discrete Intel GPU, which PyTorch's XPU build uses.",
        warnings=[
            "The XPU build needs Intel's GPU driver (Level Zero) installed; Torch Setup does not install it."
        ],
    )
