"""Which build (variant): auto = the first that fits in preference order; explicit = the same fit check, as warnings."""

from __future__ import annotations

from installer.core.catalog import Release, variant_kind
from installer.core.plan import ChoiceError
from installer.core.planner.accel import fit
from installer.core.planner.accel.cuda import jetson_kind, nvidia_build
from installer.core.planner.accel.mps import mac_build
from installer.core.planner.accel.rocm import amd_build
from installer.core.planner.accel.xpu import intel_build
from installer.core.planner.context import PlanContext
from installer.core.planner.facts import hardware
from installer.core.planner.fit import Build, gpu_text
from installer.core.planner.sources import folder_wheels
from installer.core.planner.suggest import either, offer


def pick_build(ctx: PlanContext, rel: Release, version: str, python: str) -> Build:
    c = ctx.choices
    variants = ctx.catalog.variants(rel, ctx.platform)
    if c.torch_source == "pypi":
        return pypi_build(ctx, rel, variants)
    if ctx.folder:
        return folder_build(ctx, rel, version)
    if c.method == "conda":
        variants = [v for v in variants if variant_kind(v) in ("cuda", "cpu", "mps")]
    if c.backend != "auto":
        return explicit_build(ctx, rel, variants, c.backend)
    return auto_build(ctx, rel, variants)


def auto_build(ctx: PlanContext, rel: Release, variants: list[str]) -> Build:
    r = ctx.report
    plat = ctx.platform
    if plat.startswith("macos"):
        return mac_build(ctx, rel)
    if jetson_kind(ctx) == "tegra":
        jet = r.gpus_of("nvidia")
        what = gpu_text(jet[0]) if jet else "its integrated GPU"
        return Build(
            "cpu",
            "cpu",
            why="PyTorch's own wheels do not support Jetson's integrated GPU.",
            label="CPU build",
            warnings=[
                f"This is an NVIDIA Jetson ({what}, JetPack {r.os.jetpack or 'unknown'}): PyTorch's wheels do not "
                f"serve Jetsons before Thor (JetPack 7). For the GPU use NVIDIA's Jetson builds: {hardware().jetson_help}. "
                "Planned: the CPU build."
            ],
        )
    nvidia = r.gpus_of("nvidia")
    amd = r.gpus_of("amd")
    intel = r.gpus_of("intel")
    notes: list[str] = []
    if nvidia:
        build = nvidia_build(ctx, rel, variants, nvidia, notes)
        if build and jetson_kind(ctx) == "sbsa":
            build.reasons.append(
                f"This Jetson (JetPack {r.os.jetpack or '7+'}) runs NVIDIA's ARM-server (SBSA) CUDA stack, so "
                "PyTorch's standard aarch64 CUDA wheels serve it."
            )
        if build:
            return build
    if amd:
        build = amd_build(ctx, rel, variants, amd, notes)
        if build:
            return build
    if intel:
        build = intel_build(ctx, rel, variants, intel, notes)
        if build:
            return build
    if not notes:
        return Build(
            "cpu", "cpu", why="no GPU that PyTorch can use was found on this machine.", label="CPU build"
        )
    return Build(
        "cpu",
        "cpu",
        why="no GPU build fits this machine (see the warnings).",
        label="CPU build",
        warnings=notes,
    )


def explicit_build(ctx: PlanContext, rel: Release, variants: list[str], backend: str) -> Build:
    plat = ctx.platform
    mac = plat.startswith("macos")
    if mac and backend in ("mps", "cpu"):
        if backend == "mps" and plat == "macos-x86_64":
            raise ChoiceError(
                "MPS needs an Apple Silicon Mac; Intel Macs run PyTorch on the CPU: "
                + either(ctx, [("use --backend cpu", {"backend": "cpu"})], "choose another torch version") + "."
            )
        build = Build(
            backend, "mps" if plat == "macos-arm64" else "cpu", why="as asked."
        )
        verdict = fit(ctx, rel, "mps")
        if backend == "mps" and not verdict.ok:
            build.warnings.append(f"{verdict.why} This Mac will run PyTorch on the CPU.")
        return build
    if backend == "mps":
        raise ChoiceError(
            "The mps backend exists only on Apple Silicon Macs: choose cpu or a GPU build for this machine."
        )
    if ctx.choices.method == "conda" and variant_kind(backend) in ("rocm", "xpu"):
        raise ChoiceError(
            f"conda-forge has no {backend} builds of PyTorch: "
            + either(ctx, [(f"use --method pip for {backend}", {"method": "pip"})], "choose another build") + "."
        )
    if backend not in variants:
        shown = ", ".join(variants) or "none"
        raise ChoiceError(
            f"PyTorch {rel.version} has no {backend} build for {plat}; its builds there are {shown}."
        )
    problem = machine_cannot_use(ctx, rel, backend)
    build = Build(backend, backend, why="as asked.")
    if problem:
        build.warnings.append(
            f"This machine cannot use the {backend} build: {problem} Planned anyway as asked (e.g. for another "
            "machine); verification here will report that the GPU is not used."
        )
    elif backend == "cpu" and any(g.vendor in ("nvidia", "amd") or g.discrete for g in ctx.report.gpus):
        build.reasons.append("The CPU build as asked: this machine's GPU will not be used.")
    return build


def machine_cannot_use(ctx: PlanContext, rel: Release, backend: str) -> str | None:
    """What stops this machine from using `backend` (a sentence), or None: the same fit the automatic choice uses."""
    verdict = fit(ctx, rel, backend)
    return None if verdict.ok else verdict.why


def pypi_build(ctx: PlanContext, rel: Release, variants: list[str]) -> Build:
    default = rel.pypi_default.get(ctx.platform)
    if not default:
        raise ChoiceError(
            f"PyPI has no torch {rel.version} for {ctx.platform}: "
            + either(ctx, [("use --torch-source pytorch", {"torch_source": "pytorch"})], "choose another version")
            + "."
        )
    backend = "cpu" if default == "mps" and ctx.platform == "macos-x86_64" else default
    if ctx.choices.backend not in ("auto", backend) and not (
        default == "mps" and ctx.choices.backend == "cpu"
    ):
        raise ChoiceError(
            f"PyPI carries only the {default} build of torch {rel.version} for {ctx.platform}: "
            + either(ctx, [(f"use --torch-source pytorch for {ctx.choices.backend}", {"torch_source": "pytorch"})],
                     "choose another build") + "."
        )
    if ctx.choices.backend == "cpu":
        backend = "cpu"
    build = Build(
        backend,
        default,
        why=f"the build PyPI serves for {ctx.platform} (--torch-source pypi).",
        label=default,
    )
    if ctx.choices.backend == "auto":
        best = auto_build(ctx, rel, variants)
        if best.backend != backend and not (best.backend == "mps" and default == "mps"):
            build.warnings.append(
                f"PyPI's build is {default}, but this machine is best served by {best.backend}: "
                f"{' '.join(best.sentences() + best.warnings)}"
                + (" Use --torch-source pytorch to get it." if offer(ctx, "x", torch_source="pytorch") else "")
            )
            if best.backend == "cpu" and variant_kind(default) == "cuda":
                build.warnings.append(
                    f"The {default} build will run on the CPU here and downloads about "
                    f"{ctx.catalog.size_mib(default)[0] // 1024} GB of CUDA libraries."
                )
    return build


def folder_build(ctx: PlanContext, rel: Release, version: str) -> Build:
    wheels = folder_wheels(ctx, version)
    have = sorted({f.variant or ("mps" if ctx.platform == "macos-arm64" else "cpu") for f in wheels})
    backend = ctx.choices.backend
    if backend != "auto":
        want = "mps" if backend in ("mps", "cpu") and ctx.platform == "macos-arm64" else backend
        if want not in have:
            raise ChoiceError(
                f"The wheel folder {ctx.folder} has no {backend} build of torch {version}; it has {', '.join(have)}."
            )
        build = Build(
            backend, want, why=f"as asked, from the wheel folder {ctx.folder}."
        )
        problem = machine_cannot_use(ctx, rel, backend)
        if problem:
            build.warnings.append(f"This machine cannot use the {backend} build: {problem}")
        return build
    best = auto_build(ctx, rel, ctx.catalog.variants(rel, ctx.platform))
    variant = best.variant if best.variant in have else have[0]
    chosen = "cpu" if variant == "mps" and best.backend == "cpu" else variant
    build = Build(
        chosen,
        variant,
        why=f"the build of torch {version} in the wheel folder {ctx.folder}.",
    )
    if variant != best.variant:
        build.warnings.append(
            f"The wheel folder holds only the {', '.join(have)} build of torch {version}, but this machine would "
            f"use {best.backend} ({' '.join(best.sentences())}). Planned: {chosen} from the folder."
        )
    else:
        build.reasons += best.sentences()
        build.warnings += best.warnings
    return build
