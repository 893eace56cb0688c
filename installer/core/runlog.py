"""The full log of one install run: every command, every output line, timings; credentials redacted.

Logs go to paths.log_dir()/install-<timestamp>.log; only the newest KEEP_LOGS are kept. Logs and reports
are owner-readable only (0600, folder 0700): even redacted, they describe the machine and its paths.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TextIO

from installer.core import paths
from installer.core.redact import redact_text

KEEP_LOGS = 20
MAX_CHILD_OUTPUT_BYTES = 200 * 1024 * 1024  # per run: a flood of short lines must not fill the disk
LOG_PREFIX = "install-"
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def ensure_private_dir(folder: Path) -> None:
    """Create Torch Setup's own folder (log folder) as 0700, and tighten it when an older run left it wider."""
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    if os.name == "nt":
        return  # Windows keeps per-user folders private through ACLs; chmod only toggles read-only
    with contextlib.suppress(OSError):
        st = folder.stat()
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            folder.chmod(PRIVATE_DIR_MODE)


def open_private(path: Path, append: bool = False) -> TextIO:
    """Open a text file for writing that only its owner can read: created 0600, an existing one tightened.

    os.open with the mode means the file is never readable by others, not even for a moment.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    try:
        if os.name != "nt":
            os.fchmod(fd, PRIVATE_FILE_MODE)  # a file that existed keeps its old mode through os.open
        return open(fd, "a" if append else "w", encoding="utf-8", errors="replace")
    except BaseException:
        os.close(fd)
        raise


def write_private_text(path: Path, text: str) -> None:
    """Write a report or crash log that only its owner can read (0600)."""
    with open_private(path) as file:
        file.write(text)


def new_log_path(now: float | None = None) -> Path:
    """A fresh, unused log path; the name sorts by time."""
    folder = paths.log_dir()
    ensure_private_dir(folder)
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int((now % 1) * 1000):03d}"
    path = folder / f"{LOG_PREFIX}{stamp}.log"
    n = 1
    while path.exists():
        path = folder / f"{LOG_PREFIX}{stamp}-{n}.log"
        n += 1
    return path


def rotate_logs(keep: int = KEEP_LOGS, folder: Path | None = None) -> list[Path]:
    """Delete all but the newest `keep` install logs. Returns the deleted paths."""
    folder = paths.log_dir() if folder is None else folder
    if not folder.is_dir():
        return []
    logs = sorted(folder.glob(f"{LOG_PREFIX}*.log"), key=lambda p: (p.stat().st_mtime, p.name))
    removed = []
    for old in logs[: max(0, len(logs) - keep)]:
        with contextlib.suppress(OSError):
            old.unlink()
            removed.append(old)
    return removed


class RunLog:
    """An append-only, line-buffered-enough text log, mode 0600. Every write and note goes through redact_text."""

    def __init__(self, path: Path | None = None, keep: int = KEEP_LOGS) -> None:
        self.path = path or new_log_path()
        ensure_private_dir(self.path.parent)
        self._t0 = time.monotonic()
        self._child_bytes = 0  # output of child processes written so far (our own notes always go in)
        self._file: TextIO | None = open_private(self.path, append=True)
        rotate_logs(keep, self.path.parent)

    def _stamp(self) -> str:
        return f"{time.monotonic() - self._t0:9.3f}"

    def write(self, text: str, stream: str = "") -> None:
        if self._file is None:
            return
        if stream in ("stdout", "stderr"):
            if self._child_bytes > MAX_CHILD_OUTPUT_BYTES:
                return
            self._child_bytes += len(text) + 12
            if self._child_bytes > MAX_CHILD_OUTPUT_BYTES:
                self.write(f"the log keeps {MAX_CHILD_OUTPUT_BYTES // (1024 * 1024)} MB of program output per "
                           "run; the rest of it was not written (the steps go on)")
                return
        tag = {"stdout": " |", "stderr": " !"}.get(stream, " #")
        self._file.write(f"{self._stamp()}{tag} {redact_text(text)}\n")

    def note(self, text: str) -> None:
        """A line from Torch Setup itself (not from a child process); flushed at once."""
        self.write(text)
        self.flush()

    def flush(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
