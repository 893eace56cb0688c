"""Choices validation, TOML answer files and credential redaction: bad input is caught before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.core.plan import (
    ChoiceError,
    Choices,
    Plan,
    Step,
    answers_toml,
    choices_from_answers,
    redact_text,
    redact_url,
)


def test_defaults_are_valid() -> None:
    Choices().validate()


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"method": "brew"}, "Unknown method"),
        ({"engine": "poetry"}, "Unknown engine"),
        ({"torch": "2.13; rm -rf /"}, "Unknown PyTorch version"),
        ({"torch": "v2"}, "Unknown PyTorch version"),
        ({"backend": "cuda12"}, "Unknown compute platform"),
        ({"env_name": "my env"}, "may only use"),
        ({"env_name": "x;reboot"}, "may only use"),
        ({"env_name": "$(whoami)"}, "may only use"),
        ({"packages": ["numpy; curl evil"]}, "not a package requirement"),
        ({"packages": ["torch", "`id`"]}, "not a package requirement"),
        ({"packages": []}, "at least torch"),
        ({"torch_source": "ftp://mirror.example/whl"}, "not pytorch, pypi"),
        ({"torch_source": "/no/such/folder"}, "not pytorch, pypi"),
        ({"torch_source": "http://mirror.example/whl"}, "plain http"),
        ({"index_url": "http://mirror.example/simple"}, "--trusted-host mirror.example"),
        ({"find_links": ["/no/such/wheels"]}, "does not exist"),
        ({"python": "/no/such/python"}, "does not exist"),
        ({"env": "a", "env_name": "b"}, "not both"),
    ],
)
def test_bad_choices_are_one_clear_sentence(changes: dict, fragment: str) -> None:
    choices = Choices(**changes)
    with pytest.raises(ChoiceError) as info:
        choices.validate()
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message and "Traceback" not in message


def test_env_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    with pytest.raises(ChoiceError, match="is a file"):
        Choices(env=str(target)).validate()
    assert target.read_text() == "keep me"


def test_trusted_host_allows_plain_http() -> None:
    Choices(index_url="http://mirror.lab:8080/simple", trusted_host=["mirror.lab"]).validate()
    Choices(torch_source="http://127.0.0.1:9000/whl").validate()  # loopback needs no trust


def test_version_specifiers_are_accepted() -> None:
    Choices(packages=["torch", "torchvision", "numpy>=1.26,<3", "jupyter[all]", "scipy!=1.11.0"]).validate()


def test_answer_file_round_trip(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    original = Choices(method="pip", torch="2.13.0", backend="cpu", python="3.11", env_name="lab-env",
                       packages=["torch", "torchvision"], engine="pip", torch_source=str(wheels),
                       find_links=[str(wheels)], jupyter=True)
    path = tmp_path / "answers.toml"
    path.write_text(answers_toml(original), encoding="utf-8")
    loaded = choices_from_answers(path)
    assert loaded == original


def test_answer_file_with_quotes_and_unicode_round_trips(tmp_path: Path) -> None:
    odd = tmp_path / 'Ordner "mit" Ümlauten'
    odd.mkdir()
    original = Choices(env=str(odd / "env"))
    path = tmp_path / "a.toml"
    path.write_text(answers_toml(original), encoding="utf-8")
    assert choices_from_answers(path).env == str(odd / "env")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'method = "pip"\ncolour = "blue"\n', "Unknown key 'colour'"),
        (b'method = "pip\n', "not valid TOML"),
        (b"\x00\x01\x02binary", "binary"),
        (b"\xff\xfe\xfa not utf-8", "not UTF-8"),
        (b"packages = 3\n", "list of strings"),
        (b'offline = "yes"\n', "true or false"),
        (b"torch = 2.13\n", "must be a string"),
    ],
)
def test_bad_answer_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "answers.toml"
    path.write_bytes(content)
    with pytest.raises(ChoiceError, match=fragment):
        choices_from_answers(path)


def test_missing_and_huge_answer_files(tmp_path: Path) -> None:
    with pytest.raises(ChoiceError, match="does not exist"):
        choices_from_answers(tmp_path / "nope.toml")
    with pytest.raises(ChoiceError, match="not a file"):
        choices_from_answers(tmp_path)
    huge = tmp_path / "huge.toml"
    huge.write_text("# padding\n" * 20000)
    with pytest.raises(ChoiceError, match="at most 64 KiB"):
        choices_from_answers(huge)


def test_redaction_hides_passwords_and_tokens() -> None:
    assert redact_url("https://alice:s3cret@mirror.lab/simple") == "https://alice:***@mirror.lab/simple"
    assert redact_url("https://tok3n@mirror.lab/simple") == "https://***@mirror.lab/simple"
    assert redact_url("https://mirror.lab/simple") == "https://mirror.lab/simple"
    line = "Looking in indexes: https://bob:hunter2@proxy.lab:3128/simple and http://u:p@h/x"
    redacted = redact_text(line)
    assert "hunter2" not in redacted and ":p@" not in redacted
    assert "proxy.lab:3128/simple" in redacted


def test_plan_json_round_trip() -> None:
    plan = Plan(method="pip", backend="cu126", torch="2.13.0", python="3.12", env="/tmp/env",
                steps=[Step(name="Create", argv=["uv", "venv", "/tmp/env"], kind="venv", creates="/tmp/env")],
                reasons=["because"], warnings=[])
    data = plan.to_json()
    for key in ("method", "backend", "torch", "python", "env", "steps", "reasons", "warnings"):
        assert key in data
    assert set(data["steps"][0]) >= {"name", "argv", "env", "cwd"}
    assert Plan.from_json(data) == plan
