"""Warnings about the machine that do not change the plan: disk space, AVX2, Windows runtime, Rosetta."""

from __future__ import annotations

from installer.core.catalog import Release
from installer.core.plan import Plan
from installer.core.planner.context import PlanContext
from installer.core.planner.facts import hardware
from installer.core.planner.fit import Build
from installer.core.versions import version_tuple


def preflight(ctx: PlanContext, plan: Plan, rel: Release, build: Build) -> None:
    r, facts = ctx.report, hardware()
    if r.os.arch == "x86_64" and r.cpu.avx2 is False:
        ctx.warnings.append(
            "This CPU has no AVX2: PyTorch's x86 wheels run slowly on it and may stop with “Illegal instruction”."
        )
    env_free = r.resources.free_mib("env")
    if plan.disk_mib and env_free is not None and env_free < plan.disk_mib and plan.method != "source":
        ctx.warnings.append(
            f"Only {env_free / 1024:.1f} GB are free where the environment goes; the {plan.backend} build needs "
            f"about {plan.disk_mib / 1024:.0f} GB."
        )
    for purpose in ("temp", "cache"):
        free = r.resources.free_mib(purpose)
        if plan.download_mib and free is not None and free < plan.download_mib:
            ctx.warnings.append(
                f"Only {free / 1024:.1f} GB are free in the {purpose} folder; the download is about "
                f"{plan.download_mib / 1024:.1f} GB (the installer moves {purpose} files to the environment's drive)."
            )
    if ctx.windows:
        if r.tools.long_paths_enabled is False:
            ctx.warnings.append(
                f"Windows long paths are off: installs can fail with [WinError 206] in deep folders. Enable "
                f"LongPathsEnabled (needs admin) or keep the environment path short ({len(plan.env)} characters now)."
            )
        vc = version_tuple(r.tools.vc_runtime)
        if not vc:
            ctx.warnings.append(
                "The Microsoft Visual C++ 2015–2022 runtime (x64) was not found: torch will fail to import with "
                f"[WinError 126]. Install Microsoft's vc_redist.x64.exe ({facts.vc_redist_url})."
            )
        elif vc < version_tuple(facts.min_vc_runtime):
            ctx.warnings.append(
                f"The Visual C++ runtime is {r.tools.vc_runtime}; recent PyTorch needs {facts.min_vc_runtime} or newer "
                f"(else “DLL load failed”): update it from {facts.vc_redist_url}."
            )
    if ctx.platform == "macos-x86_64":
        ctx.warnings.append(
            f"Intel Mac: PyTorch {facts.mac_x86_last_version} (Python ≤ {facts.mac_x86_last_python_max}, CPU "
            "only) is the last release for it; newer PyTorch needs an Apple Silicon Mac."
        )
    if ctx.platform == "windows-arm64":
        ctx.reasons.append(
            f"Windows on Arm: PyTorch {rel.version} publishes CPU builds for Python "
            f"{rel.python_range(ctx.platform).text()} only."
        )
    if r.os.rosetta:
        ctx.warnings.append(
            "This process runs under Rosetta 2 (x86_64 on Apple Silicon): use a native arm64 Python for PyTorch."
        )


def sizes(ctx: PlanContext, plan: Plan, variant: str) -> None:
    plan.download_mib, plan.disk_mib = ctx.catalog.size_mib(variant)
