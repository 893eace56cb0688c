"""Choices (what the user asked for), Plan and Step (what will run), and the TOML answer file.

Plan's JSON keys are a public contract (DESIGN.md, `torch-setup plan --json`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The redaction functions live in installer.core.redact; older code imports them from here.
from installer.core.redact import redact_text as redact_text
from installer.core.redact import redact_url as redact_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ChoiceError(ValueError):
    """A request that is malformed or cannot be met. The message is one sentence for the user (exit 2)."""


METHODS = ("pip", "conda", "source")
ENGINES = ("uv", "pip")
MAX_ANSWER_FILE_BYTES = 64 * 1024

_TORCH_RE = re.compile(r"^(latest|nightly|\d+\.\d+(\.\d+)?)$")
_BACKEND_RE = re.compile(r"^(auto|cpu|mps|xpu|cu\d{3}|rocm\d+\.\d+(\.\d+)?)$")
ENV_NAME_MAX = 64


def env_name_problem(name: str) -> str | None:
    """Why `name` cannot be an environment's folder name, or None when it can.

    Letters and digits of any script (a name like "tørch_環境" is a fine folder name everywhere), plus '.', '_'
    and '-', starting with a letter or digit: so no path separators, spaces, control or shell characters, and
    no leading dot (hidden) or dash (read as an option by the tools the plan runs).
    """
    import unicodedata

    def allowed(ch: str) -> bool:
        # Combining marks too: "é" typed as e + U+0301 is still a letter to the user.
        return ch.isalnum() or ch in "._-" or unicodedata.category(ch).startswith("M")

    if not name or len(name) > ENV_NAME_MAX or not name[0].isalnum() or not all(allowed(c) for c in name):
        return (f"The environment name {name!r} may only use letters, digits, '.', '_' and '-', must start with a "
                f"letter or digit and have at most {ENV_NAME_MAX} characters.")
    return None


# A requirement as a user would type it: a name, optional extras, optional version specifiers; no URLs,
# no environment markers, nothing a shell would act on.
_PACKAGE_CHARS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-\[\],<>=!~*+ ]*$")
_SHELL_CHARS = set(";&|`$<>(){}\\\"'\n\r\t*?!#")


@dataclass
class Choices:
    """What the user asked for. Field names are the CLI flag names with underscores (answer-file keys)."""

    method: str = "pip"
    torch: str = "latest"
    backend: str = "auto"
    python: str | None = None  # "3.12" or a path to an interpreter
    env: str | None = None  # a folder for the new environment
    env_name: str | None = None  # a name under the default environments folder (or conda's envs)
    packages: list[str] = field(default_factory=lambda: ["torch"])
    engine: str = "uv"
    torch_source: str = "pytorch"  # "pytorch" | "pypi" | an http(s)/file URL | a local folder of wheels
    index_url: str | None = None  # for the packages that are not the torch family
    find_links: list[str] = field(default_factory=list)
    trusted_host: list[str] = field(default_factory=list)  # hosts allowed over plain http
    offline: bool = False
    cert: str | None = None  # a CA bundle (PEM) trusted in addition to the system's store
    torch_index_url: str | None = None  # a mirror of PyTorch's index root (per-backend paths are kept)
    proxy: str | None = None  # a proxy for every download; credentials are never shown or written
    jupyter: bool = False  # register the environment as a Jupyter kernel
    force: bool = False  # replace an environment that Torch Setup made earlier
    yes: bool = False  # never prompt

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def validate(self) -> None:
        """Reject malformed input before anything changes. Raises ChoiceError with one sentence."""
        self._validate_paths()
        if self.method not in METHODS:
            raise ChoiceError(f"Unknown method {self.method!r}: choose pip, conda or source.")
        if self.engine not in ENGINES:
            raise ChoiceError(f"Unknown engine {self.engine!r}: choose uv or pip.")
        if not _TORCH_RE.match(self.torch):
            raise ChoiceError(f"Unknown PyTorch version {self.torch!r}: use X.Y, X.Y.Z, latest or nightly.")
        if not _BACKEND_RE.match(self.backend):
            raise ChoiceError(
                f"Unknown compute platform {self.backend!r}: use auto, cpu, cuXXX (e.g. cu126), rocmX.Y, xpu or mps."
            )
        if self.python is not None:
            if re.fullmatch(r"\d+\.\d+", self.python):
                pass
            elif _has_shell_chars(self.python) and not Path(self.python).exists():
                raise ChoiceError(f"The Python {self.python!r} is neither a version like 3.12 nor a path.")
            elif not Path(self.python).exists():
                raise ChoiceError(f"The Python interpreter {self.python} does not exist.")
            elif Path(self.python).is_dir():
                raise ChoiceError(f"{self.python} is a folder: give the path of the python executable.")
        if self.env and self.env_name:
            raise ChoiceError("Give either an environment folder (--env) or a name (--env-name), not both.")
        if self.env_name is not None and (problem := env_name_problem(self.env_name)):
            raise ChoiceError(problem)
        if self.env is not None:
            if not self.env.strip() or any(c in self.env for c in "\n\r\0"):
                raise ChoiceError("The environment folder is empty or has control characters in it.")
            if Path(self.env).expanduser().is_file():
                raise ChoiceError(f"The environment path {self.env} is a file, not a folder.")
            link = Path(self.env).expanduser()
            if link.is_symlink() and not link.exists():
                # A link to a drive that is not mounted: installing "there" would fill the wrong disk.
                raise ChoiceError(f"The environment path {self.env} is a link to {os.readlink(link)}, which does "
                                  "not exist (a drive that is not mounted?); choose another folder.")
        if not self.packages:
            raise ChoiceError("The package list is empty: it needs at least torch.")
        for spec in self.packages:
            if not _is_plain_requirement(spec):
                raise ChoiceError(f"{spec!r} is not a package requirement (e.g. torchvision or numpy>=2).")
        for host in self.trusted_host:
            if not re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?", host):
                raise ChoiceError(f"{host!r} is not a host name.")
        self._validate_source()
        if self.index_url is not None:
            self._validate_url(self.index_url, "--index-url")
        self._validate_network()
        for folder in self.find_links:
            if "://" in folder:
                self._validate_url(folder, "--find-links")
            elif not Path(folder).expanduser().is_dir():
                raise ChoiceError(f"The --find-links folder {folder} does not exist.")

    def _validate_network(self) -> None:
        """--cert, --torch-index-url and --proxy (the checks live with Torch Setup's settings files)."""
        if self.cert is None and self.torch_index_url is None and self.proxy is None:
            return
        from installer.core import settings

        for key in settings.KEYS:
            value = getattr(self, key.name, None) if key.name in ("cert", "torch_index_url", "proxy") else None
            if value is not None:
                setattr(self, key.name, settings.check_value(key, value, key.flag))
        if self.torch_index_url is not None and self.torch_source not in ("pytorch",):
            raise ChoiceError("--torch-index-url replaces PyTorch's index; it cannot be combined with "
                              f"--torch-source {redact_url(self.torch_source)}.")

    def _validate_paths(self) -> None:
        """Paths the OS cannot represent (NUL, over-long names) fail here, before any Path() call."""
        from installer.core.inputs import check_path

        if self.python is not None and not re.fullmatch(r"\d+\.\d+", self.python):
            check_path(self.python, "--python")
        if self.env is not None:
            check_path(self.env, "--env")
        if self.env_name is not None:
            check_path(self.env_name, "--env-name")
        if "://" not in self.torch_source and self.torch_source not in ("pytorch", "pypi"):
            check_path(self.torch_source, "--torch-source")
        for folder in self.find_links:
            if "://" not in folder:
                check_path(folder, "--find-links")

    def _validate_source(self) -> None:
        from installer.core.inputs import check_url

        src = self.torch_source
        if src in ("pytorch", "pypi"):
            return
        if "://" in src:
            if check_url(src, "--torch-source").scheme not in ("http", "https", "file"):
                raise ChoiceError(
                    f"The torch source {redact_url(src)!r} is not pytorch, pypi, an http(s) or file URL, or a folder."
                )
            self._validate_url(src, "--torch-source")
            return
        if not Path(src).expanduser().is_dir():
            raise ChoiceError(
                f"The torch source {src!r} is not pytorch, pypi, an http(s) or file URL, or an existing folder."
            )

    def _validate_url(self, url: str, flag: str) -> None:
        from installer.core.inputs import check_path, check_url

        parts = check_url(url, flag)  # unparsable (a bad IPv6 host, a bad port) is a ChoiceError naming the flag
        if parts.scheme not in ("http", "https", "file") or _has_shell_chars(url.replace("?", "").replace("&", "")):
            raise ChoiceError(f"{flag} {redact_url(url)} is not an http(s) or file URL.")
        if parts.scheme == "file":
            check_path(parts.path, flag)
            if not Path(parts.path).is_dir():
                raise ChoiceError(f"{flag} {url} points to a folder that does not exist.")
            return
        host = parts.hostname or ""
        if not host:
            raise ChoiceError(f"{flag} {redact_url(url)} has no host name.")
        if parts.scheme == "http" and host not in ("127.0.0.1", "localhost", "::1"):
            trusted = {h.split(":")[0] for h in self.trusted_host}
            if host not in trusted:
                raise ChoiceError(
                    f"{flag} {redact_url(url)} uses plain http; use https, or trust the host with --trusted-host {host}."
                )


def is_backend_name(value: str) -> bool:
    """True for a backend a user may name: cpu, cuXXX, rocmX.Y[.Z], xpu, mps (and auto)."""
    return bool(_BACKEND_RE.match(value))


def _is_plain_requirement(spec: str) -> bool:
    from packaging.requirements import InvalidRequirement, Requirement

    if not _PACKAGE_CHARS_RE.match(spec):
        return False
    try:
        requirement = Requirement(spec)
    except InvalidRequirement:
        return False
    return requirement.url is None and requirement.marker is None


def _has_shell_chars(text: str) -> bool:
    return any(c in _SHELL_CHARS for c in text)


# -- answer files ----------------------------------------------------------------------------------

_LIST_KEYS = {"packages", "find_links", "trusted_host"}
_BOOL_KEYS = {"offline", "jupyter", "force", "yes"}


def choices_from_answers(path: str | Path) -> Choices:
    """Read a TOML answer file into Choices. Every problem is a ChoiceError with one sentence."""
    from installer.core.inputs import check_path

    p = Path(check_path(str(path), "--answers")).expanduser()
    try:
        if not p.exists():
            raise ChoiceError(f"The answer file {p} does not exist.")
        if not p.is_file():
            raise ChoiceError(f"The answer file {p} is not a file.")
        size = p.stat().st_size
        if size > MAX_ANSWER_FILE_BYTES:
            raise ChoiceError(f"The answer file {p} is {size // 1024} KiB; an answer file is at most 64 KiB.")
        raw = p.read_bytes()
    except OSError as exc:
        raise ChoiceError(f"The answer file {p} cannot be read: {exc.strerror or exc}.") from None
    if b"\0" in raw:
        raise ChoiceError(f"The answer file {p} is binary, not TOML text.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ChoiceError(f"The answer file {p} is not UTF-8 text.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ChoiceError(f"The answer file {p} is not valid TOML: {exc}.") from None
    except RecursionError:
        raise ChoiceError(f"The answer file {p} is nested too deeply to be an answer file.") from None
    return choices_from_mapping(data, where=f"the answer file {p}")


def choices_from_mapping(data: dict[str, Any], where: str = "the answers") -> Choices:
    known = Choices.field_names()
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ChoiceError(f"Unknown key {unknown[0]!r} in {where}; known keys: {', '.join(known)}.")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in _LIST_KEYS:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ChoiceError(f"{key} in {where} must be a list of strings.")
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise ChoiceError(f"{key} in {where} must be true or false.")
        elif not isinstance(value, str):
            raise ChoiceError(f"{key} in {where} must be a string.")
        values[key] = value
    return Choices(**values)


def answers_toml(choices: Choices) -> str:
    """Write Choices as an answer file that `torch-setup install --answers` reads back unchanged."""
    defaults = Choices()
    lines = ["# Torch Setup answer file: torch-setup install --answers THIS_FILE --yes"]
    for name in Choices.field_names():
        value = getattr(choices, name)
        if value is None or name == "yes":
            continue
        if value == getattr(defaults, name) and name not in ("method", "torch", "backend", "packages"):
            continue
        lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


# -- the plan --------------------------------------------------------------------------------------


@dataclass
class Step:
    name: str  # short, for a list of steps: "Create the environment"
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # added to the clean child environment
    cwd: str | None = None
    kind: str = "run"  # "check" | "venv" | "conda-create" | "install" | "clone" | "build" | "kernel" | "verify"
    description: str = ""  # one sentence a student understands
    creates: str | None = None  # a path this step brings into being (journal and rollback)
    progress: str | None = None  # which output parser applies: "uv" | "pip" | "conda" | "ninja" | "git"
    retries: int = 0  # extra attempts after a transient network failure
    timeout: float | None = None  # seconds

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Decision:
    """One choice the planner made, as data: `topic` ("method", "release", "python", "backend", "source",
    "env"), the `value` chosen ("2.13.0", "3.12", "cu126", …), `why` (a clause a person reads) and `label`
    (how the value reads in a sentence, "Python 3.12.4 (/usr/bin/python3)"; empty = the value).
    The planner renders them into Plan.reasons (installer/core/planner/decisions.py); code reads these."""

    topic: str
    value: str
    why: str
    label: str = ""


@dataclass
class Plan:
    method: str
    backend: str
    torch: str  # the exact version, "2.13.0", or "nightly"
    python: str  # "3.12"
    env: str  # the environment folder (venv or conda prefix)
    steps: list[Step] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    engine: str = "uv"
    python_executable: str | None = None  # the base interpreter; None when a managed one is provisioned
    env_python: str = ""  # the interpreter inside the new environment
    packages: list[str] = field(default_factory=list)  # resolved requirement specs
    torch_index: str | None = None  # where the torch family comes from (URL or folder), None = default index
    expect: str = "cpu"  # the backend verification must see running
    download_mib: int | None = None
    disk_mib: int | None = None
    choices: dict[str, Any] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)

    def torch_from_folder(self) -> bool:
        """PyTorch comes from a folder of wheel files on this computer: none of it is downloaded."""
        source = str(self.choices.get("torch_source", "pytorch") or "pytorch")
        return source not in ("pytorch", "pypi") and "://" not in source

    def decision(self, topic: str) -> Decision | None:
        """The planner's decision on `topic` ("backend", "python", "release", …), or None if it made none."""
        return next((d for d in self.decisions if d.topic == topic), None)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names and k not in ("steps", "decisions")}
        decisions = [Decision(**{k: v for k, v in d.items() if k in ("topic", "value", "why", "label")})
                     for d in data.get("decisions", []) if isinstance(d, dict)]
        return cls(steps=[Step.from_json(s) for s in data.get("steps", [])], decisions=decisions, **values)
