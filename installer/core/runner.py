"""Runs a Plan: each step as a real child process, its output streamed as events, with progress,
cancel (the whole process tree), retries of network hiccups, a journal, and rollback of what it made.

The CLI and the GUI's worker both call Runner(plan, on_event, cancel).run(); nothing here knows Qt.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

import platformdirs

from installer.core import locks, process, safepath
from installer.core.events import (
    Diagnosis,
    Event,
    OutputLine,
    PlanFinished,
    PlanStarted,
    Progress,
    StepFinished,
    StepStarted,
)
from installer.core.journal import Journal, new_run_id, read_marker, write_marker
from installer.core.plan import ChoiceError, Plan, Step
from installer.core.progress import LINE_BREAK, decode_line, parser_for
from installer.core.redact import redact_json, redact_text
from installer.core.runlog import RunLog

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_VERIFY_FAILED = 3
EXIT_CANCELLED = 130

MIB = 1024 * 1024
TAIL_LINES = 400  # output kept in memory per step, for diagnosis and retry decisions
VERIFY_OUTPUT_LIMIT = 4 * MIB  # the verify probe prints one JSON document; more than this is not it
MAX_LINE_BYTES = 64 * 1024  # a "line" longer than this (a binary blob, a bar with no newline) is cut
KILL_GRACE_SECONDS = 3.0
PIPE_GRACE_SECONDS = 2.0  # after the child exits, how long a grandchild may keep its pipes open
READ_QUEUE_BATCHES = 64  # output batches (up to 64 KiB each) waiting between the readers and the runner

# How much of the whole plan each kind of step is, for the overall progress bar.
STEP_WEIGHTS = {
    "check": 0.5, "venv": 1.0, "conda-create": 4.0, "install": 12.0, "clone": 4.0, "build": 20.0,
    "kernel": 0.5, "verify": 1.0, "run": 1.0,
}

# Output of a failure that is worth trying again: the network, not the request, went wrong.
TRANSIENT_NETWORK = re.compile(
    r"connection (?:was )?(?:reset|aborted)|connection broken|connectionreseterror|"
    r"timed? ?out|timeouterror|read ?timeout|connecttimeout|"
    r"network is unreachable|remotedisconnected|incompleteread|error sending request|"
    r"\b50[0234]\b[^\n]{0,40}(?:server error|bad gateway|service unavailable|gateway time-?out)|"
    r"(?:http error|status(?: server error)?|status code)[ :(]*5\d\d\b|"
    r"\[errno (?:104|110)\]|\[winerror 100(?:54|60)\]",
    re.IGNORECASE,
)


OnEvent = Callable[[Event], None]


@dataclass
class RunResult:
    ok: bool
    cancelled: bool
    exit_code: int  # 0 ok, 1 install failed, 3 installed but verification failed, 130 cancelled
    verify: Any | None  # installer.core.verify.VerifyReport, when a verify step ran
    diagnoses: list[Diagnosis]
    log_path: str
    seconds: float
    step_seconds: dict[str, float]
    failed_step: str | None = None
    message: str = ""
    rolled_back: list[str] = field(default_factory=list)
    quarantine: str | None = None  # where an earlier environment still waits (verification failed)

    def to_json(self) -> dict[str, Any]:
        verify: Any = self.verify
        if verify is not None and hasattr(verify, "to_json"):
            verify = verify.to_json()
        return {
            "ok": self.ok, "cancelled": self.cancelled, "exit_code": self.exit_code, "verify": verify,
            "diagnoses": [d.to_json() for d in self.diagnoses], "log_path": self.log_path,
            "seconds": round(self.seconds, 3), "step_seconds": {k: round(v, 3) for k, v in self.step_seconds.items()},
            "failed_step": self.failed_step, "message": self.message, "rolled_back": self.rolled_back,
            "quarantine": self.quarantine,
        }


# -- checks before anything changes ------------------------------------------------------------------

def _nonempty_dir(path: Path) -> bool:
    try:
        return path.is_dir() and any(path.iterdir())
    except OSError:
        return True  # unreadable: treat as occupied, never as ours


def _check_target(path: Path, force: bool, what: str) -> None:
    """Judge the canonical target: `..` collapsed and links followed, so the check sees what a step will write."""
    if path.is_symlink() and not path.exists():
        raise ChoiceError(f"The {what} path {path} is a broken link; choose another folder.")
    for ancestor in path.parents:
        if ancestor.exists() or ancestor.is_symlink():
            if not ancestor.is_dir():
                raise ChoiceError(f"The {what} path {path} lies under {ancestor}, which is not a folder.")
            break
    if path.exists() and not path.is_dir():
        raise ChoiceError(f"The {what} path {path} is a file, not a folder; choose another folder.")
    if not _nonempty_dir(path):
        return
    marker = read_marker(path)
    if marker is None:
        raise ChoiceError(
            f"{path} exists and was not made by Torch Setup; choose another folder, or empty it yourself."
        )
    if not force:
        raise ChoiceError(
            f"{path} is an environment Torch Setup made earlier; use --force to replace it (the old one is "
            f"kept until the new one works), or choose another folder."
        )


def preflight(plan: Plan, force: bool = False) -> None:
    """Refuse, before anything changes, a plan that would overwrite what is not ours (ChoiceError, exit 2)."""
    if not plan.env or not str(plan.env).strip():
        raise ChoiceError("The plan names no environment folder.")
    env = safepath.canonical(plan.env)
    _check_target(env, force, "environment")
    for step in plan.steps:
        if step.creates and safepath.canonical(step.creates) != env:
            _check_target(safepath.canonical(step.creates), force, step.kind)


# -- disk space --------------------------------------------------------------------------------------

def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor)


def _cache_dirs(plan: Plan) -> dict[str, Path]:
    """The package caches the plan's steps will fill, by the variable that moves each one."""
    env = os.environ
    found: dict[str, Path] = {}
    if plan.method == "conda":
        found["CONDA_PKGS_DIRS"] = Path(env.get("CONDA_PKGS_DIRS", "").split(os.pathsep)[0] or
                                        Path.home() / ".conda" / "pkgs")
        return found
    if plan.engine == "uv" or plan.method == "source":
        found["UV_CACHE_DIR"] = Path(env.get("UV_CACHE_DIR") or platformdirs.user_cache_dir("uv", appauthor=False))
    if plan.engine == "pip" or plan.method == "source":
        found["PIP_CACHE_DIR"] = Path(env.get("PIP_CACHE_DIR") or platformdirs.user_cache_dir("pip", appauthor=False))
    return found


def relocation_env(plan: Plan, run_id: str,
                   disk_free: Callable[[Path], int] | None = None) -> tuple[dict[str, str], list[Path]]:
    """When the temp or cache drive lacks room for the download (twice: archive + unpacked), point the
    children's TMPDIR/TEMP/TMP and package cache at folders next to the environment instead.

    Returns (variables for the children, folders to create and remove afterwards). Pure apart from
    reading free space, so tests pass `disk_free`.
    """
    def default_free(p: Path) -> int:
        return int(shutil.disk_usage(p).free)

    free = disk_free or default_free
    need = int((plan.download_mib or 0) * 2 * MIB)
    if need <= 0:
        return {}, []
    target = _existing_ancestor(Path(plan.env).expanduser().parent)
    try:
        target_free = free(target)
    except OSError:
        return {}, []
    extra: dict[str, str] = {}
    folders: list[Path] = []

    def short(path: Path) -> bool:
        try:
            have = free(_existing_ancestor(path))
        except OSError:
            return False
        return have < need and target_free > have

    if short(Path(tempfile.gettempdir())):
        tmp = target / f".torch-setup-tmp-{run_id}"
        folders.append(tmp)
        extra.update(TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp))
    for var, cache in _cache_dirs(plan).items():
        if short(cache):
            moved = target / f".torch-setup-cache-{run_id}"
            if moved not in folders:
                folders.append(moved)
            extra[var] = str(moved / var.split("_")[0].lower())
    return extra, folders


# -- Ctrl-C and SIGTERM --------------------------------------------------------------------------------

class SignalHandlers:
    """Turns SIGINT/SIGTERM (and SIGBREAK, SIGHUP) into cancel.set(); restore() puts the old handlers back.

    Usable as a context manager. Outside the main thread it does nothing (Python allows handlers there only).
    """

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}
        names = ["SIGINT", "SIGTERM", "SIGBREAK", "SIGHUP"]
        for name in names:
            sig = getattr(signal, name, None)
            if sig is None:
                continue
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except (ValueError, OSError):  # not the main thread, or not settable here
                pass

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        self.cancel.set()

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, previous)
        self._previous.clear()

    def __enter__(self) -> SignalHandlers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()


def install_signal_handlers(cancel_event: threading.Event) -> SignalHandlers:
    """Ctrl-C / SIGTERM set `cancel_event` (the runner then stops the tree and rolls back, exit 130)."""
    return SignalHandlers(cancel_event)


# -- the process tree --------------------------------------------------------------------------------

def kill_tree(proc: subprocess.Popen[bytes], grace: float = KILL_GRACE_SECONDS) -> None:
    """Terminate a child and all its descendants; kill what is still there after `grace` seconds."""
    process.kill_tree(proc, grace=grace)


def _read_lines(stream: IO[bytes], name: str, out: queue.Queue[tuple[str, list[str] | None]]) -> None:
    """Reader thread: bytes → lines split on \\n, \\r\\n and \\r, ANSI codes dropped, UTF-8 decoded."""
    pending = bytearray()
    try:
        for chunk in process.read_chunks(stream):
            pending += chunk
            lines: list[str] = []
            start = 0
            end = len(pending)
            for m in LINE_BREAK.finditer(pending):
                if m.group() == b"\r" and m.end() == end:
                    break  # maybe the first half of \r\n: wait for the next chunk
                lines.append(decode_line(pending[start:m.start()]))
                start = m.end()
            del pending[:start]
            if len(pending) > MAX_LINE_BYTES:
                lines.append(decode_line(pending))
                pending.clear()
            if lines:
                out.put((name, lines))
        if pending:
            out.put((name, [decode_line(pending.rstrip(b"\r"))]))
    finally:
        out.put((name, None))


# Network failures that seconds of waiting do not mend, so a retry only makes the user wait (a DNS failure took
# 36 s: 3 attempts here, each with uv's own 3). A name that does not resolve, "Temporary failure" (EAI_AGAIN)
# included: it means no DNS server answered, i.e. offline, and uv and pip have already asked again. Nothing
# listening at the address (refused). A certificate that is not trusted. A proxy that wants a password (407).
# They win over the transient words around them (pip's "connection broken by ... Name or service not known").
PERMANENT_NETWORK = re.compile(
    r"name or service not known|failed to lookup address|temporary failure in name resolution|"
    r"nodename nor servname|getaddrinfo failed|no such host is known|dns error|\[errno (?:-2|-3|11001)\]|"
    r"connection refused|actively refused|\[errno 111\]|os error 111\b|\[winerror 10061\]|os error 10061\b|"
    r"certificate[_ ]verify[_ ]failed|invalid peer certificate|sslcertverificationerror|"
    r"proxy authentication required|proxy authori[sz]ation required",
    re.IGNORECASE,
)


def _drain_until_joined(readers: list[threading.Thread], lines: queue.Queue[Any], timeout: float) -> None:
    """Readers blocked on a full queue after the loop stopped reading must still see their streams end."""
    deadline = time.monotonic() + timeout
    for reader in readers:
        while reader.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                while True:
                    lines.get_nowait()
            reader.join(timeout=0.05)


def _is_transient(lines: Iterable[str]) -> bool:
    lines = list(lines)
    if any(PERMANENT_NETWORK.search(line) for line in lines):
        return False
    return any(TRANSIENT_NETWORK.search(line) for line in lines)


@dataclass
class _Attempt:
    returncode: int | None = None
    cancelled: bool = False
    timed_out: bool = False
    error: str | None = None  # the program could not start
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))
    stdout: list[str] = field(default_factory=list)  # verify steps only
    stdout_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not (self.cancelled or self.timed_out or self.error)


# -- the runner --------------------------------------------------------------------------------------

class Runner:
    """Executes a Plan. Create one per run; run() blocks until the plan is done, failed or cancelled."""

    retry_delay = 3.0  # seconds before the first retry; doubles each time

    def __init__(self, plan: Plan, on_event: OnEvent, cancel: threading.Event | None = None,
                 force: bool = False) -> None:
        self.plan = plan
        self.on_event = on_event
        self.cancel = cancel or threading.Event()
        self.force = force
        self._weights = [STEP_WEIGHTS.get(s.kind, 1.0) for s in plan.steps]
        self._done_weight = 0.0
        self._log: RunLog | None = None
        self._journal: Journal | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._env_path = safepath.canonical(plan.env)
        self._extra_env: dict[str, str] = {}
        self._scratch: list[Path] = []

    # -- events --------------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        # The one door every event leaves by: whatever a message or a child quoted, no credential passes.
        self.on_event(event.redacted())

    def _say(self, index: int, text: str) -> None:
        """A line from Torch Setup itself, shown with the step's output and written to the log."""
        if self._log:
            self._log.note(text)
        self._emit(OutputLine(index, text, "stderr"))

    def _overall(self, index: int, fraction: float) -> float:
        total = sum(self._weights) or 1.0
        return min(1.0, (self._done_weight + self._weights[index] * fraction) / total)

    # -- the run -------------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run the plan. Raises ChoiceError (nothing changed) when preflight refuses it or another run holds
        the environment: one run per environment holds its lock from the first check to the last cleanup."""
        run_id = new_run_id()
        with locks.hold(self._env_path, run_id):
            return self._run_locked(run_id)

    def _run_locked(self, run_id: str) -> RunResult:
        preflight(self.plan, self.force)
        from installer.core.source_check import check_plan_sources

        check_plan_sources(self.plan)  # damaged wheel files, what an offline plan cannot find: after consent
        t0 = time.monotonic()
        self._log = RunLog()
        log_path = str(self._log.path)
        summary = {"method": self.plan.method, "engine": self.plan.engine, "backend": self.plan.backend,
                   "torch": self.plan.torch, "python": self.plan.python, "env": str(self._env_path)}
        step_seconds: dict[str, float] = {}
        verify: Any | None = None
        diagnoses: list[Diagnosis] = []
        failed_step: str | None = None
        cancelled = False
        message = ""
        verify_failed = False
        try:
            # Redact the data, then serialise: JSON escaping could hide where a URL ends.
            shown_plan = json.dumps(redact_json(self.plan.to_json()), indent=2, ensure_ascii=False)
            self._log.note(f"Torch Setup run; plan: {shown_plan}")
            self._journal = Journal.start(str(self._env_path), summary, run_id=run_id)
            self._log.note(f"journal {self._journal.path}")
            self._emit(PlanStarted([s.name for s in self.plan.steps], log_path))
            self._prepare_target()
            for index, step in enumerate(self.plan.steps):
                if self.cancel.is_set():
                    cancelled = True
                    break
                attempt, seconds = self._run_step(index, step)
                key = step.name if step.name not in step_seconds else f"{step.name} ({index + 1})"
                step_seconds[key] = seconds
                self._mark_created()
                if attempt.cancelled:
                    cancelled = True
                    break
                if step.kind == "verify":
                    verify = _verify_report("\n".join(attempt.stdout), attempt.returncode, self.plan.expect)
                    if verify is not None:
                        if not getattr(verify, "ok", False):
                            verify_failed = True
                            failed_step = step.name
                            message = _verify_failure_message(verify)
                            # The probe's own words (the failed check) explain better than its raw output.
                            diagnoses = _diagnose_facts(verify) or _diagnose_text(step.name, message)
                        self._done_weight += self._weights[index]
                        continue
                if not attempt.ok:
                    failed_step = step.name
                    if step.kind == "verify":
                        verify_failed = True
                        message = "PyTorch is installed, but the verification failed."
                    else:
                        message = _failure_message(step, attempt)
                    diagnoses = _diagnose_text(step.name, "\n".join(attempt.tail))
                    break
                self._done_weight += self._weights[index]
        except (KeyboardInterrupt, Exception) as exc:  # a bug or a broken callback: undo, then report
            if self._proc is not None:
                kill_tree(self._proc)  # also the group's leftovers when the child itself is gone
                process.release(self._proc)
                self._proc = None
            if isinstance(exc, KeyboardInterrupt):
                cancelled = True
            else:
                failed_step = failed_step or "Torch Setup"
                message = f"Torch Setup stopped on an internal error: {exc}"
                if self._log:
                    self._log.note(traceback.format_exc())
        ok = not cancelled and failed_step is None
        installed = ok or (verify_failed and not cancelled)
        rolled_back, problems, quarantine = self._finish(installed, ok)
        if cancelled:
            message = "Cancelled; everything this run created was removed." if not problems else \
                "Cancelled; some of what this run created could not be removed: " + "; ".join(problems)
        elif ok:
            message = f"PyTorch {self.plan.torch} ({self.plan.backend}) is ready in {self._env_path}."
        elif problems:
            message += " Rollback problems: " + "; ".join(problems)
        if quarantine:
            message += f" The earlier environment was kept at {quarantine}."
        exit_code = (EXIT_CANCELLED if cancelled else EXIT_OK if ok else
                     EXIT_VERIFY_FAILED if verify_failed else EXIT_FAILED)
        seconds = time.monotonic() - t0
        if self._log:
            for d in diagnoses:
                self._log.note(f"diagnosis: {d.category}: {d.summary} | fix: {d.fix}")
            self._log.note(f"finished: exit {exit_code} in {seconds:.1f} s; {message}")
            self._log.note("step seconds: " + ", ".join(f"{k}={v:.1f}" for k, v in step_seconds.items()))
            self._log.close()
        self._emit(PlanFinished(ok=ok, seconds=seconds, cancelled=cancelled, failed_step=failed_step,
                                message=message, diagnoses=[d.to_json() for d in diagnoses],
                                rolled_back=rolled_back, log_path=log_path))
        return RunResult(ok=ok, cancelled=cancelled, exit_code=exit_code, verify=verify, diagnoses=diagnoses,
                         log_path=log_path, seconds=seconds, step_seconds=step_seconds, failed_step=failed_step,
                         message=message, rolled_back=rolled_back, quarantine=quarantine)

    # -- before the first step -----------------------------------------------------------------------

    def _prepare_target(self) -> None:
        """Move an earlier Torch Setup env aside (force), journal and make the folders the run will own, and
        give the children a temp folder of this run's own (removed with it, whatever they leave there)."""
        journal = self._journal
        assert journal is not None
        env = self._env_path
        targets = [(env, "env")] + [(safepath.canonical(s.creates), s.kind) for s in self.plan.steps if s.creates]
        venv_step = any(s.kind == "venv" and s.creates and safepath.canonical(s.creates) == env
                        for s in self.plan.steps)
        seen: set[Path] = set()
        for target, kind in targets:
            if target in seen:
                continue
            seen.add(target)
            for parent in safepath.missing_ancestors(target):
                journal.make_folder(parent, "parent")
            if _nonempty_dir(target):  # preflight allowed it: ours, and force was given
                moved = target.with_name(f"{target.name}.old-{journal.run_id}")
                journal.record_quarantine(target, moved)
                os.replace(target, moved)
                self._say(0, f"The earlier {target} was moved to {moved} until the new one works.")
            existed = target.is_dir()
            journal.record_created(target, "env" if target == env else kind, existed=existed)
            if target == env and venv_step:
                # The run makes the folder and marks it before the venv step fills it, so a crash inside that
                # step still leaves the proof that cleanup needs (it never judges by age or shape).
                if not existed:
                    journal.make_folder(target, "env")
                write_marker(target, journal.run_id, journal.summary, state="creating")
        self._extra_env, self._scratch = relocation_env(self.plan, journal.run_id)
        if "TMPDIR" not in self._extra_env:
            run_tmp = Path(tempfile.gettempdir()) / f"torch-setup-{journal.run_id}"
            self._scratch.insert(0, run_tmp)
            self._extra_env.update(TMPDIR=str(run_tmp), TEMP=str(run_tmp), TMP=str(run_tmp))
        for folder in self._scratch:
            journal.make_folder(folder, "temp")
            write_marker(folder, journal.run_id, {}, state="scratch")
        for var, value in self._extra_env.items():
            Path(value).mkdir(parents=True, exist_ok=True)
            if self._log and not any(str(value) == str(f) for f in self._scratch[:1]):
                self._log.note(f"not enough free space for the download where {var} points; using {value}")

    def _mark_created(self) -> None:
        """Put our marker into what the steps made as soon as it exists (it tells later runs and cleanup it is
        ours); a checkout's goes inside its .git."""
        journal = self._journal
        if journal is None:
            return
        for entry in journal.created:
            path = Path(entry.path)
            if entry.kind in ("temp", "parent") or not path.is_dir() or path.is_symlink():
                continue
            marker = read_marker(path)
            if marker is not None and marker.get("state") != "creating":
                continue
            with contextlib.suppress(OSError):  # every folder a step made carries the proof of whose it is
                write_marker(path, journal.run_id, journal.summary)

    # -- after the last step -------------------------------------------------------------------------

    def _finish(self, installed: bool, ok: bool) -> tuple[list[str], list[str], str | None]:
        journal = self._journal
        if journal is None:
            return [], [], None
        removed: list[str] = []
        problems: list[str] = []
        quarantine: str | None = None
        if installed:
            for folder in self._scratch:
                with contextlib.suppress(OSError):
                    shutil.rmtree(folder)
            if ok:
                problems += journal.drop_quarantine()
            else:  # installed but not working: keep the earlier environment for the user to go back to
                quarantine = next((q.moved_to for q in journal.quarantined if Path(q.moved_to).exists()), None)
        else:
            removed, problems = journal.rollback()
            for line in removed:
                if self._log:
                    self._log.note(f"rolled back: {line}")
        if problems:
            for problem in problems:
                if self._log:
                    self._log.note(f"problem: {problem}")
        else:
            journal.finish()
        return removed, problems, quarantine

    # -- one step ------------------------------------------------------------------------------------

    def _run_step(self, index: int, step: Step) -> tuple[_Attempt, float]:
        argv = [str(a) for a in step.argv]
        shown = [redact_text(a) for a in argv]
        self._emit(StepStarted(index, step.name, shown))
        if self._log:
            self._log.note(f"step {index + 1}/{len(self.plan.steps)}: {step.name}: {' '.join(shown)}"
                           + (f" (in {step.cwd})" if step.cwd else ""))
        t0 = time.monotonic()
        delay = self.retry_delay
        attempt = _Attempt()
        for number in range(step.retries + 1):
            attempt = self._attempt(index, step, argv)
            if attempt.ok or attempt.cancelled or number == step.retries:
                break
            if not _is_transient(list(attempt.tail)[-60:]):
                break
            self._say(index, f"A network problem stopped this step; trying again in {delay:.0f} s "
                             f"(attempt {number + 2} of {step.retries + 1}).")
            if self.cancel.wait(delay):
                attempt.cancelled = True
                break
            delay *= 2
        seconds = time.monotonic() - t0
        if self._log:
            self._log.note(f"step {index + 1} finished: returncode {attempt.returncode} in {seconds:.1f} s"
                           + (" (cancelled)" if attempt.cancelled else "")
                           + (" (timed out)" if attempt.timed_out else ""))
        self._emit(StepFinished(index, step.name, attempt.ok, seconds, attempt.returncode))
        return attempt, seconds

    def _attempt(self, index: int, step: Step, argv: list[str]) -> _Attempt:
        attempt = _Attempt()
        parser = parser_for(step.progress)
        collect_stdout = step.kind == "verify"
        env = process.clean_env({**self._extra_env, **step.env})
        try:
            proc = process.spawn(argv, cwd=step.cwd or None, env=env)
        except OSError as exc:
            attempt.error = f"{argv[0] if argv else '(nothing)'} could not start: {exc.strerror or exc}"
            attempt.tail.append(attempt.error)
            self._say(index, attempt.error)
            return attempt
        self._proc = proc
        if self._journal is not None:
            with contextlib.suppress(OSError):
                self._journal.record_child(proc.pid)
        # Bounded: a child that prints faster than the log and the events take it waits on its pipe
        # instead of filling memory.
        lines: queue.Queue[tuple[str, list[str] | None]] = queue.Queue(maxsize=READ_QUEUE_BATCHES)
        readers = [threading.Thread(target=_read_lines, args=(pipe, name, lines), daemon=True,
                                    name=f"torch-setup-{name}")
                   for pipe, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr")) if pipe is not None]
        for reader in readers:
            reader.start()
        open_streams = len(readers)
        deadline = time.monotonic() + step.timeout if step.timeout else None
        exited_at: float | None = None
        last_progress: tuple[float | None, str] | None = None
        while open_streams:
            try:
                name, batch = lines.get(timeout=0.1)
            except queue.Empty:
                name, batch = "", []
            if self.cancel.is_set():
                attempt.cancelled = True
                self._say(index, "Cancelling: stopping the running programs…")
                kill_tree(proc)
                break
            now = time.monotonic()
            if deadline is not None and now > deadline:
                attempt.timed_out = True
                self._say(index, f"The step ran longer than {step.timeout:g} s and was stopped.")
                kill_tree(proc)
                break
            if batch is None:
                open_streams -= 1
                continue
            if not batch:
                # A grandchild that inherited the pipes can keep them open after the child is gone.
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                if exited_at is not None and now - exited_at > PIPE_GRACE_SECONDS:
                    kill_tree(proc, grace=1.0)
                    break
                continue
            for text in batch:
                if not text.strip():
                    continue
                # A child may echo an index URL with its password in it (pip's "Looking in indexes: ...").
                text = redact_text(text)
                attempt.tail.append(text)
                if self._log:
                    self._log.write(text, name)
                if collect_stdout and name == "stdout" and attempt.stdout_bytes < VERIFY_OUTPUT_LIMIT:
                    attempt.stdout.append(text)
                    attempt.stdout_bytes += len(text) + 1
                self._emit(OutputLine(index, text, name))
                update = parser.feed(text)
                if update is not None and (update.fraction, update.text) != last_progress:
                    last_progress = (update.fraction, update.text)
                    overall = self._overall(index, update.fraction) if update.fraction is not None else None
                    self._emit(Progress(index, update.fraction, update.text, overall))
        _drain_until_joined(readers, lines, KILL_GRACE_SECONDS)
        try:
            attempt.returncode = proc.wait(timeout=KILL_GRACE_SECONDS * 2)
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            attempt.returncode = proc.poll()
        process.release(proc)
        self._proc = None
        if attempt.cancelled or attempt.timed_out:
            attempt.tail.append("(stopped by Torch Setup)")
        if self._log:
            self._log.flush()
        return attempt


def _verify_failure_message(verify: Any) -> str:
    """Which check failed; and no claim that PyTorch is installed when `import torch` does not work."""
    failed = [c for c in getattr(verify, "checks", None) or [] if not getattr(c, "ok", True)]
    reason = getattr(verify, "error", None) or (f"{failed[0].name}: {failed[0].detail}" if failed else "")
    torch = getattr(verify, "torch", None)
    head = (f"PyTorch {torch} is installed, but the verification failed" if torch else
            "The install steps finished, but torch cannot be imported in the new environment")
    return f"{head}: {str(reason).rstrip('.')}." if reason else f"{head}."


def _failure_message(step: Step, attempt: _Attempt) -> str:
    if attempt.error:
        return f"{step.name} failed: {attempt.error}."
    if attempt.timed_out:
        return f"{step.name} took longer than {step.timeout:g} s and was stopped."
    return f"{step.name} failed (exit code {attempt.returncode})."


# -- diagnosis and verification ----------------------------------------------------------------------

def _diagnose_text(what: str, text: str) -> list[Diagnosis]:
    from installer.core import diagnose

    try:
        found = list(diagnose.diagnose_text(text))
    except Exception:  # a diagnosis must never turn a failure report into a crash
        traceback.print_exc(file=sys.stderr)
        found = []
    return found or [diagnose.unrecognised_failure(what, text)]


def _diagnose_facts(verify: Any) -> list[Diagnosis]:
    from installer.core import diagnose

    try:
        return list(diagnose.diagnose_facts(verify, None))
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return []


def _verify_report(stdout: str, returncode: int | None, expect: str | None) -> Any:
    from installer.core import verify

    return verify.report_from_output(stdout, returncode, expect)
