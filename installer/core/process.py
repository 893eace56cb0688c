"""Child processes: a clean environment and the keyword arguments every subprocess gets.

In a frozen app the bootloader puts its own library paths and _PYI_* variables into the environment;
a system Python or conda started from it must not see them (DESIGN.md: a frozen app is not Python).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

IS_WINDOWS = sys.platform == "win32"
FROZEN = bool(getattr(sys, "frozen", False))

# Variables that make a child Python look at the wrong place or the bundle's libraries.
_DROP_ALWAYS = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__",
                "VIRTUAL_ENV", "CONDA_PREFIX", "PIP_REQUIRE_VIRTUALENV", "PYTHONNOUSERSITE")
_LIBRARY_PATH_VARS = ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "DYLD_FRAMEWORK_PATH", "DYLD_FALLBACK_LIBRARY_PATH")
# Set by PyInstaller's PySide6 run-time hook to folders inside the bundle; a Qt program we start (a conda
# GUI, an IDE) would load our plugins instead of its own.
_BUNDLE_QT_VARS = ("QT_PLUGIN_PATH", "QML2_IMPORT_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH")


def _inside(path: str, root: str) -> bool:
    """path is root or below it (case-insensitive on Windows; no file-system access)."""
    norm = os.path.normcase(os.path.normpath(path))
    top = os.path.normcase(os.path.normpath(root))
    return norm == top or norm.startswith(top.rstrip(os.sep) + os.sep)


def _without_bundle(value: str, bundle: str) -> str:
    return os.pathsep.join(p for p in value.split(os.pathsep) if p and not _inside(p, bundle))


def clean_env(extra: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: unbuffered UTF-8 Python, no bundle or venv leaks."""
    env = dict(os.environ if base is None else base)
    bundle = getattr(sys, "_MEIPASS", None)
    for var in _LIBRARY_PATH_VARS:
        original = env.pop(var + "_ORIG", None)  # PyInstaller saves the user's value here
        if original is not None:
            env[var] = original
        elif FROZEN or var.startswith("DYLD"):
            env.pop(var, None)
    for key in list(env):
        if key.startswith("_PYI_") or key.startswith("_MEIPASS") or key in _DROP_ALWAYS:
            env.pop(key, None)
    if bundle:
        for var in (*_BUNDLE_QT_VARS, *_LIBRARY_PATH_VARS):
            if var in env:
                kept = _without_bundle(env[var], bundle)
                if kept:
                    env[var] = kept
                else:
                    env.pop(var)
        # Windows: the PySide6 hook prepends the bundle to PATH; Windows compares paths case-insensitively.
        for key in [k for k in env if k.upper() == "PATH"]:
            env[key] = _without_bundle(env[key], bundle)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUTF8"] = "1"
    if extra:
        env.update(extra)
    return env


def popen_kwargs() -> dict[str, Any]:
    """Platform keyword arguments: no console window on Windows, own process group elsewhere."""
    if IS_WINDOWS:
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        return {"creationflags": flags}
    return {"start_new_session": True}


@dataclass
class Completed:
    argv: list[str]
    returncode: int | None  # None: it could not start, or timed out
    stdout: str
    stderr: str
    error: str | None = None  # why it did not run to completion

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_captured(argv: Sequence[str], timeout: float = 10.0, env: Mapping[str, str] | None = None,
                 cwd: str | None = None) -> Completed:
    """Run a short command and capture its output. Never raises for a missing or hanging program."""
    args = [str(a) for a in argv]
    try:
        proc = subprocess.run(
            args, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout,
            env=clean_env(env), cwd=cwd, stdin=subprocess.DEVNULL, **popen_kwargs(),
        )
    except FileNotFoundError:
        return Completed(args, None, "", "", f"{args[0]} not found")
    except PermissionError:
        return Completed(args, None, "", "", f"{args[0]} is not executable")
    except subprocess.TimeoutExpired:
        return Completed(args, None, "", "", f"{args[0]} did not answer within {timeout:g} s")
    except OSError as exc:
        return Completed(args, None, "", "", f"{args[0]} could not start: {exc.strerror or exc}")
    return Completed(args, proc.returncode, proc.stdout or "", proc.stderr or "")
