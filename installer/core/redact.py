"""Credential redaction: the one place that decides what of a URL's userinfo may leave the process.

Everything Torch Setup shows or writes (log, events, reports, plan JSON, GUI text) passes through
`redact_text` or `redact_json`; the Plan that runs keeps the real URLs.

Rules (what counts as a secret, and why):
- Any `scheme://userinfo@host` URL, anywhere in a text. The userinfo ends at the LAST `@` before the
  end of the authority (users write `p@ss` unencoded, and pip, uv and urllib all split at the last `@`).
  `user:password@` keeps the user name (a log should still say who) and becomes `user:***@`;
  userinfo without a colon is a token (`https://TOKEN@host`) and becomes `***@` as a whole.
- The authority ends at whitespace or `/`. It does not end at `?`, `#`, quotes or commas, because a
  password may hold them unencoded: a wrong guess there only hides a little too much, never too little.
  A raw `/` cannot be part of a password (every URL parser, pip's included, ends the host there).
- Percent-encoded userinfo is treated like any other: the user name stays as written, encoded.
- In free text only URLs with a scheme are touched. `git@github.com:org/repo` (scp-like ssh) carries no
  secret (ssh authenticates with keys) and e-mail addresses are not URLs, so both are left alone.
  `redact_url`, given a value known to be a URL or proxy, also hides `user:password@host[:port]` written
  without a scheme (proxy variables are often set that way).
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_AUTHORITY_END = re.compile(r"[\s/]")
# A whole value `user:password@host[:port]` without a scheme (a proxy setting); not used on free text.
_SCHEMELESS_PROXY = re.compile(r"(?P<userinfo>[^\s/]*:[^\s/]*)@(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d+)?")


def _mask_userinfo(userinfo: str) -> str:
    if not userinfo:
        return userinfo
    # Masking a masked userinfo gives it back unchanged, so redacting twice is harmless.
    user, colon, _ = userinfo.partition(":")
    return f"{user}:{MASK}" if colon else MASK


def _scheme_start(text: str, sep: int) -> int:
    """Where the scheme in front of the `://` at `sep` begins (sep itself when there is none)."""
    start = sep
    while start > 0 and sep - start < 64 and text[start - 1] in _SCHEME_CHARS:
        start -= 1
    return start


def redact_text(text: str) -> str:
    """Hide the userinfo secret of every `scheme://…@host` URL inside free text (log lines, argv, messages).

    Linear in the length of the text: it runs on every output line of every child.
    """
    if "://" not in text or "@" not in text:
        return text
    separators = [m.start() for m in re.finditer("://", text)]
    out: list[str] = []
    done = 0  # text[:done] is already in `out`
    for number, sep in enumerate(separators):
        begin = sep + 3
        if begin < done:
            continue
        # The authority stops at whitespace, `/`, or the scheme of the next URL (`a@h1,https://b@h2`).
        limit = len(text)
        if number + 1 < len(separators):
            limit = _scheme_start(text, separators[number + 1])
        end_match = _AUTHORITY_END.search(text, begin, limit)
        end = end_match.start() if end_match else limit
        at = text.rfind("@", begin, end)
        if at < 0:
            continue
        out.append(text[done:begin])
        out.append(_mask_userinfo(text[begin:at]))
        done = at
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def redact_url(url: str) -> str:
    """Hide the password (or token) of one URL or proxy setting, keeping the user name so a log still says who."""
    if "://" in url:
        return redact_text(url)
    whole = _SCHEMELESS_PROXY.fullmatch(url)
    if whole is None:
        return url
    return _mask_userinfo(whole.group("userinfo")) + url[whole.end("userinfo"):]


def redact_json(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, strings, scalars) with every string redacted.

    Redact the data before serialising it: JSON escaping (`\\"`) would otherwise hide a URL's end.
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_text(k) if isinstance(k, str) else k: redact_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_json(v) for v in value]
    return value
