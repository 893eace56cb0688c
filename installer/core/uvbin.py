"""Where the uv binary is: bundled in the frozen app, installed with the `uv` package, or on PATH.

`uv.find_uv_bin()` looks next to the running Python (its scripts folders and the package's prefix).
In a frozen app there is no such Python: the spec puts uv at <bundle>/bin/uv[.exe], so look there first.
"""

from __future__ import annotations

import lzma
import os
import shutil
import sys
from pathlib import Path

UV_NAME = "uv.exe" if sys.platform == "win32" else "uv"


class UvNotFoundError(FileNotFoundError):
    """No uv binary anywhere: not bundled, not installed with the package, not on PATH."""


def bundled_uv() -> Path | None:
    """The uv binary inside a PyInstaller bundle, or None when not frozen or not bundled.

    The Linux one-file binary carries uv xz-compressed (bin/uv.xz): unpacking 38 MB at every launch
    would cost a third of a second before the wizard paints, so it is unpacked once, on first use,
    into the cache folder.
    """
    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle:
        return None
    candidate = Path(bundle) / "bin" / UV_NAME
    if candidate.is_file():
        return candidate
    packed = Path(bundle) / "bin" / (UV_NAME + ".xz")
    if packed.is_file():
        return unpack_uv(packed)
    return None


def unpack_uv(packed: Path, cache: Path | None = None) -> Path:
    """Decompress uv.xz into cache/uv-<app version>-<packed size>/uv once; later calls reuse it.

    Written to a temporary name and renamed, so a crash or a second process never sees half a binary.
    """
    from installer import __version__
    from installer.core import paths

    folder = (cache or paths.cache_dir()) / f"uv-{__version__}-{packed.stat().st_size}"
    target = folder / UV_NAME
    if target.is_file() and os.access(target, os.X_OK):
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{UV_NAME}.{os.getpid()}.partial"
    try:
        with lzma.open(packed, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        partial.chmod(0o755)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _package_uv() -> str | None:
    try:
        from uv import find_uv_bin
    except ImportError:
        return None
    try:
        path = find_uv_bin()
    except FileNotFoundError:  # uv.UvNotFound subclasses it
        return None
    return path if os.path.isfile(path) else None


def uv_executable() -> str:
    """Absolute path of the uv to run; raises UvNotFoundError with one sentence when there is none.

    Order: TORCH_SETUP_UV (an explicit override, e.g. an admin's pinned uv), the bundled binary of the
    frozen app, the `uv` package's binary, then `uv` on PATH.
    """
    override = os.environ.get("TORCH_SETUP_UV")
    if override:
        if os.path.isfile(override):
            return override
        raise UvNotFoundError(f"TORCH_SETUP_UV points to {override}, which is not a file.")
    bundled = bundled_uv()
    if bundled is not None:
        return str(bundled)
    # Frozen without a bundled uv: find_uv_bin() would only search the bundle's own folders.
    if not getattr(sys, "frozen", False):
        packaged = _package_uv()
        if packaged:
            return packaged
    on_path = shutil.which("uv")
    if on_path:
        return on_path
    raise UvNotFoundError("uv was not found: it is neither bundled nor installed; install it with `pip install uv`.")
