"""An administrator's locks: the machine config file's [policy] table (a lab image, a campus pool).

    [policy]
    torch_versions = ["2.13"]        # releases allowed (X.Y or X.Y.Z; "2.13" allows 2.13.*)
    backends = ["cpu", "cu126"]      # builds allowed
    methods = ["pip"]                # install methods allowed
    source_builds = false            # the same as leaving "source" out of methods
    env_root = "/opt/envs"           # environments only under this folder
    torch_index_url = "https://mirror.example/whl"   # the only PyTorch index (mirror) allowed
    index_url = "https://mirror.example/simple"      # the only index for the other packages
    telemetry = false                # Torch Setup sends none; accepted so images can state it

A choice that breaks a lock is refused (exit 2) with the reason; a locked value the user did not give is
filled in. The wizard greys locked fields with "set by your administrator" (locked_fields()).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from installer.core.plan import ChoiceError

KEYS = ("torch_versions", "backends", "methods", "source_builds", "env_root", "torch_index_url", "index_url",
        "telemetry")
ADMIN = "set by your administrator"


def _list(policy: dict[str, Any], key: str, where: str) -> list[str] | None:
    value = policy.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ChoiceError(f"[policy] {key} in {where} must be a non-empty list of strings.")
    return [v.strip() for v in value]


def check_policy(policy: dict[str, Any], where: str) -> None:
    unknown = sorted(set(policy) - set(KEYS))
    if unknown:
        raise ChoiceError(f"[policy] in {where} has unknown keys ({', '.join(unknown)}); known: {', '.join(KEYS)}.")
    for key in ("torch_versions", "backends", "methods"):
        _list(policy, key, where)
    for key in ("source_builds", "telemetry"):
        if key in policy and not isinstance(policy[key], bool):
            raise ChoiceError(f"[policy] {key} in {where} must be true or false.")
    for key in ("env_root", "torch_index_url", "index_url"):
        if key in policy and (not isinstance(policy[key], str) or not policy[key].strip()):
            raise ChoiceError(f"[policy] {key} in {where} must be a non-empty string.")


def _version_allowed(version: str, allowed: list[str]) -> bool:
    parts = version.split("+", 1)[0].split(".")
    return any(parts[: len(a.split("."))] == a.split(".") for a in allowed)


def _refuse(what: str, allowed: str, where: str) -> ChoiceError:
    return ChoiceError(f"{what} is not allowed by your administrator's policy ({where} [policy] allows {allowed}).")


def enforce_choices(choices: Any, policy: dict[str, Any], explicit: set[str], where: str) -> None:
    """Refuse a choice that breaks a lock; fill locked values nobody chose. ChoiceError (exit 2)."""
    if not policy:
        return
    check_policy(policy, where)
    methods = _list(policy, "methods", where)
    if policy.get("source_builds") is False:
        methods = [m for m in (methods or ["pip", "conda", "source"]) if m != "source"]
    if methods is not None and choices.method not in methods:
        raise _refuse(f"The method {choices.method}", ", ".join(methods), where)
    versions = _list(policy, "torch_versions", where)
    if versions and choices.torch not in ("latest",) and not _version_allowed(choices.torch, versions):
        raise _refuse(f"torch {choices.torch}", ", ".join(versions), where)
    backends = _list(policy, "backends", where)
    if backends and choices.backend != "auto" and choices.backend not in backends:
        raise _refuse(f"The {choices.backend} build", ", ".join(backends), where)
    for key in ("torch_index_url", "index_url"):
        locked = policy.get(key)
        if locked is None:
            continue
        if key in explicit and getattr(choices, key) not in (None, locked):
            raise _refuse(f"--{key.replace('_', '-')} {getattr(choices, key)}", f"only {locked}", where)
        setattr(choices, key, locked)
    root = policy.get("env_root")
    if root and choices.env and not _under(choices.env, root):
        raise _refuse(f"The environment folder {choices.env}", f"environments under {root} only", where)
    if root:
        from installer.core import paths

        paths.set_env_root(Path(root).expanduser())  # named envs and the default go under it


def enforce_plan(plan: Any, policy: dict[str, Any], where: str, elsewhere: bool = False) -> None:
    """What the planner chose with "latest" and "auto" must be allowed too. A plan for another machine
    (`--system`) keeps that machine's folders: the env_root lock applies where it is installed."""
    if not policy:
        return
    versions = _list(policy, "torch_versions", where)
    if versions and plan.torch and not _version_allowed(str(plan.torch), versions):
        raise _refuse(f"torch {plan.torch} (the newest that fits)", ", ".join(versions) + "; choose one with --torch",
                      where)
    backends = _list(policy, "backends", where)
    if backends and plan.backend not in backends:
        raise _refuse(f"The {plan.backend} build this machine needs", ", ".join(backends), where)
    root = policy.get("env_root")
    if root and plan.env and not elsewhere and not _under(str(plan.env), root):
        raise _refuse(f"The environment folder {plan.env}", f"environments under {root} only", where)


def _under(path: str, root: str) -> bool:
    try:
        Path(path).expanduser().resolve().relative_to(Path(root).expanduser().resolve())
        return True
    except ValueError:
        return False


def locked_fields(policy: dict[str, Any]) -> dict[str, str]:
    """Choices fields the wizard greys, with what it shows: "set by your administrator: cpu, cu126"."""
    shown: dict[str, str] = {}
    for key, field in (("torch_versions", "torch"), ("backends", "backend"), ("methods", "method")):
        value = policy.get(key)
        if value:
            shown[field] = f"{ADMIN}: {', '.join(value) if isinstance(value, list) else value}"
    if policy.get("source_builds") is False and "method" not in shown:
        shown["method"] = f"{ADMIN}: no source builds"
    for key, field in (("env_root", "env"), ("torch_index_url", "torch_index_url"), ("index_url", "index_url")):
        if policy.get(key):
            shown[field] = f"{ADMIN}: {policy[key]}"
    return shown


def current() -> tuple[dict[str, Any], str]:
    """(this machine's [policy] table, the file it is in); ({}, "") when there is none or it cannot be read
    (a broken file is reported where choices are checked, by enforce_choices)."""
    from installer.core import settings

    try:
        return settings.load().policy, str(settings.machine_config_path())
    except (ChoiceError, OSError):
        return {}, ""


def allowed_methods(policy: dict[str, Any]) -> list[str] | None:
    """The methods the policy allows, or None when it locks none."""
    methods = policy.get("methods")
    listed = [methods] if isinstance(methods, str) else list(methods) if isinstance(methods, list) else None
    if policy.get("source_builds") is False:
        return [m for m in (listed or ["pip", "conda", "source"]) if m != "source"]
    return listed


def version_allowed(version: str, policy: dict[str, Any]) -> bool:
    versions = policy.get("torch_versions")
    if not versions:
        return True
    return _version_allowed(version, [versions] if isinstance(versions, str) else list(versions))
