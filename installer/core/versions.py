"""Comparing the dotted version numbers that drivers, toolkits, OSes and Pythons report."""

from __future__ import annotations

import re

_DOTTED = re.compile(r"\d+(?:\.\d+)*")


def version_tuple(text: str | None) -> tuple[int, ...]:
    """The first dotted number in `text` as a tuple: '550.54.14' → (550, 54, 14), 'CUDA 12.6' → (12, 6),
    '3.13.0rc1' → (3, 13, 0); () when there is none, which compares below every real version."""
    match = _DOTTED.search(text or "")
    return tuple(int(part) for part in match.group().split(".")) if match else ()
