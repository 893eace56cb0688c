"""Hardware and platform facts from resources/hardware.json, typed: rules read these, never literals.

Code holds rules; data holds facts (with their sources, in the JSON). A new PyTorch release or a newly
supported GPU is a data change (docs/ARCHITECTURE.md, "Where a new rule or fact goes").
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from installer.core import paths


@dataclass(frozen=True)
class HardwareFacts:
    glibc_floors: list[tuple[str, str, str]]  # (arch, from series, glibc), newest first per arch
    other_libcs: str
    mac_x86_last_version: str
    mac_x86_last_series: str
    mac_x86_last_python_max: str
    mps_min_macos: str
    numpy_pins: list[tuple[str, str, str]]  # (torch below, spec, why)
    xpu_since: str
    xpu_platforms: list[str]
    xpu_integrated: list[dict[str, str]]
    xpu_name_patterns: list[str]
    xpu_not_targets: list[str]
    jetson_sbsa_from_l4t: int
    jetson_sbsa_from_jetpack: str
    jetson_sbsa_ccs: list[str]
    jetson_help: str
    min_vc_runtime: str
    vc_redist_url: str
    source_min_cuda: str

    def glibc_floor(self, series: str, arch: str) -> str | None:
        """The glibc a release's Linux wheels for `arch` need ("2.28" from 2.7 on x86_64, 2.6 on arm64)."""
        for floor_arch, since, glibc in self.glibc_floors:
            if floor_arch == arch and Version(series) >= Version(since):
                return glibc
        return None

    def numpy_pin(self, series: str) -> tuple[str, str] | None:
        """(spec, why) of the NumPy pin a release needs, or None."""
        for below, spec, why in self.numpy_pins:
            if Version(series) < Version(below):
                return spec, why
        return None

    def intel_integrated_xpu(self, name: str) -> bool:
        """Is this integrated Intel GPU one PyTorch's XPU build validates (Core Ultra with Arc graphics)?"""
        lowered = name.lower()
        if any(bad.lower() in lowered for bad in self.xpu_not_targets):
            return False
        return any(pattern.lower() in lowered for pattern in self.xpu_name_patterns)


def from_json(data: dict[str, Any]) -> HardwareFacts:
    libc, mac, xpu, jet = data["linux_libc"], data["macos"], data["intel_xpu"], data["jetson"]
    return HardwareFacts(
        glibc_floors=[(f["arch"], f["from_series"], f["glibc"]) for f in libc["glibc_floors"]],
        other_libcs=libc["other_libcs"],
        mac_x86_last_version=mac["x86_64_last_version"],
        mac_x86_last_series=mac["x86_64_last_series"],
        mac_x86_last_python_max=mac["x86_64_last_python_max"],
        mps_min_macos=mac["mps_min_macos"],
        numpy_pins=[(p["torch_below"], p["spec"], p["why"]) for p in data["numpy_pins"]],
        xpu_since=xpu["variant_since"],
        xpu_platforms=list(xpu["variant_platforms"]),
        xpu_integrated=[dict(x) for x in xpu["integrated"]],
        xpu_name_patterns=list(xpu["integrated_name_patterns"]),
        xpu_not_targets=list(xpu["not_targets"]),
        jetson_sbsa_from_l4t=int(jet["sbsa_from_l4t"]),
        jetson_sbsa_from_jetpack=jet["sbsa_from_jetpack"],
        jetson_sbsa_ccs=list(jet["sbsa_compute_capabilities"]),
        jetson_help=jet["help"],
        min_vc_runtime=data["windows"]["min_vc_runtime"],
        vc_redist_url=data["windows"]["vc_redist_url"],
        source_min_cuda=data["source_build"]["min_cuda"],
    )


@functools.lru_cache(maxsize=1)
def hardware() -> HardwareFacts:
    """The bundled facts (read once per process)."""
    return from_json(json.loads(paths.resource("hardware.json").read_text(encoding="utf-8")))
