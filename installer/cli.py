"""The `torch-setup` command: with no command it opens the wizard; otherwise detect, plan, install, verify, ...

Every command exits per DESIGN.md: 0 ok, 1 install failed, 2 bad input or a request that cannot be met,
3 installed but verification failed, 130 cancelled. Bad input is one sentence on stderr, never a traceback.
Engine modules are imported inside the commands so `--version` and `--help` stay instant.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import math
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, cast

from installer import __version__
from installer.console import mark

if TYPE_CHECKING:
    from installer.core.catalog import Catalog
    from installer.core.events import Event
    from installer.core.plan import Choices, Plan
    from installer.core.report import SystemReport
    from installer.core.runner import RunResult

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_VERIFY_FAILED, EXIT_CANCELLED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """Bad input detected by the CLI itself: exit 2 with this one sentence."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        sentence = message[0].upper() + message[1:] if message else "Invalid arguments"
        _json_refusal(EXIT_BAD_INPUT, f"{sentence.rstrip('.')}.")
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {sentence.rstrip('.')}. See '{self.prog} --help'.\n")


# -- refusals a script can parse ---------------------------------------------------------------------

# "json" (--json: one JSON object) or "events" (--json-events: one event per line) while main() runs a
# command that was asked for machine-readable output; None otherwise. Set before parsing, so that even a
# usage mistake reaches the script as JSON.
_json_mode: str | None = None

_ERROR_KINDS = {EXIT_FAILED: "failed", EXIT_BAD_INPUT: "bad-input", EXIT_CANCELLED: "cancelled"}


def _json_mode_of(argv: Sequence[str]) -> str | None:
    """What machine-readable output the arguments ask for, read before (or without) argparse."""
    words = list(argv)
    if "--" in words:
        words = words[:words.index("--")]
    command = next((w for w in words if not w.startswith("-")), None)
    for word in words:
        # argparse accepts unambiguous prefixes: --json-e..., and --json for install (its only --json* flag)
        if word.startswith("--json-e") and "--json-events".startswith(word.split("=")[0]):
            return "events"
        if word == "--json":
            return "events" if command == "install" else "json"
    return None


def _json_refusal(exit_code: int, message: str, kind: str | None = None) -> None:
    """The refusal as JSON on stdout (besides the sentence on stderr): scripts parse every outcome."""
    if _json_mode is None:
        return
    from installer.core.redact import redact_json

    data: dict[str, Any] = {"ok": False, "exit_code": exit_code,
                            "error": kind or _ERROR_KINDS.get(exit_code, "failed"), "message": message}
    if _json_mode == "events":
        data = {"type": "error", **data}
    try:
        print(json.dumps(redact_json(data), ensure_ascii=False), file=sys.stdout, flush=True)
    except (OSError, ValueError):  # a reader that went away: stderr and the exit code still tell it
        pass


# -- argument definitions --------------------------------------------------------------------------


def _seconds(value: str) -> float:
    """A time limit: a finite number of seconds above zero (nan, inf and negatives are bad input)."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"a time limit must be a number of seconds above zero, not {value!r}")
    return seconds


def _add_system_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--system", metavar="FILE", help="use a saved `detect --json` report instead of probing this machine")


def _add_choice_args(p: argparse.ArgumentParser) -> None:
    """The choices shared by `plan` and `install`; defaults are None so an answer file can fill them."""
    g = p.add_argument_group("choices (answer-file keys are these names with underscores)")
    g.add_argument("--method", choices=["pip", "conda", "source"], help="how to install (default: pip)")
    g.add_argument("--torch", metavar="VERSION", help="X.Y, X.Y.Z, latest (default) or nightly")
    g.add_argument("--backend", metavar="BACKEND", help="auto (default), cpu, cuXXX, rocmX.Y, xpu or mps")
    g.add_argument("--python", metavar="X.Y|PATH", help="the Python version or interpreter to build the env on")
    g.add_argument("--env", metavar="PATH", help="folder for the new environment")
    g.add_argument("--env-name", metavar="NAME", help="name of the new environment under the default folder")
    g.add_argument("--packages", metavar="PKG", nargs="+",
                   help="packages to install (default: torch); e.g. torch torchvision torchaudio numpy")
    g.add_argument("--engine", choices=["uv", "pip"], help="install engine for the pip method (default: uv)")
    g.add_argument("--torch-source", metavar="SOURCE",
                   help="pytorch (default: PyTorch's index), pypi, a mirror URL or a local folder of wheels")
    g.add_argument("--index-url", metavar="URL", help="package index for the packages outside the torch family")
    g.add_argument("--find-links", metavar="DIR|URL", action="append", help="extra wheel location (repeatable)")
    g.add_argument("--trusted-host", metavar="HOST", action="append", help="allow plain http from this host")
    g.add_argument("--offline", action="store_true", default=None, help="never touch the network")
    g.add_argument("--cert", metavar="FILE",
                   help="a CA bundle (PEM) to trust in addition to the system's store (a company CA)")
    g.add_argument("--torch-index-url", metavar="URL",
                   help="a mirror of PyTorch's wheel index root (Artifactory, Nexus, devpi); …/cu126 is kept")
    g.add_argument("--proxy", metavar="URL", help="proxy for every download: http://[USER:PASSWORD@]HOST:PORT")
    g.add_argument("--jupyter", action="store_true", default=None, help="register the env as a Jupyter kernel")
    g.add_argument("--source-repo", metavar="URL|DIR",
                   help="for --method source: a mirror or local clone of PyTorch's git repository")


# What each exit code means, and which commands can end with it (DESIGN.md).
_EXIT_LINES = {
    EXIT_OK: "0    success",
    EXIT_FAILED: "1    the install failed (a diagnosis is printed), or an internal error",
    EXIT_BAD_INPUT: "2    bad input, or a request that cannot be met (one sentence says why)",
    EXIT_VERIFY_FAILED: "3    installed (or found), but verification failed",
    EXIT_CANCELLED: "130  cancelled (Ctrl-C, SIGTERM); what the run created is removed",
}


def _command(sub: Any, name: str, summary: str, description: str, codes: Sequence[int],
             json_note: str = "") -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does and how it can end."""
    epilog = "exit codes:\n" + "\n".join(f"  {_EXIT_LINES[code]}" for code in codes)
    if json_note:
        epilog += "\n\n" + json_note
    parser: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=description, epilog=epilog,
                                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


_JSON_NOTE = ("With --json, a refusal (exit 2), a cancel or an internal error also prints one JSON object on stdout:\n"
              '  {"ok": false, "exit_code": 2, "error": "bad-input", "message": "..."}')
_EVENTS_NOTE = ('With --json-events, every outcome is a JSON line on stdout; a refusal before the run starts is\n'
                '  {"type": "error", "ok": false, "exit_code": 2, "error": "bad-input", "message": "..."}')


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="torch-setup",
        description="Install a working PyTorch: detect the machine, choose the right build, install it "
        "into an isolated environment and prove it works. With no command, opens the wizard.",
    )
    parser.add_argument("--version", action="version", version=f"torch-setup {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = _command(sub, "gui", "open the wizard (the default with no command)",
                 "Open the Torch Setup wizard: the same steps as `install`, one page at a time.", [0, 1, 2])
    p.add_argument("--self-test", action="store_true", help="show the wizard, time first paint and detection, exit")
    p.add_argument("--screenshots", metavar="DIR", help="render every page into DIR/NN-page.png and exit")
    p.add_argument("--screenshot-size", metavar="WxH", help="with --screenshots: the window size, e.g. 640x480")
    p.add_argument("--screenshot-scheme", choices=("light", "dark"), help="with --screenshots: the colour scheme")
    p.add_argument("--screenshot-scale", type=float, metavar="N", help="with --screenshots: screen scale, e.g. 2")

    p = _command(sub, "detect", "describe this machine as PyTorch sees it",
                 "Describe this machine as PyTorch sees it: system, GPUs and driver, Pythons, conda, tools, disk "
                 "and network,\neach with what it means for PyTorch. --json prints the SystemReport that "
                 "`plan --system` reads.", [0, 1, 2, 130], _JSON_NOTE)
    p.add_argument("--json", action="store_true", help="print the SystemReport as JSON")
    p.add_argument("--offline", action="store_true", help="skip the network checks")
    p.add_argument("--env", metavar="PATH", help="where the environment would go (for the free-disk check)")
    _add_system_args(p)

    p = _command(sub, "plan", "show what an install would do, with a reason for every choice",
                 "Show what `install` would do with these choices: the build, the Python, the environment and "
                 "every command,\nwith a reason for each decision. Nothing is changed.", [0, 1, 2, 130],
                 _JSON_NOTE)
    _add_choice_args(p)
    p.add_argument("--answers", metavar="FILE", help="read choices from a TOML answer file")
    p.add_argument("--json", action="store_true", help="print the Plan as JSON")
    p.add_argument("--lock", metavar="FILE", help="also write the exact packages as a lock (pylock.toml)")
    _add_system_args(p)

    p = _command(sub, "install", "plan, install and verify (unattended with --yes)",
                 "Plan, create the environment, install PyTorch and verify it on every device. Whatever the run "
                 "created is\nremoved again if it fails or is cancelled; the full log is kept.", [0, 1, 2, 3, 130],
                 _EVENTS_NOTE)
    _add_choice_args(p)
    p.add_argument("--answers", metavar="FILE", help="read choices from a TOML answer file")
    p.add_argument("--yes", "-y", action="store_true", default=None, help="never prompt")
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    p.add_argument("--json-events", action="store_true", help="print one JSON event per line (for fleet tools)")
    p.add_argument("--report", metavar="FILE", help="write plan, timings, verification and log path as JSON")
    p.add_argument("--force", action="store_true", default=None,
                   help="replace an environment that Torch Setup made earlier")
    p.add_argument("--lock", metavar="FILE", help="install exactly the packages of this lock (pylock.toml)")
    p.add_argument("--bundle", metavar="DIR", help="install from an offline bundle (`torch-setup bundle`)")
    p.add_argument("--if-needed", action="store_true",
                   help='do nothing when the env already has this build (and lock) and verifies: exit 0 and '
                   'print {"changed": false, ...} (for Ansible and other config-management tools)')
    p.add_argument("--check", action="store_true",
                   help='change nothing; print {"changed": false|true, ...}: whether an install would run')
    _add_system_args(p)

    p = _command(sub, "verify", "prove an environment's PyTorch works on every device",
                 "Prove that an environment's PyTorch works: import it, run real kernels on the CPU and every GPU "
                 "and compare\nthem, check torchvision/torchaudio, and measure matmul throughput.", [0, 1, 2, 3, 130],
                 _JSON_NOTE)
    p.add_argument("--python", metavar="PATH", required=True, help="the environment's python executable")
    p.add_argument("--expect", metavar="BACKEND", help="the backend that must be running (cpu, cu126, mps, ...)")
    p.add_argument("--require", metavar="PKG", nargs="+", choices=["torchvision", "torchaudio"],
                   help="fail unless these packages import and match torch")
    p.add_argument("--json", action="store_true", help="print the VerifyReport as JSON")
    p.add_argument("--timeout", type=_seconds, default=600.0, help=argparse.SUPPRESS)
    _add_system_args(p)

    p = _command(sub, "diagnose", "explain a failed install from its log",
                 "Explain a failed install from its log (pip, uv, conda, a traceback) or from a VerifyReport: "
                 "the cause\nand one concrete fix for each known failure signature.", [0, 1, 2, 130], _JSON_NOTE)
    p.add_argument("log", metavar="LOG", nargs="?", help="a log file (pip, uv, conda, a traceback, ...); - reads standard input")
    p.add_argument("--verify-report", metavar="FILE", help="a VerifyReport JSON to diagnose from facts")
    p.add_argument("--json", action="store_true", help='print {"diagnoses": [...]}')
    _add_system_args(p)

    p = _command(sub, "catalog", "what PyTorch publishes (bundled data, refreshable)",
                 "What PyTorch publishes: releases, Pythons, platforms and builds (bundled data; --refresh learns "
                 "new releases\nfrom the index). With --system, only the platform of the machine that report "
                 "describes.", [0, 1, 2, 130], _JSON_NOTE)
    p.add_argument("--refresh", action="store_true", help="learn the current releases from PyTorch's index")
    p.add_argument("--index-url", metavar="URL", default="https://download.pytorch.org/whl",
                   help="the wheel index to learn from (default: PyTorch's)")
    p.add_argument("--timeout", type=_seconds, default=20.0, help="seconds allowed for --refresh")
    p.add_argument("--platform", metavar="KEY",
                   help="only this platform: linux-x86_64, linux-arm64, windows-x86_64, windows-arm64, macos-arm64, "
                   "macos-x86_64")
    p.add_argument("--json", action="store_true", help="print the catalog as JSON")
    _add_system_args(p)

    p = _command(sub, "config", "show Torch Setup's settings, their values and where each came from",
                 "Show Torch Setup's settings (mirror, CA bundle, proxy, env root, engine), their effective values\n"
                 "and where each came from: flag > environment variable > user file > machine file > default.",
                 [0, 2], _JSON_NOTE)
    p.add_argument("--json", action="store_true", help="print the settings and files as JSON")

    p = _command(sub, "cleanup", "find runs that were interrupted and remove what they left behind",
                 "Find runs that were interrupted (a crash, a power cut) and remove exactly what their journals "
                 "say they\ncreated; anything else is left alone. It works on this machine's journals, so "
                 "--system is accepted\nfor symmetry with the other commands and changes nothing.",
                 [0, 1, 2, 130], _JSON_NOTE)
    p.add_argument("--yes", "-y", action="store_true", help="remove the leftovers without asking")
    p.add_argument("--json", action="store_true", help="list the interrupted runs as JSON")
    p.add_argument("--system", metavar="FILE",
                   help="accepted like every command's --system; cleanup always looks at this machine's journals")

    from installer.cli_doctor import add_parsers as add_doctor_parsers

    add_doctor_parsers(sub)  # doctor, envs
    from installer.cli_lab import add_parsers as add_lab_parsers

    add_lab_parsers(sub)  # bundle
    return parser


# -- helpers ---------------------------------------------------------------------------------------


def _print_err(text: str) -> None:
    from installer.core.redact import redact_text

    # Error sentences quote what the user typed (an --index-url with its password) or what a child said.
    print(redact_text(text), file=sys.stderr)


def _print_json(data: Any, out: TextIO | None = None) -> None:
    """JSON for the user or a fleet tool, with URL credentials hidden (redacted before serialising)."""
    from installer.core.redact import redact_json

    print(json.dumps(redact_json(data), indent=2, ensure_ascii=False), file=out or sys.stdout)


def _stdout_gone() -> None:
    """The reader of stdout went away: what is still printed goes to nowhere (an install's log keeps it
    all), so neither a later print nor Python's flush at exit fails ("Exception ignored ... BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _is_broken_pipe(exc: OSError) -> bool:
    # Windows reports a closed pipe as EINVAL as often as EPIPE.
    return isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.EINVAL)


class _ReaderSafeStream(io.TextIOBase):
    """stdout for a command that changes things: a reader that goes away (`| head -1`) must not stop the
    work half-way or turn it into a false success, so writes after that are dropped and the exit code
    stays the true one."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self.broken = False

    def _lost(self) -> None:
        self.broken = True
        _stdout_gone()

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._stream.write(text)
            except OSError as exc:
                if not _is_broken_pipe(exc):
                    raise
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except OSError as exc:
                if not _is_broken_pipe(exc):
                    raise
                self._lost()


def _load_system(path: str | None, *, offline: bool = False, env_dir: str | None = None) -> SystemReport:
    from installer.core.report import ReportError, SystemReport

    if path:
        try:
            return SystemReport.load(path)
        except ReportError as exc:
            raise UsageError(f"Cannot read the system report: {exc}.") from None
    from installer.core.detect import detect

    return detect(offline=offline, env_dir=env_dir)


def _choices_from_args(args: argparse.Namespace) -> Choices:
    from installer.core import settings
    from installer.core.plan import Choices, choices_from_answers

    choices = choices_from_answers(args.answers) if getattr(args, "answers", None) else Choices()
    defaults = Choices()
    # An answer file counts as explicit where it differs from the default; a flag always does.
    explicit = {n for n in Choices.field_names() if getattr(choices, n) != getattr(defaults, n)}
    for name in Choices.field_names():
        value = getattr(args, name, None)
        if value is not None:
            setattr(choices, name, value)
            explicit.add(name)
    # Torch Setup's config files and TORCH_SETUP_* variables fill what neither gave (flag > variable >
    # user file > machine file > default); the same network settings then serve detection and the plan.
    args.applied_settings = settings.apply(choices, explicit)
    from installer.core import policy

    # An administrator's [policy] locks (machine file): a flag that breaks one is refused with the reason.
    policy.enforce_choices(choices, args.applied_settings.settings.policy, explicit,
                           str(settings.machine_config_path()))
    choices.validate()
    return choices


def _load_catalog(report: SystemReport, offline: bool, mirror: str | None = None) -> Catalog:
    from installer.core.catalog import Catalog

    # Refresh only when the network check saw PyTorch's index answer: a closed network costs nothing.
    refresh = 3.0 if (not offline and report.network.pytorch_index) else None
    return Catalog.load(refresh_timeout=refresh, index_root=mirror)


def _make_plan(args: argparse.Namespace, *, elsewhere: bool = False) -> tuple[Choices, SystemReport, Plan]:
    choices = _choices_from_args(args)  # bad input fails here, before any probing
    report = _load_system(args.system, offline=choices.offline, env_dir=choices.env)
    from installer.core.planner import make_plan
    from installer.core.uvbin import uv_executable

    catalog = _load_catalog(report, choices.offline, choices.torch_index_url)
    extra: dict[str, str] = {}
    if args.source_repo:
        extra["source_repo"] = _checked_source_repo(args.source_repo)
    plan = make_plan(report, choices, catalog, uv=uv_executable(), elsewhere=elsewhere, **extra)
    from installer.core import policy, settings

    policy.enforce_plan(plan, args.applied_settings.settings.policy, str(settings.machine_config_path()), elsewhere)
    if not elsewhere:  # this machine's trust store, proxies and pip/uv configuration mean nothing on another
        args.applied_settings.apply_to_plan(plan)
    return choices, report, plan


def _checked_source_repo(value: str) -> str:
    """A git URL (https, ssh, file) or a local repository folder; never anything a shell would act on."""
    from installer.core.inputs import check_path, check_url

    if any(c in value for c in ";&|`$<>\n\r\0"):
        raise UsageError(f"The source repository {value!r} has characters that do not belong in a URL or path.")
    if "://" in value:
        if check_url(value, "--source-repo").scheme not in ("https", "http", "ssh", "git", "file"):
            raise UsageError(f"The source repository {value!r} is not a git URL or a folder.")
        return value
    folder = Path(check_path(value, "--source-repo")).expanduser()
    if not (folder / ".git").exists() and not (folder / "HEAD").is_file():
        raise UsageError(f"The source repository {value} is not a git repository.")
    return str(folder.resolve())


def _show_plan(plan: Plan, out: TextIO) -> None:
    from installer.core.redact import redact_text

    lines = [f"PyTorch {plan.torch} ({plan.backend}) with Python {plan.python}, method {plan.method}",
             f"Environment: {plan.env}"]
    if plan.torch_from_folder():
        lines.append(f"Nothing of PyTorch to download (it comes from the wheel folder), about "
                     f"{plan.disk_mib or '?'} MB on disk")
    elif plan.download_mib or plan.disk_mib:
        lines.append(f"About {plan.download_mib or '?'} MB to download, {plan.disk_mib or '?'} MB on disk")
    if plan.reasons:
        lines += ["", "Why:"] + [f"  • {reason}" for reason in plan.reasons]
    if plan.warnings:
        lines += ["", "Warnings:"] + [f"  ⚠ {warning}" for warning in plan.warnings]
    lines += ["", "Steps:"]
    from installer.core.cmdline import command_text, plan_os

    os_name = plan_os(plan)  # a plan for another machine shows that machine's quoting
    for number, step in enumerate(plan.steps, 1):
        # Redact each argument before quoting: shell quoting of a password with a ' would hide the URL's end.
        command = command_text([redact_text(str(a)) for a in step.argv], os_name,
                               {k: redact_text(v) for k, v in step.env.items()})
        lines.append(f"  {number}. {step.name}")
        lines.append(f"     $ {command}")
    # Every line passes redact_text: reasons and warnings quote the index and source URLs too.
    print("\n".join(redact_text(line) for line in lines), file=out)


# -- commands --------------------------------------------------------------------------------------


def cmd_detect(args: argparse.Namespace) -> int:
    from installer.core import settings
    from installer.core.plan import Choices

    # The check uses the proxy, trust and mirror an install would use (and a machine file's offline).
    choices = Choices(offline=bool(args.offline))
    settings.apply(choices, {"offline"} if args.offline else set())
    report = _load_system(args.system, offline=choices.offline, env_dir=args.env)
    if args.json:
        _print_json(report.to_json())
        return EXIT_OK
    from installer.core.checklist import checklist, render_checklist_text

    print(render_checklist_text(checklist(report)))
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    # A saved report is another machine's: its paths and its tools, not this machine's (docs/ARCHITECTURE.md).
    choices, report, plan = _make_plan(args, elsewhere=bool(args.system))
    if args.lock:
        from installer.cli_lab import write_plan_lock

        write_plan_lock(plan, report, choices, Path(args.lock), sys.stderr if args.json else sys.stdout)
    if args.json:
        _print_json(plan.to_json())  # the Plan that runs keeps the real URLs; only what is shown is redacted
    else:
        _show_plan(plan, sys.stdout)
    return EXIT_OK


class _EventPrinter:
    """Prints runner events for a person at a terminal (or as JSON lines for fleet tools)."""

    def __init__(self, json_lines: bool, out: TextIO, verify_steps: Sequence[int] = ()) -> None:
        self.json_lines = json_lines
        self.out = out
        # The verify probe talks to the runner (progress markers, one long JSON line) and its libraries
        # warn on stderr: a person sees only what it is checking, then the readable result; the log and
        # --json-events keep every line.
        self.verify_steps = set(verify_steps)
        self._last_progress = ""
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if self.json_lines:
                print(json.dumps(event.to_json(), ensure_ascii=False), file=self.out, flush=True)
                return
            self._human(event)

    def _human(self, event: Event) -> None:
        from installer.core import events as ev

        if isinstance(event, ev.PlanStarted):
            print(f"Installing in {len(event.steps)} steps; full log: {event.log_path}", file=self.out, flush=True)
        elif isinstance(event, ev.StepStarted):
            print(f"\n==> {event.name}", file=self.out, flush=True)
        elif isinstance(event, ev.OutputLine):
            if event.index in self.verify_steps:
                from installer.core.verify import STEP_PREFIX, step_words

                if event.stream == "stdout" and event.text.startswith(STEP_PREFIX):
                    print(f"    {step_words(event.text[len(STEP_PREFIX):])}", file=self.out, flush=True)
            elif event.text.strip():
                print(f"    {event.text}", file=self.out, flush=True)
        elif isinstance(event, ev.Progress):
            if event.text and event.text != self._last_progress:
                self._last_progress = event.text
                pct = f"{event.overall * 100:3.0f}% " if event.overall is not None else ""
                print(f"    [{pct}{event.text}]", file=self.out, flush=True)
        elif isinstance(event, ev.StepFinished):
            print(f"    {mark(event.ok, self.out)} {event.name} ({event.seconds:.1f} s)", file=self.out, flush=True)


def cmd_install(args: argparse.Namespace) -> int:
    if args.bundle:
        from installer.cli_lab import bundle_install_args

        bundle_install_args(args)  # the bundle's checked wheels, lock and target become the choices
    choices, report, plan = _make_plan(args)
    if args.lock or args.bundle:
        from installer.cli_lab import lock_install_plan

        lock_install_plan(args, plan)
    if args.if_needed or args.check:
        from installer.cli_lab import settle_if_needed

        settled = settle_if_needed(args, plan, report)
        if settled is not None:
            return settled
    from installer.core.runner import Runner, install_signal_handlers, preflight

    out = cast(TextIO, _ReaderSafeStream(sys.stdout))
    if args.dry_run:
        if args.json_events:
            from installer.core.redact import redact_json

            print(json.dumps(redact_json({"type": "plan", "plan": plan.to_json()}), ensure_ascii=False), file=out)
        else:
            _show_plan(plan, out)
            print("\nDry run: nothing was changed.", file=out)
        return EXIT_OK
    from installer.core.preflight_io import check_install_io

    # before the runner creates anything: journal, logs, the env's folder and the report are writable
    check_install_io(plan.env, args.report)
    from installer.core import locks

    locks.refuse_if_busy(plan.env)
    preflight(plan, force=bool(choices.force))
    if not choices.yes:
        if not sys.stdin or not sys.stdin.isatty():
            raise UsageError("Nothing is installed without confirmation: add --yes to install unattended.")
        _show_plan(plan, out)
        answer = input("\nInstall now? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing was installed.", file=out)
            return EXIT_OK
    elif not args.json_events:
        _show_plan(plan, out)
        print(file=out)

    cancel = threading.Event()
    printer = _EventPrinter(bool(args.json_events), out,
                            [i for i, step in enumerate(plan.steps) if step.kind == "verify"])
    started = time.time()
    with install_signal_handlers(cancel):
        result = Runner(plan, printer, cancel=cancel, force=bool(choices.force)).run()

    if args.report:
        _write_report(Path(args.report), plan, report, result, started)
    if args.if_needed and not args.json_events:
        print(json.dumps({"changed": True, "ok": result.ok, "exit_code": int(result.exit_code), "env": plan.env}),
              file=out, flush=True)
    if not args.json_events:
        try:
            _summarise_result(result, plan)
        except OSError as exc:  # the exit code below still tells the truth
            if not _is_broken_pipe(exc):
                raise
            _stdout_gone()
    return int(result.exit_code)


def _write_report(path: Path, plan: Plan, report: SystemReport, result: RunResult, started: float) -> None:
    data = {
        "torch_setup": __version__,
        "changed": True,  # an install ran (`install --if-needed` writes "changed": false when none was needed)
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        **result.to_json(),  # exit code, timings, verification, diagnoses, log path
        "plan": plan.to_json(),
        "system": report.to_json(),
    }
    from installer.core.redact import redact_json
    from installer.core.runlog import write_private_text

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Owner-readable only (0600), and redacted: a report is made to be copied into tickets.
        write_private_text(path, json.dumps(redact_json(data), indent=2, ensure_ascii=False))
    except OSError as exc:
        _print_err(f"Could not write the report to {path}: {exc.strerror or exc}.")


def _summarise_result(result: RunResult, plan: Plan) -> None:
    if result.verify is not None:
        print()
        _print_verify(result.verify, [], verdict=False)
    if result.ok:
        print(f"\n{mark(True)} PyTorch {plan.torch} ({plan.backend}) is installed and verified in {plan.env}")
        print(f"  Activate it:  {_activation_hint(plan)}")
        return
    if result.cancelled:
        _print_err("\nCancelled. Everything this run created was removed.")
    elif result.exit_code == EXIT_VERIFY_FAILED:
        # the runner's message says which check failed (and does not claim torch is there when it is not)
        _print_err(f"\n{mark(False, sys.stderr)} {result.message or 'The verification failed.'} The environment was kept: {plan.env}")
    else:
        _print_err(f"\n{mark(False, sys.stderr)} The install failed; everything this run created was removed.")
    print_causes(result.diagnoses, result.log_path)


def print_causes(diagnoses: Sequence[Any], log_path: str | None) -> None:
    """Each diagnosis's cause and fix, then where the full log is (stderr; shared with doctor and envs)."""
    for diagnosis in diagnoses:
        _print_err(f"  Cause: {diagnosis.summary}\n  Fix:   {diagnosis.fix}")
    if log_path:
        _print_err(f"  Full log: {log_path}")


def _activation_hint(plan: Plan) -> str:
    from installer.core.activation import activation_command, shells_for

    os_name = "windows" if os.name == "nt" else "posix"
    return activation_command(plan.method, plan.env, shells_for(os_name)[0], windows=os.name == "nt")


def cmd_verify(args: argparse.Namespace) -> int:
    from installer.core.verify import verify_python

    python = Path(args.python).expanduser()
    if not python.exists():
        raise UsageError(f"The interpreter {python} does not exist.")
    if python.is_dir():
        raise UsageError(f"{python} is a folder: give the path of the environment's python executable.")
    expect = args.expect
    if expect is not None:
        from installer.core.plan import is_backend_name

        if not is_backend_name(expect) or expect == "auto":
            raise UsageError(f"Unknown backend {expect!r}: use cpu, cuXXX, rocmX.Y, xpu or mps.")
    report = verify_python(str(python), expect=expect, timeout=args.timeout, require=args.require)
    diagnoses: list[Any] = []
    notes: list[str] = []
    if not report.ok:
        from installer.core.diagnose import diagnose_facts
        from installer.core.verify import expectation_note

        system = _load_system(args.system, offline=True) if args.system else None
        if system is None and expect and expect != "cpu":
            # Which GPUs are really here decides what to say about an expected GPU build (offline: fast).
            system = _load_system(None, offline=True)
        note = expectation_note(report, {gpu.vendor for gpu in system.gpus}) if system else None
        if note:
            notes.append(note)  # the expectation, not the build, is what does not fit: no reinstall advice
        else:
            diagnoses = diagnose_facts(report, system)
    if args.json:
        data = report.to_json()
        data["diagnoses"] = [d.to_json() for d in diagnoses]
        data["notes"] = notes
        _print_json(data)
    else:
        _print_verify(report, diagnoses)
        for note in notes:
            print(f"  {note}")
    return EXIT_OK if report.ok else EXIT_VERIFY_FAILED


def _print_verify(report: Any, diagnoses: list[Any], verdict: bool = True) -> None:
    print(f"torch {report.torch or '(not importable)'}  CUDA {report.cuda or '-'}  running on: {report.backend or '-'}")
    for device in report.devices or []:
        capability = f", compute {device.capability}" if device.capability else ""
        kernel = "kernel not run" if device.kernel_ok is None else \
            "kernel works" if device.kernel_ok else "kernel FAILED"
        print(f"  {device.device}: {device.name or '?'}{capability} ({kernel})")
    for check in report.checks:
        print(f"  {mark(check.ok)} {check.name}: {check.detail}")
    if report.throughput_gflops:
        print(f"  matmul throughput: {report.throughput_gflops:.1f} GFLOP/s"
              + (f" ({report.throughput_detail})" if getattr(report, "throughput_detail", None) else ""))
    if verdict:
        print("Verification passed." if report.ok else "Verification FAILED.")
    for diagnosis in diagnoses:
        print(f"  Cause: {diagnosis.summary}\n  Fix:   {diagnosis.fix}")


def cmd_diagnose(args: argparse.Namespace) -> int:
    from installer.core.diagnose import DiagnoseError, diagnose_facts, diagnose_file, diagnose_text

    if not args.log and not args.verify_report:
        raise UsageError("Give a log file to diagnose, - for standard input (or --verify-report FILE).")
    diagnoses = []
    log_text = ""
    if args.log == "-":
        log_text = _read_stdin_log()
        diagnoses.extend(diagnose_text(log_text))
    elif args.log:
        try:
            diagnoses.extend(diagnose_file(args.log))
        except DiagnoseError as exc:
            raise UsageError(str(exc)) from None
    if args.verify_report:
        from installer.core.verify import VerifyReport

        try:
            verify = VerifyReport.from_json(json.loads(_read_text_file(Path(args.verify_report), "verify report")))
        except RecursionError:
            raise UsageError(f"{args.verify_report} is nested too deeply to be a VerifyReport.") from None
        except (ValueError, TypeError, KeyError) as exc:
            raise UsageError(f"{args.verify_report} is not a VerifyReport: {exc}.") from None
        system = _load_system(args.system, offline=True) if args.system else None
        seen = {d.category for d in diagnoses}
        diagnoses.extend(d for d in diagnose_facts(verify, system) if d.category not in seen)
    if args.log and not diagnoses:
        # The same fallback a failed install gets: the line most likely to say why, and where to look.
        from installer.core.diagnose import read_log, unrecognised_failure

        if args.log != "-":
            try:
                log_text = read_log(args.log)
            except DiagnoseError as exc:
                raise UsageError(str(exc)) from None
        diagnoses.append(unrecognised_failure("The logged command", log_text))
    if args.json:
        _print_json({"diagnoses": [d.to_json() for d in diagnoses]})
    elif not diagnoses:
        print("No known failure signature found. If the install failed, the end of the log usually says why.")
    else:
        from installer.core.redact import redact_text

        for number, diagnosis in enumerate(diagnoses, 1):
            print(redact_text(f"{number}. [{diagnosis.category}] {diagnosis.summary}\n   Fix: {diagnosis.fix}"))
            if diagnosis.evidence:
                print(redact_text(f"   Evidence: {diagnosis.evidence.strip()[:500]}"))
    return EXIT_OK


def _read_stdin_log(limit: int = 64 * 1024 * 1024) -> str:
    """A log piped in (`diagnose -`): its last `limit` bytes, UTF-8 with replacement, like a log file."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise UsageError("There is no standard input to read a log from.")
    kept = bytearray()
    while True:
        chunk = stream.read(1024 * 1024)
        if not chunk:
            break
        kept += chunk
        if len(kept) > 2 * limit:
            del kept[: len(kept) - limit]
    data = bytes(kept[-limit:])
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace")


def _read_text_file(path: Path, what: str, limit: int = 256 * 1024 * 1024) -> str:
    if not path.is_file():
        raise UsageError(f"The {what} {path} does not exist or is not a file.")
    if path.stat().st_size > limit:
        raise UsageError(f"The {what} {path} is larger than {limit // (1024 * 1024)} MB.")
    return path.read_bytes().decode("utf-8", errors="replace")


def cmd_catalog(args: argparse.Namespace) -> int:
    from installer.core import catalog as catalog_mod

    if args.refresh:
        from installer.core.inputs import check_url

        if check_url(args.index_url, "--index-url").scheme not in ("http", "https", "file"):
            raise UsageError(f"--index-url {args.index_url} is not an http(s) or file URL.")
        try:
            catalog = catalog_mod.refresh(args.index_url, timeout=args.timeout)
        except (catalog_mod.CatalogError, OSError) as exc:
            _print_err(f"Could not refresh the catalog: {exc}. The bundled catalog stays in use.")
            _json_refusal(EXIT_FAILED, f"Could not refresh the catalog: {exc}. The bundled catalog stays in use.")
            return EXIT_FAILED
    else:
        catalog = catalog_mod.Catalog.load()
    platforms = {p for release in catalog.releases for p in release.platforms()}
    if args.system and not args.platform:
        # the machine a saved report describes: what PyTorch publishes for it
        args.platform = catalog_mod.platform_key(_load_system(args.system).os)
        if args.platform not in platforms:
            raise UsageError(f"The machine in {args.system} is {args.platform}, for which PyTorch publishes no "
                             f"builds (it publishes for {', '.join(sorted(platforms))}).")
    if args.platform and args.platform not in platforms:
        raise UsageError(f"Unknown platform {args.platform!r}: choose one of {', '.join(sorted(platforms))}.")
    if args.json:
        import dataclasses

        releases = [dataclasses.asdict(r) for r in catalog.releases
                    if not args.platform or args.platform in r.platforms()]
        data = {"as_of": catalog.as_of, "refreshed_at": catalog.refreshed_at, "notes": catalog.notes,
                "releases": releases}
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return EXIT_OK
    for line in catalog_mod.summary_lines(catalog, args.platform):
        print(line)
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    from installer.core import settings

    current = settings.load()
    if args.json:
        _print_json(current.to_json())
    else:
        print("\n".join(settings.render_lines(current)))
    return EXIT_OK


def cmd_cleanup(args: argparse.Namespace) -> int:
    from installer.core import journal

    if args.system:
        _print_err("Note: cleanup looks at this machine's journals; --system changes nothing here.")
    runs = journal.interrupted_runs()
    damaged = journal.damaged_journals()
    if args.json:
        print(json.dumps({"interrupted_runs": [run.to_json() for run in runs],
                          "damaged_journals": [{"path": d.path, "reason": d.reason} for d in damaged]},
                         indent=2, ensure_ascii=False))
        return EXIT_OK
    for bad in damaged:
        print(f"Left alone: {bad.path} is not a journal Torch Setup can trust ({bad.reason}).")
    if not runs:
        print("No interrupted runs: nothing to clean up.")
        return EXIT_OK
    for run in runs:
        print(run.describe())
    if not args.yes:
        if not sys.stdin or not sys.stdin.isatty():
            raise UsageError("Add --yes to remove these leftovers without a prompt.")
        if input("Remove these leftovers? [y/N] ").strip().lower() not in ("y", "yes"):
            return EXIT_OK
    for run in runs:
        removed_paths = journal.cleanup(run)
        for removed in removed_paths:
            print(f"removed {removed}")
        for kept in run.kept:
            print(f"kept: {kept}")
        if not removed_paths and not run.kept:
            print("Nothing of it is left to remove (another cleanup got there first).")
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    if getattr(args, "screenshots", None):
        from installer.gui.screenshots import parse_size, render_all

        try:
            size = parse_size(args.screenshot_size) if args.screenshot_size else None
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return int(render_all(Path(args.screenshots), size=size, scheme=args.screenshot_scheme,
                              scale=args.screenshot_scale) or 0)
    from installer.gui import app

    if getattr(args, "self_test", False):
        return int(app.self_test())
    return int(app.run_gui(sys.argv[:1]))


def cmd_doctor(args: argparse.Namespace) -> int:
    from installer.cli_doctor import cmd_doctor as run

    return run(args)


def cmd_bundle(args: argparse.Namespace) -> int:
    from installer.cli_lab import cmd_bundle as run

    return run(args)


def cmd_report(args: argparse.Namespace) -> int:
    from installer.cli_lab import cmd_report as run

    return run(args)


def cmd_envs(args: argparse.Namespace) -> int:
    from installer.cli_doctor import cmd_envs as run

    return run(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "gui": cmd_gui,
    "detect": cmd_detect,
    "plan": cmd_plan,
    "install": cmd_install,
    "verify": cmd_verify,
    "diagnose": cmd_diagnose,
    "catalog": cmd_catalog,
    "cleanup": cmd_cleanup,
    "config": cmd_config,
    "doctor": cmd_doctor,
    "envs": cmd_envs,
    "bundle": cmd_bundle,
    "report": cmd_report,
}


def _warn_interrupted_runs(command: str) -> None:
    """An interrupted earlier run is reported at the next start (DESIGN: nothing is lost, nothing lingers)."""
    if command not in ("install", "plan", "detect"):
        return
    try:
        from installer.core import journal

        runs = journal.interrupted_runs()
    except Exception:  # the notice is a courtesy; it must never stop a command
        return
    if runs:
        _print_err(f"Note: {len(runs)} earlier run(s) were interrupted and left files behind; "
                   "`torch-setup cleanup` lists and removes them.")


# Flags that name a file or folder, by command (plan/install's --python, --env, --find-links and
# --torch-source are checked with the other choices, since an answer file can give them too).
_PATH_FLAGS: dict[str, tuple[tuple[str, str], ...]] = {
    "gui": (("screenshots", "--screenshots"),),
    "detect": (("env", "--env"), ("system", "--system")),
    "plan": (("answers", "--answers"), ("system", "--system"), ("lock", "--lock")),
    "install": (("answers", "--answers"), ("system", "--system"), ("report", "--report"), ("lock", "--lock"),
                ("bundle", "--bundle")),
    "verify": (("python", "--python"), ("system", "--system")),
    "diagnose": (("log", "LOG"), ("verify_report", "--verify-report"), ("system", "--system")),
    "doctor": (("fix", "--fix"), ("system", "--system")),
    "envs": (("env", "ENV"), ("system", "--system")),
    "catalog": (("system", "--system"),),
    "cleanup": (("system", "--system"),),
    "bundle": (("out", "--out"), ("answers", "--answers")),
    "report": (("html", "--html"),),
}


def _check_path_flags(args: argparse.Namespace, command: str) -> None:
    """A path the OS cannot represent (a NUL, a name over 255 bytes) is bad input, not an OSError later."""
    from installer.core.inputs import check_path

    for attr, flag in _PATH_FLAGS.get(command, ()):
        value = getattr(args, attr, None)
        if value is not None:
            check_path(value, flag)


def main(argv: Sequence[str] | None = None) -> int:
    from installer.console import make_streams_safe

    make_streams_safe()  # before anything is printed: no console encoding can stop a command half-way
    args_list = list(sys.argv[1:] if argv is None else argv)
    global _json_mode
    _json_mode = _json_mode_of(args_list)
    parser = build_parser()
    args = parser.parse_args(args_list)
    _json_mode = "events" if getattr(args, "json_events", False) else "json" if getattr(args, "json", False) \
        else None
    command = args.command or "gui"
    if command == "gui" and args.command is None:
        args = parser.parse_args(["gui"])
    from installer.core import process
    from installer.core.plan import ChoiceError

    # The wizard has its own way out (its Cancel and its close button); every other command stops its
    # children and says so on SIGINT, SIGTERM, SIGHUP (SIGBREAK on Windows).
    process.STOPPING.clear()  # main() may run again in one process (tests)
    handlers = _stop_on_signal() if command != "gui" else None
    try:
        _check_path_flags(args, command)
        _warn_interrupted_runs(command)
        return COMMANDS[command](args)
    except (UsageError, ChoiceError) as exc:
        _print_err(f"torch-setup: {exc}")
        _json_refusal(EXIT_BAD_INPUT, str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _print_err("Cancelled.")
        _json_refusal(EXIT_CANCELLED, "Cancelled.")
        return EXIT_CANCELLED
    except BrokenPipeError:
        _stdout_gone()
        # Reading commands did their work and their reader left early; an install never ends here (its
        # output survives a lost reader), so reaching this in another command is not a success.
        return EXIT_OK if command in ("detect", "plan", "verify", "diagnose", "catalog", "config") else EXIT_FAILED
    except Exception as exc:
        return _internal_error(exc)
    finally:
        try:
            process.stop_children()  # whatever way out was taken, no child stays behind
        finally:
            if handlers is not None:
                handlers.restore()


def _stop_on_signal() -> Any:
    """Signal handlers for a command: the first signal stops every child (process.STOPPING) and raises
    KeyboardInterrupt in the main thread, so the command ends with "Cancelled." and exit 130. `install`
    puts its own handlers in while the runner works, which cancel cooperatively and roll back."""
    from installer.core import process
    from installer.core.runner import SignalHandlers

    class StopOnSignal(SignalHandlers):
        def _handle(self, signum: int, frame: Any) -> None:
            first = not self.received
            super()._handle(signum, frame)
            if first:
                raise KeyboardInterrupt

    return StopOnSignal(process.STOPPING)


def _internal_error(exc: BaseException) -> int:
    """A bug: keep the traceback in a file, show one sentence and where the details are."""
    where = ""
    try:
        from installer.core.paths import log_dir
        from installer.core.redact import redact_text
        from installer.core.runlog import ensure_private_dir, write_private_text

        folder = log_dir()
        ensure_private_dir(folder)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
        # A traceback's frames hold the argv and the plan: redacted, and readable by its owner only.
        write_private_text(path, redact_text("".join(traceback.format_exception(exc))))
        where = f" Details: {path}"
    except OSError:
        pass
    _print_err(f"torch-setup: internal error: {type(exc).__name__}: {exc}.{where}")
    _json_refusal(EXIT_FAILED, f"internal error: {type(exc).__name__}: {exc}.{where}", "internal-error")
    return EXIT_FAILED


def gui_main() -> int:
    return main(["gui"])


if __name__ == "__main__":
    sys.exit(main())
