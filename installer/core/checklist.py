"""The human reading of a SystemReport: one line per fact, marked ✓ ⚠ ✗, saying what it means for PyTorch.

Used by `torch-setup detect` (terminal) and the GUI's System page. Only facts from the report are stated;
which build fits is the planner's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from installer.core.report import DiskInfo, GPUInfo, SystemReport

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"
MARKS = {OK: "✓", WARN: "⚠", FAIL: "✗", INFO: "•"}
ASCII_MARKS = {OK: "+", WARN: "!", FAIL: "x", INFO: "-"}

GIB = 1024


@dataclass
class ChecklistRow:
    status: str  # "ok" | "warn" | "fail" | "info"
    topic: str  # "os", "cpu", "ram", "disk", "gpu", "driver", "python", "conda", "tools", "network", "probe"
    text: str
    meaning: str


def _gib(mib: int | None) -> str:
    if mib is None:
        return "unknown size"
    return f"{mib / GIB:.0f} GiB" if mib >= 10 * GIB else f"{mib / GIB:.1f} GiB"


def _major(version: str | None) -> int | None:
    try:
        return int((version or "").split(".")[0])
    except ValueError:
        return None


def _cc(value: str | None) -> tuple[int, int] | None:
    try:
        major, minor = (value or "").split(".")
        return int(major), int(minor)
    except ValueError:
        return None


def _os_rows(report: SystemReport) -> list[ChecklistRow]:
    os_ = report.os
    rows = []
    name = os_.distro or f"{os_.name} {os_.version}"
    extra = f", glibc {os_.glibc}" if os_.glibc else ""
    rows.append(ChecklistRow(OK, "os", f"{name}, {os_.arch}{extra}",
                             "PyTorch publishes builds for this system." if os_.arch in ("x86_64", "arm64")
                             else f"PyTorch publishes no builds for {os_.arch}."))
    if os_.arch not in ("x86_64", "arm64"):
        rows[-1].status = FAIL
    if os_.name == "macos" and os_.arch == "x86_64":
        rows.append(ChecklistRow(WARN, "os", "Intel Mac",
                                 "PyTorch's last release for Intel Macs is 2.2.2; newer versions are Apple Silicon only."))
    if os_.rosetta:
        rows.append(ChecklistRow(WARN, "os", "Running under Rosetta 2 (x86_64 translation) on Apple Silicon",
                                 "Install PyTorch for arm64 with a native Python; under Rosetta there is no MPS."))
    if os_.name == "windows" and os_.arch == "arm64":
        rows.append(ChecklistRow(INFO, "os", "Windows on Arm",
                                 "PyTorch's Windows arm64 builds are CPU only and need a native arm64 Python."))
    if os_.wsl:
        rows.append(ChecklistRow(INFO, "os", "Windows Subsystem for Linux",
                                 "The GPU driver is the Windows one: update it on Windows, not inside Linux."))
    if os_.container:
        rows.append(ChecklistRow(INFO, "os", "Inside a container",
                                 "Only GPUs passed into the container are visible here."))
    if os_.tegra:
        release = f" (L4T {os_.jetpack})" if os_.jetpack else ""
        rows.append(ChecklistRow(WARN, "os", f"NVIDIA Jetson{release}",
                                 "PyTorch's standard wheels target desktop and server GPUs; a Jetson GPU needs "
                                 "builds made for JetPack."))
    return rows


def _cpu_rows(report: SystemReport) -> list[ChecklistRow]:
    cpu = report.cpu
    counts = f"{cpu.cores} cores / {cpu.threads} threads" if cpu.cores and cpu.threads else \
        f"{cpu.threads or cpu.cores or '?'} threads"
    text = f"{cpu.model or 'CPU'} ({counts})"
    if cpu.avx is False:
        return [ChecklistRow(FAIL, "cpu", f"{text}, no AVX",
                             "PyTorch builds have stopped with 'Illegal instruction' on CPUs without AVX.")]
    if cpu.avx2 is False:
        return [ChecklistRow(WARN, "cpu", f"{text}, no AVX2",
                             "PyTorch runs, but without its AVX2 CPU kernels: CPU work is slower.")]
    if cpu.avx2:
        flags = "AVX2, AVX-512" if cpu.avx512 else "AVX2"
        return [ChecklistRow(OK, "cpu", f"{text}, {flags}", "PyTorch's fast CPU kernels can be used.")]
    return [ChecklistRow(OK, "cpu", text, "Runs PyTorch's builds for this architecture.")]


def _resource_rows(report: SystemReport) -> list[ChecklistRow]:
    rows = []
    ram = report.resources.ram_mib
    if ram is not None:
        if ram < 8 * GIB:
            rows.append(ChecklistRow(WARN, "ram", f"{_gib(ram)} RAM",
                                     "Enough to install; building PyTorch from source or large models need more."))
        else:
            rows.append(ChecklistRow(OK, "ram", f"{_gib(ram)} RAM", "Enough to install and use PyTorch."))
    for disk in report.resources.disks:
        rows.append(_disk_row(disk))
    return rows


def _disk_row(disk: DiskInfo) -> ChecklistRow:
    label = {"env": "where the environment goes", "temp": "for temporary files",
             "cache": "for the download cache"}.get(disk.purpose, disk.purpose)
    if disk.free_mib is None:
        return ChecklistRow(WARN, "disk", f"Free space {label} ({disk.path}) unknown", "Could not be measured.")
    text = f"{_gib(disk.free_mib)} free {label} ({disk.path})"
    if disk.free_mib < 3 * GIB:
        return ChecklistRow(FAIL, "disk", text, "Too little: a CUDA build of PyTorch with its libraries takes "
                                                "several GB.")
    if disk.free_mib < 10 * GIB:
        return ChecklistRow(WARN, "disk", text, "Tight: a CUDA build with its libraries takes several GB; a "
                                                "source build needs about 15 GB.")
    return ChecklistRow(OK, "disk", text, "Enough room.")


def _driver_meaning(report: SystemReport) -> str:
    cuda_major = _major(report.cuda_driver_version)
    if report.os.tegra:
        return "Jetson's driver comes with JetPack."
    if cuda_major is None:
        return "The CUDA version this driver supports is unknown."
    if cuda_major >= 13:
        return f"Runs CUDA 13 and CUDA 12 builds (driver supports CUDA up to {report.cuda_driver_version})."
    if cuda_major == 12:
        return (f"Runs CUDA 12.x builds (supports up to {report.cuda_driver_version}; newer 12.x builds run "
                "through minor-version compatibility); CUDA 13 builds need driver 580 or newer.")
    if cuda_major == 11:
        return "Runs CUDA 11.x builds only; CUDA 12 builds need driver 525 or newer (527.41 on Windows)."
    return "Too old for the CUDA builds PyTorch publishes today; update the driver."


def _nvidia_row(gpu: GPUInfo, report: SystemReport) -> ChecklistRow:
    bits = []
    if gpu.compute_capability:
        bits.append(f"compute {gpu.compute_capability}")
    if gpu.memory_mib:
        bits.append(_gib(gpu.memory_mib))
    text = gpu.name + (f" ({', '.join(bits)})" if bits else "")
    cc = _cc(gpu.compute_capability)
    if report.os.tegra:
        return ChecklistRow(INFO, "gpu", text, "Jetson's integrated GPU: usable with JetPack builds of PyTorch.")
    if cc is None:
        return ChecklistRow(WARN, "gpu", text, "Its compute capability is unknown, so the right CUDA build "
                                               "cannot be checked.")
    if cc < (5, 0):
        return ChecklistRow(FAIL, "gpu", text, "Too old for PyTorch's CUDA 12 and 13 builds.")
    if cc < (7, 5):
        return ChecklistRow(WARN, "gpu", text, "CUDA 13 builds start at compute 7.5 (Turing): this GPU needs a "
                                               "CUDA 12.6 or older build.")
    return ChecklistRow(OK, "gpu", text, "Supported by PyTorch's current CUDA builds.")


def _gpu_rows(report: SystemReport) -> list[ChecklistRow]:
    rows = []
    nvidia = report.gpus_of("nvidia")
    if report.nvidia_driver or nvidia:
        driver = report.nvidia_driver or "unknown"
        cuda_major = _major(report.cuda_driver_version)
        status = OK if cuda_major is not None and cuda_major >= 12 else WARN
        if report.os.tegra:
            status = INFO
        rows.append(ChecklistRow(status, "driver", f"NVIDIA driver {driver}", _driver_meaning(report)))
        if not nvidia:
            rows[-1].status = WARN
            rows.append(ChecklistRow(WARN, "gpu", "NVIDIA driver loaded, but no usable GPU",
                                     "No GPU is visible here (a container without GPU access, or a GPU-less "
                                     "node): a CPU build is what can run."))
    rows.extend(_nvidia_row(gpu, report) for gpu in nvidia)
    for gpu in report.gpus_of("amd"):
        text = gpu.name + (f" ({gpu.gfx_arch})" if gpu.gfx_arch and gpu.gfx_arch not in gpu.name else "")
        if report.os.name != "linux":
            rows.append(ChecklistRow(WARN, "gpu", text, "PyTorch's own index has ROCm builds for Linux only."))
        elif gpu.gfx_arch is None:
            rows.append(ChecklistRow(WARN, "gpu", text, "Its gfx target is unknown, so ROCm support cannot be "
                                                        "checked."))
        else:
            rocm = f"ROCm {report.rocm_version} is installed" if report.rocm_version else \
                "ROCm is not installed (PyTorch's ROCm wheels carry their own runtime)"
            rows.append(ChecklistRow(INFO, "gpu", text, f"ROCm builds cover a list of gfx targets; the plan checks "
                                                        f"{gpu.gfx_arch}. {rocm}."))
    for gpu in report.gpus_of("intel"):
        if gpu.discrete:
            rows.append(ChecklistRow(OK, "gpu", gpu.name, "A discrete Intel GPU: a target for PyTorch's XPU "
                                                          "builds."))
        else:
            rows.append(ChecklistRow(INFO, "gpu", f"{gpu.name} (integrated)", "Integrated graphics: not treated "
                                                                             "as an XPU target."))
    from installer.core.detect.apple import mps_possible

    for gpu in report.gpus_of("apple"):
        if mps_possible(report.os):
            rows.append(ChecklistRow(OK, "gpu", gpu.name, f"PyTorch can use it through MPS (macOS "
                                                          f"{report.os.version} ≥ 12.3)."))
        else:
            rows.append(ChecklistRow(WARN, "gpu", gpu.name, "MPS needs macOS 12.3 or newer on Apple Silicon."))
    if not report.gpus and not report.nvidia_driver:
        rows.append(ChecklistRow(INFO, "gpu", "No GPU that PyTorch can use", "The CPU build is the one that "
                                                                             "runs here."))
    return rows


def _python_rows(report: SystemReport) -> list[ChecklistRow]:
    error = report.probe_error("pythons")
    if error:
        return [ChecklistRow(WARN, "python", "Python interpreters could not be listed", error)]
    usable = report.usable_pythons()
    unusable = len(report.pythons) - len(usable)
    if not usable:
        return [ChecklistRow(WARN, "python", "No usable Python found",
                             "A Python will have to be provided for the new environment.")]
    newest = max(usable, key=lambda p: tuple(int(x) for x in p.version.split(".")[:3] if x.isdigit()))
    text = f"{len(usable)} Python interpreter{'s' if len(usable) != 1 else ''}, newest {newest.version}"
    if unusable:
        text += f" ({unusable} unusable)"
    return [ChecklistRow(OK, "python", text, "The plan picks one inside the chosen PyTorch's Python range.")]


def _tool_rows(report: SystemReport) -> list[ChecklistRow]:
    rows = []
    tools = report.tools
    error = report.probe_error("tools")
    if error:
        return [ChecklistRow(WARN, "tools", "Tools could not be listed", error)]
    if tools.conda:
        rows.append(ChecklistRow(OK, "conda", f"{tools.conda.flavor} {tools.conda.version or ''}".strip(),
                                 "The conda method can use it (conda-forge packages)."))
    else:
        rows.append(ChecklistRow(INFO, "conda", "No conda, mamba or micromamba",
                                 "The pip method needs none."))
    found = [name for name in ("git", "compiler", "cmake", "ninja", "nvcc") if getattr(tools, name)]
    missing = [name for name in ("git", "compiler", "cmake", "ninja") if not getattr(tools, name)]
    text = "Build tools: " + (", ".join(found) if found else "none")
    rows.append(ChecklistRow(INFO, "tools", text,
                             "Needed only to build PyTorch from source" +
                             (f"; missing: {', '.join(missing)}." if missing else ".")))
    if report.os.name == "windows":
        if tools.long_paths_enabled is False:
            rows.append(ChecklistRow(WARN, "tools", "Windows long paths are off",
                                     "Some packages' files exceed 260 characters; keep the environment path "
                                     "short or turn LongPathsEnabled on."))
        if tools.vc_runtime is None:
            rows.append(ChecklistRow(WARN, "tools", "Microsoft Visual C++ runtime not found",
                                     "PyTorch on Windows needs it to load its DLLs."))
    return rows


def _network_rows(report: SystemReport) -> list[ChecklistRow]:
    net = report.network
    if not net.checked:
        return [ChecklistRow(INFO, "network", "Network not checked (offline)",
                             "Only local wheels and caches can be used.")]
    rows = []
    if net.sources:
        # Where each setting came from, so a surprising index or proxy can be traced to its file or variable.
        # The row names the settings (short enough for the System page's list); its meaning says where from.
        rows.append(ChecklistRow(INFO, "network", "Network settings in use: " + ", ".join(net.sources),
                                 "; ".join(f"{name} from {origin}" for name, origin in net.sources.items())
                                 + ". Installs and this check use them; the system's certificates are trusted too."))
    if net.proxies:
        rows.append(ChecklistRow(INFO, "network", "Proxy: " + ", ".join(f"{k}={v}" for k, v in net.proxies.items()),
                                 "Downloads go through the proxy."))
    if net.pytorch_index:
        rows.append(ChecklistRow(OK, "network", "PyTorch's download index answers", "GPU builds can be "
                                                                                     "downloaded."))
    else:
        why = {"certificate": "its certificate is not trusted", "proxy-auth": "the proxy refused (407)",
               "proxy-failed": "the proxy could not connect"}.get(net.problem or "", "no answer")
        rows.append(ChecklistRow(FAIL, "network", f"PyTorch's download index does not answer ({why})",
                                 _network_fix(net.problem)))
    if net.package_index is True:
        rows.append(ChecklistRow(OK, "network", "The package index answers", "Other packages can be downloaded."))
    elif net.package_index is False:
        rows.append(ChecklistRow(FAIL, "network", "The package index does not answer",
                                 "Packages other than PyTorch cannot be downloaded."))
    return rows


def _network_fix(problem: str | None) -> str:
    from installer.core.netconfig import FIXES

    fix = FIXES.get(problem or "")
    if fix:
        return fix[0].upper() + fix[1:] + "."
    return ("CUDA, ROCm and XPU builds come from it: check the connection or proxy, or use a mirror or local "
            "wheels.")


def _probe_rows(report: SystemReport) -> list[ChecklistRow]:
    shown = {"pythons", "tools"}
    return [ChecklistRow(WARN, "probe", f"The {p.name} check failed", p.error)
            for p in report.probes if p.error and p.name not in shown]


def checklist(report: SystemReport) -> list[ChecklistRow]:
    return (_os_rows(report) + _cpu_rows(report) + _resource_rows(report) + _gpu_rows(report)
            + _python_rows(report) + _tool_rows(report) + _network_rows(report) + _probe_rows(report))


def render_checklist_text(rows: list[ChecklistRow], ascii_only: bool = False) -> str:
    marks = ASCII_MARKS if ascii_only else MARKS
    lines = []
    for row in rows:
        lines.append(f"{marks.get(row.status, '?')} {row.text}")
        if row.meaning:
            lines.append(f"    {row.meaning}")
    return "\n".join(lines)
