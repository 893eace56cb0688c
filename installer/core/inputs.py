"""Checks on paths and URLs a user typed (flags, answer files), before anything touches the file system.

A path the OS cannot even represent (a NUL byte, a 300-character folder name) would otherwise surface as
an OSError deep inside a probe or the runner; here it becomes one sentence naming the flag (exit 2).
"""

from __future__ import annotations

import os
from urllib.parse import SplitResult, urlsplit

from installer.core.plan import ChoiceError

# What common file systems allow (ext4, APFS, NTFS): 255 bytes (NTFS: UTF-16 units) per name.
MAX_NAME_BYTES = 255
# Linux PATH_MAX counts the whole path; Windows long paths go to 32 767 units, but short of
# LongPathsEnabled the tools we drive fail far earlier, so one generous limit for every OS.
MAX_PATH_BYTES = 4095


def check_path(value: str, flag: str) -> str:
    """`value` unchanged when it can name a file on this OS; else ChoiceError naming `flag`."""
    if not value.strip():
        raise ChoiceError(f"{flag} is empty: give a path.")
    if "\0" in value:
        raise ChoiceError(f"{flag} has a NUL character in it, which no file name can hold.")
    if any(c in value for c in "\n\r"):
        raise ChoiceError(f"{flag} has a line break in it: give a path on one line.")
    try:
        total = _size(value)
    except UnicodeError:
        raise ChoiceError(f"{flag} has characters this system cannot use in a file name.") from None
    if total > MAX_PATH_BYTES:
        raise ChoiceError(f"{flag} is {total} bytes long; paths may be at most {MAX_PATH_BYTES}.")
    separators = "/\\" if os.name == "nt" else "/"
    for part in _split(value, separators):
        size = _size(part)
        if size > MAX_NAME_BYTES:
            raise ChoiceError(f"{flag} has a folder or file name of {size} bytes ({_short(part)}); "
                              f"a name may be at most {MAX_NAME_BYTES} bytes.")
    return value


def check_url(url: str, flag: str) -> SplitResult:
    """The parts of `url`, or ChoiceError naming `flag` when it cannot be parsed (a bad IPv6 host, a bad
    port, a line break) -- urlsplit raises ValueError lazily, so the port is read here on purpose."""
    if any(c in url for c in "\0\n\r\t "):
        raise ChoiceError(f"{flag} has spaces or control characters in it; that is not a URL.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError as exc:
        raise ChoiceError(f"{flag} {_short(_redacted(url))} is not a valid URL ({exc}).") from None
    if len(url) > MAX_PATH_BYTES:
        raise ChoiceError(f"{flag} is {len(url)} characters long; that is not a URL we can use.")
    return parts


def _split(value: str, separators: str) -> list[str]:
    parts = [value]
    for sep in separators:
        parts = [piece for part in parts for piece in part.split(sep)]
    return [p for p in parts if p]


def _size(text: str) -> int:
    # Windows counts UTF-16 units; elsewhere the file system sees the bytes of the file-system encoding.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2 if os.name == "nt" else len(os.fsencode(text))


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _redacted(url: str) -> str:
    # redact_url itself parses the URL, which is what just failed: cut any credentials by hand.
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
