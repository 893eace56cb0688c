"""The lab-admin parts of the CLI: locks (`plan --lock`, `install --lock`), offline bundles (`bundle`,
`install --bundle`). The engine is installer/core/lockfile.py and installer/core/bundle.py."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from installer.core.plan import Choices, Plan
    from installer.core.report import SystemReport


def add_parsers(sub: Any) -> None:
    from installer.cli import _JSON_NOTE, _add_choice_args, _command

    p = _command(sub, "bundle", "download once what the installs of other machines need (offline bundle)",
                 "Plan the install for each target machine (a `detect --json` report), resolve the exact "
                 "packages\n(a pylock.toml per target) and download every wheel once into a folder with a "
                 "SHA-256 manifest.\nCopy the folder to the machines and run `torch-setup install --bundle DIR "
                 "--yes` there, with no network.", [0, 1, 2, 130], _JSON_NOTE)
    p.add_argument("--for", dest="targets", metavar="REPORT.json", action="append", required=True,
                   help="a target machine's `detect --json` report (repeatable)")
    p.add_argument("--out", metavar="DIR", required=True, help="the bundle folder to write")
    _add_choice_args(p)
    p.add_argument("--answers", metavar="FILE", help="read choices from a TOML answer file")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")

    p = _command(sub, "report", "turn install reports into pages people read",
                 "Turn `install --report` JSON files into HTML: `report html FILE --html OUT` for one machine,\n"
                 "`report merge *.json --html fleet.html` for a lab (a row per machine, failures first, counts\n"
                 "per build and per problem; a machine is named after its file, as Ansible fetches <host>.json).",
                 [0, 2])
    p.add_argument("action", choices=["merge", "html"], help="merge several reports, or render one")
    p.add_argument("reports", metavar="REPORT.json", nargs="+", help="reports written by install --report")
    p.add_argument("--html", metavar="FILE", required=True, help="the page to write")


def _uv() -> str:
    from installer.core.uvbin import uv_executable

    return uv_executable()


def write_plan_lock(plan: Plan, report: SystemReport, choices: Choices, path: Path, out: TextIO) -> None:
    from installer.core.catalog import platform_key
    from installer.core.lockfile import write_lock

    packages = write_lock(plan, _uv(), platform_key(report.os), path, offline=bool(choices.offline))
    print(f"Locked {len(packages)} packages in {path}.", file=out)


def lock_install_plan(args: argparse.Namespace, plan: Plan) -> None:
    """Rewrite the plan's install steps to install exactly the lock (or the bundle's target)."""
    from installer.core.lockfile import lock_plan, read_lock

    target = getattr(args, "bundle_target", None)
    if target is not None:
        folder = Path(args.bundle).resolve()
        lock_plan(plan, folder / target.requirements, offline=True, find_links=str(folder / "wheels"), pinned=True)
        plan.reasons.append(f"From the bundle {folder}: target {target.name}, checked against its SHA-256 "
                            "manifest; no network.")
        return
    from installer.core.lockfile import check_lock_name

    path = Path(args.lock).resolve()
    check_lock_name(path)
    read_lock(path)  # a damaged lock is refused before anything runs
    lock_plan(plan, path, offline=bool(getattr(args, "offline", False)))


def bundle_install_args(args: argparse.Namespace) -> None:
    """Check the bundle's files, pick its target for this machine and turn it into install choices.
    A changed file or a machine the bundle does not fit is refused (exit 2) before anything is made."""
    from installer.cli import UsageError, _load_system
    from installer.core import bundle
    from installer.core.diagnose import load_signatures

    if args.lock:
        raise UsageError("Give --bundle or --lock, not both: a bundle has its own locks.")
    folder = Path(args.bundle)
    manifest = bundle.load_manifest(folder)
    bad = bundle.check_files(folder, manifest)
    if bad:
        cat = load_signatures().categories["hash-mismatch"]
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise UsageError(f"Nothing was installed: the bundle's files do not match its manifest "
                         f"({'; '.join(bad[:3])}{more}) [hash-mismatch]. {cat.summary} Copy the bundle again.")
    report = _load_system(args.system, offline=True)
    wanted = args.backend or _backend_here(report)
    target, reason = bundle.pick_target(bundle.targets_of(manifest), report, wanted)
    if target is None:
        raise UsageError(reason)
    args.bundle_target = target
    args.torch_source = str((folder / "wheels").resolve())
    args.torch = target.torch
    args.backend = target.backend
    args.python = args.python or target.python
    args.offline = True


def _backend_here(report: SystemReport) -> str:
    """The build the planner would choose for this machine on its own (cpu when it cannot tell)."""
    from installer.core.catalog import Catalog
    from installer.core.plan import ChoiceError, Choices
    from installer.core.planner import make_plan

    try:
        return make_plan(report, Choices(offline=True), Catalog.load(), uv=_uv()).backend
    except ChoiceError:
        return "cpu" if not report.gpus else "auto"


def cmd_bundle(args: argparse.Namespace) -> int:
    from installer.cli import EXIT_OK, UsageError, _make_plan, _print_json
    from installer.core import bundle, paths

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not (out / bundle.MANIFEST).exists():
        raise UsageError(f"{out} is a folder with other files: give a new or empty folder for the bundle.")
    targets: list[tuple[Any, Plan, str]] = []
    for report_path in args.targets:
        args.system = report_path
        _choices, report, plan = _make_plan(args, elsewhere=True)
        targets.append((report, plan, Path(report_path).stem))
    started = time.monotonic()
    log = None if args.json else (lambda line: print(line, flush=True))
    manifest = bundle.make_bundle(targets, out, _uv(), paths.resource("verify_probe.py"),
                                  offline=bool(args.offline), log=log)
    seconds = time.monotonic() - started
    size = sum(f["size"] for f in manifest["files"].values())
    if args.json:
        _print_json({**manifest, "seconds": round(seconds, 1), "bytes": size})
        return EXIT_OK
    for target in manifest["targets"]:
        print(f"{target['name']}: torch {target['torch']} ({target['backend']}), {len(target['wheels'])} wheels, "
              f"lock {target['lock']}")
    print(f"Bundle written to {out}: {len(manifest['files'])} files, {size / 1e6:.0f} MB in {seconds:.0f} s.")
    print(f"On each machine: torch-setup install --bundle {out} --yes")
    sys.stdout.flush()
    return EXIT_OK


def _installed_versions(uv: str, python: str) -> dict[str, str] | None:
    from installer.core import process

    done = process.run_captured([uv, "pip", "list", "--format", "json", "--python", python], timeout=120)
    if not done.ok:
        return None
    try:
        return {str(p["name"]).lower().replace("_", "-"): str(p["version"]) for p in json.loads(done.stdout)}
    except (ValueError, TypeError, KeyError):
        return None


def _why_needed(args: argparse.Namespace, plan: Plan) -> tuple[str | None, Any]:
    """(why an install is needed, or None when the env has exactly this build and verifies; the VerifyReport)."""
    from installer.core.lockfile import read_lock
    from installer.core.verify import verify_python

    python = plan.env_python
    if not python or not Path(python).exists():
        return f"there is no environment at {plan.env}", None
    installed = _installed_versions(_uv(), python)
    if installed is None:
        return f"the packages of {plan.env} cannot be listed", None
    target = getattr(args, "bundle_target", None)
    lock = (Path(args.bundle) / target.lock) if target is not None else Path(args.lock) if args.lock else None
    if lock is not None:
        wanted = {p.name.lower().replace("_", "-"): p.version for p in read_lock(lock)}
    else:
        verify_argv = next((list(map(str, s.argv)) for s in plan.steps if s.kind == "verify"), [])
        torch = verify_argv[verify_argv.index("--expect-torch") + 1] if "--expect-torch" in verify_argv else None
        wanted = {"torch": torch} if torch else {}
    differ = sorted(n for n, v in wanted.items() if installed.get(n) != v)
    if differ or not wanted:
        shown = ", ".join(f"{n} {installed.get(n, 'missing')} (wanted {wanted[n]})" for n in differ[:3])
        return f"{plan.env} differs: {shown or 'no torch build to compare'}", None
    verify = verify_python(python, expect=plan.backend)
    if not verify.ok:
        return f"{plan.env} has the right packages but its verification fails", verify
    return None, verify


def settle_if_needed(args: argparse.Namespace, plan: Plan, report: SystemReport) -> int | None:
    """--if-needed / --check: an exit code when nothing is to be installed (or --check), None to install.

    The result for config-management tools is one JSON line on stdout: {"changed": false, ...} when the env
    already holds this build (and lock) and verifies (exit 0); with --check, {"changed": true, ...} when an
    install would run (exit 0, nothing done)."""
    from installer import __version__
    from installer.cli import EXIT_OK

    reason, verify = _why_needed(args, plan)
    result = {"changed": reason is not None, "ok": True, "env": plan.env, "torch": plan.torch,
              "backend": plan.backend, "reason": reason or "already installed and verified",
              "check_mode": bool(args.check)}
    if reason is None and args.report:
        from installer.core.redact import redact_json
        from installer.core.runlog import write_private_text

        data = {"torch_setup": __version__, "changed": False, "ok": True, "exit_code": 0,
                "verify": verify.to_json() if verify is not None else None, "plan": plan.to_json(),
                "system": report.to_json(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        write_private_text(Path(args.report), json.dumps(redact_json(data), indent=2, ensure_ascii=False))
    if reason is None or args.check:
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return EXIT_OK
    return None


def cmd_report(args: argparse.Namespace) -> int:
    from installer.cli import EXIT_OK, UsageError
    from installer.core import htmlreport
    from installer.core.runlog import write_private_text

    paths = [Path(p) for p in args.reports]
    outcomes = htmlreport.load_reports(paths)
    if args.action == "html":
        if len(outcomes) != 1:
            raise UsageError("`report html` renders one report; use `report merge` for several.")
        text = htmlreport.machine_html(outcomes[0].data, outcomes[0].machine)
    else:
        text = htmlreport.fleet_html(outcomes)
    write_private_text(Path(args.html), text)
    failed = sum(1 for o in outcomes if not o.ok)
    print(f"Wrote {args.html}: {len(outcomes)} machine(s), {failed} need attention.")
    return EXIT_OK
