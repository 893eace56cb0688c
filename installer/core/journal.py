"""The journal of a run: what it is about to create, so a failure, a cancel or a crash can be undone.

A journal file lives at paths.state_dir()/runs/<run-id>.json while the run is going, written
atomically before each step that creates something. A finished run deletes it; a journal whose
process is gone belongs to an interrupted run, whose leftovers `cleanup()` removes. Nothing that the
run did not create is ever removed: an environment folder it made carries a marker file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from installer import __version__
from installer.core import locks, paths, safepath

MARKER_NAME = ".torch-setup.json"
JOURNAL_VERSION = 1


# -- the marker inside what we made ------------------------------------------------------------------

def marker_path(folder: str | Path) -> Path:
    """Where the marker of a folder goes: inside it; for a git checkout, inside .git (keeps `git status` clean)."""
    folder = Path(folder)
    git = folder / ".git"
    return git / MARKER_NAME if git.is_dir() else folder / MARKER_NAME


def write_marker(folder: str | Path, run_id: str, summary: dict[str, Any], state: str = "done") -> Path:
    """Mark a folder as made by run `run_id`. state "creating": written into a folder the run has just made,
    before the step that fills it, so a crash mid-step still leaves proof of whose it is."""
    data = {
        "made_by": "torch-setup",
        "version": __version__,
        "run_id": run_id,
        "state": state,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "plan": summary,
    }
    target = marker_path(folder)
    atomic_write_json(target, data)
    return target


def read_marker(folder: str | Path) -> dict[str, Any] | None:
    """The marker of a folder Torch Setup made, or None (no marker, unreadable, or not ours)."""
    for candidate in (Path(folder) / MARKER_NAME, Path(folder) / ".git" / MARKER_NAME):
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("made_by") == "torch-setup":
            return data
    return None


def atomic_write_json(target: Path, data: Any) -> None:
    """Write JSON so that a reader never sees half a file, even if we are killed mid-write."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- removing ----------------------------------------------------------------------------------------

def _make_writable_and_retry(func: Callable[..., Any], path: str, _exc: Any) -> None:
    # Windows: read-only files (git objects) refuse deletion until their read-only bit is cleared.
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
        func(path)


def remove_path(path: Path) -> None:
    """Remove a file, a link (never its target) or a whole folder."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=_make_writable_and_retry)
        else:
            shutil.rmtree(path, onerror=_make_writable_and_retry)
        if path.exists():
            raise OSError(f"could not remove everything in {path}")


def empty_folder(path: Path) -> None:
    """Remove what is inside a folder and keep the folder (it was there, empty, before the run)."""
    for child in list(path.iterdir()):
        remove_path(child)


# -- the journal -------------------------------------------------------------------------------------

def undo_created(path: Path, existed: bool) -> str:
    """Undo what a run made at `path`: a folder that was there before (empty) is emptied, not removed;
    anything the run created is removed. Returns what was done, for the user's list."""
    if existed and path.is_dir() and not path.is_symlink():
        empty_folder(path)
        return f"{path}{os.sep}*"
    remove_path(path)
    return str(path)


def runs_dir() -> Path:
    return paths.state_dir() / "runs"


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"


def _process_start(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.Error, OSError):
        return None


class JournalError(ValueError):
    """A journal file that is damaged, foreign or asks for something no run may do: never acted on."""


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{5,99}")
# What a run may record as created: its environment, the folders above it that it made, its scratch
# folders, and the `creates` of its steps (their kinds).
KINDS = frozenset({"env", "parent", "temp", "cache", "kernel", "checkout", "venv", "conda-create", "clone",
                   "build", "install", "run", "check", "verify"})


@dataclass
class CreatedPath:
    path: str
    kind: str  # "env" | "parent" | "temp" | "cache" | "kernel" | another step kind
    existed: bool = False  # an empty folder that was already there: rollback empties it and keeps it
    identity: list[int] | None = None  # (device, inode) when this run made the folder itself


@dataclass
class Quarantine:
    original: str  # where the earlier Torch Setup environment was
    moved_to: str  # where it waits until the new one works


@dataclass
class Child:
    pid: int
    started: float  # its create time, so a later process with the same pid is never taken for it


def _want(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
    if key not in data:
        if default is ...:
            raise JournalError(f"{where}: {key} is missing")
        return default
    value = data[key]
    if isinstance(value, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise JournalError(f"{where}: {key} has the wrong type")
    if not isinstance(value, kind):
        raise JournalError(f"{where}: {key} has the wrong type")
    return value


def _abs_path(value: str, where: str) -> str:
    if not value or "\0" in value or not os.path.isabs(value) or os.path.normpath(value) != value:
        raise JournalError(f"{where}: {value!r} is not a plain absolute path")
    if Path(value).parent == Path(value):
        raise JournalError(f"{where}: {value!r} is the root of a drive")
    return value


def _identity(value: Any, where: str) -> list[int] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise JournalError(f"{where}: identity has the wrong type")
    return [int(v) for v in value]


@dataclass
class Journal:
    run_id: str
    pid: int
    pid_started: float | None
    started: float
    env: str
    summary: dict[str, Any] = field(default_factory=dict)
    created: list[CreatedPath] = field(default_factory=list)
    quarantined: list[Quarantine] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    version: int = JOURNAL_VERSION
    # A repair in place (doctor): the backup folder of what it replaced; cleanup restores the env from it.
    restore_from: str | None = None

    @property
    def path(self) -> Path:
        return runs_dir() / f"{self.run_id}.json"

    @classmethod
    def start(cls, env: str, summary: dict[str, Any], run_id: str | None = None) -> Journal:
        pid = os.getpid()
        journal = cls(run_id=run_id or new_run_id(), pid=pid, pid_started=_process_start(pid),
                      started=time.time(), env=env, summary=summary)
        journal.save()
        return journal

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Journal:
        """Read a journal, checking every field: a damaged one raises JournalError and is never acted on."""
        if not isinstance(data, dict):
            raise JournalError("not a journal")
        run_id = _want(data, "run_id", str, "journal")
        if not _RUN_ID.fullmatch(run_id):
            raise JournalError(f"journal: run_id {run_id!r} is not a run id")
        env = _abs_path(_want(data, "env", str, "journal"), "journal env")
        pid_started = _want(data, "pid_started", (int, float, type(None)), "journal", None)
        created = []
        for n, item in enumerate(_want(data, "created", list, "journal", [])):
            where = f"created[{n}]"
            if not isinstance(item, dict):
                raise JournalError(f"{where} is not an entry")
            kind = _want(item, "kind", str, where)
            if kind not in KINDS:
                raise JournalError(f"{where}: unknown kind {kind!r}")
            created.append(CreatedPath(_abs_path(_want(item, "path", str, where), where), kind,
                                       _want(item, "existed", bool, where, False),
                                       _identity(item.get("identity"), where)))
        quarantined = []
        for n, item in enumerate(_want(data, "quarantined", list, "journal", [])):
            where = f"quarantined[{n}]"
            if not isinstance(item, dict):
                raise JournalError(f"{where} is not an entry")
            quarantined.append(Quarantine(_abs_path(_want(item, "original", str, where), where),
                                          _abs_path(_want(item, "moved_to", str, where), where)))
        children = []
        for n, item in enumerate(_want(data, "children", list, "journal", [])):
            where = f"children[{n}]"
            if not isinstance(item, dict):
                raise JournalError(f"{where} is not an entry")
            children.append(Child(_want(item, "pid", int, where), float(_want(item, "started", (int, float), where))))
        summary = _want(data, "summary", dict, "journal", {})
        restore_from = _want(data, "restore_from", (str, type(None)), "journal", None)
        if restore_from is not None:
            restore_from = _abs_path(restore_from, "journal restore_from")
            if not Path(restore_from).name.startswith("torch-setup-backup-" + run_id):
                raise JournalError(f"journal: restore_from {restore_from!r} is not this run's backup")
        return cls(
            run_id=run_id, pid=_want(data, "pid", int, "journal"),
            pid_started=None if pid_started is None else float(pid_started),
            started=float(_want(data, "started", (int, float), "journal")), env=env, summary=summary,
            created=created, quarantined=quarantined, children=children,
            version=_want(data, "version", int, "journal", JOURNAL_VERSION), restore_from=restore_from,
        )

    def save(self) -> None:
        atomic_write_json(self.path, self.to_json())

    def record_created(self, path: str | Path, kind: str, existed: bool = False) -> None:
        """Call BEFORE the step that creates `path`, so a crash mid-step still knows about it."""
        entry = str(Path(path).absolute())
        if any(c.path == entry for c in self.created):
            return
        self.created.append(CreatedPath(entry, kind, existed))
        self.save()

    def make_folder(self, path: Path, kind: str) -> None:
        """Create a folder this run owns: journal it, make it, then record its identity (device, inode)."""
        self.record_created(path, kind)
        path.mkdir()
        for entry in self.created:
            if entry.path == str(path.absolute()):
                entry.identity = safepath.identity(path)
        self.save()

    def record_child(self, pid: int) -> None:
        """A process this run started: cleanup makes sure it (and its process group) is gone before it acts."""
        started = _process_start(pid)
        if started is not None:
            self.children.append(Child(pid, started))
            self.save()

    def record_quarantine(self, original: str | Path, moved_to: str | Path) -> None:
        self.quarantined.append(Quarantine(str(Path(original).absolute()), str(Path(moved_to).absolute())))
        self.save()

    def rollback(self) -> tuple[list[str], list[str]]:
        """Undo this (live) run: remove what it created, newest first, and put back what it moved aside.

        Returns (what was removed or restored, problems). Only recorded paths are touched; folders the run
        made above the environment are removed only when nothing else was put into them.
        """
        removed: list[str] = []
        problems: list[str] = []
        for entry in reversed(self.created):
            path = Path(entry.path)
            if not (path.exists() or path.is_symlink()):
                continue
            try:
                if entry.kind == "parent":
                    if _empty_and_same(entry):
                        path.rmdir()
                        removed.append(str(path))
                    continue
                removed.append(undo_created(path, entry.existed))
            except OSError as exc:
                problems.append(f"could not remove {path}: {exc}")
        problems += self._restore_quarantine(removed)
        return removed, problems

    def _restore_quarantine(self, done: list[str]) -> list[str]:
        problems = []
        for q in reversed(self.quarantined):
            moved = Path(q.moved_to)
            original = Path(q.original)
            if not moved.exists():
                continue
            if original.exists():
                problems.append(f"{original} is in the way; the earlier environment stays at {moved}")
                continue
            try:
                os.replace(moved, original)
                done.append(f"restored {original}")
            except OSError as exc:
                problems.append(f"could not move {moved} back to {original}: {exc}")
        return problems

    def drop_quarantine(self) -> list[str]:
        """After success: delete the earlier environments that were moved aside. Returns problems."""
        problems = []
        for q in self.quarantined:
            moved = Path(q.moved_to)
            if moved.exists() and read_marker(moved) is not None:
                try:
                    remove_path(moved)
                except OSError as exc:
                    problems.append(f"could not delete the earlier environment at {moved}: {exc}")
        return problems

    def finish(self) -> None:
        """The run is over and nothing is left to undo: forget it."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _empty_and_same(entry: CreatedPath) -> bool:
    """A folder the run made itself, still the same one (identity) and still empty."""
    path = Path(entry.path)
    return (entry.identity is not None and safepath.identity(path) == entry.identity
            and not path.is_symlink() and _is_empty_dir(path))


# -- interrupted runs --------------------------------------------------------------------------------

@dataclass
class InterruptedRun:
    """A run whose process died before it finished (crash, power cut, kill -9)."""

    run_id: str
    started: float
    env: str
    summary: dict[str, Any]
    leftovers: list[str]  # paths that run created and that still exist
    quarantined: list[Quarantine]  # earlier environments it had moved aside and not put back
    journal_path: str
    kept: list[str] = field(default_factory=list)  # after cleanup(): what was left in place, and why
    restore_from: str | None = None  # a repair's backup: cleanup puts the environment's packages back from it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started))
        if self.restore_from:
            return (f"A repair of {self.env} started {when} did not finish; cleanup puts its packages back as "
                    f"they were from {self.restore_from}.")
        parts = [f"An install started {when} into {self.env} did not finish."]
        if self.leftovers:
            parts.append("It left: " + ", ".join(self.leftovers) + ".")
        for q in self.quarantined:
            parts.append(f"The earlier environment {q.original} waits at {q.moved_to}.")
        return " ".join(parts)


@dataclass
class DamagedJournal:
    """A file in the runs folder that cannot be trusted; it is reported and left alone."""

    path: str
    reason: str


def _alive(journal: Journal) -> bool:
    if journal.pid == os.getpid():
        return True
    if not psutil.pid_exists(journal.pid):
        return False
    started = _process_start(journal.pid)
    if started is None or journal.pid_started is None:
        return started is not None
    return abs(started - journal.pid_started) < 2.0  # a different process got the same pid otherwise


def _read_journal(file: Path) -> Journal:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise JournalError(f"cannot be read: {exc}") from None
    journal = Journal.from_json(data)
    if file.name != f"{journal.run_id}.json":
        raise JournalError(f"its run id {journal.run_id} does not match its file name")
    return journal


def scan_journals() -> tuple[list[Journal], list[DamagedJournal]]:
    """Every journal in the runs folder: the valid ones, and the damaged ones with the reason."""
    journals: list[Journal] = []
    damaged: list[DamagedJournal] = []
    folder = runs_dir()
    if not folder.is_dir():
        return [], []
    for file in sorted(folder.glob("*.json")):
        try:
            journals.append(_read_journal(file))
        except JournalError as exc:
            damaged.append(DamagedJournal(str(file), str(exc)))
    return journals, damaged


def load_journals() -> list[Journal]:
    return scan_journals()[0]


def damaged_journals() -> list[DamagedJournal]:
    return scan_journals()[1]


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def interrupted_runs() -> list[InterruptedRun]:
    """Journals whose process is gone, each with what it left behind. Changes nothing."""
    found = []
    for journal in load_journals():
        if _alive(journal):
            continue
        leftovers = [c.path for c in journal.created if _is_leftover(c)]
        quarantined = [q for q in journal.quarantined if Path(q.moved_to).exists()]
        found.append(InterruptedRun(journal.run_id, journal.started, journal.env, journal.summary,
                                    leftovers, quarantined, str(journal.path), restore_from=journal.restore_from))
    return found


def _is_leftover(entry: CreatedPath) -> bool:
    path = Path(entry.path)
    if entry.kind == "parent":
        return _empty_and_same(entry)
    return _exists(path) and not (entry.existed and _is_empty_dir(path))


def _is_empty_dir(path: Path) -> bool:
    try:
        return path.is_dir() and not path.is_symlink() and not any(path.iterdir())
    except OSError:
        return False


def _where_allowed(entry: CreatedPath, journal: Journal) -> bool:
    """Could this run have created this path at all? (The env, folders above it, scratch named after the run,
    or a step's folder; anything else in a journal is not acted on.)"""
    path = Path(entry.path)
    env = Path(journal.env)
    if entry.kind == "env":
        return path == env
    if entry.kind == "parent":  # a folder above the env or above another path the run made
        below = [Path(c.path) for c in journal.created if c is not entry] + [env]
        return any(str(b).startswith(str(path).rstrip(os.sep) + os.sep) for b in below)
    if entry.kind in ("temp", "cache"):
        return journal.run_id in path.name and path.name.startswith((".torch-setup-", "torch-setup-"))
    return True  # a step's `creates`; still needs the run's marker below


def _made_by_run(entry: CreatedPath, journal: Journal) -> bool:
    """Is the leftover at entry.path provably the one that run made (and not something made since)?

    Proof is the run's own marker inside it, or, for an empty folder the run made itself, the same device
    and inode as recorded. Never age or shape: a venv someone made after the crash is not ours.
    """
    if not _where_allowed(entry, journal):
        return False
    path = Path(entry.path)
    if path.is_symlink():
        return False
    if entry.kind == "parent":
        return _empty_and_same(entry)
    marker = read_marker(path) if path.is_dir() else None
    return marker is not None and marker.get("run_id") == journal.run_id


def _survivors(journal: Journal) -> list[psutil.Process]:
    """Processes of that run still alive: the children it recorded and whatever shares their process group."""
    found: dict[int, psutil.Process] = {}
    groups = {c.pid for c in journal.children}
    for child in journal.children:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(child.pid)
            if abs(proc.create_time() - child.started) < 1.0:
                found[proc.pid] = proc
    if groups and hasattr(os, "getpgid"):
        for proc in psutil.process_iter(["pid", "create_time"]):
            with contextlib.suppress(psutil.Error, OSError):
                if (os.getpgid(proc.pid) in groups and proc.info["create_time"] >= journal.started - 1.0
                        and proc.pid != os.getpid()):
                    found[proc.pid] = proc
    return [p for p in found.values() if _running(p)]


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _stop_survivors(journal: Journal, grace: float = 3.0) -> list[str]:
    """Stop what is left of a dead run's process tree before touching its files. Returns what still runs."""
    survivors = _survivors(journal)
    for proc in survivors:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGTERM)
    _gone, alive = psutil.wait_procs(survivors, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    _gone, alive = psutil.wait_procs(alive, timeout=grace)
    return [f"process {p.pid} of that install is still running" for p in alive if _running(p)]


def cleanup(run: InterruptedRun) -> list[str]:
    """Remove the leftovers of an interrupted run and put back what it moved aside.

    Returns what was removed or restored; what was left in place, and why, goes to run.kept. First the
    run's surviving processes are stopped (an orphaned installer would otherwise recreate what is
    removed); then only paths that provably belong to that run are removed. The journal is forgotten
    once nothing is left to resolve.
    """
    run.kept = []
    journal_file = Path(run.journal_path)
    try:
        journal = _read_journal(journal_file)
    except JournalError as exc:
        run.kept.append(f"the journal {journal_file} {exc}")
        return []
    if _alive(journal):
        run.kept.append("that install is still running")
        return []
    try:
        with locks.hold(journal.env, journal.run_id, wait=0.5):
            return _cleanup_locked(run, journal, journal_file)
    except locks.LockBusy as exc:
        run.kept.append(str(exc))
        return []
    except ValueError as exc:  # the state folder cannot be written
        run.kept.append(str(exc))
        return []


def _restore_repair(journal: Journal, done: list[str]) -> list[str]:
    """Put back the packages an interrupted repair had replaced (installer.core.doctor.backup)."""
    from installer.core.doctor import backup
    from installer.core.uvbin import uv_executable

    folder = Path(journal.restore_from or "")
    if not folder.is_dir():
        return []
    problems, _after = backup.restore(folder, uv_executable())
    if problems:
        return [f"{journal.env}: {p}; the backup stays at {folder}" for p in problems]
    done.append(f"restored the packages of {journal.env} from {folder}")
    backup.discard(folder)
    return []


def _cleanup_locked(run: InterruptedRun, journal: Journal, journal_file: Path) -> list[str]:
    kept = _stop_survivors(journal)
    if kept:
        run.kept = kept
        return []
    done: list[str] = []
    if journal.restore_from:
        kept += _restore_repair(journal, done)
    for entry in reversed(journal.created):
        path = Path(entry.path)
        if not _exists(path):
            continue
        if entry.kind == "parent" and not _is_empty_dir(path):
            kept.append(f"{path} was left in place: it holds files that install did not make")
            continue
        if not _made_by_run(entry, journal):
            kept.append(f"{path} was left in place: nothing proves that install made it")
            continue
        try:
            if entry.kind == "parent":
                path.rmdir()
                done.append(str(path))
            else:
                done.append(undo_created(path, entry.existed))
        except OSError as exc:
            kept.append(f"could not remove {path}: {exc}")
    kept += journal._restore_quarantine(done)
    if not kept:
        journal_file.unlink(missing_ok=True)
    run.kept = kept
    return done
