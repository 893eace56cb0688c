"""Locked installs: the exact packages of a plan as a PEP 751 `pylock.toml` (made by `uv pip compile`), and
the plan rewritten to install exactly what a lock names (`plan --lock`, `install --lock`, bundles)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer.core.plan import ChoiceError, Plan, Step

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

MAX_LOCK_BYTES = 4 * 1024 * 1024
COMPILE_SECONDS = 600.0

# uv's target triples for the platforms PyTorch publishes for (catalog.platform_key).
UV_PLATFORMS = {
    "linux-x86_64": "x86_64-unknown-linux-gnu",
    "linux-arm64": "aarch64-unknown-linux-gnu",
    "windows-x86_64": "x86_64-pc-windows-msvc",
    "windows-arm64": "aarch64-pc-windows-msvc",
    "macos-arm64": "aarch64-apple-darwin",
    "macos-x86_64": "x86_64-apple-darwin",
}

# Options of `uv pip install` / `pip install` that the planner writes and that take a value: what is
# neither an option nor such a value in an install step is a requirement.
_VALUE_OPTIONS = {"--python", "--index-url", "--extra-index-url", "--find-links", "-f", "--trusted-host",
                  "--allow-insecure-host", "--progress-bar", "--cert", "--proxy", "-c", "--constraint",
                  "--index-strategy", "--keyring-provider", "--default-index", "--index"}


class LockError(ChoiceError):
    """A lock that cannot be made or read (one sentence; exit 2)."""


@dataclass
class LockedPackage:
    name: str
    version: str
    url: str | None  # where the lock says the wheel is (an https URL), or
    path: str | None  # a local wheel file
    sha256: str | None
    filename: str | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "url": self.url, "path": self.path,
                "sha256": self.sha256, "filename": self.filename}


def _install_words(plan: Plan) -> Iterator[tuple[str, str]]:
    """Every word after `install` in the plan's install steps, in order: (option, its value) for an option
    that takes one, (flag, "") for another option, ("", requirement) for a requirement."""
    for step in plan.steps:
        if step.kind != "install":
            continue
        argv = [str(a) for a in step.argv]
        words = iter(argv[argv.index("install") + 1:] if "install" in argv else [])
        for arg in words:
            if arg in _VALUE_OPTIONS:
                value = next(words, None)
                if value is not None:
                    yield arg, value
            elif arg.startswith("-"):
                yield arg, ""
            else:
                yield "", arg


def requirements_of(plan: Plan) -> list[str]:
    """The requirements the plan's install steps name, in order, each once (file URLs for a wheel folder)."""
    found: list[str] = []
    for option, value in _install_words(plan):
        if not option and value not in found:
            found.append(value)
    # A pin that only keeps a family member in a later step ("torch==2.13.0+cpu") repeats the file URL
    # of the first step: keep the file.
    named = {r.split(" @ ", 1)[0].strip().lower() for r in found if " @ " in r}
    return [r for r in found if " @ " in r or r.split("==", 1)[0].strip().lower() not in named]


def sources_of(plan: Plan) -> list[str]:
    """uv options that let the resolver see where the install takes packages from (the plan's indexes,
    wheel folders, constraints and trusted hosts, as its install steps give them)."""
    pairs: list[tuple[str, str]] = []
    flags: list[str] = []
    for option, value in _install_words(plan):
        if option in _VALUE_OPTIONS and option not in ("--python", "--progress-bar"):
            # uv searches an extra index first: the torch build's index wins for the torch family,
            # the default index serves the rest (the planner's two steps, as one resolution).
            pair = ("--extra-index-url" if option == "--index-url" else option, value)
            if pair not in pairs:
                pairs.append(pair)
        elif option in ("--pre", "--no-index") and option not in flags:
            flags.append(option)
    return flags + [word for pair in pairs for word in pair]


def compile_argv(plan: Plan, uv: str, platform: str, output: Path, offline: bool = False) -> list[str]:
    """`uv pip compile` that writes the plan's packages, resolved for `platform` and the plan's Python."""
    if plan.method != "pip":
        raise LockError("A lock can be made for the pip method only: conda and source builds have no pylock.toml.")
    triple = UV_PLATFORMS.get(platform)
    if triple is None:
        raise LockError(f"Torch Setup cannot lock packages for {platform}: it knows "
                        f"{', '.join(sorted(UV_PLATFORMS))}.")
    python = plan.python.rstrip("t")
    return [uv, "pip", "compile", "-", "--format", "pylock.toml", "-o", str(output), "--quiet",
            "--python-version", python, "--python-platform", triple, "--no-header",
            *(["--offline"] if offline else []), *sources_of(plan)]


def check_lock_name(path: Path) -> None:
    """PEP 751 names a lock file pylock.toml or pylock.<name>.toml (and uv reads only those as locks)."""
    if not re.fullmatch(r"pylock(\.[^.]+)?\.toml", path.name):
        raise LockError(f"A lock file is named pylock.toml or pylock.NAME.toml (PEP 751), not {path.name}.")


def write_lock(plan: Plan, uv: str, platform: str, output: Path, offline: bool = False) -> list[LockedPackage]:
    """Resolve the plan's packages and write `output` (pylock.toml); LockError with uv's reason on failure."""
    check_lock_name(output)
    import tempfile

    from installer.core import process

    output.parent.mkdir(parents=True, exist_ok=True)
    # The requirements go in a file next to the lock (uv reads requirement files); it is removed after.
    fd, name = tempfile.mkstemp(prefix=".lock-input-", suffix=".txt", dir=output.parent)
    try:
        with open(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(requirements_of(plan)) + "\n")
        argv = compile_argv(plan, uv, platform, output, offline)
        argv[argv.index("-")] = name
        done = process.run_captured(argv, timeout=COMPILE_SECONDS)
    finally:
        Path(name).unlink(missing_ok=True)
    if not done.ok:
        text = done.stderr or done.error or ""
        last = [line.strip() for line in text.splitlines() if line.strip()][-3:]
        raise LockError(f"The packages could not be locked: {' '.join(last) or 'uv failed'}.")
    return read_lock(output)


def read_lock(path: Path) -> list[LockedPackage]:
    """The packages of a pylock.toml; LockError (one sentence) when it is not one."""
    try:
        if path.stat().st_size > MAX_LOCK_BYTES:
            raise LockError(f"The lock file {path} is larger than {MAX_LOCK_BYTES // 1024 // 1024} MB.")
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise LockError(f"The lock file {path} cannot be read: {exc.strerror or exc}.") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LockError(f"The lock file {path} is not a pylock.toml: {exc}.") from None
    if not isinstance(data, dict) or not str(data.get("lock-version", "")).startswith("1."):
        raise LockError(f"The lock file {path} is not a pylock.toml (no lock-version 1.x).")
    packages: list[LockedPackage] = []
    for entry in data.get("packages", []):
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("version"):
            raise LockError(f"The lock file {path} has a package without a name and version.")
        wheels = entry.get("wheels") or []
        archive = entry.get("archive")
        source = wheels[0] if wheels and isinstance(wheels[0], dict) else archive if isinstance(archive, dict) else {}
        if not source:
            raise LockError(f"The lock file {path} has no wheel for {entry['name']}: only wheels can be locked.")
        url, local = source.get("url"), source.get("path")
        where = str(url or local or "")
        hashes = source.get("hashes") or {}
        packages.append(LockedPackage(str(entry["name"]), str(entry["version"]), url, local,
                                      hashes.get("sha256"), where.rsplit("/", 1)[-1] or None))
    if not packages:
        raise LockError(f"The lock file {path} names no packages.")
    return packages


def pinned_requirements(packages: list[LockedPackage]) -> str:
    """A requirements file of exact pins with their hashes: what an offline install from a bundle reads."""
    lines = []
    for p in packages:
        line = f"{p.name}=={p.version}"
        if p.sha256:
            line += f" --hash=sha256:{p.sha256}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def lock_plan(plan: Plan, requirements: Path, *, offline: bool = False, find_links: str | None = None,
              pinned: bool = False) -> None:
    """Replace the plan's install steps with one that installs exactly `requirements` (a pylock.toml, or
    with `pinned` a requirements file of hashed pins, installed from `find_links` with no index)."""
    installs = [i for i, s in enumerate(plan.steps) if s.kind == "install"]
    if not installs or plan.method != "pip" or not plan.env_python:
        raise LockError("A lock can be installed with the pip method only.")
    first = plan.steps[installs[0]]
    uv = str(first.argv[0])
    if not uv.endswith(("uv", "uv.exe", "{uv}")):
        raise LockError("A lock is installed with uv: choose --engine uv.")
    argv = [uv, "pip", "install", "--python", plan.env_python]
    if offline:
        argv.append("--offline")
    if pinned:
        argv += ["--no-index", "--no-deps", "--require-hashes"]
    if find_links:
        argv += ["--find-links", find_links]
    argv += ["-r", str(requirements)]
    step = Step(name="Install the locked packages", argv=argv, kind="install",
                description=f"Installs exactly the packages and versions of {requirements}.",
                progress="uv", retries=0 if offline else first.retries, env=dict(first.env))
    plan.steps[installs[0]] = step
    for index in reversed(installs[1:]):
        del plan.steps[index]
    plan.reasons.append(f"Locked: exactly the versions in {requirements}.")
