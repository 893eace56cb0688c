"""Steps every method ends with: the Jupyter kernel and the verification probe."""

from __future__ import annotations

import re
from pathlib import PurePath

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from installer.core import verify
from installer.core.catalog import Release
from installer.core.plan import Plan, Step
from installer.core.planner.context import ROLE_PROBE, PlanContext
from installer.core.planner.env import home_path
from installer.core.planner.fit import Build


def kernel_step(ctx: PlanContext, plan: Plan, rel: Release, version: str, build: Build, env: PurePath, env_python: str
) -> None:
    name = re.sub(r"[^a-z0-9._-]", "-", env.name.lower()) or "torch"
    home = home_path(ctx)
    if ctx.windows:
        kernels = home / "AppData" / "Roaming" / "jupyter" / "kernels"
    elif ctx.report.os.name == "macos":
        kernels = home / "Library" / "Jupyter" / "kernels"
    else:
        kernels = home / ".local" / "share" / "jupyter" / "kernels"
    label = "nightly" if rel.nightly else version
    plan.steps.append(
        Step(
            name="Register the Jupyter kernel",
            argv=[
                env_python,
                "-m",
                "ipykernel",
                "install",
                "--user",
                "--name",
                name,
                "--display-name",
                f"PyTorch {label} ({build.backend})",
            ],
            kind="kernel",
            description=f"Makes the environment selectable in Jupyter as “PyTorch {label} ({build.backend})”.",
            creates=str(kernels / name),
        )
    )


def verify_step(ctx: PlanContext, plan: Plan, env_python: str, family: list[str],
    expect_torch: str | None = None, expect_from: str | None = None,
) -> None:
    names = [str(canonicalize_name(Requirement(s).name)) for s in family]
    require = [n for n in names if n in ("torchvision", "torchaudio")]
    # Every install plan fills an environment this run creates, so the probe may seed its __pycache__
    # folders from (and add to) Torch Setup's bytecode cache: a warm `import torch` instead of compiling
    # some 700 modules. A plan for another machine leaves it out (the path is this machine's).
    cache = None if ctx.elsewhere else str(verify.bytecode_cache_dir())
    argv = verify.probe_argv(env_python, plan.expect, require, expect_torch=expect_torch, expect_from=expect_from,
                             bytecode_cache=cache)
    if ctx.elsewhere:
        argv[1] = ROLE_PROBE  # this machine's copy of the probe means nothing on the target
    plan.steps.append(
        Step(
            name="Verify",
            argv=argv,
            kind="verify",
            description=f"Imports torch in the new environment and runs a small computation on {plan.expect}.",
            timeout=600,
        )
    )
