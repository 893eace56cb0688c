"""Which torch release: the one asked for, or the newest this platform (and its glibc) can run."""

from __future__ import annotations

from installer.core.catalog import PLATFORM_KEYS, CatalogError, Release
from installer.core.plan import ChoiceError
from installer.core.planner.context import PlanContext
from installer.core.planner.decisions import decide
from installer.core.planner.facts import hardware
from installer.core.planner.sources import folder_versions
from installer.core.planner.suggest import either, offer
from installer.core.versions import version_tuple


def check_platform(ctx: PlanContext) -> None:
    os_info = ctx.report.os
    if os_info.name == "linux" and os_info.libc == "musl":
        raise ChoiceError(
            f"This Linux ({os_info.distro or 'musl libc'}) uses musl, not glibc: {hardware().other_libcs} "
            "Use a glibc distribution (Debian, Ubuntu, Fedora …) or a glibc container image."
        )
    if ctx.platform in PLATFORM_KEYS:
        return
    os_name, arch = ctx.report.os.name, ctx.report.os.arch
    if arch == "x86":
        raise ChoiceError(
            f"PyTorch publishes no builds for 32-bit {os_name}: it needs a 64-bit operating system and Python."
        )
    raise ChoiceError(
        f"PyTorch publishes no wheels for {os_name} on {arch}; it supports Linux (x86_64, arm64), "
        "Windows (x86_64, arm64) and macOS (Apple Silicon)."
    )


def pick_release(ctx: PlanContext) -> tuple[Release, str]:
    c, cat, plat = ctx.choices, ctx.catalog, ctx.platform
    if c.torch == "nightly":
        rel = cat.release("nightly")
        if not rel.variants.get(plat):
            raise ChoiceError(f"PyTorch publishes no nightly builds for {plat}.")
        decide(ctx, "release", "nightly", "as asked: a pre-release built every night, newer than any release.")
        return rel, "nightly"
    if ctx.folder and c.torch == "latest":
        found = folder_versions(ctx)
        if not found:
            raise ChoiceError(
                f"The wheel folder {ctx.folder} has no torch wheel for {plat}: add one or choose another --torch-source."
            )
        version = found[0]
        try:
            rel = cat.release(".".join(version.split(".")[:2]))
        except CatalogError as exc:
            raise ChoiceError(str(exc)) from None
        decide(ctx, "release", version, f"the newest torch for this machine in the wheel folder {ctx.folder}.")
        return rel, version
    if c.torch == "latest":
        return latest_for_platform(ctx)
    try:
        rel = cat.release(c.torch)
    except CatalogError as exc:
        raise ChoiceError(str(exc)) from None
    version = c.torch if c.torch.count(".") == 2 else rel.versions[0]
    if plat not in rel.platforms():
        raise ChoiceError(not_published_text(ctx, rel, version))
    check_glibc(ctx, rel)
    if c.method == "conda":
        check_conda_forge(ctx, rel)
    if ctx.folder and version not in folder_versions(ctx):
        raise ChoiceError(
            f"The wheel folder {ctx.folder} has no torch {version} wheel for {plat}; "
            f"it has {', '.join(folder_versions(ctx)) or 'none'}."
        )
    decide(ctx, "release", version, "the version you asked for.")
    return rel, version


def latest_for_platform(ctx: PlanContext) -> tuple[Release, str]:
    cat, plat = ctx.catalog, ctx.platform
    newest = cat.latest()
    candidates = [r for r in cat.releases if plat in r.platforms() and glibc_fits(ctx, r)]
    if ctx.choices.method == "conda":
        conda_ok = [r for r in candidates if r.conda_forge.get("available") is True]
        if conda_ok and conda_ok[0] is not candidates[0]:
            rel = conda_ok[0]
            decide(
                ctx, "release", rel.version, "the newest release conda-forge is known to carry "
                f"(PyTorch's newest is {newest.version}; conda-forge builds lag behind)."
            )
            return rel, rel.version
    if not candidates:
        raise ChoiceError(f"PyTorch publishes no builds for {plat}.")
    rel = candidates[0]
    if rel is newest:
        decide(ctx, "release", rel.version, "the newest release.")
    elif plat == "macos-x86_64":
        decide(
            ctx, "release", rel.version, "PyTorch stopped publishing Intel Mac (macOS x86_64) builds after "
            f"{hardware().mac_x86_last_version}, "
            f"so this is the newest one for this Mac (the newest release is {newest.version})."
        )
    elif plat not in newest.platforms():
        decide(ctx, "release", rel.version, f"the newest release with builds for {plat}.")
    else:
        decide(
            ctx, "release", rel.version, "the newest release whose Linux wheels fit this system's glibc "
            f"{ctx.report.os.glibc} (torch {newest.series} needs glibc {hardware().glibc_floor(newest.series, ctx.report.os.arch)})."
        )
    return rel, rel.version


def not_published_text(ctx: PlanContext, rel: Release, version: str) -> str:
    plat = ctx.platform
    having = [r.series for r in ctx.catalog.releases if plat in r.platforms()]
    if plat == "macos-x86_64":
        last = hardware()
        older = either(ctx, [(f"choose --torch {last.mac_x86_last_series} or older",
                              {"torch": last.mac_x86_last_series})], "no torch version fits this Mac as asked")
        return (
            f"PyTorch stopped publishing macOS x86_64 builds after {last.mac_x86_last_version}: {older} "
            f"(torch {version} needs an Apple Silicon Mac)."
        )
    fitting = [s for s in having if offer(ctx, s, torch=s) is not None][:1]
    if not fitting:
        return f"PyTorch publishes no builds for {plat} that fit this machine as asked."
    return f"PyTorch {version} has no builds for {plat}: choose --torch {fitting[0]}" + (
        f" (PyTorch published {plat} builds from {having[-1]} to {having[0]})." if len(having) > 1 else "."
    )


def glibc_fits(ctx: PlanContext, rel: Release) -> bool:
    glibc = version_tuple(ctx.report.os.glibc)
    if ctx.report.os.name != "linux" or not glibc or rel.nightly:
        return True
    floor = hardware().glibc_floor(rel.series, ctx.report.os.arch)
    return floor is None or glibc >= version_tuple(floor)


def check_glibc(ctx: PlanContext, rel: Release) -> None:
    if not glibc_fits(ctx, rel):
        fitting = [r.series for r in ctx.catalog.releases if not r.nightly and glibc_fits(ctx, r)]
        older = next((s for s in fitting if offer(ctx, s, torch=s) is not None), None)
        instead = f"choose --torch {older} or use a newer Linux" if older else "use a newer Linux"
        raise ChoiceError(
            f"PyTorch {rel.series} needs glibc {hardware().glibc_floor(rel.series, ctx.report.os.arch)} or newer but this Linux has "
            f"glibc {ctx.report.os.glibc}: {instead}."
        )


def check_conda_forge(ctx: PlanContext, rel: Release) -> None:
    avail = rel.conda_forge.get("available")
    newest = ctx.catalog.conda_forge.get("newest_assumed")
    if avail is not True:
        instead = either(ctx, [(f"choose --torch {newest}", {"torch": str(newest)}),
                               ("--method pip", {"method": "pip"})])
        ctx.warnings.append(
            f"conda-forge may not have PyTorch {rel.series} yet (its builds lag PyTorch's releases; the newest "
            f"Torch Setup knows of there is {newest})." + (f" If the install cannot find it, {instead}." if instead else "")
        )
