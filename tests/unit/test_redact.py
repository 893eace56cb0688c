"""installer.core.redact: every URL shape that carries a credential, and the text it must leave alone."""

from __future__ import annotations

import json
import time

import pytest

from installer.core import plan as plan_mod
from installer.core.redact import redact_json, redact_text, redact_url


@pytest.mark.parametrize(("url", "shown"), [
    ("https://alice:s3cr3t@mirror.lab/simple", "https://alice:***@mirror.lab/simple"),
    ("https://TOKEN123@mirror.lab/simple", "https://***@mirror.lab/simple"),  # a token goes entirely
    ("https://alice:p@ss@mirror.lab/simple", "https://alice:***@mirror.lab/simple"),  # the LAST @ ends it
    ("https://alice:a@b@c@mirror.lab:8443/simple", "https://alice:***@mirror.lab:8443/simple"),
    ("https://al%40ice:p%40ss%3Aw@mirror.lab/simple", "https://al%40ice:***@mirror.lab/simple"),
    ("https://tok%3Aen@mirror.lab/x", "https://***@mirror.lab/x"),
    ("http://proxyuser:proxypw@proxy.lab:3128", "http://proxyuser:***@proxy.lab:3128"),
    ("https://:onlypw@mirror.lab/", "https://:***@mirror.lab/"),
    ("https://alice:pa:ss@mirror.lab/", "https://alice:***@mirror.lab/"),
    ("https://alice:pw@[::1]:8080/simple", "https://alice:***@[::1]:8080/simple"),
    ("https://alice:pw@mirror.lab?x=1", "https://alice:***@mirror.lab?x=1"),
    ("https://alice:pa#ss@mirror.lab/x", "https://alice:***@mirror.lab/x"),  # unencoded # is hidden too
    ("file://user:pw@host/share/wheels", "file://user:***@host/share/wheels"),
    ("git+https://user:ghp_x@github.com/o/r.git", "git+https://user:***@github.com/o/r.git"),
])
def test_each_url_shape_loses_its_secret(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_text(url) == shown
    assert redact_text(shown) == shown  # redacting twice changes nothing


@pytest.mark.parametrize("text", [
    "https://mirror.lab/simple",
    "https://[::1]:8080/simple",
    "git@github.com:org/repo.git",  # scp-like ssh: no scheme, no secret (ssh uses keys)
    "Write to me@example.org about it",
    "https://mirror.lab/simple/?email=me@example.org",  # an @ after the host is not userinfo
    "Collecting torch==2.13.0 (from -r req.txt (line 1))",
    "10 % done :// odd but harmless",
    "",
])
def test_ordinary_text_and_plain_urls_are_untouched(text: str) -> None:
    assert redact_text(text) == text
    assert redact_url(text) == text


def test_urls_inside_child_output_lines() -> None:
    line = "Looking in indexes: https://alice:s3cr3t@mirror.lab/simple, https://TOKEN123@other.lab/x"
    assert redact_text(line) == "Looking in indexes: https://alice:***@mirror.lab/simple, https://***@other.lab/x"
    assert redact_text("--index-url=https://alice:s3cr3t@m.lab/simple") == "--index-url=https://alice:***@m.lab/simple"
    assert redact_text("pip install --extra-index-url 'https://TOKEN123@m.lab/x' torch") == \
        "pip install --extra-index-url 'https://***@m.lab/x' torch"
    assert redact_text('url = "https://alice:p@ss@m.lab/simple"') == 'url = "https://alice:***@m.lab/simple"'
    # two URLs with no space or path between them: each is redacted on its own
    assert redact_text("https://TOK1@h1,https://alice:pw@h2") == "https://***@h1,https://alice:***@h2"
    assert redact_text("ProxyError: http://proxyuser:proxypw@proxy.lab:3128 refused") == \
        "ProxyError: http://proxyuser:***@proxy.lab:3128 refused"


def test_ssh_url_with_a_scheme_counts_its_user_as_a_token() -> None:
    # With a scheme, a user without a password cannot be told from a token: it is hidden (documented).
    assert redact_text("ssh://git@github.com/org/repo") == "ssh://***@github.com/org/repo"


def test_redact_url_hides_a_schemeless_proxy_password_only() -> None:
    assert redact_url("proxyuser:p@ss@proxy.lab:3128") == "proxyuser:***@proxy.lab:3128"
    assert redact_url("git@github.com:org/repo") == "git@github.com:org/repo"
    assert redact_url("me@example.org") == "me@example.org"


def test_redact_json_walks_dicts_lists_and_keeps_other_values() -> None:
    data = {"index_url": "https://alice:s3cr3t@m.lab/simple", "n": 3, "ok": True, "none": None,
            "steps": [{"argv": ["uv", "--find-links", "https://TOKEN123@m.lab/x"]}], "pair": ("a", "https://t@h")}
    shown = redact_json(data)
    text = json.dumps(shown)
    assert "s3cr3t" not in text and "TOKEN123" not in text
    assert shown["n"] == 3 and shown["ok"] is True and shown["none"] is None
    assert shown["steps"][0]["argv"][2] == "https://***@m.lab/x"
    assert data["index_url"] == "https://alice:s3cr3t@m.lab/simple", "the input is not changed"


def test_password_with_a_quote_is_redacted_before_json_escaping() -> None:
    # Serialising first would turn the quote into \" and could hide where the URL ends; redact_json does not.
    shown = json.dumps(redact_json({"u": 'https://alice:pa"ss@m.lab/simple'}))
    assert shown == '{"u": "https://alice:***@m.lab/simple"}'


def test_plan_module_reexports_the_same_functions() -> None:
    assert plan_mod.redact_url is redact_url and plan_mod.redact_text is redact_text


def test_linear_time_on_long_lines() -> None:
    # It runs on every output line of every child: a pathological 4 MB line must not take quadratic time.
    for line in ("https://" + "a" * 4_000_000, "://@" * 1_000_000, "a" * 4_000_000 + "://x@y"):
        start = time.monotonic()
        redact_text(line)
        assert time.monotonic() - start < 10.0
