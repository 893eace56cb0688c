"""Windows display adapters (Win32_VideoController), read once and shared by the AMD and Intel probes."""

from __future__ import annotations

import json
import math
import re
import sys
import threading
from dataclasses import dataclass

from installer.core.detect.sources import MachineSources

POWERSHELL_ARGV = [
    "powershell.exe", "-NoProfile", "-NonInteractive", "-Command",
    "Get-CimInstance Win32_VideoController | "
    "Select-Object Name,AdapterCompatibility,PNPDeviceID,AdapterRAM,DriverVersion | ConvertTo-Json -Compress",
]


@dataclass
class VideoController:
    name: str
    vendor_id: str | None  # "8086", "1002", "10de" (lower case hex)
    device_id: str | None  # "56a0"
    adapter_ram: int | None  # bytes; WMI caps it at 4 GiB (a uint32), so only a hint
    driver_version: str | None
    compatibility: str | None

    @property
    def pci_id(self) -> str | None:
        return f"{self.vendor_id}:{self.device_id}" if self.vendor_id and self.device_id else None


_PNP = re.compile(r"VEN_([0-9A-Fa-f]{4}).*?DEV_([0-9A-Fa-f]{4})")


def _controller(record: dict[str, object]) -> VideoController | None:
    name = str(record.get("Name") or record.get("Caption") or "").strip()
    if not name:
        return None
    pnp = str(record.get("PNPDeviceID") or "")
    match = _PNP.search(pnp)
    ram = record.get("AdapterRAM")
    return VideoController(
        name=name,
        vendor_id=match.group(1).lower() if match else None,
        device_id=match.group(2).lower() if match else None,
        adapter_ram=_size(ram),
        driver_version=str(record.get("DriverVersion") or "").strip() or None,
        compatibility=str(record.get("AdapterCompatibility") or "").strip() or None,
    )


def _size(value: object) -> int | None:
    """AdapterRAM as a byte count; anything else (a bool, NaN, a word) is unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return int(value) if value >= 0 else None
    if isinstance(value, str) and value.isdecimal() and value.isascii():
        return int(value)
    return None


def _parse_format_list(text: str) -> list[dict[str, object]]:
    """`Get-CimInstance Win32_VideoController | fl *`: blocks of 'Key : Value' separated by blank lines."""
    records: list[dict[str, object]] = []
    current: dict[str, object] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                records.append(current)
                current = {}
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            current[key.strip()] = value.strip()
    if current:
        records.append(current)
    return records


def parse_video_controllers(text: str) -> list[VideoController]:
    """Parse ConvertTo-Json output (one object or a list) or, as a fallback, Format-List output."""
    text = text.strip().lstrip("\ufeff")
    if not text:
        return []
    records: list[dict[str, object]]
    if text[0] in "[{":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return []
        if isinstance(data, dict):
            records = [data]
        elif isinstance(data, list):
            records = [r for r in data if isinstance(r, dict)]
        else:
            return []
    else:
        records = _parse_format_list(text)
    return [c for c in (_controller(r) for r in records) if c is not None]


_lock = threading.Lock()
_cache: list[VideoController] | None = None


def video_controllers(src: MachineSources | None = None, timeout: float = 6.0) -> list[VideoController]:
    """The machine's display adapters (Windows only; empty elsewhere). Run once per process."""
    global _cache
    if sys.platform != "win32" and src is None:
        return []
    with _lock:
        if _cache is not None and src is None:
            return _cache
        result = (src or MachineSources()).run(POWERSHELL_ARGV, timeout)
        controllers = parse_video_controllers(result.stdout) if result.ok else []
        if src is None:
            _cache = controllers
        return controllers
