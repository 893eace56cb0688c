"""Steps every method ends with: the Jupyter kernel and the verification probe."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from installer.core import verify
from installer.core.catalog import (
    Release,
)
from installer.core.plan import Plan, Step
from installer.core.planner.context import (
    PlanContext,
)
from installer.core.planner.fit import Build


def kernel_step(ctx: PlanContext, plan: Plan, rel: Release, version: str, build: Build, env: Path, env_python: str
) -> None:
    name = re.sub(r"[^a-z0-9._-]", "-", env.name.lower()) or "torch"
    home = Path.home()
    kernels: PurePosixPath | PureWindowsPath
    if ctx.windows:
        kernels = PureWindowsPath(str(home)) / "AppData" / "Roaming" / "jupyter" / "kernels"
    elif ctx.report.os.name == "macos":
        kernels = PurePosixPath(str(home)) / "Library" / "Jupyter" / "kernels"
    else:
        kernels = PurePosixPath(str(home)) / ".local" / "share" / "jupyter" / "kernels"
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
    plan.steps.append(
        Step(
            name="Verify",
            argv=verify.probe_argv(env_python, plan.expect, require, expect_torch=expect_torch,
                                   expect_from=expect_from),
            kind="verify",
            description=f"Imports torch in the new environment and runs a small computation on {plan.expect}.",
            timeout=600,
        )
    )
