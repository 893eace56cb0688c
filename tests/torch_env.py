"""A real environment with the real torch 2.13.0 CPU wheel, for tests that must run torch.

`ensure_torch_env(root)` creates `root/env` with uv from a local wheel folder (no network): the folder
comes from TORCH_SETUP_TEST_WHEELS, else pip's `global.find-links`. Without a wheel folder or a
Python 3.11 the caller skips -- except in CI (CI=true), where a missing prerequisite is a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

TORCH_VERSION = "2.13.0"


class TorchEnvUnavailable(RuntimeError):
    """What is missing to build the environment (tests skip on it, or fail in CI)."""


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def wheel_folder() -> Path | None:
    # pip's find-links as pip reads it: the variable first, then its config (the dev venv may have no pip)
    value = os.environ.get("TORCH_SETUP_TEST_WHEELS") or os.environ.get("PIP_FIND_LINKS", "").split(" ")[0]
    if not value:
        # A venv made by uv has no pip of its own: ask the system's pip for the same configuration then.
        for python in (sys.executable, shutil.which("python3") or "python3"):
            try:
                done = subprocess.run([python, "-m", "pip", "config", "get", "global.find-links"],
                                      capture_output=True, text=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                continue
            value = done.stdout.strip().split()[0] if done.returncode == 0 and done.stdout.strip() else ""
            if value:
                break
    if not value:
        return None
    folder = Path(value.removeprefix("file://"))
    if not any(folder.glob(f"torch-{TORCH_VERSION}*cp311*.whl")):
        return None
    return folder


def python311() -> str | None:
    """A CPython 3.11 (checked by running it): python3.11 on PATH, else pyenv's."""
    found = shutil.which("python3.11")
    pyenv = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11*/bin/python3.11")), reverse=True)
    # A pyenv shim answers only when pyenv's configuration allows it: prefer the interpreter behind it.
    candidates = ([found] if found and "shims" not in found else []) + pyenv + ([found] if found else [])
    for candidate in candidates:
        try:
            out = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.stdout.strip() == "True":
            return candidate
    return None


def uv_bin() -> str:
    from uv import find_uv_bin  # the uv package in the dev environment

    return str(find_uv_bin())


def env_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def make_env(root: Path, name: str = "env", with_torch: bool = True) -> Path:
    """A fresh venv under root/name (torch installed from the wheel folder when asked). Returns its python."""
    py = python311()
    if py is None:
        raise TorchEnvUnavailable("no Python 3.11 found (python3.11 on PATH or ~/.pyenv/versions/3.11*)")
    env = root / name
    uv = uv_bin()
    subprocess.run([uv, "venv", "-q", "-p", py, str(env)], check=True, capture_output=True, timeout=300)
    if with_torch:
        wheels = wheel_folder()
        if wheels is None:
            raise TorchEnvUnavailable(f"no folder with the torch {TORCH_VERSION} cp311 wheel "
                                      "(set TORCH_SETUP_TEST_WHEELS or pip's global.find-links)")
        done = subprocess.run([uv, "pip", "install", "-q", "--python", str(env_python(env)),
                               "--find-links", str(wheels), f"torch=={TORCH_VERSION}"],
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"installing torch failed:\n{done.stdout}\n{done.stderr}")
    return env_python(env)


def ensure_torch_env(tmp_root: Path) -> Path:
    """The python of an environment with torch 2.13.0 (CPU) under tmp_root, made once per root."""
    python = env_python(tmp_root / "env")
    if python.exists():
        return python
    return make_env(tmp_root, "env", with_torch=True)
