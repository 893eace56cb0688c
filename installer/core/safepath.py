"""Paths as the file system will really use them, before any check is made on them.

A path the user typed can say one thing and mean another: `PARENT/missing/../v` is `PARENT/v`, a link
names its target, and on Windows and macOS `Envs` and `envs` (or two Unicode spellings of `é`) are the
same folder. Every check and every journal entry works on `canonical()`; see docs/RELIABILITY.md.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from pathlib import Path

# The file systems that fold case (and, on macOS, Unicode composition) by default.
_FOLDS_CASE = sys.platform in ("win32", "darwin")


def canonical(path: str | os.PathLike[str]) -> Path:
    """The absolute path with `~` expanded, every link in it followed and `..` collapsed after that.

    Links are followed first and `..` applied to what they point to, which is what the OS does when a
    program opens the path; parts that do not exist yet are kept as written.
    """
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))  # no abspath first: it collapses `..` textually


def key(path: str | os.PathLike[str]) -> str:
    """A string equal for two paths exactly when they name the same place (for locks and comparisons)."""
    text = unicodedata.normalize("NFC", str(canonical(path)))
    return os.path.normcase(text).casefold() if _FOLDS_CASE else text


def same(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    return key(a) == key(b)


def is_within(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """`path` is `root` or below it, judged on canonical paths."""
    inner, outer = key(path), key(root)
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def missing_ancestors(path: str | os.PathLike[str]) -> list[Path]:
    """The folders above `path` that do not exist yet, outermost first (a run creates them, so it owns them)."""
    missing: list[Path] = []
    for parent in canonical(path).parents:
        if os.path.lexists(parent):
            break
        missing.append(parent)
    return list(reversed(missing))


def identity(path: str | os.PathLike[str]) -> list[int] | None:
    """What tells this very folder apart from one made later at the same path: (device, inode).

    Recorded when a run creates the folder; a folder someone made after it (after a crash) has another.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return [int(st.st_dev), int(st.st_ino)]
