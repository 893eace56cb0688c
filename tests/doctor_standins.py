"""STAND-IN wheels for the doctor's tests: tiny wheels, built here, that only pretend to be torch or
torchvision (their code says so). They give the repair tests a different torch build to move to or from
without a second real torch download."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

STANDIN_NOTE = "# STAND-IN built by Torch Setup's tests: not PyTorch.\n"


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(folder: Path, name: str, version: str, files: dict[str, str], requires: list[str] | None = None,
               tag: str = "py3-none-any") -> Path:
    """A valid wheel file `name-version-tag.whl` holding `files` (path -> text) and its metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}"
    path = folder / f"{name}-{version}-{tag}.whl"
    entries: dict[str, bytes] = {k: v.encode() for k, v in files.items()}
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
            "Summary: STAND-IN wheel for Torch Setup's tests"]
    meta += [f"Requires-Dist: {r}" for r in requires or []]
    entries[f"{dist}.dist-info/METADATA"] = ("\n".join(meta) + "\n").encode()
    entries[f"{dist}.dist-info/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: torch-setup-tests\nRoot-Is-Purelib: "
                                          f"{'true' if tag.endswith('any') else 'false'}\nTag: {tag}\n").encode()
    record = [f"{k},{_hash(v)},{len(v)}" for k, v in entries.items()] + [f"{dist}.dist-info/RECORD,,"]
    entries[f"{dist}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w") as zf:
        for k, v in entries.items():
            zf.writestr(k, v)
    return path


def standin_torch(folder: Path, version: str, tag: str = "cp311-cp311-manylinux_2_28_x86_64") -> Path:
    """A STAND-IN torch: importing it fails, as a broken build would, so the verify probe fails on it."""
    code = STANDIN_NOTE + f"__version__ = {version!r}\nraise ImportError('stand-in torch {version}: not PyTorch')\n"
    return make_wheel(folder, "torch", version, {"torch/__init__.py": code, "torch/standin_data.txt": "x" * 1000},
                      tag=tag)


def standin_torchvision(folder: Path, version: str, torch_pin: str) -> Path:
    """A STAND-IN torchvision that pins torch like the real ones do (Requires-Dist: torch==X)."""
    code = STANDIN_NOTE + f"__version__ = {version!r}\n"
    return make_wheel(folder, "torchvision", version, {"torchvision/__init__.py": code},
                      requires=[f"torch=={torch_pin}"])


def standin_pinning_package(folder: Path, name: str, version: str, torch_pin: str) -> Path:
    """A STAND-IN of a package like xformers that pins one exact torch."""
    return make_wheel(folder, name, version, {f"{name}/__init__.py": STANDIN_NOTE}, requires=[f"torch=={torch_pin}"])
