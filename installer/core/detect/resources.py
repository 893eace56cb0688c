"""Memory and free disk where the environment, the temp files and the download cache will go."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from installer.core import paths
from installer.core.report import DiskInfo, ResourceInfo

MIB = 1024 * 1024


def nearest_existing(path: str | os.PathLike[str]) -> Path:
    """The folder itself, or its nearest existing parent (the env folder usually does not exist yet)."""
    p = Path(path).expanduser().absolute()
    while not p.exists() and p.parent != p:
        p = p.parent
    return p


def disk_info(purpose: str, path: str | os.PathLike[str], usage: Callable[[str], Any] | None = None) -> DiskInfo:
    import psutil

    usage = usage or psutil.disk_usage
    where = nearest_existing(path)
    try:
        result = usage(str(where))
        return DiskInfo(purpose=purpose, path=str(Path(path).expanduser()), free_mib=int(result.free) // MIB,
                        total_mib=int(result.total) // MIB)
    except OSError:
        return DiskInfo(purpose=purpose, path=str(Path(path).expanduser()), free_mib=None)


def detect_resources(env_dir: str | None = None) -> ResourceInfo:
    import psutil

    env = env_dir or str(paths.default_env_root())
    return ResourceInfo(
        ram_mib=int(psutil.virtual_memory().total) // MIB,
        disks=[
            disk_info("env", env),
            disk_info("temp", tempfile.gettempdir()),
            disk_info("cache", str(paths.cache_dir())),
        ],
    )
