"""schema.build (typed dataclasses from untrusted JSON) and inputs.check_path/check_url, in process."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from installer.core import schema
from installer.core.inputs import check_path, check_url
from installer.core.plan import ChoiceError


@dataclass
class _Part:
    name: str
    size: int | None = None


@dataclass
class _Whole:
    seconds: float
    parts: list[_Part] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    flag: bool = False


def test_good_data_builds_and_unknown_keys_are_ignored() -> None:
    whole = schema.build(_Whole, {"seconds": 2, "parts": [{"name": "a", "size": 3, "new": 1}], "later": True})
    assert whole == _Whole(seconds=2.0, parts=[_Part("a", 3)])
    assert isinstance(whole.seconds, float)  # 2 and 2.0 are one JSON number


def test_a_null_list_reads_as_empty() -> None:
    assert schema.build(_Whole, {"seconds": 1.0, "parts": None}).parts == []


@pytest.mark.parametrize(("data", "message"), [
    ({"seconds": "1"}, 'seconds: expected a number, got "1"'),
    ({"seconds": True}, "seconds: expected a number, got true"),
    ({"seconds": 1, "flag": 1}, "flag: expected true or false, got 1"),
    ({"seconds": 1, "parts": [{"name": "a", "size": True}]}, "parts[0].size: expected null or a whole number, got true"),
    ({"seconds": 1, "parts": [{}]}, "parts[0].name: is missing"),
    ({"seconds": 1, "parts": {"name": "a"}}, "parts: expected a list, got an object"),
    ({"seconds": 1, "tags": {"a": 1}}, "tags.a: expected a string, got 1"),
    ({}, "seconds: is missing"),
    ([], "expected an object, got a list"),
])
def test_a_wrong_type_names_the_field(data: object, message: str) -> None:
    with pytest.raises(schema.SchemaError) as info:
        schema.build(_Whole, data)
    assert str(info.value) == message


@pytest.mark.parametrize(("value", "fragment"), [
    ("", "empty"),
    ("/tmp/a\0b", "NUL"),
    ("/tmp/a\nb", "line break"),
    ("/tmp/" + "é" * 128, "256 bytes"),  # 128 characters, but 256 bytes in UTF-8
    ("/x/" * 1400, "bytes long"),
])
def test_check_path_rejects_what_no_file_system_can_hold(value: str, fragment: str) -> None:
    with pytest.raises(ChoiceError, match=fragment) as info:
        check_path(value, "--env")
    assert str(info.value).startswith("--env")


def test_check_path_keeps_ordinary_paths() -> None:
    assert check_path("~/envs/" + "a" * 255, "--env") == "~/envs/" + "a" * 255


@pytest.mark.parametrize("url", ["https://[::1", "https://h:99999/", "https://h:x/", "https://user:p@[::1/x",
                                 "https://h/a b"])
def test_check_url_rejects_what_cannot_be_parsed(url: str) -> None:
    with pytest.raises(ChoiceError, match="--index-url") as info:
        check_url(url, "--index-url")
    assert ":p@" not in str(info.value)  # a password never reaches the message


def test_check_url_returns_the_parts() -> None:
    assert check_url("https://[::1]:8443/simple", "--index-url").port == 8443
