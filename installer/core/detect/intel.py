"""Intel GPUs, telling discrete Arc / Data Center GPU Max and Flex (XPU targets) from integrated graphics."""

from __future__ import annotations

import re
import sys

from installer.core.detect.sources import MachineSources
from installer.core.detect.windows_video import video_controllers
from installer.core.report import GPUInfo

PCI_DEVICES = "/sys/bus/pci/devices"

# Discrete Intel GPUs by PCI device id (Linux kernel i915/xe PCI id tables):
# DG2 = Arc A-series / Arc Pro A / Flex; PVC = Data Center GPU Max; BMG = Arc B-series.
_DISCRETE_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x5690, 0x56AF, "Intel Arc A-series Graphics"),
    (0x56B0, 0x56BF, "Intel Arc Pro A-series Graphics"),
    (0x56C0, 0x56CF, "Intel Data Center GPU Flex"),
    (0x0BD0, 0x0BDF, "Intel Data Center GPU Max"),
    (0xE202, 0xE22F, "Intel Arc B-series Graphics"),
)
_KNOWN_NAMES = {
    0x56A0: "Intel Arc A770 Graphics", 0x56A1: "Intel Arc A750 Graphics", 0x56A2: "Intel Arc A580 Graphics",
    0x56A5: "Intel Arc A380 Graphics", 0x56A6: "Intel Arc A310 Graphics", 0x56C0: "Intel Data Center GPU Flex 170",
    0x56C1: "Intel Data Center GPU Flex 140", 0x0BD5: "Intel Data Center GPU Max 1550",
    0x0BDA: "Intel Data Center GPU Max 1100", 0xE20B: "Intel Arc B580 Graphics", 0xE20C: "Intel Arc B570 Graphics",
}

# Names: "Arc A770", "Arc(TM) B580", "Arc Pro A40", "Data Center GPU Max/Flex" are discrete; the Core Ultra
# iGPU is called plain "Arc(TM) Graphics" or "Arc 140V" and is integrated.
_DISCRETE_NAME = re.compile(r"Arc(?:\(TM\))?\s+(?:Pro\s+)?[AB]\d{2,3}\b|Data Center GPU (?:Max|Flex)|\bDG2\b|Battlemage",
                            re.IGNORECASE)


def is_discrete(device_id: int | None = None, name: str = "") -> bool:
    if device_id is not None and any(lo <= device_id <= hi for lo, hi, _ in _DISCRETE_RANGES):
        return True
    return bool(_DISCRETE_NAME.search(name))


def name_for(device_id: int) -> str:
    if device_id in _KNOWN_NAMES:
        return _KNOWN_NAMES[device_id]
    for lo, hi, family in _DISCRETE_RANGES:
        if lo <= device_id <= hi:
            return family
    return "Intel integrated graphics"


_LSPCI = re.compile(r"^(?P<slot>\S+)\s+(?P<cls>[^\[]*)\[(?P<code>03[0-9a-f]{2})\]:\s*(?P<desc>.*?)\s*"
                    r"\[(?P<vendor>[0-9a-f]{4}):(?P<device>[0-9a-f]{4})\]", re.IGNORECASE)


def parse_lspci(text: str) -> list[tuple[str, int, int, str]]:
    """Display-class devices of `lspci -nn`: (slot, vendor, device, description)."""
    out: list[tuple[str, int, int, str]] = []
    for line in text.splitlines():
        match = _LSPCI.match(line.strip())
        if match:
            out.append((match["slot"], int(match["vendor"], 16), int(match["device"], 16), match["desc"]))
    return out


def _pretty(description: str) -> str:
    """'Intel Corporation DG2 [Arc A770]' → 'Intel Arc A770'; 'Intel Corporation UHD Graphics 620' → 'Intel UHD Graphics 620'."""
    bracket = re.search(r"\[([^\]]+)\]\s*(?:\(rev [0-9a-f]+\))?$", description)
    core = bracket.group(1) if bracket else re.sub(r"\s*\(rev [0-9a-f]+\)$", "", description)
    core = core.replace("Intel Corporation", "").strip()
    return core if core.startswith("Intel") else f"Intel {core}"


def gpus_from_lspci(text: str) -> list[GPUInfo]:
    gpus: list[GPUInfo] = []
    for _, vendor, device, desc in parse_lspci(text):
        if vendor != 0x8086:
            continue
        name = _pretty(desc)
        gpus.append(GPUInfo(vendor="intel", name=name, discrete=is_discrete(device, desc), index=len(gpus),
                            pci_id=f"8086:{device:04x}", source="lspci"))
    return gpus


def gpus_from_sysfs(src: MachineSources, root: str = PCI_DEVICES) -> list[GPUInfo]:
    gpus: list[GPUInfo] = []
    for slot in src.listdir(root):
        vendor = (src.read(f"{root}/{slot}/vendor") or "").strip()
        klass = (src.read(f"{root}/{slot}/class") or "").strip()
        if vendor.lower() != "0x8086" or not klass.lower().startswith("0x03"):
            continue
        try:
            device = int((src.read(f"{root}/{slot}/device") or "").strip(), 16)
        except ValueError:
            continue
        gpus.append(GPUInfo(vendor="intel", name=name_for(device), discrete=is_discrete(device), index=len(gpus),
                            pci_id=f"8086:{device:04x}", source="sysfs"))
    return gpus


def detect_intel(src: MachineSources | None = None, system: str | None = None, timeout: float = 6.0) -> list[GPUInfo]:
    src_given = src is not None
    src = src or MachineSources()
    system = system or sys.platform
    if system == "win32":
        controllers = [c for c in video_controllers(src if src_given else None, timeout) if c.vendor_id == "8086"]
        return [GPUInfo(vendor="intel", name=c.name, index=i, pci_id=c.pci_id, source="wmi",
                        discrete=is_discrete(int(c.device_id, 16) if c.device_id else None, c.name))
                for i, c in enumerate(controllers)]
    if not system.startswith("linux"):
        return []
    gpus = gpus_from_sysfs(src)
    if gpus and src.which("lspci"):
        # lspci knows the marketing names that sysfs lacks; keep sysfs's view of which devices exist.
        result = src.run(["lspci", "-nn", "-d", "8086:"], timeout)
        named = {g.pci_id: g.name for g in gpus_from_lspci(result.stdout)} if result.ok else {}
        for gpu in gpus:
            gpu.name = named.get(gpu.pci_id, gpu.name)
    return gpus
