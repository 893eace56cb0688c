"""AMD: the newest ROCm build whose gfx targets include this machine's GPUs."""

from __future__ import annotations

from installer.core.catalog import Release, variant_kind
from installer.core.planner.context import PlanContext
from installer.core.planner.fit import Build, Fit, gpu_text, join_words, prefer_verified
from installer.core.planner.suggest import either
from installer.core.report import GPUInfo


def fit(ctx: PlanContext, variant: str) -> Fit:
    gpus = [g for g in ctx.report.gpus_of("amd") if g.gfx_arch]
    if not gpus:
        return Fit(False, "no AMD GPU was found.")
    targets = ctx.catalog.rocm_targets(variant)
    bad = [g for g in gpus if g.gfx_arch not in targets]
    return Fit(False, f"{join_words([gpu_text(g) for g in bad])} is not one of its targets.") if bad else Fit(True)


def amd_build(ctx: PlanContext, rel: Release, variants: list[str], gpus: list[GPUInfo], notes: list[str]
) -> Build | None:
    names = join_words(sorted({gpu_text(g) for g in gpus}))
    if ctx.platform != "linux-x86_64":
        notes.append(
            f"PyTorch publishes ROCm (AMD GPU) builds only for Linux x86_64, so your {names} is not used here."
        )
        return None
    rocm = prefer_verified(rel, [v for v in variants if variant_kind(v) == "rocm"])
    if ctx.choices.method == "conda":
        pip = either(ctx, [("use --method pip", {"method": "pip"})], "choose another method")
        notes.append(f"conda-forge has no ROCm builds of PyTorch: {pip} to use your {names}.")
        return None
    if not rocm:
        notes.append(f"PyTorch {rel.version} publishes no ROCm builds, so your {names} is not used.")
        return None
    usable = [g for g in gpus if g.gfx_arch]
    if not usable:
        notes.append(
            f"The GPU architecture (gfx target) of your {names} is unknown, so no ROCm build was chosen."
        )
        return None
    for v in rocm:
        targets = ctx.catalog.rocm_targets(v)
        if all(g.gfx_arch in targets for g in usable):
            return Build(
                v,
                v,
                why=f"the newest ROCm build of torch {rel.version} with kernels for your {names}.",
            )
    targets = ctx.catalog.rocm_targets(rocm[0])
    bad = [g for g in usable if g.gfx_arch not in targets]
    hint = ""
    if any((g.gfx_arch or "").startswith("gfx103") for g in bad):
        hint = " (some RDNA2 cards run the gfx1030 build with HSA_OVERRIDE_GFX_VERSION=10.3.0, unsupported by AMD)"
    notes.append(
        f"Your {join_words([gpu_text(g) for g in bad])} is not a target of PyTorch's ROCm builds "
        f"({', '.join(targets)}){hint}. Planned: the CPU build."
    )
    return None
