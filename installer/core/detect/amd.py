"""AMD GPUs: the Linux KFD topology (works without ROCm installed), then rocminfo / rocm_agent_enumerator;
the ROCm version when installed; on Windows the display adapters' names."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

from installer.core.detect.sources import MachineSources, first_line
from installer.core.detect.windows_video import video_controllers
from installer.core.report import GPUInfo

KFD_NODES = "/sys/class/kfd/kfd/topology/nodes"
AMD_VENDOR_ID = 4098  # 0x1002

# Marketing names for common device ids (KFD gives only numbers). Unknown ids fall back to the gfx name.
_NAMES = {
    0x744C: "AMD Radeon RX 7900 XTX / XT", 0x7448: "AMD Radeon Pro W7900", 0x747E: "AMD Radeon RX 7800 XT",
    0x7480: "AMD Radeon RX 7600", 0x73BF: "AMD Radeon RX 6800 / 6900 XT", 0x73DF: "AMD Radeon RX 6700 XT",
    0x73FF: "AMD Radeon RX 6600 XT", 0x7550: "AMD Radeon RX 9070 / XT", 0x7590: "AMD Radeon RX 9060 XT",
    0x74A1: "AMD Instinct MI300X", 0x74A0: "AMD Instinct MI300A", 0x740C: "AMD Instinct MI250X / MI250",
    0x738C: "AMD Instinct MI100", 0x66AF: "AMD Radeon VII", 0x687F: "AMD Radeon RX Vega",
}


@dataclass
class AmdFacts:
    gpus: list[GPUInfo] = field(default_factory=list)
    rocm_version: str | None = None
    notes: list[str] = field(default_factory=list)


def gfx_name(version: int) -> str | None:
    """KFD's gfx_target_version → LLVM target: 110000 → gfx1100, 90010 → gfx90a, 90402 → gfx942."""
    if version <= 0:
        return None
    major, minor, step = version // 10000, (version // 100) % 100, version % 100
    return f"gfx{major}{minor:x}{step:x}"


def parse_kfd_properties(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and re.fullmatch(r"-?\d+", parts[1]):
            out[parts[0]] = int(parts[1])
    return out


def detect_kfd(src: MachineSources, root: str = KFD_NODES) -> list[GPUInfo]:
    gpus: list[GPUInfo] = []
    for node in src.listdir(root):
        if not node.isdigit():
            continue
        props = parse_kfd_properties(src.read(f"{root}/{node}/properties") or "")
        gfx = gfx_name(props.get("gfx_target_version", 0))
        if gfx is None or props.get("simd_count", 0) == 0:
            continue  # a CPU agent (gfx000)
        device = props.get("device_id")
        name = _NAMES.get(device or -1) or f"AMD GPU ({gfx})"
        memory = parse_kfd_properties(src.read(f"{root}/{node}/mem_banks/0/properties") or "").get("size_in_bytes")
        vendor = props.get("vendor_id", AMD_VENDOR_ID)
        gpus.append(GPUInfo(
            vendor="amd", name=name, gfx_arch=gfx,
            # KFD does not say whether a GPU is an APU; leave it unknown rather than guess.
            discrete=None,
            memory_mib=memory // (1024 * 1024) if memory else None,
            index=len(gpus),
            pci_id=f"{vendor:04x}:{device:04x}" if device else None,
            source="kfd",
        ))
    return gpus


def parse_rocminfo(text: str) -> list[GPUInfo]:
    """GPU agents of `rocminfo`: 'Name: gfx1100', 'Marketing Name: Radeon RX 7900 XTX', 'Device Type: GPU'."""
    gpus: list[GPUInfo] = []
    for block in re.split(r"\*{5,}\s*\n\s*Agent \d+\s*\n\s*\*{5,}", text)[1:]:
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() not in fields:
                fields[key.strip()] = value.strip()
        if fields.get("Device Type") != "GPU":
            continue
        gfx = fields.get("Name", "").split(":")[0]
        if not gfx.startswith("gfx") or gfx == "gfx000":
            continue
        marketing = fields.get("Marketing Name") or ""
        name = marketing if marketing.startswith("AMD") else f"AMD {marketing}".strip() if marketing else f"AMD GPU ({gfx})"
        chip = re.match(r"(\d+)", fields.get("Chip ID", ""))
        gpus.append(GPUInfo(vendor="amd", name=name, gfx_arch=gfx, index=len(gpus), source="rocminfo",
                            pci_id=f"1002:{int(chip.group(1)):04x}" if chip and int(chip.group(1)) else None))
    return gpus


def parse_agent_enumerator(text: str) -> list[str]:
    """`rocm_agent_enumerator`: one gfx name per line; gfx000 (the CPU, before ROCm 6.3) is skipped."""
    names = [line.strip().split(":")[0] for line in text.splitlines()]
    return [n for n in names if re.fullmatch(r"gfx[0-9a-f]+", n) and n != "gfx000"]


def parse_rocm_version(text: str) -> str | None:
    """/opt/rocm/.info/version '6.4.1-120' → '6.4.1'."""
    match = re.match(r"\s*(\d+\.\d+(?:\.\d+)?)", text)
    return match.group(1) if match else None


def parse_hipconfig_version(text: str) -> str | None:
    """`hipconfig --version` '6.2.41133-dd7f95766' → '6.2' (HIP's major.minor is ROCm's)."""
    match = re.match(r"\s*(\d+)\.(\d+)", text)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def detect_rocm_version(src: MachineSources, timeout: float) -> str | None:
    for path in ("/opt/rocm/.info/version", "/opt/rocm/.info/version-dev"):
        version = parse_rocm_version(src.read(path) or "")
        if version:
            return version
    hipconfig = _tool(src, "hipconfig")
    if hipconfig:
        result = src.run([hipconfig, "--version"], timeout)
        if result.ok:
            return parse_hipconfig_version(first_line(result.stdout))
    return None


def _tool(src: MachineSources, name: str) -> str | None:
    return src.which(name) or (f"/opt/rocm/bin/{name}" if src.exists(f"/opt/rocm/bin/{name}") else None)


def detect_amd(src: MachineSources | None = None, system: str | None = None, timeout: float = 6.0) -> AmdFacts:
    src_given = src is not None
    src = src or MachineSources()
    system = system or sys.platform
    facts = AmdFacts()
    if system == "win32":
        controllers = video_controllers(src if src_given else None, timeout)
        facts.gpus = [GPUInfo(vendor="amd", name=c.name, index=i, pci_id=c.pci_id, source="wmi")
                      for i, c in enumerate(x for x in controllers if x.vendor_id == "1002")]
        return facts
    if not system.startswith("linux"):
        return facts
    facts.gpus = detect_kfd(src)
    if not facts.gpus:
        rocminfo = _tool(src, "rocminfo")
        if rocminfo:
            result = src.run([rocminfo], timeout)
            facts.gpus = parse_rocminfo(result.stdout) if result.ok else []
        if not facts.gpus:
            enumerator = _tool(src, "rocm_agent_enumerator")
            if enumerator:
                result = src.run([enumerator], timeout)
                names = parse_agent_enumerator(result.stdout) if result.ok else []
                facts.gpus = [GPUInfo(vendor="amd", name=f"AMD GPU ({n})", gfx_arch=n, index=i,
                                      source="rocm_agent_enumerator") for i, n in enumerate(names)]
    facts.rocm_version = detect_rocm_version(src, timeout)
    return facts
