"""Which Python: an interpreter on this machine that the release supports, or one uv provisions."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from installer.core.catalog import PythonRange, Release
from installer.core.plan import ChoiceError
from installer.core.planner.context import PlanContext
from installer.core.planner.decisions import decide
from installer.core.planner.suggest import either
from installer.core.report import PythonInfo
from installer.core.versions import version_tuple


def pick_python(ctx: PlanContext, rel: Release) -> tuple[str, str | None]:
    """(minor "3.12", interpreter path or None when one is provisioned)."""
    c = ctx.choices
    rng = rel.python_range(ctx.platform)
    where = f"PyTorch {rel.version}" + (
        f" on {ctx.platform}" if rel.python_by_platform.get(ctx.platform) else ""
    )
    folder_pythons: set[str] | None = None
    if ctx.folder:
        folder_pythons = {p for _n, f in ctx.local_wheels for p in f.pythons}
    if c.python and not re.fullmatch(r"\d+\.\d+", c.python):
        return python_from_path(ctx, c.python, rel, where)
    wanted = c.python
    if wanted is not None and not rng.supports(wanted):
        raise ChoiceError(
            f"{where} supports Python {rng.text()}; {wanted} is outside that range: "
            + either(ctx, [(f"choose --python {rng.max} or another torch version", {"python": rng.max})],
                     "choose another torch version") + "."
        )
    if c.method == "conda":
        minor = wanted or ("3.12" if rng.supports("3.12") else rng.max)
        decide(ctx, "python", minor, "inside the conda environment" + (
            " (as asked)." if wanted else " (well supported by conda-forge and by this PyTorch)."))
        return minor, None
    candidates = usable_pythons(ctx, rng, folder_pythons)
    if wanted:
        candidates = [p for p in candidates if p.minor == wanted]
    if candidates:
        best = candidates[0]
        tag = "free-threaded " if best.free_threaded else ""
        label = f"Python {best.version} ({tag}{best.executable})"
        decide(ctx, "python", best.minor, "as asked." if wanted else _why_this_one(best, candidates, where, rng),
               label)
        if best.free_threaded:
            ctx.warnings.append(
                "The only fitting Python is free-threaded (no GIL): PyTorch's support for it is experimental."
            )
        if ctx.choices.engine == "pip" and (best.has_venv is False or best.has_ensurepip is False):
            raise ChoiceError(
                f"Python {best.version} at {best.executable} cannot create virtual environments (venv/ensurepip "
                "missing, e.g. Debian's python3-venv package): "
                + either(ctx, [("use --engine uv or install that package", {"engine": "uv"})], "install that package")
                + "."
            )
        return best.minor, best.executable
    # No interpreter fits: provision one.
    minor = wanted or provision_minor(ctx, rng, folder_pythons)
    if ctx.choices.engine == "pip" and c.method != "conda":
        raise ChoiceError(
            f"No Python {wanted or rng.text()} that {where} supports was found, and the pip engine cannot "
            "download one: " + either(ctx, [(f"use --engine uv (it fetches a managed Python {minor}) or install "
                                             f"Python {minor}", {"engine": "uv"})], f"install Python {minor}") + "."
        )
    if c.offline:
        # uv's own Pythons (its cache) were detected like any other; none fits, and offline uv cannot fetch one.
        raise ChoiceError(
            f"No Python {wanted or rng.text()} that {where} supports is on this machine or in uv's cache, and "
            f"offline uv cannot download one: install Python {minor} (or run `uv python install {minor}` while "
            "online), or plan without --offline."
        )
    explain_no_python(ctx, rng, folder_pythons)
    decide(ctx, "python", minor,
           f"no Python on this machine fits {where} ({rng.text()}), so uv downloads a managed CPython {minor} "
           "(python-build-standalone) for the environment; nothing else on the system changes.",
           f"Managed Python {minor}")
    return minor, None


def _why_this_one(best: PythonInfo, candidates: list[PythonInfo], where: str, rng: PythonRange) -> str:
    """Why the automatic pick: "the newest" only when it is; else what made it win (issue 13)."""
    newer = [p for p in candidates if version_tuple(p.minor) > version_tuple(best.minor)]
    if not newer:
        return f"the newest Python on this machine that {where} supports ({rng.text()})."
    other = newer[0]
    why_not = ("it is free-threaded" if other.free_threaded else
               "PyTorch's support for it is experimental" if other.minor in rng.experimental else
               "it is itself a virtual environment" if other.is_venv else "it ranks lower")
    return (f"the best fit on this machine for {where} ({rng.text()}); Python {other.version} "
            f"({other.executable}) is newer but {why_not}.")


def _or(alternative: str) -> str:
    return f" or {alternative}" if alternative else ""


def provision_minor(ctx: PlanContext, rng: PythonRange, folder_pythons: set[str] | None) -> str:
    for minor in rng.stable_minors():
        if folder_pythons is None or minor in folder_pythons:
            return str(minor)
    return str(rng.max)


def explain_no_python(ctx: PlanContext, rng: PythonRange, folder_pythons: set[str] | None = None) -> None:
    """Say why each interpreter found here was passed over, with its real reason."""
    seen = ctx.report.usable_pythons()
    if not seen:
        return
    thirty_two = [p for p in seen if p.bits == 32]
    if thirty_two:
        ctx.warnings.append(
            f"32-bit Python found ({thirty_two[0].executable}): PyTorch has no 32-bit builds; use a 64-bit Python."
        )
    why = [(p, rejection(ctx, p, rng, folder_pythons)) for p in seen]
    listed = "; ".join(f"{p.version} at {p.executable}: {reason}" for p, reason in why if reason)
    if listed:
        ctx.reasons.append(f"Pythons found here that cannot be used: {listed}.")


def rejection(ctx: PlanContext, p: PythonInfo, rng: PythonRange, folder_pythons: set[str] | None) -> str | None:
    """Why this interpreter cannot hold this release's wheels, or None if it can."""
    if p.implementation != "cpython":
        return f"{p.implementation} is not CPython, and PyTorch publishes CPython wheels only"
    if p.bits != 64:
        return "it is 32-bit; PyTorch needs a 64-bit Python"
    if p.arch != ctx.report.os.arch:
        # e.g. an x86_64 Python under Rosetta 2 or Windows' emulation on an arm64 machine
        return (f"it is an {p.arch} build running under emulation on this {ctx.report.os.arch} machine; "
                f"use a native {ctx.report.os.arch} Python")
    ok = rng.supports(p.minor, p.free_threaded)
    if not ok and ctx.choices.torch_source != "pypi":
        # Experimental Pythons (3.15 for 2.13) exist only on download.pytorch.org.
        ok = rng.supports(p.minor, p.free_threaded, experimental=True)
    if not ok:
        kind = "free-threaded " if p.free_threaded else ""
        return f"{kind}Python {p.minor} is outside the supported range {rng.text()}"
    tag = f"{p.minor}t" if p.free_threaded else p.minor
    if folder_pythons is not None and tag not in folder_pythons:
        return f"the wheel folder has no wheel for Python {tag}"
    return None


def usable_pythons(ctx: PlanContext, rng: PythonRange, folder_pythons: set[str] | None) -> list[PythonInfo]:
    out = [p for p in ctx.report.usable_pythons() if rejection(ctx, p, rng, folder_pythons) is None]

    def key(p: PythonInfo) -> tuple[Any, ...]:
        experimental = f"{p.minor}{'t' if p.free_threaded else ''}" in rng.experimental
        return (
            p.free_threaded,
            experimental,
            p.is_venv,
            [-x for x in version_tuple(p.minor)],
            p.source == "conda",
        )

    return sorted(out, key=key)


def python_from_path(ctx: PlanContext, path: str, rel: Release, where: str) -> tuple[str, str | None]:
    rng = rel.python_range(ctx.platform)
    target = os.path.normcase(os.path.abspath(os.path.expanduser(path)))
    real = os.path.normcase(os.path.realpath(target))
    # The path detection recorded; else the same file under another name (…/python3.11 is …/python3).
    exact = [p for p in ctx.report.pythons if os.path.normcase(os.path.abspath(p.executable)) == target]
    same = [p for p in ctx.report.pythons if os.path.normcase(os.path.realpath(p.executable)) == real]
    if exact or same:
        p = (exact or same)[0]
        # a link's target may also be a venv's base: run what was asked for, with the facts detection found
        executable = p.executable if exact else str(Path(path).expanduser().absolute())
        if not p.usable:
            raise ChoiceError(f"The Python at {path} cannot be used: {p.problem or 'it did not run'}.")
        if p.bits != 64:
            raise ChoiceError(f"The Python at {path} is 32-bit; PyTorch needs a 64-bit Python.")
        if p.arch != ctx.report.os.arch:
            raise ChoiceError(f"The Python at {path} cannot be used: {rejection(ctx, p, rng, None)}.")
        if not rng.supports(p.minor, p.free_threaded, experimental=True):
            raise ChoiceError(
                f"{where} supports Python {rng.text()}; the Python at {path} is {p.version}: choose another "
                "interpreter" + _or(either(ctx, [(f"--python {rng.max}", {"python": rng.max})])) + "."
            )
        decide(ctx, "python", p.minor, "as asked.", f"Python {p.version} ({executable})")
        return p.minor, executable
    m = re.search(r"python(\d+\.\d+)", Path(path).name)
    if m and not rng.supports(m.group(1), experimental=True):
        raise ChoiceError(
            f"{where} supports Python {rng.text()}; {path} looks like Python {m.group(1)}: choose another "
            "interpreter" + _or(either(ctx, [(f"--python {rng.max}", {"python": rng.max})])) + "."
        )
    minor = m.group(1) if m else rng.max
    ctx.warnings.append(
        f"Torch Setup did not inspect {path} during detection; make sure it is a 64-bit Python {rng.text()}."
    )
    decide(ctx, "python", minor, "as asked.", f"Python at {path}")
    return minor, str(Path(path).expanduser().absolute())
