"""(SystemReport, Choices, Catalog) -> Plan: which build, which Python, which steps, and why.

Pure: no processes, no network. The only file-system reads are those Choices.validate() does and
the listing of a local wheel folder given as --torch-source (its file names say what it holds).
How the modules fit together, and where a new rule or fact goes: docs/ARCHITECTURE.md."""

from __future__ import annotations

from pathlib import Path

from installer.core.catalog import Catalog
from installer.core.plan import ChoiceError, Choices, Plan
from installer.core.planner import decisions
from installer.core.planner.build import pick_build
from installer.core.planner.context import (
    DEFAULT_SOURCE_REPO,
    MINIFORGE_URL,
    ROLE_PROBE,
    ROLE_UV,
    PlanContext,
)
from installer.core.planner.decisions import decide
from installer.core.planner.env import env_path, env_why
from installer.core.planner.fit import arch_covers, dedupe, gpu_family
from installer.core.planner.options import (
    MethodOption,
    PythonOption,
    PythonOptions,
    backend_options,
    default_env_name,
    method_options,
    python_options,
)
from installer.core.planner.preflight import preflight
from installer.core.planner.python import pick_python
from installer.core.planner.release import check_platform, pick_release
from installer.core.planner.sources import scan_folder
from installer.core.planner.steps.conda import conda_steps
from installer.core.planner.steps.pip import pip_steps
from installer.core.planner.steps.source import source_build, source_steps
from installer.core.planner.suggest import either
from installer.core.report import SystemReport

__all__ = [
    "DEFAULT_SOURCE_REPO",
    "MethodOption",
    "PythonOption",
    "PythonOptions",
    "arch_covers",
    "backend_options",
    "default_env_name",
    "gpu_family",
    "make_plan",
    "method_options",
    "python_options",
]


def make_plan(
    report: SystemReport,
    choices: Choices,
    catalog: Catalog,
    *,
    uv: str = "uv",
    source_repo: str = DEFAULT_SOURCE_REPO,
    elsewhere: bool = False,
) -> Plan:
    """Plan an install for the machine `report` describes. Raises ChoiceError (one sentence) when it cannot.

    `uv` is the uv executable the steps run (the CLI passes the bundled one); `source_repo` is the
    git repository a source build clones (tests point it at a local repository). `elsewhere`: the report
    describes another machine (`plan --system FILE`): paths follow the target's conventions and default
    environment root, and Torch Setup's own tools are named by role ({uv}, {verify_probe}).
    """
    if elsewhere:
        uv = ROLE_UV
    return plan_with(PlanContext(report, choices, catalog, uv=uv, source_repo=source_repo, elsewhere=elsewhere))



def _or(alternative: str) -> str:
    return f" or {alternative}" if alternative else ""


def plan_with(ctx: PlanContext) -> Plan:
    """make_plan's body over a ready PlanContext (suggest.trial plans alternatives with it)."""
    c = ctx.choices
    c.validate()
    check_platform(ctx)
    source = c.torch_source
    ctx.folder = (
        None if source in ("pytorch", "pypi") or "://" in source else str(Path(source).expanduser())
    )
    if ctx.folder:
        scan_folder(ctx, ctx.folder)
    if c.method == "conda" and ctx.report.tools.conda is None:
        raise ChoiceError(
            "The conda method needs conda, mamba or micromamba; none was found. "
            f"Install Miniforge ({MINIFORGE_URL})" + _or(either(ctx, [("choose --method pip", {"method": "pip"})])) + "."
        )
    if c.method == "conda" and c.torch == "nightly":
        raise ChoiceError(
            "conda-forge has no nightly PyTorch builds: "
            + either(ctx, [("use --method pip with --torch nightly", {"method": "pip"})], "choose a release") + "."
        )
    if c.method == "conda" and ctx.folder:
        raise ChoiceError("A local wheel folder works with --method pip, not conda: "
                          + either(ctx, [("choose --method pip", {"method": "pip"})], "choose another source") + ".")
    release, version = pick_release(ctx)
    python, python_exe = pick_python(ctx, release)
    build = pick_build(ctx, release, version, python)
    if c.method == "source":
        build = source_build(ctx, build)
    decide(ctx, "backend", build.backend, build.why, build.label)
    ctx.reasons += build.reasons
    ctx.warnings += build.warnings
    env = env_path(ctx, release, build)
    plan = Plan(
        method=c.method,
        backend=build.backend,
        torch=version,
        python=python,
        env=str(env),
        engine=c.engine,
        python_executable=python_exe,
        expect=build.backend,
        choices=c.to_json(),
    )
    if c.method == "conda":
        conda_steps(ctx, plan, release, version, build, env)
    elif c.method == "source":
        source_steps(ctx, plan, release, version, build, env)
    else:
        pip_steps(ctx, plan, release, version, build, env)
    preflight(ctx, plan, release, build)
    decide(ctx, "method", c.method, "as asked." if c.method != "pip" else "the default: a virtual environment.")
    decide(ctx, "env", str(env), env_why(ctx))
    if ctx.elsewhere:
        decide(ctx, "target", ctx.report.os.name,
               f"planned for another machine from its saved report: paths are that {ctx.report.os.name} machine's, "
               f"and {ROLE_UV} and {ROLE_PROBE} stand for Torch Setup's uv and verification probe there.",
               "For another machine")
    plan.decisions = list(ctx.decisions)
    plan.reasons = decisions.reasons(ctx.decisions, ctx.reasons)
    plan.warnings = dedupe(ctx.warnings)
    return plan
