"""The conda method's steps: a conda-forge environment with pytorch(-gpu/-cpu)."""

from __future__ import annotations

from pathlib import PurePath

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from installer.core.catalog import Release, variant_kind
from installer.core.plan import Plan, Step
from installer.core.planner.context import INSTALL_RETRIES, PlanContext
from installer.core.planner.decisions import decide
from installer.core.planner.env import env_python_path
from installer.core.planner.fit import Build
from installer.core.planner.packages import packages
from installer.core.planner.preflight import sizes
from installer.core.planner.steps.common import kernel_step, verify_step


def conda_steps(ctx: PlanContext, plan: Plan, rel: Release, version: str, build: Build, env: PurePath) -> None:
    conda = ctx.report.tools.conda
    assert conda is not None  # checked in plan()
    exe = conda.executable
    plan.env_python = env_python_path(ctx, env, conda=True)
    pkgs: list[str] = []
    family, others = packages(ctx, rel, version)
    cf = ctx.catalog.conda_forge.get("packages", {})
    kind = variant_kind(build.variant)
    for spec in family:
        req = Requirement(spec)
        pin = "".join(str(s) for s in req.specifier).replace("==", "=")
        name = canonicalize_name(req.name)
        if name == "torch":
            pkg = cf.get(
                "cuda" if kind == "cuda" else "cpu" if build.backend == "cpu" else "auto", "pytorch"
            )
            pkgs.append(f"{pkg}{pin}")
        else:
            pkgs.append(f"{name}{pin}")
    if kind == "cuda":
        cuda = ctx.catalog.cuda_version(build.variant) or ""
        pkgs.append(f"cuda-version={cuda}")
        ctx.reasons.append(
            f"conda-forge's pytorch-gpu with cuda-version={cuda}: the CUDA {cuda} line chosen for your GPU and driver "
            "(conda-forge brings its own CUDA libraries; the retired 'pytorch' channel and cudatoolkit are not used)."
        )
    if ctx.choices.jupyter:
        others.append("ipykernel")
    pkgs += others
    plan.packages = pkgs
    flavor = conda.flavor
    channel = ["-c", "conda-forge", "--override-channels"]
    plan.steps.append(
        Step(
            name="Create the conda environment",
            argv=[exe, "create", "-y", "-p", str(env), f"python={plan.python}", *channel],
            kind="conda-create",
            description=f"Creates a conda environment with Python {plan.python} in {env} using {flavor}.",
            creates=str(env),
            progress="conda",
            retries=INSTALL_RETRIES,
        )
    )
    plan.steps.append(
        Step(
            name="Install PyTorch",
            argv=[exe, "install", "-y", "-p", str(env), *pkgs, *channel],
            kind="install",
            description=f"Installs {', '.join(pkgs)} from conda-forge.",
            progress="conda",
            retries=INSTALL_RETRIES,
        )
    )
    plan.torch_index = "conda-forge"
    decide(ctx, "source", "conda-forge", f"conda-forge only, installed by {flavor} ({exe}).", "Packages")
    if ctx.choices.jupyter:
        kernel_step(ctx, plan, rel, version, build, env, plan.env_python)
    verify_step(ctx, plan, plan.env_python, family)
    sizes(ctx, plan, build.variant)
