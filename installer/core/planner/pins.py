"""The torch-family pins: the exact wheel FILE of a folder source, the local tag (+cu126) of an index."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from installer.core.plan import ChoiceError
from installer.core.planner.context import PlanContext
from installer.core.planner.fit import Build
from installer.core.planner.suggest import either
from installer.core.versions import version_tuple


def python_tag(ctx: PlanContext, python: str, python_exe: str | None) -> str:
    """The wheel-tag Python of the environment: "3.12", or "3.13t" for a free-threaded interpreter."""
    free = any(p.free_threaded for p in ctx.report.pythons if python_exe and p.executable == python_exe)
    return f"{python}t" if free else python


def folder_wheel(ctx: PlanContext, spec: str, variant: str, py_tag: str) -> tuple[str, str]:
    """(absolute path, version with local label) of the folder's wheel for `spec` on this Python and
    platform; ChoiceError (exit 2) naming the Pythons the folder serves when it holds none."""
    req = Requirement(spec)
    name = str(canonicalize_name(req.name))
    default = "mps" if ctx.platform == "macos-arm64" else "cpu"
    wheels = ctx.local_wheels if name == "torch" else ctx.family_wheels.get(name, [])
    fitting = [
        (n, f) for n, f in wheels
        if req.specifier.contains(f.version, prereleases=True) and (f.variant or default) == variant
    ]
    wanted = str(req.specifier) or ""
    what = f"{name}{wanted.replace('==', ' ')}"
    if not fitting:
        raise ChoiceError(
            f"The wheel folder {ctx.folder} has no {variant} wheel of {what} for {ctx.platform}: add it to "
            f"the folder" + (f" or leave {name} out of the packages." if name != "torch" else ".")
        )
    for_python = [(n, f) for n, f in fitting if py_tag in f.pythons]
    if not for_python:
        served = sorted({p for _n, f in fitting for p in f.pythons}, key=version_tuple)
        regular = [p for p in served if not p.endswith("t")]
        alternative = either(ctx, [(f"choose --python {regular[-1]}", {"python": regular[-1]})] if regular else [])
        raise ChoiceError(
            f"The wheel folder {ctx.folder} holds {what} ({variant}) only for Python {', '.join(served)}, "
            f"not for the chosen Python {py_tag}: " + (f"{alternative} or " if alternative else "")
            + f"add a cp{py_tag.replace('.', '')} wheel to the folder."
        )
    # Newest version first, then the most specific platform tag (the longest name), for a stable pick.
    file, facts = max(for_python, key=lambda nf: (Version(nf[1].version), len(nf[0]), nf[0]))
    local = f"{facts.version}+{facts.variant}" if facts.variant else facts.version
    return str(Path(ctx.folder or ".", file).absolute()), local


def index_local_label(ctx: PlanContext, build: Build, nightly: bool) -> str | None:
    """The local version label PyTorch's index gives this variant's torch wheels ("cu126", "cpu"), or
    None where its wheels carry none (macOS, Linux/Windows on Arm CPU) or the version is unknown."""
    v = build.variant
    if nightly:
        return None
    if re.fullmatch(r"cu\d+|rocm[\d.]+|xpu", v):
        return v
    if v == "cpu" and ctx.platform in ("linux-x86_64", "windows-x86_64"):
        return "cpu"
    return None


def source_pins(ctx: PlanContext, family: list[str], build: Build, nightly: bool, py_tag: str
) -> tuple[list[str], list[str], str | None]:
    """(torch family requirements for the install, exact pins that keep them in later steps, the torch
    version verification must find).

    A folder: each family member is its wheel FILE, so no index can substitute another build (a
    damaged file fails the install instead of being skipped for PyPI's CUDA build). PyTorch's index or
    a mirror: torch pinned with its local label (torch==2.13.0+cu126), which no other index carries.
    """
    if ctx.folder:
        specs, keep, expected = [], [], None
        for spec in family:
            name = str(canonicalize_name(Requirement(spec).name))
            path, local = folder_wheel(ctx, spec, build.variant, py_tag)
            specs.append(f"{name} @ {Path(path).as_uri()}")
            keep.append(f"{name}=={local}")
            if name == "torch":
                expected = local
        return specs, keep, expected
    label = None if ctx.choices.torch_source == "pypi" else index_local_label(ctx, build, nightly)
    specs = []
    for spec in family:
        req = Requirement(spec)
        pinned = [s.version for s in req.specifier if s.operator == "=="]
        if label and canonicalize_name(req.name) == "torch" and pinned and "+" not in pinned[0]:
            spec = f"torch=={pinned[0]}+{label}"
        specs.append(spec)
    keep = [s for s in specs if "==" in s] if not nightly else []
    torch_pin = next((s for s in specs if Requirement(s).name == "torch" and "==" in s), None)
    expected = torch_pin.split("==", 1)[1] if torch_pin and not nightly else None
    return specs, keep, expected
