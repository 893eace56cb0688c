"""The snapshot a repair takes before it changes an environment, and the restore that puts it back.

Before the install, the distributions it will replace are copied file for file (their whole top-level
folders in site-packages, their dist-info, their scripts) into a backup folder under the state folder,
with a manifest written last. Restore removes what the install brought in (by each new distribution's
RECORD, never outside the environment) and copies the saved entries back. The manifest alone is enough
to restore after a crash (`torch-setup cleanup`), offline, with no package index or cache.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from installer.core import paths, process, safepath, schema
from installer.core.doctor.inspect import canonical_name
from installer.core.journal import atomic_write_json, remove_path

MANIFEST = "manifest.json"
_CHANGE = re.compile(r"^\s*([-+])\s+([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*(\S+)|@\s*(\S+))")


class BackupError(OSError):
    """The snapshot could not be taken (nothing was changed) or the restore was incomplete."""


@dataclass
class Manifest:
    run_id: str
    env: str  # the environment prefix
    python: str
    site_packages: list[str]
    entries: list[str]  # saved paths, relative to env
    removed: list[str]  # "name==version" the install would replace
    added: list[str]  # canonical names the install would bring in (new or replacing)
    freeze: str  # `uv pip freeze` before the change
    version: int = 1


@dataclass
class Changes:
    removed: list[str] = field(default_factory=list)  # "name==version"
    added: list[str] = field(default_factory=list)  # canonical names


def backups_dir() -> Path:
    return paths.state_dir() / "backups"


def backup_folder(run_id: str) -> Path:
    return backups_dir() / f"torch-setup-backup-{run_id}"


def freeze(uv: str, python: str, timeout: float = 120) -> str:
    """`uv pip freeze` of an environment: the exact installed set, to compare before and after."""
    done = process.run_captured([uv, "pip", "freeze", "--python", python], timeout=timeout)
    if done.returncode != 0:
        raise BackupError(f"could not list the packages of {python}: {done.error or done.stderr.strip()[-300:]}")
    return "\n".join(sorted(line.strip() for line in done.stdout.splitlines() if line.strip())) + "\n"


def parse_changes(text: str) -> Changes:
    """uv's `--dry-run` lines: ' - torch==2.13.0+cpu' (would uninstall), ' + torch==2.14.1+cu126' (would install)."""
    changes = Changes()
    for line in text.splitlines():
        m = _CHANGE.match(line)
        if not m:
            continue
        name = canonical_name(m.group(2))
        if m.group(1) == "-":
            changes.removed.append(f"{name}=={m.group(3) or ''}")
        elif name not in changes.added:
            changes.added.append(name)
    return changes


def dry_run(argv: list[str], timeout: float = 900) -> tuple[Changes | None, str]:
    """What an install step would change, asked of uv itself (--dry-run). (None, output) when uv refuses."""
    args = [str(a) for a in argv]
    if len(args) < 3 or args[1:3] != ["pip", "install"]:
        return Changes(), ""
    done = process.run_captured([*args[:3], "--dry-run", *args[3:]], timeout=timeout)
    output = (done.stdout + "\n" + done.stderr).strip()
    if done.returncode != 0:
        return None, output if not done.error else f"{output}\n{done.error}"
    return parse_changes(output), output


def _record_paths(dist_info: Path) -> list[Path]:
    """Every file a distribution installed (its RECORD), as absolute paths."""
    site = dist_info.parent
    try:
        text = (dist_info / "RECORD").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return [dist_info]
    out = [dist_info]
    for row in csv.reader(io.StringIO(text)):
        if row and row[0]:
            out.append(Path(os.path.normpath(site / row[0])))
    return out


def _dist_infos(site_packages: list[str]) -> dict[str, list[Path]]:
    """canonical name -> its .dist-info folders (a damaged env may hold two)."""
    found: dict[str, list[Path]] = {}
    for site in site_packages:
        for info in sorted(Path(site).glob("*.dist-info")):
            name = info.name[: -len(".dist-info")].rsplit("-", 1)[0]
            found.setdefault(canonical_name(name), []).append(info)
    return found


def _entries_of(dist_info: Path, env: Path) -> set[Path]:
    """What to save for one distribution: its top-level folders and files in site-packages, and its files
    elsewhere in the environment (scripts), never anything outside it."""
    site = dist_info.parent
    out: set[Path] = set()
    for path in _record_paths(dist_info):
        if not safepath.is_within(path.parent, env):
            continue
        try:
            rel = path.relative_to(site)
        except ValueError:
            out.add(path)
            continue
        top = site / rel.parts[0]
        if top.name == "__pycache__":
            out.add(path)
        else:
            out.add(top)
    return out


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True)
    else:
        shutil.copy2(src, dst, follow_symlinks=False)


def take(run_id: str, env: str, python: str, site_packages: list[str], changes: Changes, freeze_text: str,
         folder: Path) -> Manifest:
    """Copy what the install would replace into `folder` (which the caller journaled) and write the manifest."""
    env_path = Path(env)
    infos = _dist_infos(site_packages)
    entries: set[Path] = set()
    for spec in changes.removed:
        for info in infos.get(spec.split("==", 1)[0], []):
            entries |= _entries_of(info, env_path)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for entry in sorted(entries):
        if not (entry.exists() or entry.is_symlink()):
            continue
        rel = entry.relative_to(env_path)
        _copy(entry, folder / "files" / rel)
        saved.append(rel.as_posix())
    manifest = Manifest(run_id=run_id, env=str(env_path), python=python, site_packages=site_packages,
                        entries=saved, removed=changes.removed, added=changes.added, freeze=freeze_text)
    atomic_write_json(folder / MANIFEST, asdict(manifest))  # last: a folder without it holds nothing to restore
    return manifest


def read_manifest(folder: Path) -> Manifest | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return schema.build(Manifest, data)
    except (OSError, ValueError, RecursionError):
        return None


def _prune_empty(start: Path, stop: Path) -> None:
    folder = start
    while safepath.is_within(folder, stop) and not safepath.same(folder, stop):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _remove_dist(info: Path, env: Path) -> None:
    """Uninstall one distribution by its RECORD, touching nothing outside the environment."""
    site = info.parent
    for path in _record_paths(info)[1:]:
        if not safepath.is_within(path.parent, env):
            continue
        if path.is_file() or path.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            _prune_empty(path.parent, site if safepath.is_within(path, site) else env)
    if info.exists():
        remove_path(info)


def restore(folder: Path, uv: str) -> tuple[list[str], str | None]:
    """Put the environment back as the manifest in `folder` recorded it. Returns (problems, freeze after);
    no problems means `uv pip freeze` equals the one taken before the change."""
    manifest = read_manifest(folder)
    if manifest is None:
        return [], None  # the snapshot was never completed, so the install never started
    env = Path(manifest.env)
    touched = {r.split("==", 1)[0] for r in manifest.removed} | set(manifest.added)
    with contextlib.suppress(BackupError):
        # A distribution the dry run did not announce but the install brought in anyway is not ours to keep.
        before_names = set(_names(manifest.freeze))
        touched |= {n for n in _names(freeze(uv, manifest.python)) if n not in before_names}
    problems = []
    for name, infos in _dist_infos(manifest.site_packages).items():
        if name in touched:
            for info in infos:
                try:
                    _remove_dist(info, env)
                except OSError as exc:
                    problems.append(f"could not remove {info}: {exc}")
    for rel in manifest.entries:
        target = env / rel
        source = folder / "files" / rel
        if not (source.exists() or source.is_symlink()):
            continue  # put back by an earlier, interrupted restore
        try:
            if target.exists() or target.is_symlink():
                remove_path(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Moved, not copied: the backup is dropped after a restore anyway, and a rename is instant.
            shutil.move(str(source), str(target))
        except OSError as exc:
            problems.append(f"could not put back {target}: {exc}")
    after = None
    try:
        after = freeze(uv, manifest.python)
        missing = sorted(set(manifest.freeze.splitlines()) - set(after.splitlines()))
        if missing:
            # Replaced although the dry run did not say so: uv's cache still has the exact files (offline).
            process.run_captured([uv, "pip", "install", "--offline", "--no-deps", "--python", manifest.python,
                                  *missing], timeout=600)
            after = freeze(uv, manifest.python)
    except BackupError as exc:
        problems.append(str(exc))
    if after is not None and after != manifest.freeze:
        before, now = set(manifest.freeze.splitlines()), set(after.splitlines())
        problems.append("the packages differ from before the change: missing " + (", ".join(sorted(before - now))
                        or "none") + "; extra " + (", ".join(sorted(now - before)) or "none"))
    return problems, after


def _names(freeze_text: str) -> dict[str, str]:
    out = {}
    for line in freeze_text.splitlines():
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if m:
            out[canonical_name(m.group(1))] = line
    return out


def changed_names(before: str, after: str) -> list[str]:
    """Distributions whose line in `uv pip freeze` differs (new, gone or another version/source)."""
    a, b = _names(before), _names(after)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def discard(folder: Path) -> None:
    """Forget a backup after success (only a folder that is ours: its manifest names the run)."""
    if folder.is_dir() and folder.name.startswith("torch-setup-backup-"):
        with contextlib.suppress(OSError):
            remove_path(folder)


def describe(manifest: Manifest) -> dict[str, Any]:
    return {"env": manifest.env, "replaces": manifest.removed, "adds": manifest.added}
