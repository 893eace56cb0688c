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
import secrets
import shutil
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
from installer.core import paths

MARKER_NAME = ".torch-setup.json"
JOURNAL_VERSION = 1


# -- the marker inside what we made ------------------------------------------------------------------

def marker_path(folder: str | Path) -> Path:
    """Where the marker of a folder goes: inside it; for a git checkout, inside .git (keeps `git status` clean)."""
    folder = Path(folder)
    git = folder / ".git"
    return git / MARKER_NAME if git.is_dir() else folder / MARKER_NAME


def write_marker(folder: str | Path, run_id: str, summary: dict[str, Any]) -> Path:
    data = {
        "made_by": "torch-setup",
        "version": __version__,
        "run_id": run_id,
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


@dataclass
class CreatedPath:
    path: str
    kind: str  # "env" | "kernel" | "checkout" | "temp" | "cache" | another step kind
    existed: bool = False  # an empty folder that was already there: rollback empties it and keeps it


@dataclass
class Quarantine:
    original: str  # where the earlier Torch Setup environment was
    moved_to: str  # where it waits until the new one works


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
    version: int = JOURNAL_VERSION

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
    def from_json(cls, data: dict[str, Any]) -> Journal:
        return cls(
            run_id=str(data["run_id"]), pid=int(data["pid"]), pid_started=data.get("pid_started"),
            started=float(data["started"]), env=str(data.get("env", "")), summary=dict(data.get("summary", {})),
            created=[CreatedPath(**c) for c in data.get("created", [])],
            quarantined=[Quarantine(**q) for q in data.get("quarantined", [])],
            version=int(data.get("version", JOURNAL_VERSION)),
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

    def record_quarantine(self, original: str | Path, moved_to: str | Path) -> None:
        self.quarantined.append(Quarantine(str(Path(original).absolute()), str(Path(moved_to).absolute())))
        self.save()

    def rollback(self) -> tuple[list[str], list[str]]:
        """Undo this (live) run: remove what it created, newest first, and put back what it moved aside.

        Returns (what was removed or restored, problems). Only recorded paths are touched.
        """
        removed: list[str] = []
        problems: list[str] = []
        for entry in reversed(self.created):
            path = Path(entry.path)
            if not (path.exists() or path.is_symlink()):
                continue
            try:
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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started))
        parts = [f"An install started {when} into {self.env} did not finish."]
        if self.leftovers:
            parts.append("It left: " + ", ".join(self.leftovers) + ".")
        for q in self.quarantined:
            parts.append(f"The earlier environment {q.original} waits at {q.moved_to}.")
        return " ".join(parts)


def _alive(journal: Journal) -> bool:
    if journal.pid == os.getpid():
        return True
    if not psutil.pid_exists(journal.pid):
        return False
    started = _process_start(journal.pid)
    if started is None or journal.pid_started is None:
        return started is not None
    return abs(started - journal.pid_started) < 2.0  # a different process got the same pid otherwise


def load_journals() -> list[Journal]:
    journals = []
    folder = runs_dir()
    if not folder.is_dir():
        return []
    for file in sorted(folder.glob("*.json")):
        try:
            journals.append(Journal.from_json(json.loads(file.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a foreign or damaged file: not ours to act on
    return journals


def interrupted_runs() -> list[InterruptedRun]:
    """Journals whose process is gone, each with what it left behind. Changes nothing."""
    found = []
    for journal in load_journals():
        if _alive(journal):
            continue
        leftovers = [c.path for c in journal.created
                     if Path(c.path).exists() and not (c.existed and _is_empty_dir(Path(c.path)))]
        quarantined = [q for q in journal.quarantined if Path(q.moved_to).exists()]
        found.append(InterruptedRun(journal.run_id, journal.started, journal.env, journal.summary,
                                    leftovers, quarantined, str(journal.path)))
    return found


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _made_by_run(entry: CreatedPath, journal: Journal) -> bool:
    """Is the leftover at entry.path really the one that run made (and not something made since)?"""
    path = Path(entry.path)
    marker = read_marker(path) if path.is_dir() else None
    if marker is not None:
        return marker.get("run_id") == journal.run_id
    if entry.kind in ("temp", "cache"):
        return journal.run_id in path.name  # our own scratch folders carry the run id in their name
    # No marker: the run died while the step that makes it was running. Accept it only when it looks
    # like what that step makes and it came into being after the run started.
    for probe in ("pyvenv.cfg", "conda-meta", ".git"):
        candidate = path / probe
        if candidate.exists():
            return candidate.stat().st_mtime >= journal.started - 2.0
    return False


def cleanup(run: InterruptedRun) -> list[str]:
    """Remove the leftovers of an interrupted run and put back what it moved aside.

    Returns what was removed or restored; what was left in place, and why, goes to run.kept. Only paths
    that carry our marker of that run, or that the journal says that run created (and that look like
    it), are removed. The journal is forgotten once nothing is left to resolve.
    """
    run.kept = []
    journal_file = Path(run.journal_path)
    try:
        journal = Journal.from_json(json.loads(journal_file.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        run.kept.append(f"the journal {journal_file} cannot be read: {exc}")
        return []
    if _alive(journal):
        run.kept.append("that install is still running")
        return []
    done: list[str] = []
    kept: list[str] = []
    for entry in reversed(journal.created):
        path = Path(entry.path)
        if not path.exists():
            continue
        if not _made_by_run(entry, journal):
            kept.append(f"{path} was left in place: nothing shows Torch Setup made it")
            continue
        try:
            done.append(undo_created(path, entry.existed))
        except OSError as exc:
            kept.append(f"could not remove {path}: {exc}")
    kept += journal._restore_quarantine(done)
    if not kept:
        journal_file.unlink(missing_ok=True)
    run.kept = kept
    return done
