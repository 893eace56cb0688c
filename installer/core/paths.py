"""Where Torch Setup keeps things: config, cache, logs, journal and the default environments folder.

TORCH_SETUP_HOME, when set, moves all of them under one folder (tests and portable installs use it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "torch-setup"


def _home_override() -> Path | None:
    value = os.environ.get("TORCH_SETUP_HOME")
    return Path(value) if value else None


def config_dir() -> Path:
    home = _home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    home = _home_override()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    home = _home_override()
    return home / "logs" if home else Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    """Holds the journal of runs in progress (to find interrupted ones at the next start)."""
    home = _home_override()
    return home / "state" if home else Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


_ENV_ROOT: Path | None = None


def set_env_root(folder: Path | None) -> None:
    """The env_root setting (config file or TORCH_SETUP_ENV_ROOT) moves the default environments folder."""
    global _ENV_ROOT
    _ENV_ROOT = folder


def default_env_root() -> Path:
    """The folder new environments go into unless the user picks another: ~/torch-envs."""
    if _ENV_ROOT is not None:
        return _ENV_ROOT
    home = _home_override()
    return home / "envs" if home else Path.home() / "torch-envs"


def resources_dir() -> Path:
    """Find resources/ in a frozen app, an installed wheel or a source checkout, in that order."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    candidates = []
    if frozen_root:
        candidates.append(Path(frozen_root) / "resources")
    package_dir = Path(__file__).resolve().parent.parent  # installer/
    candidates.append(package_dir / "resources")  # wheel: installer/resources
    candidates.append(package_dir.parent / "resources")  # checkout: <repo>/resources
    for candidate in candidates:
        if (candidate / "catalog.json").is_file():
            return candidate
    raise FileNotFoundError("Torch Setup's resources folder is missing; reinstall Torch Setup.")


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
