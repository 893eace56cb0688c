"""The seam every probe reads the machine through: files, directory listings, commands, environment.

Tests hand a probe a `MachineSources` filled with recorded outputs; detect() uses the real machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from installer.core.process import Completed, run_captured

# Files under /proc and /sys are small; anything bigger is not what we are looking for.
_MAX_READ = 1024 * 1024


def read_text_file(path: str) -> str | None:
    """The text of a file, or None when it is missing, unreadable or not text."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_READ)
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")


def list_directory(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


@dataclass
class MachineSources:
    """How a probe sees the machine. Every field has a working default for the real machine."""

    read: Callable[[str], str | None] = read_text_file
    listdir: Callable[[str], list[str]] = list_directory
    exists: Callable[[str], bool] = os.path.exists
    which: Callable[[str], str | None] = shutil.which
    run: Callable[[Sequence[str], float], Completed] = run_captured
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def fake_completed(argv: Sequence[str], returncode: int | None, stdout: str = "", stderr: str = "",
                   error: str | None = None) -> Completed:
    """A Completed for tests and for probes that answer without running anything."""
    return Completed(list(argv), returncode, stdout, stderr, error)


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""
