"""The plan of a repair: the real planner's plan for the environment's Python on this machine, retargeted
at the existing environment (no new venv; every install step and the verify probe run with its python).

The planner is asked exactly as for a new install (same rules, same reasons); only the finished Plan is
changed here, so the planner itself knows nothing about repairs.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from installer.core import paths, verify
from installer.core.catalog import Catalog, CatalogError
from installer.core.doctor.inspect import EnvFacts, canonical_name, public_version
from installer.core.plan import ChoiceError, Choices, Plan
from installer.core.report import PythonInfo, SystemReport

FAMILY = ("torch", "torchvision", "torchaudio")


@dataclasses.dataclass
class RepairRequest:
    """What the user may choose about a repair; everything else is the planner's."""

    torch: str | None = None  # None: keep the installed release when PyTorch still publishes it, else latest
    backend: str = "auto"
    torch_source: str = "pytorch"
    index_url: str | None = None
    find_links: list[str] = dataclasses.field(default_factory=list)
    offline: bool = False


def scratch_env(run_id: str) -> Path:
    """The folder the planner is told the environment lives in: never created; it only keeps the planner's
    new-environment logic (and the runner's journal) away from the user's environment."""
    return paths.state_dir() / "repair-scratch" / f"torch-setup-{run_id}"


def _with_env_python(report: SystemReport, facts: EnvFacts) -> SystemReport:
    """The report plus the environment's interpreter as detection would have recorded it (a saved report
    from another machine, or a detection that did not look in this folder, does not list it)."""
    report = copy.deepcopy(report)
    exe = facts.python_executable
    report.pythons = [p for p in report.pythons if p.executable != exe]
    report.pythons.insert(0, PythonInfo(executable=exe, version=facts.python or "unknown", arch=report.os.arch,
                                        bits=64, free_threaded=False, source=facts.kind, is_venv=facts.kind == "venv",
                                        prefix=facts.path, has_venv=True, has_ensurepip=True))
    return report


def _torch_for(facts: EnvFacts, request: RepairRequest, catalog: Catalog) -> str:
    if request.torch:
        return request.torch
    local_source = request.torch_source not in ("pytorch", "pypi") and "://" not in request.torch_source
    installed = public_version(facts.torch)
    if local_source or not installed:
        return "latest"
    try:
        catalog.release(installed)
    except CatalogError:
        return "latest"
    return installed


def family_in(facts: EnvFacts) -> list[str]:
    """The torch family members the environment has (torch always: it is what a repair installs)."""
    return ["torch"] + [name for name in FAMILY[1:] if facts.dist(name) is not None]


def plan_repair(facts: EnvFacts, report: SystemReport, catalog: Catalog, request: RepairRequest, run_id: str,
                uv: str = "uv") -> Plan:
    """The planner's plan for this environment, retargeted at it. ChoiceError when none can be made."""
    from installer.core.planner import make_plan

    if not facts.ok:
        raise ChoiceError(f"The environment {facts.path} cannot be repaired in place: {facts.problem}.")
    scratch = scratch_env(run_id)
    choices = Choices(python=facts.python_executable, env=str(scratch), torch=_torch_for(facts, request, catalog),
                      backend=request.backend, torch_source=request.torch_source, index_url=request.index_url,
                      find_links=list(request.find_links), offline=request.offline, engine="uv",
                      packages=family_in(facts))
    plan = make_plan(_with_env_python(report, facts), choices, catalog, uv=uv)
    return retarget(plan, facts.python_executable)


def retarget(plan: Plan, env_python: str) -> Plan:
    """Drop the step that creates an environment and point every other step at `env_python`."""
    planned_python = plan.env_python
    plan = copy.deepcopy(plan)
    steps = []
    for step in plan.steps:
        if step.kind in ("venv", "conda-create", "kernel"):
            continue
        step.argv = [env_python if str(a) == planned_python else a for a in step.argv]
        if step.kind == "verify":
            # the bytecode cache seeds only environments a run creates, never someone's existing one
            step.argv = verify.without_bytecode_cache(step.argv)
        step.creates = None
        steps.append(step)
    if not any(s.kind == "install" for s in steps):
        raise ChoiceError(f"The {plan.method} plan has no install step that can run in an existing environment.")
    plan.steps = steps
    plan.env_python = env_python
    return plan


def planned_versions(plan: Plan) -> dict[str, str]:
    """name -> the exact version the plan installs ("2.13.0+cpu"), for the torch family."""
    out: dict[str, str] = {}
    for spec in plan.packages:
        try:
            req = Requirement(spec)
        except InvalidRequirement:
            continue
        pins = [s.version for s in req.specifier if s.operator in ("==", "===")]
        if pins:
            out[canonical_name(req.name)] = pins[0]
    if "torch" not in out and re.fullmatch(r"\d+\.\d+\.\d+", plan.torch):
        out["torch"] = plan.torch
    return out


def pinned_conflicts(facts: EnvFacts, plan: Plan) -> list[str]:
    """Packages whose requirement on the torch family the planned versions break, one sentence each:
    "xformers 0.0.28 requires torch==2.5.1; repairing will break it"."""
    planned = planned_versions(plan)
    out = []
    for dist in facts.dists:
        if dist.key in FAMILY and dist.key != "torchvision" and dist.key != "torchaudio":
            continue
        for line in dist.torch_requires:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            name = canonical_name(req.name)
            if name not in planned or (dist.key in FAMILY and name in planned and dist.key in planned):
                continue  # the family member itself is reinstalled together with torch
            if req.marker is not None and "extra" in str(req.marker):
                continue  # an optional extra: not installed unless asked for
            try:
                version = Version(planned[name])
            except InvalidVersion:
                continue
            if req.specifier and not req.specifier.contains(version, prereleases=True):
                out.append(f"{dist.name} {dist.version} requires {req.name}{req.specifier}; "
                           "repairing will break it")
    return out
