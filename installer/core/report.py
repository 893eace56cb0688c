"""SystemReport: what detection learned about a machine, as plain data that round-trips through JSON.

The key names and shapes here are a public contract (DESIGN.md, `torch-setup detect --json`):
keys may be added, never renamed or dropped.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from installer.core import schema

SCHEMA_VERSION = 1

T = TypeVar("T")


class ReportError(ValueError):
    """A saved report that cannot be read back (wrong schema, not JSON, wrong shapes)."""


def normalize_arch(machine: str) -> str:
    """Map the many spellings of a CPU architecture onto the two PyTorch cares about."""
    m = machine.strip().lower()
    if m in ("amd64", "x86_64", "x64", "em64t"):
        return "x86_64"
    if m in ("aarch64", "arm64", "armv8", "armv8l", "arm64e"):
        return "arm64"
    if m in ("i386", "i486", "i586", "i686", "x86"):
        return "x86"
    return m or "unknown"


def _from_dict(cls: type[T], data: Any, where: str = "") -> T:
    """Build a dataclass from parsed JSON, every field type-checked; keys it does not know are ignored
    (newer writers may add keys). Raises ReportError naming the field."""
    try:
        return schema.build(cls, data, where)
    except schema.SchemaError as exc:
        raise ReportError(str(exc)) from None


# Strings the planner reads as numbers must look like numbers (schema.FORMATS_ATTR).
_DOTTED = r"\d+(\.\d+)*"


@dataclass
class OSInfo:
    FORMATS: ClassVar[dict[str, tuple[str, str]]] = {"glibc": (r"\d+\.\d+(\.\d+)?", "'2.36'")}

    name: str  # "linux" | "windows" | "macos" | other
    version: str
    arch: str  # normalised: "x86_64" | "arm64" | ...
    wsl: bool = False
    container: bool = False
    tegra: bool = False
    distro: str | None = None  # "Debian GNU/Linux 12 (bookworm)", "Windows 11 Pro", "macOS 14.5"
    build: str | None = None  # Windows build number, macOS build, kernel release
    glibc: str | None = None  # "2.36" on glibc Linux, None elsewhere
    rosetta: bool = False  # an x86_64 process translated on Apple Silicon
    jetpack: str | None = None  # L4T / JetPack release on Jetson
    libc: str | None = None  # Linux: "glibc" or "musl" (Alpine); None where unknown or not Linux


@dataclass
class CPUInfo:
    model: str | None = None
    cores: int | None = None  # physical
    threads: int | None = None  # logical
    avx: bool | None = None
    avx2: bool | None = None
    avx512: bool | None = None


@dataclass
class DiskInfo:
    purpose: str  # "env" | "temp" | "cache"
    path: str
    free_mib: int | None
    total_mib: int | None = None


@dataclass
class ResourceInfo:
    ram_mib: int | None = None
    disks: list[DiskInfo] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> ResourceInfo:
        return _from_dict(cls, data, "resources")

    def free_mib(self, purpose: str) -> int | None:
        for disk in self.disks:
            if disk.purpose == purpose:
                return disk.free_mib
        return None


@dataclass
class GPUInfo:
    FORMATS: ClassVar[dict[str, tuple[str, str]]] = {"compute_capability": (r"\d+\.\d+", "'8.9'")}

    vendor: str  # "nvidia" | "amd" | "intel" | "apple"
    name: str
    compute_capability: str | None = None  # NVIDIA, "8.6"
    gfx_arch: str | None = None  # AMD, "gfx1100"
    discrete: bool | None = None
    memory_mib: int | None = None
    index: int | None = None
    uuid: str | None = None
    pci_id: str | None = None  # "10de:2684"
    source: str | None = None  # which probe found it: "nvml", "nvidia-smi", "kfd", "lspci", ...


@dataclass
class PythonInfo:
    # "unknown" (and "0" from older writers) for an interpreter that did not answer
    FORMATS: ClassVar[dict[str, tuple[str, str]]] = {"version": (r"\d+\.\d+\S*|0|unknown", "'3.12.4'")}

    executable: str
    version: str  # "3.12.4"
    arch: str  # normalised
    bits: int
    free_threaded: bool
    source: str  # "PATH", "pyenv", "py launcher", "registry", "conda", "uv", "homebrew", ...
    implementation: str = "cpython"
    usable: bool = True
    problem: str | None = None  # why it is unusable: "Windows Store alias", "exited with code 9009", ...
    has_venv: bool | None = None
    has_ensurepip: bool | None = None
    externally_managed: bool = False  # PEP 668
    is_venv: bool = False
    prefix: str | None = None
    aliases: list[str] = field(default_factory=list)  # other paths that start this same interpreter

    @property
    def minor(self) -> str:
        """'3.12' from '3.12.4'."""
        return ".".join(self.version.split(".")[:2])


@dataclass
class ToolInfo:
    executable: str
    version: str | None = None


@dataclass
class CondaInfo:
    executable: str
    version: str | None
    flavor: str  # "conda" | "mamba" | "micromamba"
    root: str | None = None  # the base prefix


@dataclass
class Tools:
    conda: CondaInfo | None = None
    git: ToolInfo | None = None
    cmake: ToolInfo | None = None
    ninja: ToolInfo | None = None
    compiler: ToolInfo | None = None  # a C/C++ compiler: gcc, clang, cl
    nvcc: ToolInfo | None = None  # version is the CUDA toolkit version, "12.6"
    hipcc: ToolInfo | None = None
    vc_runtime: str | None = None  # Windows: "14.40.33810"
    long_paths_enabled: bool | None = None  # Windows: LongPathsEnabled

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Tools:
        return _from_dict(cls, data, "tools")


@dataclass
class NetworkInfo:
    checked: bool = False  # False with --offline: nothing was asked
    proxies: dict[str, str] = field(default_factory=dict)  # scheme -> URL, credentials redacted
    pytorch_index: bool | None = None  # PyTorch's wheel index answered
    package_index: bool | None = None  # the default package index answered
    detail: str | None = None
    problem: str | None = None  # "certificate" | "proxy-auth" | "proxy-failed" | "no-answer" when a check failed
    # Where each network setting in use came from: "package index" -> "/etc/pip.conf", "proxy" -> "HTTPS_PROXY"
    sources: dict[str, str] = field(default_factory=dict)


@dataclass
class ProbeResult:
    name: str
    seconds: float
    error: str | None = None


@dataclass
class SystemReport:
    FORMATS: ClassVar[dict[str, tuple[str, str]]] = {
        "nvidia_driver": (_DOTTED, "'550.54.14'"),
        "cuda_driver_version": (_DOTTED, "'13.0'"),
    }

    os: OSInfo
    gpus: list[GPUInfo] = field(default_factory=list)
    nvidia_driver: str | None = None
    pythons: list[PythonInfo] = field(default_factory=list)
    tools: Tools = field(default_factory=Tools)
    probes: list[ProbeResult] = field(default_factory=list)
    cuda_driver_version: str | None = None  # the CUDA version the driver supports, "13.0"
    rocm_version: str | None = None
    cpu: CPUInfo = field(default_factory=CPUInfo)
    resources: ResourceInfo = field(default_factory=ResourceInfo)
    network: NetworkInfo = field(default_factory=NetworkInfo)
    schema_version: int = SCHEMA_VERSION

    # -- serialisation -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        # schema_version first: it is the first thing a reader should check.
        return {"schema_version": data.pop("schema_version"), **data}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: Any) -> SystemReport:
        if not isinstance(data, dict):
            raise ReportError("a system report must be a JSON object")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ReportError(f"unsupported schema_version {version!r} (this version reads {SCHEMA_VERSION})")
        if "os" not in data:
            raise ReportError("the report has no 'os' section")
        report = _from_dict(cls, data)
        for i, python in enumerate(report.pythons):
            # the planner reads X.Y from a usable interpreter's version; "unknown" is only for broken ones
            if python.usable and not re.match(r"\d+\.\d+", python.version):
                raise ReportError(f"pythons[{i}].version: expected a string like '3.12.4' for a usable "
                                  f"interpreter, got {json.dumps(python.version)}")
        return report

    @classmethod
    def load(cls, path: str | Path) -> SystemReport:
        """Read a report written by `detect --json`. Raises ReportError with a readable reason."""
        p = Path(path)
        try:
            if not p.is_file():
                raise ReportError(f"no such report file: {p}")
            if p.stat().st_size > 20 * 1024 * 1024:
                raise ReportError(f"{p} is too large to be a system report")
            text = p.read_text(encoding="utf-8")
            data = json.loads(text)
        except UnicodeDecodeError:
            raise ReportError(f"{p} is not a text file") from None
        except json.JSONDecodeError as exc:
            raise ReportError(f"{p} is not valid JSON (line {exc.lineno})") from None
        except RecursionError:
            raise ReportError(f"{p} is nested too deeply to be a system report") from None
        except OSError as exc:
            raise ReportError(f"{p} cannot be read: {exc.strerror or exc}") from None
        return cls.from_json(data)

    # -- questions the planner and the GUI ask ---------------------------------------------------

    def gpus_of(self, vendor: str) -> list[GPUInfo]:
        return [g for g in self.gpus if g.vendor == vendor]

    def usable_pythons(self) -> list[PythonInfo]:
        return [p for p in self.pythons if p.usable]

    def probe_error(self, name: str) -> str | None:
        for probe in self.probes:
            if probe.name == name:
                return probe.error
        return None
