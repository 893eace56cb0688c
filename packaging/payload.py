"""Build side of the Linux one-file binary: the onedir app, zipped and appended to the launcher.

The result is one ELF file: the zip is an ELF section of its own just before PyInstaller's archive (the
bootloader finds that archive by searching backwards from the end of the file, so nothing big may follow
it), and packaging/launcher.py opens that section of its own executable as a zip. The payload id (version and a hash of
every path, mode and byte) names the cache folder, so a new build never reuses an old unpacked app.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

from launcher import ID_ENTRY, SECTION  # packaging/launcher.py: the one name both sides must agree on


def _entries(app_dir: Path) -> list[Path]:
    return sorted(p for p in app_dir.rglob("*") if p.is_symlink() or p.is_file())


def payload_id(app_dir: Path, version: str) -> str:
    digest = hashlib.sha256()
    for path in _entries(app_dir):
        rel = path.relative_to(app_dir).as_posix()
        info = path.lstat()
        digest.update(f"{rel}\0{stat.S_IMODE(info.st_mode):o}\0".encode())
        if path.is_symlink():
            digest.update(b"link\0" + os.readlink(path).encode())
        else:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1024 * 1024), b""):
                    digest.update(block)
    return f"{version}-{digest.hexdigest()[:16]}"


def write_payload(archive: zipfile.ZipFile, app_dir: Path, ident: str) -> None:
    for path in _entries(app_dir):
        rel = path.relative_to(app_dir).as_posix()
        info = path.lstat()
        entry = zipfile.ZipInfo(rel, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the same app, the same bytes
        entry.external_attr = (info.st_mode & 0xFFFF) << 16
        if path.is_symlink():
            archive.writestr(entry, os.readlink(path), compress_type=zipfile.ZIP_STORED)
        else:
            entry.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as src, archive.open(entry, "w") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
    archive.writestr(ID_ENTRY, ident + "\n")


def _pydata_is_last(path: Path) -> bool:
    """PyInstaller's archive must end the file's data (its bootloader searches from the end)."""
    from launcher import elf_section

    pydata, ours = elf_section(str(path), "pydata"), elf_section(str(path), SECTION)
    return pydata is not None and ours is not None and pydata[0] > ours[0]


def append_payload(launcher: Path, app_dir: Path, out: Path, version: str, *, section: bool = True) -> str:
    """out = launcher with zip(app_dir) inside; returns the payload id. Written beside out, renamed into place.

    section=True (the build): the zip becomes the ELF section `tspayload`, placed before PyInstaller's
    `pydata`, so the archive the bootloader looks for stays at the end of the file. section=False appends
    the zip to the file (tests, and any file that is not an ELF)."""
    ident = payload_id(app_dir, version)
    partial = out.with_name(out.name + ".partial")
    if section:
        work = out.with_name(out.name + ".parts")
        work.mkdir(exist_ok=True)
        try:
            with zipfile.ZipFile(work / "payload.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
                write_payload(archive, app_dir, ident)
            subprocess.run(["objcopy", "--dump-section", f"pydata={work / 'pydata'}", str(launcher)], check=True)
            # One section per call: objcopy does not keep the order of several --add-section options.
            subprocess.run(["objcopy", "--remove-section", "pydata", "--add-section",
                            f"{SECTION}={work / 'payload.zip'}", str(launcher), str(work / "bare")], check=True)
            subprocess.run(["objcopy", "--add-section", f"pydata={work / 'pydata'}", str(work / "bare"),
                            str(partial)], check=True)
            if not _pydata_is_last(partial):
                raise RuntimeError("objcopy did not put PyInstaller's archive at the end of the file")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    else:
        shutil.copyfile(launcher, partial)
        with zipfile.ZipFile(partial, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            write_payload(archive, app_dir, ident)
    partial.chmod(0o755)
    if out.is_dir():  # an earlier --onedir build left a folder of this name
        shutil.rmtree(out)
    os.replace(partial, out)
    return ident
