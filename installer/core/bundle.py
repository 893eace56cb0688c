"""Offline bundles: everything the installs of several target machines need, downloaded once, with a
manifest of SHA-256 hashes; and, on a target, the checks that come before installing from one.

Layout: bundle.json (the manifest), wheels/ (every wheel once), locks/pylock.<target>.toml and
locks/<target>.txt (hashed exact pins), tools/verify_probe.py, tools/<platform>/uv.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer.core.catalog import platform_key, variant_kind
from installer.core.lockfile import LockedPackage, pinned_requirements, write_lock
from installer.core.plan import ChoiceError, Plan
from installer.core.report import SystemReport

MANIFEST = "bundle.json"
FORMAT = 1
DOWNLOAD_SECONDS = 120.0
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


class BundleError(ChoiceError):
    """A bundle that cannot be made, read or used here (one sentence; exit 2)."""


@dataclass
class Target:
    name: str  # "linux-x86_64-py3.11-cpu"
    platform: str
    python: str
    backend: str
    torch: str  # the release, "2.13.0"
    lock: str  # paths inside the bundle
    requirements: str
    wheels: list[str] = field(default_factory=list)
    machine: str = ""  # whose report it was made for

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def target_name(plan: Plan, platform: str) -> str:
    # no dots: the name goes into pylock.<name>.toml
    return f"{platform}-py{plan.python.replace('.', '')}-{plan.backend.replace('.', '')}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(package: LockedPackage, dest: Path) -> None:
    """Copy or download one locked wheel to `dest`, checking the lock's hash; BundleError on failure."""
    part = dest.with_name(dest.name + ".part")
    try:
        if package.path:
            shutil.copyfile(package.path, part)
        elif package.url:
            if urllib.parse.urlsplit(package.url).scheme not in ("https", "http", "file"):
                raise BundleError(f"The lock names {package.url}, which is not a download address.")
            with urllib.request.urlopen(package.url, timeout=DOWNLOAD_SECONDS) as response, open(part, "wb") as out:
                shutil.copyfileobj(response, out, 1024 * 1024)
        else:
            raise BundleError(f"The lock gives no file for {package.name} {package.version}.")
        if package.sha256 and sha256_of(part) != package.sha256:
            raise BundleError(f"The download of {dest.name} does not match the lock's SHA-256: retry, or check "
                              "a proxy that rewrites downloads.")
        part.replace(dest)
    except OSError as exc:
        raise BundleError(f"{dest.name} could not be fetched: {getattr(exc, 'reason', None) or exc}.") from None
    finally:
        part.unlink(missing_ok=True)


def make_bundle(targets: list[tuple[SystemReport, Plan, str]], out: Path, uv: str, probe: Path,
                offline: bool = False, log: Any = None) -> dict[str, Any]:
    """Write a bundle for each (report, plan, machine label) into `out`; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("wheels", "locks", "tools"):
        (out / sub).mkdir(exist_ok=True)
    manifest_targets: list[Target] = []
    seen: set[str] = set()
    for report, plan, machine in targets:
        platform = platform_key(report.os)
        name = target_name(plan, platform)
        if name in seen:  # two machines of one kind share a target
            next(t for t in manifest_targets if t.name == name).machine += f", {machine}"
            continue
        seen.add(name)
        lock = out / "locks" / f"pylock.{name}.toml"
        packages = write_lock(plan, uv, platform, lock, offline=offline)
        files = []
        for package in packages:
            filename = urllib.parse.unquote(package.filename or "")
            if not filename.endswith(".whl"):
                raise BundleError(f"The lock for {name} has no wheel for {package.name}: bundles hold wheels only.")
            dest = out / "wheels" / filename
            if not dest.exists():
                if log:
                    log(f"  fetching {filename}")
                _fetch(package, dest)
            files.append(filename)
        requirements = out / "locks" / f"{name}.txt"
        requirements.write_text(pinned_requirements(packages), encoding="utf-8")
        release = plan.torch.split("+", 1)[0]
        manifest_targets.append(Target(name, platform, plan.python, plan.backend, release,
                                       f"locks/{lock.name}", f"locks/{requirements.name}", files, machine))
    shutil.copyfile(probe, out / "tools" / "verify_probe.py")
    # uv for the platform Torch Setup runs on; other platforms' uv can be added to tools/<platform>/.
    here = platform_key(_this_os())
    (out / "tools" / here).mkdir(exist_ok=True)
    uv_dest = out / "tools" / here / Path(uv).name
    shutil.copyfile(uv, uv_dest)
    uv_dest.chmod(0o755)
    files_json = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != MANIFEST):
        rel = path.relative_to(out).as_posix()
        files_json[rel] = {"sha256": sha256_of(path), "size": path.stat().st_size}
    manifest = {"format": FORMAT, "targets": [t.to_json() for t in manifest_targets], "files": files_json}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _this_os() -> Any:
    from installer.core.detect.platform import detect_os

    return detect_os()


def load_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise BundleError(f"{path} is too large to be a bundle manifest.")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{folder} is not a Torch Setup bundle: it has no {MANIFEST}.") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"The bundle manifest {path} cannot be read: {exc}.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
        raise BundleError(f"{path} is not a bundle manifest this Torch Setup reads (format {FORMAT}).")
    return data


def check_files(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """The bundle's files that are missing or whose size or SHA-256 differs from the manifest."""
    bad = []
    for rel, facts in manifest["files"].items():
        path = folder / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            bad.append(f"{rel} (a path outside the bundle)")
        elif not path.is_file():
            bad.append(f"{rel} (missing)")
        elif path.stat().st_size != facts.get("size"):
            bad.append(f"{rel} (size {path.stat().st_size}, expected {facts.get('size')})")
        elif sha256_of(path) != facts.get("sha256"):
            bad.append(f"{rel} (SHA-256 differs)")
    return bad


def targets_of(manifest: dict[str, Any]) -> list[Target]:
    try:
        return [Target.from_json(t) for t in manifest.get("targets", [])]
    except TypeError as exc:
        raise BundleError(f"The bundle manifest has a damaged target: {exc}.") from None


def pick_target(targets: list[Target], report: SystemReport, wanted_backend: str) -> tuple[Target | None, str]:
    """(the target for this machine, or None with the reason none fits). `wanted_backend` is what the
    planner would choose here on its own ("cu128", "cpu") or what the user asked for."""
    platform = platform_key(report.os)
    builds = ", ".join(sorted({t.backend for t in targets})) or "nothing"
    here = [t for t in targets if t.platform == platform]
    if not here:
        return None, (f"This bundle has builds for {', '.join(sorted({t.platform for t in targets}))}; this "
                      f"machine is {platform}.")
    exact = [t for t in here if t.backend == wanted_backend]
    if exact:
        return exact[0], ""
    gpus = ", ".join(g.name for g in report.gpus) or "no GPU"
    return None, (f"This bundle has builds for {builds}; this machine ({gpus}) needs {wanted_backend}"
                  + (" or a newer CUDA build" if variant_kind(wanted_backend) == "cuda" else "") + ".")
