"""Where packages come from: PyTorch's index, PyPI, a mirror or a local wheel folder."""

from __future__ import annotations

import os
import re

from packaging.utils import canonicalize_name
from packaging.version import Version

from installer.core.catalog import WheelFacts, parse_wheel_name
from installer.core.plan import ChoiceError
from installer.core.planner.context import TORCH_FAMILY, PlanContext
from installer.core.planner.fit import Build


def scan_folder(ctx: PlanContext, folder: str) -> None:
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise ChoiceError(f"The wheel folder {folder} cannot be read: {exc.strerror}.") from None
    for name in names:
        if not name.endswith(".whl"):
            continue
        project = str(canonicalize_name(name.split("-", 1)[0]))
        if project not in TORCH_FAMILY:
            continue
        facts = parse_wheel_name(name)
        if not facts or ctx.platform not in facts.platforms:
            continue
        if project == "torch":
            ctx.local_wheels.append((name, facts))
        else:
            ctx.family_wheels.setdefault(project, []).append((name, facts))


def folder_versions(ctx: PlanContext) -> list[str]:
    return sorted({f.version for _n, f in ctx.local_wheels}, key=Version, reverse=True)


def folder_wheels(ctx: PlanContext, version: str) -> list[WheelFacts]:
    return [f for _n, f in ctx.local_wheels if f.version == version]


def torch_index_args(ctx: PlanContext, build: Build, nightly: bool) -> tuple[list[str], str | None]:
    """(arguments that route the torch family, the torch index recorded in the plan)."""
    c = ctx.choices
    if ctx.folder:
        args = ["--find-links", ctx.folder]
        if c.index_url:
            args += ["--index-url", c.index_url]
        return args, ctx.folder
    if c.torch_source == "pypi":
        return (["--index-url", c.index_url] if c.index_url else []), c.index_url
    if c.torch_source == "pytorch":
        url = ctx.catalog.index_url(build.variant, nightly=nightly)
    else:
        # A mirror of download.pytorch.org/whl: the variant is appended unless the URL names one.
        src = c.torch_source.rstrip("/")
        last = src.rsplit("/", 1)[-1]
        name = "cpu" if build.variant == "mps" else build.variant
        url = src if re.fullmatch(r"cpu|xpu|cu\d+|rocm[\d.]+", last) else f"{src}/{name}"
    return ["--index-url", url], url


def net_args(ctx: PlanContext, uv: bool) -> list[str]:
    args: list[str] = []
    for host in ctx.choices.trusted_host:
        args += ["--allow-insecure-host" if uv else "--trusted-host", host]
    return args
