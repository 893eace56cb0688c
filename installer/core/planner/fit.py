"""Shared facts and rules under the accelerator modules: the Build record, GPU names, arch and driver checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from installer.core.catalog import Catalog, Release
from installer.core.plan import Decision
from installer.core.planner.decisions import render
from installer.core.report import GPUInfo
from installer.core.versions import version_tuple


def driver_ok(driver: str | None, minimum: str | None) -> bool:
    have, need = version_tuple(driver), version_tuple(minimum)
    if not need:
        return True
    return bool(have) and have >= need


def parse_cc(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def gpu_family(cc: str | None) -> str:
    """NVIDIA architecture name for a compute capability, as students know them."""
    if not cc:
        return "unknown architecture"
    major, minor = parse_cc(cc)
    if major == 3:
        return "Kepler"
    if major == 5:
        return "Maxwell"
    if major == 6:
        return "Pascal"
    if major == 7:
        return "Turing" if minor >= 5 else "Volta"
    if major == 8:
        return "Ada Lovelace" if minor == 9 else "Ampere"
    if major == 9:
        return "Hopper"
    if major in (10, 11, 12):
        return "Blackwell"
    return f"compute {cc}"


def arch_covers(gpu_cc: str, arch_list: list[str]) -> bool:
    """Does a wheel built for `arch_list` have kernels that run on a GPU of capability `gpu_cc`?

    The rule (CUDA binary compatibility): SASS compiled for sm_XY runs on GPUs of the SAME major X
    with minor >= Y: 8.6 code runs on an 8.9 Ada card, 12.0 code on a 12.1 GB10, but nothing
    crosses a major (9.0 code does not run on 10.0, 8.9 code not on 8.6). A "+PTX" entry X.Y also
    ships PTX, which the driver JIT-compiles for any GPU with capability >= X.Y, newer majors too
    (slow first start, but it runs). Entries are "8.6" or "12.0+PTX".
    """
    g_major, g_minor = parse_cc(gpu_cc)
    for entry in arch_list:
        arch, _, ptx = entry.partition("+")
        a_major, a_minor = parse_cc(arch)
        if a_major == g_major and a_minor <= g_minor:
            return True
        if ptx.upper() == "PTX" and (a_major, a_minor) <= (g_major, g_minor):
            return True
    return False


def gpu_text(gpu: GPUInfo) -> str:
    name = gpu.name.replace("NVIDIA ", "") if gpu.vendor == "nvidia" else gpu.name
    if gpu.vendor == "nvidia" and gpu.compute_capability:
        return f"{name} ({gpu_family(gpu.compute_capability)}, compute {gpu.compute_capability})"
    if gpu.vendor == "amd" and gpu.gfx_arch:
        return f"{name} ({gpu.gfx_arch})"
    return name


def cuda_line(catalog: Catalog, variant: str) -> str:
    cuda = catalog.cuda_version(variant) or variant[2:]
    return cuda.split(".")[0]


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class Fit:
    """Does a build run on this machine? `why` says what stops it (a sentence), empty when ok."""

    ok: bool
    why: str = ""


@dataclass
class Build:
    backend: str  # what verification must see: cpu, cu130, rocm7.2, xpu, mps
    variant: str  # the wheel variant (index name): same as backend, except "mps"/"cpu" on macOS
    why: str = ""  # the reason for the backend decision, a clause
    label: str = ""  # how the choice reads as a subject ("CPU build"); empty = the backend
    reasons: list[str] = field(default_factory=list)  # further notes
    warnings: list[str] = field(default_factory=list)

    def decision(self) -> Decision:
        return Decision("backend", self.backend, self.why, self.label)

    def sentences(self) -> list[str]:
        """The decision and its notes as a person reads them (for a warning that quotes this build)."""
        return [render(self.decision()), *self.reasons]


def prefer_verified(rel: Release, variants: list[str]) -> list[str]:
    """Newest first, but a variant whose existence is unconfirmed (cu129 of 2.13) after the confirmed ones."""
    return sorted(variants, key=lambda v: rel.is_unverified(f"variants.{v}") is not None)


def dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
