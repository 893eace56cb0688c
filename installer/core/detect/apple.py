"""Apple Silicon: the chip, and whether PyTorch's MPS backend is possible (arm64 and macOS >= 12.3)."""

from __future__ import annotations

import sys

from installer.core.detect.sources import MachineSources, first_line
from installer.core.report import GPUInfo, OSInfo
from installer.core.versions import version_tuple

MPS_MIN_MACOS = (12, 3)


def mps_possible(os_info: OSInfo) -> bool:
    """MPS needs an Apple Silicon Mac (arm64, Rosetta included: the machine is arm64) and macOS 12.3 or newer."""
    return (os_info.name == "macos" and os_info.arch == "arm64"
            and version_tuple(os_info.version) >= MPS_MIN_MACOS)


def gpu_from_chip(brand: str, memory_mib: int | None = None) -> GPUInfo | None:
    """'Apple M2' (machdep.cpu.brand_string) → GPUInfo 'Apple M2 GPU'; Intel Macs give None."""
    brand = brand.strip()
    if not brand.startswith("Apple"):
        return None
    return GPUInfo(vendor="apple", name=f"{brand} GPU", discrete=False, memory_mib=memory_mib, index=0,
                   source="sysctl")


def detect_apple(src: MachineSources | None = None, system: str | None = None) -> list[GPUInfo]:
    system = system or sys.platform
    if system != "darwin":
        return []
    src = src or MachineSources()
    brand = src.run(["sysctl", "-n", "machdep.cpu.brand_string"], 3.0)
    memory = None
    try:
        import psutil

        memory = psutil.virtual_memory().total // (1024 * 1024)  # unified memory, shared with the GPU
    except Exception:
        memory = None
    gpu = gpu_from_chip(first_line(brand.stdout), memory)
    return [gpu] if gpu else []
