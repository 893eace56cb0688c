"""One run at a time per environment: an exclusive lock held from the first check to the last cleanup.

The lock files live in Torch Setup's state folder (the environment may not exist yet, and its parent
may be read-only), named after the environment's canonical path. They are OS locks (filelock: flock on
POSIX, LockFileEx on Windows), so a run killed with -9 releases its lock with its process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import filelock

from installer.core import paths, safepath
from installer.core.plan import ChoiceError

WAIT_SECONDS = 2.0  # a second run waits this long for the first, then refuses


class LockBusy(ChoiceError):
    """Another run holds the lock (exit 2, with who holds it)."""


def locks_dir() -> Path:
    return paths.state_dir() / "locks"


def lock_path(target: str | os.PathLike[str]) -> Path:
    digest = hashlib.sha256(safepath.key(target).encode("utf-8")).hexdigest()[:32]
    return locks_dir() / f"{digest}.lock"


def _holder(info: Path) -> str:
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
        when = time.strftime("%H:%M:%S", time.localtime(float(data["since"])))
        return f"Torch Setup run {data['run_id']} (process {int(data['pid'])}, since {when})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another Torch Setup run"


@contextlib.contextmanager
def hold(target: str | os.PathLike[str], run_id: str, what: str = "environment",
         wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the lock of `target` for the block; LockBusy when another run keeps it longer than `wait`."""
    path = lock_path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChoiceError(f"Torch Setup cannot write its state folder {path.parent} "
                          f"({exc.strerror or exc}); make it writable and try again.") from None
    lock = filelock.FileLock(str(path), timeout=wait, thread_local=False)
    info = path.with_suffix(".json")
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LockBusy(f"{_holder(info)} is installing into the {what} {safepath.canonical(target)}; "
                       "wait for it to finish, or choose another folder.") from None
    except OSError as exc:
        raise ChoiceError(f"Torch Setup cannot lock {path} ({exc.strerror or exc}); "
                          "make its state folder writable and try again.") from None
    try:
        with contextlib.suppress(OSError):
            info.write_text(json.dumps({"run_id": run_id, "pid": os.getpid(), "since": time.time(),
                                        "target": str(safepath.canonical(target))}), encoding="utf-8")
        yield
    finally:
        with contextlib.suppress(OSError):
            info.unlink()
        lock.release()


def refuse_if_busy(target: str | os.PathLike[str], what: str = "environment") -> None:
    """Before judging a target, say so if another run is working on it (its half-made folder is not the answer)."""
    if is_held(target):
        raise LockBusy(f"{_holder(lock_path(target).with_suffix('.json'))} is installing into the {what} "
                       f"{safepath.canonical(target)}; wait for it to finish, or choose another folder.")


def is_held(target: str | os.PathLike[str]) -> bool:
    """Does some run hold `target`'s lock right now? (Tries it without waiting.)"""
    path = lock_path(target)
    if not path.exists():
        return False
    lock = filelock.FileLock(str(path), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except (filelock.Timeout, OSError):
        return True
    lock.release()
    return False
