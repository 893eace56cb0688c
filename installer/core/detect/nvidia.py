"""NVIDIA GPUs and driver: NVML first, then /proc/driver/nvidia/version, then nvidia-smi wherever it lives.

Every GPU is reported, not only the first or the last. A loaded driver with no usable GPU (a container
without --gpus, a GPU-less cluster node) reports the driver but no GPU.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from installer.core.detect.sources import MachineSources
from installer.core.report import GPUInfo

SMI_FIELDS = ("index", "name", "driver_version", "memory.total", "compute_cap", "uuid", "pci.device_id")
SMI_FIELDS_OLD = tuple(f for f in SMI_FIELDS if f != "compute_cap")  # drivers before ~510 lack compute_cap

# Where nvidia-smi lives when it is not on PATH (older Windows drivers, WSL, apps started with a bare PATH).
SMI_KNOWN_PATHS = (
    r"C:\Windows\System32\nvidia-smi.exe",
    r"C:\Program Files\NVIDIA Corporation\NVSMI\nvidia-smi.exe",
    "/usr/lib/wsl/lib/nvidia-smi",
    "/usr/bin/nvidia-smi",
)


@dataclass
class NvidiaFacts:
    driver: str | None = None
    cuda: str | None = None  # the newest CUDA the driver supports, "12.4"
    gpus: list[GPUInfo] = field(default_factory=list)
    source: str | None = None  # "nvml" | "proc" | "nvidia-smi"
    notes: list[str] = field(default_factory=list)  # why a source was passed over


# -- compute capability by name, for drivers that cannot report it -------------------------------

# (pattern, capability), first match wins; from NVIDIA's CUDA GPUs table. Order matters: "RTX 6000 Ada"
# before "RTX 6000", "RTX A6000" before "A6000"-like data-centre names.
_CC_BY_NAME: tuple[tuple[str, str], ...] = (
    (r"\bRTX 50\d0\b|RTX PRO \d+ Blackwell|\bGB20\d|\bRTX 5090", "12.0"),
    (r"\bB[12]00\b|\bGB200\b|\bGB300\b|\bB300\b", "10.0"),
    (r"\bH100\b|\bH200\b|\bH800\b|\bH20\b|\bGH200\b", "9.0"),
    (r"RTX 40\d0|RTX \d000 Ada|\bL40S?\b|\bL4\b|\bL20\b|RTX \d{4} Ada", "8.9"),
    (r"\bA100\b|\bA800\b|\bA30\b", "8.0"),
    (r"RTX 30\d0|RTX A\d{4}|\bA40\b|\bA10G?\b|\bA16\b|\bA2\b|RTX A\d+", "8.6"),
    (r"\bTITAN RTX\b|RTX 20\d0|GTX 16\d0|Quadro RTX|\bT4\b|\bT\d{3,4}\b|TITAN T", "7.5"),
    (r"\bV100\b|TITAN V\b|Quadro GV100", "7.0"),
    (r"\bP100\b|Quadro GP100", "6.0"),
    (r"GTX 10\d0|TITAN Xp|TITAN X \(Pascal\)|\bP40\b|\bP4\b|\bP6\b|Quadro P\d+|GT 1030|MX\d50", "6.1"),
    (r"GTX 9\d0|GTX TITAN X\b|\bM40\b|\bM60\b|Quadro M\d+", "5.2"),
    (r"GTX 750|GTX 745|Quadro K[12]200", "5.0"),
    (r"\bK80\b", "3.7"),
    (r"\bK40\b|\bK20\b|GTX 780|GTX TITAN\b", "3.5"),
)

# Jetson modules: integrated GPUs NVML does not see. Thor is 11.0 in CUDA 13 (it was 10.1 before).
_TEGRA_CC: tuple[tuple[str, str, str], ...] = (
    ("thor", "Thor", "11.0"),
    ("orin", "Orin", "8.7"),
    ("xavier", "Xavier", "7.2"),
    ("tx2", "TX2", "6.2"),
    ("nano", "Nano (Maxwell)", "5.3"),
    ("tx1", "TX1", "5.3"),
)


def capability_from_name(name: str) -> str | None:
    for pattern, cc in _CC_BY_NAME:
        if re.search(pattern, name, re.IGNORECASE):
            return cc
    for key, _, cc in _TEGRA_CC:
        if key in name.lower():
            return cc
    return None


def tegra_gpu_from_model(model: str) -> GPUInfo | None:
    """'NVIDIA Jetson AGX Orin Developer Kit' (/proc/device-tree/model) → the integrated GPU it carries."""
    lowered = model.replace("\0", "").lower()
    for key, name, cc in _TEGRA_CC:
        if key in lowered:
            return GPUInfo(vendor="nvidia", name=name, compute_capability=cc, discrete=False, source="device-tree")
    return None


# -- /proc/driver/nvidia/version ------------------------------------------------------------------


def parse_proc_driver_version(text: str) -> tuple[str | None, str | None]:
    """(driver version, L4T release) from /proc/driver/nvidia/version.

    Proprietary: 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  ...'
    Open module:  'NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  565.57.01  Release Build ...'
    JetPack 5:    '... Open Kernel Module for aarch64  35.3.1  ...' — an L4T release, not a driver number.
    """
    line = next((ln for ln in text.splitlines() if "Kernel Module" in ln), "")
    if "Module" not in line:
        return None, None
    after = line.split("Module", 1)[1].split()
    version = next((tok for tok in after if re.fullmatch(r"\d+(\.\d+)+", tok)), None)
    if version is None:
        return None, None
    if int(version.split(".")[0]) < 100:
        return None, version  # driver branches are 3 digits; 32..38 are L4T releases
    return version, None


# -- nvidia-smi -----------------------------------------------------------------------------------

_NA = {"", "[n/a]", "n/a", "[not supported]", "[unknown error]", "[insufficient permissions]"}
NO_DEVICES = "No devices were found"


def _clean(value: str) -> str | None:
    value = value.strip()
    return None if value.lower() in _NA else value


def _mib(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.match(r"(\d+)", value)
    return int(match.group(1)) if match else None


def _capability(value: str | None) -> str | None:
    """'8.9' as reported; anything else (a future '[Unknown]', garbage) is not a capability the planner can read."""
    return value if value and re.fullmatch(r"\d+\.\d+", value) else None


def _pci_id(value: str | None) -> str | None:
    """nvidia-smi and NVML give the PCI id as 0xDDDDVVVV (device, vendor): 0x268410DE → '10de:2684'."""
    if not value:
        return None
    try:
        number = int(value, 16)
    except ValueError:
        return None
    return f"{number & 0xFFFF:04x}:{number >> 16:04x}"


def _smi_rows(text: str, fields: Sequence[str]) -> list[dict[str, str | None]]:
    """The rows of a --query-gpu answer as {column: value}; a header line (plain --format=csv) names them."""
    if NO_DEVICES in text:
        return []
    rows = [row for row in csv.reader(text.strip().splitlines(), skipinitialspace=True) if row]
    if not rows:
        return []
    columns = list(fields)
    first = [cell.strip().split(" [")[0] for cell in rows[0]]
    if "name" in first or "driver_version" in first:
        columns, rows = first, rows[1:]
    return [{col: _clean(row[i]) if i < len(row) else None for i, col in enumerate(columns)} for row in rows]


def parse_smi_csv(text: str, fields: Sequence[str] = SMI_FIELDS) -> list[GPUInfo]:
    """One GPUInfo per line of `nvidia-smi --query-gpu=<fields> --format=csv[,noheader][,nounits]`."""
    gpus: list[GPUInfo] = []
    for number, values in enumerate(_smi_rows(text, fields)):
        name = values.get("name") or values.get("gpu_name")
        if not name:
            continue
        index = values.get("index")
        gpus.append(GPUInfo(
            vendor="nvidia",
            name=name,
            compute_capability=_capability(values.get("compute_cap")) or capability_from_name(name),
            discrete=None,
            memory_mib=_mib(values.get("memory.total")),
            index=int(index) if index and index.isdecimal() else number,
            uuid=values.get("uuid"),
            pci_id=_pci_id(values.get("pci.device_id")),
            source="nvidia-smi",
        ))
    return gpus


def smi_driver_version(text: str, fields: Sequence[str] = SMI_FIELDS) -> str | None:
    for values in _smi_rows(text, fields):
        version = values.get("driver_version")
        if version and re.fullmatch(r"\d+(\.\d+)+", version):
            return version
    return None


_BANNER = re.compile(r"Driver Version:\s*(\d+(?:\.\d+)*)(?:.*?CUDA (?:UMD )?Version:\s*(\d+(?:\.\d+)*|ERR!))?")


def parse_smi_banner(text: str) -> tuple[str | None, str | None]:
    """(driver, CUDA version) from the table `nvidia-smi` prints with no arguments."""
    match = _BANNER.search(text)
    if not match:
        return None, None
    cuda = match.group(2)
    return match.group(1), cuda if cuda and cuda != "ERR!" else None


# -- NVML -----------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def cuda_version_from_int(value: int) -> str:
    """NVML/CUDA encode 12.4 as 12040 and 13.0 as 13000."""
    return f"{value // 1000}.{(value % 1000) // 10}"


def detect_nvml(nvml: Any) -> NvidiaFacts:
    """Ask NVML (the pynvml module, or a fake of it). Raises whatever NVML raises when there is no driver."""
    nvml.nvmlInit()
    try:
        facts = NvidiaFacts(source="nvml", driver=_text(nvml.nvmlSystemGetDriverVersion()))
        get_cuda = getattr(nvml, "nvmlSystemGetCudaDriverVersion_v2", None) or nvml.nvmlSystemGetCudaDriverVersion
        try:
            facts.cuda = cuda_version_from_int(int(get_cuda()))
        except Exception as exc:  # an old driver without the call: the driver number still stands
            facts.notes.append(f"NVML has no CUDA driver version: {exc}")
        for i in range(int(nvml.nvmlDeviceGetCount())):
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            name = _text(nvml.nvmlDeviceGetName(handle))
            gpu = GPUInfo(vendor="nvidia", name=name, discrete=None, index=i, source="nvml")
            try:
                major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
                gpu.compute_capability = f"{major}.{minor}"
            except Exception:
                gpu.compute_capability = capability_from_name(name)
            try:
                gpu.memory_mib = int(nvml.nvmlDeviceGetMemoryInfo(handle).total) // (1024 * 1024)
            except Exception:
                gpu.memory_mib = None
            try:
                gpu.uuid = _text(nvml.nvmlDeviceGetUUID(handle))
            except Exception:
                gpu.uuid = None
            try:
                gpu.pci_id = _pci_id(hex(int(nvml.nvmlDeviceGetPciInfo(handle).pciDeviceId)))
            except Exception:
                gpu.pci_id = None
            facts.gpus.append(gpu)
        return facts
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:
            pass


def _import_pynvml() -> Any:
    import pynvml

    return pynvml


# -- the probe ------------------------------------------------------------------------------------


def find_nvidia_smi(src: MachineSources) -> str | None:
    found = src.which("nvidia-smi")
    if found:
        return found
    return next((path for path in SMI_KNOWN_PATHS if src.exists(path)), None)


def detect_with_smi(src: MachineSources, smi: str, timeout: float) -> NvidiaFacts:
    facts = NvidiaFacts(source="nvidia-smi")
    fields: Sequence[str] = SMI_FIELDS
    result = src.run([smi, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"], timeout)
    if not result.ok and "compute_cap" in (result.stdout + result.stderr) and NO_DEVICES not in result.stdout:
        fields = SMI_FIELDS_OLD  # 'Field "compute_cap" is not a valid field to query.'
        result = src.run([smi, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"], timeout)
    output = result.stdout + result.stderr
    if NO_DEVICES in output or result.returncode == 6:
        facts.notes.append("nvidia-smi: No devices were found")
    elif result.ok:
        facts.gpus = parse_smi_csv(result.stdout, fields)
        facts.driver = smi_driver_version(result.stdout, fields)
    else:
        facts.notes.append(f"nvidia-smi failed: {(result.error or output).strip()[:200]}")
    banner = src.run([smi], timeout)
    driver, cuda = parse_smi_banner(banner.stdout)
    facts.driver = facts.driver or driver
    facts.cuda = cuda
    return facts


def detect_nvidia(src: MachineSources | None = None, nvml: Any = None, timeout: float = 6.0,
                  use_nvml: bool = True) -> NvidiaFacts:
    """NVML → /proc → nvidia-smi. `nvml` replaces the pynvml module (tests pass a fake)."""
    src = src or MachineSources()
    notes: list[str] = []
    if use_nvml:
        try:
            facts = detect_nvml(nvml if nvml is not None else _import_pynvml())
            if facts.gpus or facts.driver:
                return facts
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ImportError ...
            notes.append(f"NVML: {type(exc).__name__}: {exc}".strip(": "))
    proc_driver, l4t = parse_proc_driver_version(src.read("/proc/driver/nvidia/version") or "")
    if l4t:
        notes.append(f"/proc/driver/nvidia/version names L4T {l4t}, not a driver (Jetson)")
    smi = find_nvidia_smi(src)
    if smi:
        facts = detect_with_smi(src, smi, timeout)
        facts.driver = facts.driver or proc_driver
        facts.notes = notes + facts.notes
        return facts
    facts = NvidiaFacts(driver=proc_driver, source="proc" if proc_driver else None, notes=notes)
    if proc_driver:
        facts.notes.append("driver loaded but nvidia-smi not found: GPUs cannot be listed")
    return facts
