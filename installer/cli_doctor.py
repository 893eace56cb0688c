"""`torch-setup doctor` and `torch-setup envs`: check, repair and manage existing environments.

Kept apart from installer/cli.py (which only wires the sub-commands in) so the doctor's words and flow
live in one place; exit codes are DESIGN.md's: 0 ok, 1 repair failed (restored), 2 bad input, 3 the
verification failed (restored), 130 cancelled (restored).
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from installer.cli import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    UsageError,
    _EventPrinter,
    _load_system,
    _print_err,
    _print_json,
    _ReaderSafeStream,
    print_causes,
)

if TYPE_CHECKING:
    from installer.core.doctor.inspect import EnvFacts
    from installer.core.doctor.judge import EnvVerdict
    from installer.core.doctor.planning import RepairRequest
    from installer.core.plan import Plan


def add_parsers(sub: Any) -> None:
    from installer.cli import _JSON_NOTE, _command

    p = _command(sub, "doctor", "find the PyTorch installs this machine has, judge them, repair one",
                 "Find the Python environments on this machine (venvs, conda envs, pyenv, uv, Jupyter kernels and "
                 "the ones\nTorch Setup made), judge the PyTorch in each for this machine, and with --fix repair "
                 "one in place:\nsnapshot, install the right build, verify, and put it back as it was if anything "
                 "fails.", [0, 1, 2, 3, 130], _JSON_NOTE)
    p.add_argument("paths", metavar="PATH", nargs="*", help="environment or project folders (or interpreters) to check")
    p.add_argument("--json", action="store_true", help="print every environment's verdict as JSON")
    p.add_argument("--fix", metavar="ENV", help="repair this environment in place (or add PyTorch to it)")
    p.add_argument("--verify", metavar="ENV", action="append", help="also run the verify probe in this environment")
    p.add_argument("--no-scan", action="store_true", help="check only the PATHs given, not the usual places")
    p.add_argument("--yes", "-y", action="store_true", help="repair without asking (also past pinned packages)")
    p.add_argument("--json-events", action="store_true", help="with --fix: one JSON event per line")
    _repair_args(p)
    p.add_argument("--system", metavar="FILE", help="use a saved `detect --json` report instead of probing this machine")

    p = _command(sub, "envs", "the environments Torch Setup made: list, remove, upgrade",
                 "List, remove or upgrade the environments that carry Torch Setup's marker. Remove asks first and\n"
                 "refuses a folder without the marker; upgrade snapshots, installs, verifies and rolls back on "
                 "failure.", [0, 1, 2, 3, 130], _JSON_NOTE)
    envs = p.add_subparsers(dest="envs_command", metavar="ACTION", required=True, parser_class=type(p))
    q = envs.add_parser("list", help="every environment carrying Torch Setup's marker")
    q.add_argument("paths", metavar="FOLDER", nargs="*", help="also look in these folders")
    q.add_argument("--json", action="store_true")
    q = envs.add_parser("remove", help="delete an environment Torch Setup made (asks first)")
    q.add_argument("env", metavar="ENV")
    q.add_argument("--yes", "-y", action="store_true", help="remove without asking")
    q = envs.add_parser("upgrade", help="install a newer PyTorch into an environment Torch Setup made (rolls back on failure)")
    q.add_argument("env", metavar="ENV")
    q.add_argument("--yes", "-y", action="store_true", help="upgrade without asking")
    q.add_argument("--json", action="store_true", help="print the result as JSON")
    q.add_argument("--json-events", action="store_true", help="one JSON event per line")
    _repair_args(q)
    q.add_argument("--system", metavar="FILE", help="use a saved `detect --json` report instead of probing this machine")


def _repair_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what a repair installs (default: what the planner picks for this machine)")
    g.add_argument("--torch", metavar="VERSION", help="X.Y, X.Y.Z or latest (default: keep the installed release)")
    g.add_argument("--backend", metavar="BACKEND", default="auto", help="auto (default), cpu, cuXXX, rocmX.Y, xpu")
    g.add_argument("--torch-source", metavar="SOURCE", default="pytorch",
                   help="pytorch (default), pypi, a mirror URL or a local folder of wheels")
    g.add_argument("--index-url", metavar="URL", help="package index for torch's dependencies")
    g.add_argument("--find-links", metavar="DIR|URL", action="append", default=[], help="extra wheel location")
    g.add_argument("--offline", action="store_true", help="never touch the network")


def _request(args: argparse.Namespace, torch: str | None = None) -> RepairRequest:
    from installer.core.doctor.planning import RepairRequest
    from installer.core.plan import Choices

    request = RepairRequest(torch=torch or args.torch, backend=args.backend, torch_source=args.torch_source,
                            index_url=args.index_url, find_links=list(args.find_links or []), offline=args.offline)
    # The same validation a new install's choices get (one sentence, exit 2).
    Choices(torch=request.torch or "latest", backend=request.backend, torch_source=request.torch_source,
            index_url=request.index_url, find_links=request.find_links, offline=request.offline).validate()
    return request


def _facts_of(target: str) -> EnvFacts:
    from installer.core.doctor.discover import env_dir_of, envs_under
    from installer.core.doctor.inspect import inspect_env

    path = Path(target).expanduser()
    if not path.exists():
        raise UsageError(f"The environment {target} does not exist.")
    if path.is_file():
        facts = inspect_env(env_dir_of(str(path.absolute())), "given", python=str(path.absolute()))
    else:
        envs = envs_under(path)
        if len(envs) > 1:
            raise UsageError(f"{target} holds several environments ({', '.join(e.name for e in envs)}); name one.")
        facts = inspect_env(envs[0] if envs else path, "given")
    if not facts.ok:
        raise UsageError(f"{facts.path} cannot be changed: {facts.problem}.")
    if facts.kind == "interpreter":
        raise UsageError(f"{facts.path} is a base Python installation, not an environment; Torch Setup changes only "
                         f"virtual and conda environments (make one with torch-setup install --python "
                         f"{facts.python_executable}).")
    return facts


# -- doctor ----------------------------------------------------------------------------------------------

def cmd_doctor(args: argparse.Namespace) -> int:
    for item in args.paths:
        if not Path(item).expanduser().exists():
            raise UsageError(f"{item} does not exist.")
    request = _request(args)
    if args.fix:
        return _repair(args, _facts_of(args.fix), request, what="Repair")
    from installer.core.catalog import Catalog
    from installer.core.doctor import check_envs
    from installer.core.uvbin import uv_executable

    report = _load_system(args.system, offline=True)
    verdicts = check_envs(list(args.paths), report, Catalog.load(), scan=not args.no_scan, request=request,
                          uv=uv_executable(), verify_envs=list(args.verify or []))
    if args.json:
        _print_json({"machine": _machine(report), "environments": [v.to_json() for v in verdicts]})
    else:
        _print_verdicts(verdicts)
    return EXIT_OK


def _machine(report: Any) -> dict[str, Any]:
    return {"os": report.os.name, "arch": report.os.arch, "gpus": [g.name for g in report.gpus],
            "nvidia_driver": report.nvidia_driver, "cuda_driver_version": report.cuda_driver_version}


def _print_verdicts(verdicts: list[EnvVerdict]) -> None:
    from installer.core.checklist import MARKS

    if not verdicts:
        print("No Python environments found. Name a project folder: torch-setup doctor PATH")
        return
    for v in verdicts:
        torch = f"torch {v.torch} ({v.build})" if v.torch else "no torch"
        ours = ", made by Torch Setup" if v.made_by_torch_setup else ""
        print(f"{MARKS.get(v.status, '•')} {v.env}  [{v.kind}, Python {v.python or '?'}, {torch}{ours}]")
        for f in v.findings:
            print(f"    {f.mark} {f.text}")
            if f.meaning:
                print(f"        {f.meaning}")
        fix = v.planned_fix if (v.status == "fail" or not v.torch) else None
        if fix and "error" in fix:
            print(f"    Fix: none planned: {fix['error']}")
        elif fix:
            print(f"    Fix: torch {fix['torch']} ({fix['backend']}): torch-setup doctor --fix {v.env}")
            for line in v.pinned:
                print(f"    ⚠ {line}")
        print()


# -- repair / add torch / upgrade -----------------------------------------------------------------------

def _repair(args: argparse.Namespace, facts: EnvFacts, request: RepairRequest, what: str,
            plan: Plan | None = None) -> int:
    from installer.core import locks
    from installer.core.catalog import Catalog
    from installer.core.doctor.planning import pinned_conflicts, plan_repair
    from installer.core.doctor.repair import EnvRepair
    from installer.core.journal import new_run_id
    from installer.core.runner import install_signal_handlers
    from installer.core.uvbin import uv_executable

    uv = uv_executable()
    run_id = new_run_id()
    if plan is None:
        report = _load_system(args.system, offline=True)
        plan = plan_repair(facts, report, Catalog.load(), request, run_id, uv=uv)
    out = cast(TextIO, _ReaderSafeStream(sys.stdout))
    json_events = bool(getattr(args, "json_events", False))
    pinned = pinned_conflicts(facts, plan)
    if not json_events:
        before = f"torch {facts.torch}" if facts.torch else "no PyTorch"
        print(f"{what} {facts.path} (Python {facts.python}): {before} → torch {plan.torch} ({plan.backend}): "
              f"{', '.join(plan.packages)}", file=out)
        for reason in plan.reasons:
            print(f"  • {reason}", file=out)
        for warning in plan.warnings:
            print(f"  ⚠ {warning}", file=out)
    for line in pinned:
        _print_err(f"⚠ {line}")
    locks.refuse_if_busy(facts.path)
    if not args.yes:
        if not sys.stdin or not sys.stdin.isatty():
            if pinned:
                raise UsageError(f"{len(pinned)} package(s) pin torch and would break (listed above); "
                                 "add --yes to change the environment anyway.")
            raise UsageError("Nothing is changed without confirmation: add --yes to change the environment.")
        prompt = "Repairing will break the packages above: continue? [y/N] " if pinned else "Change it now? [y/N] "
        if input(prompt).strip().lower() not in ("y", "yes"):
            print("Nothing was changed.", file=out)
            return EXIT_OK
    cancel = threading.Event()
    printer = _EventPrinter(json_events, out)

    def note(text: str) -> None:
        if not json_events:
            print(f"  {text}", file=out, flush=True)

    with install_signal_handlers(cancel):
        result = EnvRepair(facts, plan, uv, on_event=printer, on_note=note, cancel=cancel, run_id=run_id).run()
    if getattr(args, "json", False):
        _print_json(result.to_json(), out)
    elif result.ok:
        print(f"\n✓ {result.message}", file=out)
    else:
        _print_err(f"\n✗ {result.message}")
        print_causes(result.diagnoses, result.log_path)
    return int(result.exit_code)


# -- envs ----------------------------------------------------------------------------------------------

def cmd_envs(args: argparse.Namespace) -> int:
    if args.envs_command == "list":
        return _envs_list(args)
    from installer.core.journal import read_marker

    target = Path(args.env).expanduser()
    if not target.is_dir():
        raise UsageError(f"The environment {args.env} does not exist or is not a folder.")
    marker = read_marker(target)
    if marker is None or marker.get("state") not in (None, "done"):
        raise UsageError(f"{target} carries no Torch Setup marker: it was not made by Torch Setup, so Torch Setup "
                         f"will not {args.envs_command} it.")
    if args.envs_command == "remove":
        return _envs_remove(args, target)
    return _envs_upgrade(args, target)


def _envs_list(args: argparse.Namespace) -> int:
    from installer.core.doctor.discover import torch_setup_envs
    from installer.core.doctor.inspect import inspect_env, torch_build
    from installer.core.journal import read_marker

    rows = []
    extra = [Path(p).expanduser() for p in args.paths]
    found = torch_setup_envs([p for p in extra if read_marker(p) is None])
    found += [p for p in extra if read_marker(p) is not None and p not in found]
    for env in found:
        marker = read_marker(env) or {}
        facts = inspect_env(env, "torch-setup")
        plan = marker.get("plan") or {}
        rows.append({"env": str(env), "torch": facts.torch, "build": torch_build(facts),
                     "planned_torch": plan.get("torch"), "backend": plan.get("backend"),
                     "created": marker.get("created"), "last_verified": plan.get("verified") or marker.get("created"),
                     "python": facts.python, "works": facts.ok})
    if args.json:
        _print_json({"environments": rows})
        return EXIT_OK
    if not rows:
        print("No environments made by Torch Setup were found.")
    for row in rows:
        torch = f"torch {row['torch']} ({row['build']})" if row["torch"] else "no torch"
        print(f"{'✓' if row['works'] else '✗'} {row['env']}\n    {torch}, Python {row['python'] or '?'}, created "
              f"{row['created'] or '?'}, last verified {row['last_verified'] or '?'}")
    return EXIT_OK


def _envs_remove(args: argparse.Namespace, target: Path) -> int:
    from installer.core import locks
    from installer.core.journal import new_run_id, remove_path

    if not args.yes:
        if not sys.stdin or not sys.stdin.isatty():
            raise UsageError(f"Nothing is removed without confirmation: add --yes to delete {target}.")
        if input(f"Delete {target} and everything in it? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing was removed.")
            return EXIT_OK
    with locks.hold(target, new_run_id()):
        try:
            remove_path(target)
        except OSError as exc:
            _print_err(f"Could not remove everything in {target}: {exc}.")
            return 1
    print(f"Removed {target}.")
    return EXIT_OK


def _envs_upgrade(args: argparse.Namespace, target: Path) -> int:
    from installer.core.catalog import Catalog
    from installer.core.doctor.inspect import public_version
    from installer.core.doctor.planning import plan_repair, planned_versions
    from installer.core.journal import new_run_id
    from installer.core.uvbin import uv_executable

    facts = _facts_of(str(target))
    request = _request(args, torch=args.torch or "latest")
    report = _load_system(args.system, offline=True)
    plan = plan_repair(facts, report, Catalog.load(), request, new_run_id(), uv=uv_executable())
    planned = planned_versions(plan).get("torch", plan.torch)
    if facts.torch and public_version(planned) == public_version(facts.torch) and \
            (planned == facts.torch or "+" not in planned):
        print(f"torch {facts.torch} in {target} is already the newest this machine's plan picks; nothing to do.")
        return EXIT_OK
    return _repair(args, facts, request, what="Upgrade", plan=plan)


__all__ = ["EXIT_BAD_INPUT", "add_parsers", "cmd_doctor", "cmd_envs"]
