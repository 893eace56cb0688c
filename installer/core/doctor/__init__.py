"""Doctor: find the PyTorch installs a machine already has, judge them, and repair one in place.

discover (where environments are) -> inspect (what is installed, from metadata) -> judge (✓ ⚠ ✗ against
this machine) -> planning (the planner's fix, retargeted at the environment) -> repair (snapshot, install,
verify, restore on any failure).
"""

from __future__ import annotations

from typing import Any

from installer.core.catalog import Catalog
from installer.core.doctor.discover import find_envs
from installer.core.doctor.inspect import EnvFacts, torch_build
from installer.core.doctor.judge import EnvVerdict, judge_env, packages_of, worst
from installer.core.doctor.planning import RepairRequest, pinned_conflicts, plan_repair
from installer.core.plan import ChoiceError
from installer.core.report import SystemReport

__all__ = ["EnvVerdict", "RepairRequest", "check_envs", "verdict_for"]


def verdict_for(facts: EnvFacts, report: SystemReport, catalog: Catalog, request: RepairRequest | None = None,
                verify: Any = None, uv: str = "uv") -> EnvVerdict:
    """Judge one inspected environment and say which fix (a reinstall, where it looks fine from its metadata)
    the planner would make."""
    plan = None
    plan_error = None
    if facts.ok and facts.kind != "interpreter":
        try:
            plan = plan_repair(facts, report, catalog, request or RepairRequest(), "doctor-check", uv=uv)
        except ChoiceError as exc:
            plan_error = str(exc)
    findings = judge_env(facts, report, catalog, verify, planned_backend=plan.backend if plan else None)
    verdict = EnvVerdict(env=facts.path, python_executable=facts.python_executable, python=facts.python,
                         kind=facts.kind, source=facts.source, torch=facts.torch, build=torch_build(facts),
                         status=worst(findings), findings=findings, packages=packages_of(facts),
                         made_by_torch_setup=facts.marker is not None,
                         verify=verify.to_json() if verify is not None else None)
    if not facts.ok:
        return verdict
    if facts.kind == "interpreter":
        if verdict.status != "fail" and facts.torch is not None:
            return verdict
        verdict.planned_fix = {"error": f"{facts.path} is a base Python installation, not an environment: Torch Setup "
                               f"changes only virtual and conda environments; make one with `torch-setup install "
                               f"--python {facts.python_executable}`."}
    elif plan is None:
        verdict.planned_fix = {"error": plan_error or "no plan"}
    else:
        verdict.planned_fix = {"torch": plan.torch, "backend": plan.backend, "packages": plan.packages,
                               "reasons": plan.reasons}
        verdict.pinned = pinned_conflicts(facts, plan)
    return verdict


def check_envs(given: list[str], report: SystemReport, catalog: Catalog, *, scan: bool = True,
               request: RepairRequest | None = None, timeout: float = 30.0, uv: str = "uv",
               verify_envs: list[str] | None = None) -> list[EnvVerdict]:
    """Find, inspect and judge every environment (the given ones first); run the verify probe for those in
    `verify_envs`."""
    from installer.core import safepath
    from installer.core.verify import verify_python

    wanted = {safepath.key(p) for p in verify_envs or []}
    out = []
    for facts in find_envs(given, scan=scan, timeout=timeout):
        verify = None
        if facts.ok and facts.torch and (safepath.key(facts.path) in wanted
                                         or safepath.key(facts.python_executable) in wanted):
            verify = verify_python(facts.python_executable, timeout=300)
        out.append(verdict_for(facts, report, catalog, request, verify, uv=uv))
    return out
