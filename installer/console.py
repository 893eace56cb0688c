"""Text output that survives any console encoding: where a stream cannot show ✓ ✗ ⚠ • it shows words.

A redirected `> log.txt` on Windows gets cp1252, a C locale gets ASCII; printing a ✓ (or a child's
progress bar, or a path with 環境 in it) there raised UnicodeEncodeError and stopped an install half-way.
`make_streams_safe()` gives stdout and stderr an encode-error handler that writes words for our marks and
plain ASCII for common typography, and "?" for anything else, so no print can fail on encoding.
"""

from __future__ import annotations

import codecs
import sys
from typing import TextIO

ERRORS = "torch-setup-words"

# What a reader of an 8-bit console sees instead of each symbol we (or the tools we run) print.
WORDS: dict[str, str] = {
    "✓": "[ok]", "✔": "[ok]", "✗": "[failed]", "✘": "[failed]", "⚠": "[warning]", "•": "-",
    "…": "...", "—": "--", "–": "-", "→": "->", "←": "<-", "×": "x", "≥": ">=", "≤": "<=",
    "‘": "'", "’": "'", "“": '"', "”": '"', "━": "-", "─": "-", "█": "#", "░": ".", "·": ".",
    "\u00a0": " ",
}


def _words(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start:exc.end]
    return "".join(WORDS.get(ch, "?") for ch in text), exc.end


codecs.register_error(ERRORS, _words)


def can_show(text: str, stream: TextIO | None = None) -> bool:
    """True when `stream` (default stdout) can print `text` as it is."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def mark(ok: bool | None, stream: TextIO | None = None) -> str:
    """The status mark for a line: ✓ / ✗ / ⚠ (None) where the stream can show them, else words."""
    symbol = "✓" if ok else "✗" if ok is False else "⚠"
    return symbol if can_show(symbol, stream) else WORDS[symbol]


def make_streams_safe() -> None:
    """Let stdout and stderr write whatever we print, whatever their encoding (idempotent)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:  # None (pythonw), or a test's capture object
            continue
        try:
            reconfigure(errors=ERRORS)
        except (ValueError, OSError, TypeError):  # a closed stream, or one that refuses: leave it be
            pass
