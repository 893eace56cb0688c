"""Torch Setup's own settings that stick: a machine-wide file (lab images), a user file, TORCH_SETUP_*
variables and flags, with precedence flag > variable > user file > machine file > default.

The CLI and the wizard read the same files. `torch-setup config` shows each effective value and its origin.
The machine file may later hold a [policy] table (issue 12: values an administrator locks); it is read
and kept apart here (`Settings.policy`) so that adding locks does not change how plain settings load.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer.core import paths
from installer.core.netconfig import Sourced
from installer.core.plan import ChoiceError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MAX_CONFIG_BYTES = 64 * 1024
MACHINE_CONFIG_VAR = "TORCH_SETUP_MACHINE_CONFIG"  # moves the machine file (tests, unusual images)


@dataclass(frozen=True)
class Key:
    name: str  # the key in config.toml; the Choices field of the same name where there is one
    kind: str  # "url" | "file" | "folder" | "engine" | "bool" | "proxy"
    help: str

    @property
    def variable(self) -> str:
        return "TORCH_SETUP_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


KEYS: tuple[Key, ...] = (
    Key("torch_index_url", "url", "mirror of PyTorch's wheel index (its root; per-backend paths are kept)"),
    Key("cert", "file", "a CA bundle (PEM) trusted in addition to the system's store"),
    Key("proxy", "proxy", "proxy for every download (http://[USER:PASSWORD@]HOST:PORT)"),
    Key("env_root", "folder", "the folder new environments go into"),
    Key("engine", "engine", "the install engine for the pip method: uv or pip"),
    Key("offline", "bool", "never touch the network"),
)
KEY_NAMES = tuple(k.name for k in KEYS)
_DEFAULTS: dict[str, Any] = {"torch_index_url": None, "cert": None, "proxy": None, "env_root": None,
                             "engine": "uv", "offline": False}


def machine_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(MACHINE_CONFIG_VAR):
        return Path(env[MACHINE_CONFIG_VAR])
    if sys.platform == "win32":
        return Path(env.get("PROGRAMDATA", r"C:\ProgramData")) / "Torch Setup" / "config.toml"
    if sys.platform == "darwin":
        return Path("/Library/Application Support/Torch Setup/config.toml")
    return Path("/etc/torch-setup/config.toml")


def user_config_path() -> Path:
    return paths.config_dir() / "config.toml"


@dataclass
class Settings:
    values: dict[str, Sourced] = field(default_factory=dict)  # only the keys something set
    policy: dict[str, Any] = field(default_factory=dict)  # the machine file's [policy] table (issue 12)
    files: list[tuple[str, Path, bool]] = field(default_factory=list)  # (level, path, exists)

    def get(self, name: str) -> Any:
        item = self.values.get(name)
        return item.value if item else _DEFAULTS[name]

    def origin(self, name: str) -> str:
        item = self.values.get(name)
        return item.origin if item else "default"

    def sourced(self, name: str) -> Sourced | None:
        return self.values.get(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "settings": {k.name: {"value": self.get(k.name), "origin": self.origin(k.name)} for k in KEYS},
            "files": [{"level": level, "path": str(p), "exists": exists} for level, p, exists in self.files],
        }


def check_value(key: Key, value: Any, where: str) -> Any:
    """The value in its proper type, or ChoiceError with one sentence naming where it came from."""
    from installer.core.inputs import check_path, check_url

    if key.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.strip().lower() in ("1", "true", "yes", "on")
        raise ChoiceError(f"{key.name} in {where} must be true or false.")
    if not isinstance(value, str) or not value.strip():
        raise ChoiceError(f"{key.name} in {where} must be a non-empty string.")
    value = value.strip()
    if key.kind == "engine":
        if value not in ("uv", "pip"):
            raise ChoiceError(f"engine in {where} is {value!r}: choose uv or pip.")
    elif key.kind in ("url", "proxy"):
        parts = check_url(value if "://" in value or key.kind == "url" else f"http://{value}", f"{key.name} in {where}")
        allowed = ("http", "https", "file") if key.kind == "url" else ("http", "https", "socks5", "socks5h")
        if parts.scheme not in allowed or not (parts.hostname or parts.scheme == "file"):
            from installer.core.redact import redact_url

            raise ChoiceError(f"{key.name} in {where} ({redact_url(value)}) is not an "
                              f"{'http(s) or file' if key.kind == 'url' else 'http(s) or socks5'} URL.")
    elif key.kind == "file":
        check_path(value, f"{key.name} in {where}")
        if not Path(value).expanduser().is_file():
            raise ChoiceError(f"The {key.name} file {value} named in {where} does not exist.")
        value = str(Path(value).expanduser())
    elif key.kind == "folder":
        check_path(value, f"{key.name} in {where}")
        value = str(Path(value).expanduser())
    return value


def read_file(path: Path, level: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(settings, [policy] table) of one config file; {} when it does not exist. A file that exists but
    is unreadable, not TOML or has an unknown key is a ChoiceError (exit 2): a typo must not be ignored."""
    where = f"the {level} config file {path}"
    try:
        if not path.exists():
            return {}, {}
        if not path.is_file():
            raise ChoiceError(f"The {level} config file {path} is not a file.")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ChoiceError(f"The {level} config file {path} is larger than 64 KiB.")
        raw = path.read_bytes()
    except OSError as exc:
        raise ChoiceError(f"The {level} config file {path} cannot be read: {exc.strerror or exc}.") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ChoiceError(f"The {level} config file {path} is not UTF-8 text.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ChoiceError(f"The {level} config file {path} is not valid TOML: {exc}.") from None
    except RecursionError:
        raise ChoiceError(f"The {level} config file {path} is nested too deeply.") from None
    policy = data.pop("policy", {})
    if not isinstance(policy, dict):
        raise ChoiceError(f"[policy] in {where} must be a table.")
    if policy and level != "machine":
        raise ChoiceError(f"A [policy] table belongs in the machine-wide config file, not in {where}.")
    unknown = sorted(set(data) - set(KEY_NAMES))
    if unknown:
        raise ChoiceError(f"Unknown key {unknown[0]!r} in {where}; known keys: {', '.join(KEY_NAMES)}.")
    by_name = {k.name: k for k in KEYS}
    return {name: check_value(by_name[name], value, where) for name, value in data.items()}, policy


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Machine file, then user file, then TORCH_SETUP_* variables (later wins). Flags are applied by the
    caller on top (they win over everything)."""
    env = os.environ if env is None else env
    settings = Settings()
    machine = machine_config_path(env)
    user = user_config_path()
    for level, path in (("machine", machine), ("user", user)):
        values, policy = read_file(path, level)
        settings.files.append((level, path, path.is_file()))
        if level == "machine":
            settings.policy = policy
        for name, value in values.items():
            settings.values[name] = Sourced(value, str(path))
    for key in KEYS:
        raw = env.get(key.variable)
        if raw is not None and raw.strip():
            settings.values[key.name] = Sourced(check_value(key, raw, key.variable), key.variable)
    return settings


def render_lines(settings: Settings) -> list[str]:
    """`torch-setup config` for a person: each key, its effective value and where it came from."""
    from installer.core.redact import redact_url

    lines = ["Torch Setup settings (flag > variable > user file > machine file > default):"]
    for key in KEYS:
        value = settings.get(key.name)
        shown = "-" if value is None else ("true" if value is True else "false" if value is False else str(value))
        if key.kind in ("url", "proxy") and value:
            shown = redact_url(shown)
        lines.append(f"  {key.name:<16} {shown:<40} ({settings.origin(key.name)})")
    lines.append("")
    lines.append("Files:")
    for level, path, exists in settings.files:
        lines.append(f"  {level:<8} {path}{'' if exists else '  (not present)'}")
    lines.append(f"Variables: {', '.join(k.variable for k in KEYS)}")
    return lines


@dataclass
class Applied:
    """What apply() decided: the settings, where each choice came from, and the network configuration."""

    settings: Settings
    origins: dict[str, str]  # Choices field -> "--flag", a variable or a config file
    net: Any  # netconfig.NetConfig

    def apply_to_plan(self, plan: Any) -> None:
        from installer.core import netconfig

        mirror = None
        url = plan.choices.get("torch_index_url") if isinstance(plan.choices, dict) else None
        if url:
            mirror = Sourced(url, self.origins.get("torch_index_url", "--torch-index-url"))
        netconfig.apply_to_plan(plan, self.net, mirror=mirror, engine_origin=self.origins.get("engine"))


def apply(choices: Any, explicit: set[str], env: Mapping[str, str] | None = None,
          explicit_origin: str | None = None) -> Applied:
    """Fill `choices` from the settings where the user gave nothing explicit, then set up this process's
    network use (trust, proxies, mirror) from them. ChoiceError (exit 2) for a bad config file.
    `explicit_origin` names where explicit values came from when not from flags (the wizard's page)."""
    from installer.core import netconfig

    current = load(env)
    origins: dict[str, str] = {}
    for key in KEYS:
        if key.name in explicit:
            origins[key.name] = explicit_origin or key.flag
            continue
        item = current.sourced(key.name)
        if item is None:
            continue
        origins[key.name] = item.origin
        if key.name == "env_root":
            paths.set_env_root(Path(item.value))
        else:
            setattr(choices, key.name, item.value)
    cert = Sourced(choices.cert, origins.get("cert", "--cert")) if choices.cert else None
    proxy = Sourced(choices.proxy, origins.get("proxy", "--proxy")) if choices.proxy else None
    net = netconfig.load(cert=cert, proxy=proxy, offline=bool(choices.offline))
    netconfig.activate(net)
    netconfig.set_mirror(choices.torch_index_url, origins.get("torch_index_url", "--torch-index-url"))
    # Children (uv, pip, git) and urllib read proxies from the environment; so the credentials never
    # need to be written into a plan, a journal or a log.
    os.environ.update(netconfig.proxy_environment(net))
    return Applied(current, origins, net)
