"""The pip method's steps (uv or pip): create the venv, install the torch family, then the rest."""

from __future__ import annotations

from pathlib import PurePath

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from installer.core.catalog import Release
from installer.core.plan import Plan, Step
from installer.core.planner.context import INSTALL_RETRIES, PlanContext
from installer.core.planner.decisions import decide
from installer.core.planner.env import env_python_path
from installer.core.planner.fit import Build
from installer.core.planner.packages import packages
from installer.core.planner.pins import python_tag, source_pins
from installer.core.planner.preflight import sizes
from installer.core.planner.sources import net_args, torch_index_args
from installer.core.planner.steps.common import kernel_step, verify_step


def pip_steps(ctx: PlanContext, plan: Plan, rel: Release, version: str, build: Build, env: PurePath) -> None:
    c = ctx.choices
    uv = c.engine == "uv"
    env_python = env_python_path(ctx, env)
    plan.env_python = env_python
    family, others = packages(ctx, rel, version)
    if c.jupyter and "ipykernel" not in [canonicalize_name(Requirement(o).name) for o in others]:
        others.append("ipykernel")
    family, keep, expect_torch = source_pins(
        ctx, family, build, rel.nightly, python_tag(ctx, plan.python, plan.python_executable)
    )
    # What a person reads on Review: the exact versions, not the file URLs of a folder source.
    plan.packages = (keep if ctx.folder else family) + others
    base = plan.python_executable or plan.python
    offline = ["--offline"] if uv and c.offline else []
    if uv:
        plan.steps.append(
            Step(
                name="Create the environment",
                argv=[ctx.uv, "venv", "--allow-existing", *offline, "--python", base, str(env)],
                kind="venv",
                description=f"Creates an isolated Python {plan.python} environment in {env}"
                + (" (uv downloads that Python first)." if plan.python_executable is None else "."),
                creates=str(env),
                progress="uv",
                retries=INSTALL_RETRIES if plan.python_executable is None else 0,
            )
        )
    else:
        plan.steps.append(
            Step(
                name="Create the environment",
                argv=[base, "-m", "venv", str(env)],
                kind="venv",
                description=f"Creates an isolated Python {plan.python} environment in {env}.",
                creates=str(env),
            )
        )
    index_args, plan.torch_index = torch_index_args(ctx, build, rel.nightly)
    if c.offline and ctx.folder and not uv:
        index_args = ["--no-index", *index_args]
    pre = ["--pre"] if rel.nightly else []
    installer = (
        [ctx.uv, "pip", "install", "--python", env_python]
        if uv
        else [env_python, "-m", "pip", "install", "--progress-bar", "on", "--disable-pip-version-check"]
    )
    if ctx.folder:
        where = f"the wheel folder {ctx.folder}"
    else:
        where = "PyPI" if c.torch_source == "pypi" else f"PyTorch's {build.variant} index"
    decide(ctx, "source", plan.torch_index or "pypi", f"the torch family comes from {where}.", "Packages")
    # Index strategy. Step 1 takes the torch family from ONE place: PyTorch's index for the
    # backend (--index-url replaces the default index, so a look-alike package on PyPI can never
    # win, the torchtriton lesson; with uv, --extra-index-url would even be searched FIRST and
    # serve PyPI's torch, the wrong CUDA build). torch's own dependencies (filelock, sympy,
    # nvidia-*) come from that index too: PyTorch mirrors them there, as its documented install
    # does. Step 2 installs everything else from the default index (or --index-url/--find-links)
    # and never sees PyTorch's index, so e.g. numpy>=2.3 is not limited to PyTorch's mirror; the
    # torch family is pinned again there so that a dependency cannot swap the build for PyPI's.
    # A local folder: each family member is named by its wheel FILE (see _source_pins), so no index
    # can serve another build; --find-links lets torch's dependencies come from the folder too, and
    # the default index serves those the folder lacks.
    plan.steps.append(
        Step(
            name="Install PyTorch",
            argv=[*installer, *offline, *index_args, *net_args(ctx, uv), *pre, *family],
            kind="install",
            description=f"Downloads and installs {', '.join(family)} ({build.variant}) from {where}.",
            progress="uv" if uv else "pip",
            retries=INSTALL_RETRIES,
        )
    )
    if others:
        other_index: list[str] = []
        if c.index_url:
            other_index += ["--index-url", c.index_url]
        for link in c.find_links:
            other_index += ["--find-links", link]
        if ctx.folder:
            other_index += ["--find-links", ctx.folder]
        plan.steps.append(
            Step(
                name="Install the other packages",
                argv=[*installer, *offline, *other_index, *net_args(ctx, uv), *keep, *others],
                kind="install",
                description=f"Installs {', '.join(others)} from "
                + ("your package index" if c.index_url else "the default package index (PyPI)")
                + ", keeping the PyTorch build just installed.",
                progress="uv" if uv else "pip",
                retries=INSTALL_RETRIES,
            )
        )
    if c.jupyter:
        kernel_step(ctx, plan, rel, version, build, env, env_python)
    verify_step(ctx, plan, env_python, family, expect_torch, where)
    sizes(ctx, plan, build.variant)
