"""Start-up fixes for the frozen (PyInstaller) app; each one is a no-op when running from Python.

A frozen app is not Python: sys.executable is the app itself, the bootloader changes the process's
library search path, and the windowed Windows build has no standard streams. The binary's entry script
(packaging/entry.py) calls prepare_frozen_runtime() before anything else.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# macOS apps started from Finder get PATH=/usr/bin:/bin:/usr/sbin:/sbin; Homebrew, python.org and conda
# installs live elsewhere, and detection would not see them.
MACOS_EXTRA_PATH = ("/opt/homebrew/bin", "/usr/local/bin", "/Library/Frameworks/Python.framework/Versions/Current/bin")


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def self_argv(module: str) -> list[str]:
    """The command that starts this Torch Setup again running `module`'s main: in a source checkout or a
    wheel, Python with -m; in the frozen app the app itself, which has no -m (None of its children may
    treat sys.executable as a Python: it is the app)."""
    if is_frozen():
        raise RuntimeError(f"{module} cannot be started as a separate process from the frozen app")
    return [sys.executable, "-m", module]


def bundle_dir() -> Path | None:
    """The folder the bundle's libraries and data live in (sys._MEIPASS), or None from Python."""
    root = getattr(sys, "_MEIPASS", None)
    return Path(root) if root else None


def extended_macos_path(path: str, extra: tuple[str, ...] = MACOS_EXTRA_PATH) -> str:
    """PATH with the usual macOS tool folders appended (never prepended: the user's order wins)."""
    parts = [p for p in path.split(os.pathsep) if p]
    for folder in extra:
        if folder not in parts:
            parts.append(folder)
    return os.pathsep.join(parts)


def _reset_windows_dll_directory(bundle: Path) -> None:
    """Undo the bootloader's SetDllDirectoryW(bundle) so child processes stop inheriting it.

    The bundle's folders are registered with os.add_dll_directory first: that search path is private
    to this process (children do not inherit it) and keeps extension modules imported later, such as
    PySide6 when the wizard opens, able to find the DLLs next to them.
    """
    import ctypes

    for folder in (bundle, bundle / "PySide6", bundle / "shiboken6"):
        if folder.is_dir():
            try:
                os.add_dll_directory(str(folder))  # type: ignore[attr-defined,unused-ignore]
            except OSError:
                pass
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    kernel32.SetDllDirectoryW.argtypes = [ctypes.c_wchar_p]
    kernel32.SetDllDirectoryW(None)


def _ensure_standard_streams() -> None:
    """The windowed Windows build starts with sys.stdout/stderr = None; print() would raise."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the app


def prepare_frozen_runtime() -> None:
    """Run once, first thing, in the frozen app's entry script."""
    import multiprocessing

    # Must run before anything else: a multiprocessing child of a frozen app re-executes the app.
    multiprocessing.freeze_support()
    if not is_frozen():
        return
    _ensure_standard_streams()
    bundle = bundle_dir()
    if sys.platform == "win32" and bundle is not None:
        _reset_windows_dll_directory(bundle)
    if sys.platform == "darwin":
        os.environ["PATH"] = extended_macos_path(os.environ.get("PATH", "/usr/bin:/bin:/usr/sbin:/sbin"))
