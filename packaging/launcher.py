"""Start of the Linux one-file binary: run the app from a versioned cache folder, unpacked once.

A PyInstaller one-file app unpacks its whole bundle (about 117 MB) at every launch, which was most of
its 1.9 s to first paint. This file is a tiny one-file program instead (standard library only) with the
real app, a onedir build, appended to it as a zip (build.spec). The first launch unpacks that zip into
<cache>/torch-setup/app/<version>-<hash>/ -- into a private temporary folder first, stamped, then renamed
into place in one step, so a folder with the right name is always complete and two launches at once never
see half an app. Every later launch checks the stamp and starts the app from there directly (exec).
When the cache cannot be written (read-only, full, not ours), the app is unpacked into a temporary folder
for this run only and removed afterwards: the plain one-file behaviour.

Standard library only, and no import of the app: whatever this file imports is unpacked at every launch.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SECTION = "tspayload"  # the ELF section that holds the app zip
ID_ENTRY = "TORCH_SETUP_PAYLOAD_ID"  # zip entry: "<version>-<hash of the payload>"
STAMP = ".torch-setup-unpacked"  # written last into a complete folder; holds the id
APP_EXE = "torch-setup"  # the onedir app's executable, at the top of the payload
_BOOTLOADER_VARS = ("_PYI_", "_MEIPASS")


def cache_root(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """Where unpacked apps live: TORCH_SETUP_HOME/cache/app, else $XDG_CACHE_HOME (~/.cache)/torch-setup/app
    -- the same folder installer.core.paths.cache_dir() gives, plus "app"."""
    env = os.environ if environ is None else environ
    home = env.get("TORCH_SETUP_HOME")
    if home:
        return Path(home).expanduser() / "cache" / "app"
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path(env.get("HOME") or os.path.expanduser("~")) / ".cache"
    return base / "torch-setup" / "app"


class _Window(io.RawIOBase):
    """A read-only view of bytes [start, start+size) of a file, for zipfile (which looks for its directory
    at the end of what it is given)."""

    def __init__(self, path: str, start: int, size: int) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed with the window
        self._start, self._size, self._pos = start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = max(0, min(len(buffer), self._size - self._pos))
        self._file.seek(self._start + self._pos)
        data = self._file.read(count)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def elf_section(path: str, name: str) -> tuple[int, int] | None:
    """(offset, size) of a section of a 64-bit little-endian ELF file, or None."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return None
        shoff, = struct.unpack_from("<Q", head, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", head, 0x3A)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        sections = [struct.unpack_from("<IIQQQQ", table, i * shentsize) for i in range(shnum)]
        names_at, names_size = sections[shstrndx][4], sections[shstrndx][5]
        f.seek(names_at)
        names = f.read(names_size)
        for name_at, _type, _flags, _addr, offset, size in sections:
            if names[name_at:names.index(b"\0", name_at)].decode("ascii", "replace") == name:
                return offset, size
    return None


def open_payload(path: str) -> zipfile.ZipFile:
    """The app zip inside this executable: its own ELF section (placed before PyInstaller's archive, whose
    bootloader searches backwards from the end of the file and would otherwise read the whole payload at
    every launch), or the whole file when the zip was simply appended."""
    found = elf_section(path, SECTION)
    if found is None:
        return zipfile.ZipFile(path)
    return zipfile.ZipFile(_Window(path, *found))  # type: ignore[arg-type]


def payload_id(archive: zipfile.ZipFile) -> str:
    ident = archive.read(ID_ENTRY).decode("ascii").strip()
    if not ident or "/" in ident or ident.startswith("."):
        raise ValueError(f"bad payload id {ident!r}")
    return ident


def is_ready(folder: Path, ident: str) -> bool:
    """A folder this launcher finished unpacking for exactly this payload."""
    try:
        return (folder / STAMP).read_text(encoding="ascii").strip() == ident and (folder / APP_EXE).is_file()
    except (OSError, UnicodeDecodeError):
        return False


def extract(archive: zipfile.ZipFile, dest: Path) -> None:
    """Unpack every entry with its permission bits and symlinks (zipfile alone drops both); refuses entries
    that would land outside dest."""
    root = dest.resolve()
    for info in archive.infolist():
        if info.filename == ID_ENTRY:
            continue
        target = (dest / info.filename).resolve()
        if root not in target.parents:
            raise ValueError(f"payload entry {info.filename!r} points outside the folder")
        mode = info.external_attr >> 16
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if stat.S_ISLNK(mode):
            link = archive.read(info).decode("utf-8")
            if os.path.isabs(link) or root not in (target.parent / link).resolve().parents:
                raise ValueError(f"payload link {info.filename!r} points outside the folder")
            os.symlink(link, target)
            continue
        with archive.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1024 * 1024)
        if mode & 0o777:
            os.chmod(target, mode & 0o777)


def unpack_into_cache(archive: zipfile.ZipFile, root: Path, ident: str) -> Path:
    """The ready folder for this payload under root, unpacking it when needed. Raises OSError when the
    cache cannot take it (read-only, full); leaves no partial folder behind."""
    final = root / ident
    if is_ready(final, ident):
        return final
    root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{ident}.partial-", dir=root))
    try:
        extract(archive, partial)
        (partial / STAMP).write_text(ident + "\n", encoding="ascii")
        try:
            os.rename(partial, final)  # atomic: the name appears only with a complete, stamped folder
        except OSError:
            if is_ready(final, ident):  # another launch finished first: use its folder
                shutil.rmtree(partial, ignore_errors=True)
                return final
            if final.exists() or final.is_symlink():  # damaged (no stamp, or another id): set aside, retry
                aside = Path(tempfile.mkdtemp(prefix=f".{ident}.damaged-", dir=root))
                os.rename(final, aside / "app")
                shutil.rmtree(aside, ignore_errors=True)
            os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def app_environment(environ: dict[str, str] | os._Environ[str] | None = None) -> dict[str, str]:
    """The environment for the app: what the user had, without this launcher's bootloader settings (the
    app's own bootloader would take them as its own)."""
    env = dict(os.environ if environ is None else environ)
    for var in ("LD_LIBRARY_PATH",):
        original = env.pop(var + "_ORIG", None)
        if original is not None:
            env[var] = original
        else:
            env.pop(var, None)
    for key in list(env):
        if key.startswith(_BOOTLOADER_VARS):
            env.pop(key)
    return env


def run_once_from_temp(archive: zipfile.ZipFile, argv: list[str]) -> int:
    """The plain one-file way: unpack into a temporary folder for this run, run the app, remove it."""
    folder = Path(tempfile.mkdtemp(prefix="torch-setup-"))
    try:
        extract(archive, folder)
        archive.close()
        proc = subprocess.Popen([str(folder / APP_EXE), *argv], env=app_environment())

        def forward(signum: int, _frame: object) -> None:
            proc.send_signal(signum)  # Ctrl-C, a logout, a kill: the app decides how to stop

        for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"):
            signal.signal(getattr(signal, name), forward)
        return proc.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None, executable: str | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    archive = open_payload(executable or sys.executable)  # the payload is inside this very file
    ident = payload_id(archive)
    try:
        folder = unpack_into_cache(archive, cache_root(), ident)
    except (OSError, ValueError) as exc:
        print(f"torch-setup: cannot keep the app in the cache ({exc}); unpacking it for this run only.",
              file=sys.stderr)
        return run_once_from_temp(archive, argv)
    archive.close()
    app = str(folder / APP_EXE)
    os.execve(app, [app, *argv], app_environment())  # the app takes this process over: pid, signals, exit code
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
