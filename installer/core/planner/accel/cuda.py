"""NVIDIA: the newest CUDA build whose driver floor and GPU architectures fit this machine."""

from __future__ import annotations

import re

from packaging.version import Version

from installer.core.catalog import Release, variant_kind
from installer.core.planner.context import PlanContext
from installer.core.planner.facts import hardware
from installer.core.planner.fit import (
    Build,
    Fit,
    arch_covers,
    cuda_line,
    driver_ok,
    gpu_text,
    join_words,
    prefer_verified,
)
from installer.core.planner.suggest import build_that_fits
from installer.core.report import GPUInfo
from installer.core.versions import version_tuple


def jetson_kind(ctx: PlanContext) -> str | None:
    """None off Jetson; "sbsa" for a Jetson on the ARM-server CUDA stack (Thor, JetPack 7: PyTorch's own
    aarch64 CUDA wheels serve it); "tegra" for older Jetsons, which need NVIDIA's own builds."""
    r = ctx.report
    if not r.os.tegra:
        return None
    facts = hardware()
    match = re.match(r"R?(\d+)", r.os.jetpack or "")
    if match and int(match.group(1)) >= facts.jetson_sbsa_from_l4t:
        return "sbsa"
    if any(g.compute_capability in facts.jetson_sbsa_ccs for g in r.gpus_of("nvidia")):
        return "sbsa"
    return "tegra"


def fit(ctx: PlanContext, rel: Release, variant: str) -> Fit:
    r = ctx.report
    gpus = r.gpus_of("nvidia")
    if jetson_kind(ctx) == "tegra":
        return Fit(False, "this is a Jetson on JetPack 6 or older, which PyTorch's CUDA wheels do not serve.")
    if not gpus:
        return Fit(False, "no NVIDIA GPU was found.")
    if not r.nvidia_driver:
        return Fit(False, "no NVIDIA driver was detected.")
    driver_bad, missing = cuda_problems(ctx, rel, variant, gpus)
    if driver_bad:
        need = ctx.catalog.min_driver(variant, driver_os(ctx))
        return Fit(False, f"driver {r.nvidia_driver} is older than the ≥ {need} it needs.")
    if missing:
        return Fit(False, f"your {join_words([gpu_text(g) for g in missing])} has no kernels in it.")
    return Fit(True)


def driver_os(ctx: PlanContext) -> str:
    # WSL runs the Windows driver, so the Windows thresholds apply there too.
    return "windows" if ctx.windows or ctx.report.os.wsl else "linux"


def cuda_problems(ctx: PlanContext, rel: Release, variant: str, gpus: list[GPUInfo]) -> tuple[bool, list[GPUInfo]]:
    """(driver too old?, GPUs without kernels) for one CUDA variant."""
    need = ctx.catalog.min_driver(variant, driver_os(ctx))
    driver = ctx.report.nvidia_driver
    if jetson_kind(ctx) == "sbsa" and need:
        # JetPack numbers its driver by branch ("580.00"); CUDA's minor-version compatibility needs the branch.
        need = need.split(".")[0]
        driver = (driver or "").split(".")[0] or None
    driver_bad = not driver_ok(driver, need)
    arches = ctx.catalog.cuda_arches(rel, variant, ctx.platform)
    missing = [g for g in gpus if g.compute_capability and not arch_covers(g.compute_capability, arches)]
    return driver_bad, missing


def nvidia_build(ctx: PlanContext, rel: Release, variants: list[str], gpus: list[GPUInfo], notes: list[str]
) -> Build | None:
    cuda_variants = prefer_verified(rel, [v for v in variants if variant_kind(v) == "cuda"])
    names = join_words(sorted({gpu_text(g) for g in gpus}))
    if not cuda_variants:
        notes.append(
            f"PyTorch {rel.version} publishes no CUDA builds for {ctx.platform}, so your {names} is not used."
        )
        return None
    if not ctx.report.nvidia_driver:
        floor = min(
            cuda_variants, key=lambda v: version_tuple(ctx.catalog.min_driver(v, driver_os(ctx)))
        )
        notes.append(
            f"Your {names} has no working NVIDIA driver (none was detected): install the NVIDIA driver "
            f"(≥ {ctx.catalog.min_driver(floor, driver_os(ctx))}) and plan again to get a CUDA build."
        )
        return None
    unknown = [g for g in gpus if not g.compute_capability]
    rejected: list[tuple[str, bool, list[GPUInfo]]] = []
    for v in cuda_variants:
        driver_bad, missing = cuda_problems(ctx, rel, v, gpus)
        if not driver_bad and not missing:
            why = (f"the newest CUDA build of torch {rel.version} that fits your {names} and driver "
                   f"{ctx.report.nvidia_driver}.")
            reasons = why_not_newer(ctx, rejected)
            warnings = []
            if unknown:
                warnings.append(
                    f"The compute capability of {join_words([g.name for g in unknown])} is unknown, so Torch Setup "
                    "could not check that the build has kernels for it."
                )
            if ctx.report.os.container:
                reasons.append(
                    "Inside a container: the GPU and driver seen here are those passed in by the host."
                )
            return Build(v, v, why=why, reasons=reasons, warnings=warnings)
        rejected.append((v, driver_bad, missing))
    notes.append(no_cuda_text(ctx, rel, rejected, gpus))
    return None


def why_not_newer(ctx: PlanContext, rejected: list[tuple[str, bool, list[GPUInfo]]]) -> list[str]:
    out = []
    by_gpu: dict[str, list[str]] = {}
    driver_only: list[str] = []
    for v, driver_bad, missing in rejected:
        for g in missing:
            listed = by_gpu.setdefault(gpu_text(g), [])
            if v not in listed:
                listed.append(v)
        if driver_bad and not missing:
            driver_only.append(v)
    for gpu, vs in by_gpu.items():
        lines = sorted({cuda_line(ctx.catalog, v) for v in vs})
        out.append(
            f"Your {gpu} has no kernels in the CUDA {' and '.join(lines)} builds ({', '.join(vs)}), so not those."
        )
    if driver_only:
        need = ctx.catalog.min_driver(driver_only[-1], driver_os(ctx))
        wsl = " (WSL uses the Windows driver's thresholds)" if ctx.report.os.wsl else ""
        out.append(
            f"Driver {ctx.report.nvidia_driver} is too old for {', '.join(driver_only)}, which need ≥ {need}{wsl}; "
            "updating the driver would allow them."
        )
    return out


def no_cuda_text(ctx: PlanContext, rel: Release, rejected: list[tuple[str, bool, list[GPUInfo]]], gpus: list[GPUInfo]
) -> str:
    driver = ctx.report.nvidia_driver
    arch_fit = [v for v, _d, missing in rejected if not missing]
    if arch_fit:
        # The GPUs are covered, only the driver is too old.
        v = arch_fit[-1]
        need = ctx.catalog.min_driver(v, driver_os(ctx))
        line = cuda_line(ctx.catalog, v)
        text = (
            f"Driver {driver} is too old for any CUDA {line} build of torch {rel.version}: "
            f"update the driver to ≥ {need}"
        )
    else:
        worst = sorted({gpu_text(g) for _v, _d, m in rejected for g in m})
        text = f"Your {join_words(worst)} has no kernels in any CUDA build of torch {rel.version}"
    other = release_that_fits(ctx, gpus, rel)
    if other:
        series, variant = other
        if Version(series) > Version(rel.series):  # e.g. Blackwell needs a newer torch, never an older one
            text += f", or choose --torch {series} (its {variant} build fits)"
        else:
            text += f", or use torch ≤ {series} ({variant})"
    return text + ". Planned: the CPU build."


def release_that_fits(ctx: PlanContext, gpus: list[GPUInfo], asked: Release) -> tuple[str, str] | None:
    """The release (and CUDA variant) nearest to `asked` whose build fits this driver and these GPUs AND
    plans on this machine as `--torch S --backend V` (Python, platform, glibc included): only that is offered."""
    releases = [r for r in ctx.catalog.releases if not r.nightly and r.series != asked.series]
    # Nearest first: newer releases after the asked one are tried from the closest up, older from the closest down.
    newer = sorted((r for r in releases if Version(r.series) > Version(asked.series)), key=lambda r: Version(r.series))
    older = [r for r in releases if Version(r.series) < Version(asked.series)]
    for rel in newer + older:
        for v in ctx.catalog.variants(rel, ctx.platform):
            if variant_kind(v) != "cuda":
                continue
            driver_bad, missing = cuda_problems(ctx, rel, v, gpus)
            if not driver_bad and not missing and build_that_fits(ctx, rel.series, v):
                return rel.series, v
    return None
