"""One module per accelerator vendor; `fit` answers "does this build run here?" for choosing and warning alike."""

from __future__ import annotations

from installer.core.catalog import Release, variant_kind
from installer.core.planner.accel import cuda, mps, rocm, xpu
from installer.core.planner.context import PlanContext
from installer.core.planner.fit import Fit


def fit(ctx: PlanContext, rel: Release, variant: str) -> Fit:
    """Does the `variant` build of `rel` run on the machine of `ctx` (its GPU, driver, OS)? A CPU build
    always does; `why` names what stops a GPU build."""
    kind = variant_kind(variant)
    if kind == "cuda":
        return cuda.fit(ctx, rel, variant)
    if kind == "rocm":
        return rocm.fit(ctx, variant)
    if kind == "xpu":
        return xpu.fit(ctx, rel)
    if kind == "mps":
        return mps.fit(ctx)
    return Fit(True)
