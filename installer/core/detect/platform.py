"""The operating system and the CPU: what they are, and the special cases PyTorch cares about
(WSL, containers, Jetson, glibc, Rosetta 2, AVX2)."""

from __future__ import annotations

import os
import platform as _platform
import re
import sys
from collections.abc import Callable

from installer.core.detect.sources import MachineSources, first_line
from installer.core.report import CPUInfo, OSInfo, normalize_arch

# -- pure parsers -------------------------------------------------------------------------------


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines of /etc/os-release, quotes removed."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def is_wsl_kernel(proc_version: str) -> bool:
    """WSL 1 says "Microsoft", WSL 2 says "microsoft-standard-WSL2"."""
    return "microsoft" in proc_version.lower()


_L4T = re.compile(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", re.IGNORECASE)


def parse_nv_tegra_release(text: str) -> str | None:
    """'# R36 (release), REVISION: 4.3, ...' → 'R36.4.3' (the L4T release; JetPack 6.2 here)."""
    match = _L4T.search(text)
    if not match:
        return None
    return f"R{match.group(1)}.{match.group(2)}"


def cgroup_says_container(text: str) -> bool:
    markers = ("docker", "kubepods", "containerd", "lxc", "libpod", "podman", "crio")
    return any(marker in line for line in text.splitlines() for marker in markers)


def windows_name(build: int | None) -> str:
    """Windows 11 kept the 10.0 version number; the build number tells them apart."""
    if build is None:
        return "Windows"
    return "Windows 11" if build >= 22000 else "Windows 10"


def parse_cpuinfo(text: str) -> tuple[str | None, set[str] | None]:
    """(model, x86 flags) from /proc/cpuinfo; flags is None where the CPU has no x86 'flags' line."""
    model: str | None = None
    flags: set[str] | None = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        value = value.strip()
        if key == "model name" and model is None and value:
            model = value
        elif key == "flags" and flags is None:
            flags = set(value.split())
        elif key in ("hardware", "processor") and model is None and value and not value.isdigit():
            model = value  # ARM boards: "Processor : ARMv7 ..." or "Hardware : ..."
    return model, flags


def avx_from_flags(flags: set[str] | None) -> tuple[bool | None, bool | None, bool | None]:
    if flags is None:
        return None, None, None
    return "avx" in flags, "avx2" in flags, "avx512f" in flags


def avx_from_macos_features(features: str) -> tuple[bool | None, bool | None, bool | None]:
    """`sysctl machdep.cpu.features machdep.cpu.leaf7_features` on an Intel Mac: 'AVX1.0', 'AVX2', 'AVX512F'."""
    words = set(features.upper().split())
    if not words:
        return None, None, None
    return "AVX1.0" in words or "AVX" in words, "AVX2" in words, "AVX512F" in words


# -- the OS -------------------------------------------------------------------------------------


def _glibc_version() -> str | None:
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
    except (AttributeError, ValueError, OSError):
        value = None
    if value and value.startswith("glibc "):
        return value.split()[1]
    lib, version = _platform.libc_ver()
    return version if lib == "glibc" and version else None


def detect_linux(src: MachineSources, machine: str, kernel: str, glibc: str | None) -> OSInfo:
    release = parse_os_release(src.read("/etc/os-release") or src.read("/usr/lib/os-release") or "")
    proc_version = src.read("/proc/version") or ""
    wsl = is_wsl_kernel(proc_version) or bool(src.env.get("WSL_DISTRO_NAME")) or src.exists("/dev/dxg")
    container = (
        src.exists("/.dockerenv")
        or src.exists("/run/.containerenv")
        or bool(src.env.get("container"))
        or cgroup_says_container(src.read("/proc/1/cgroup") or "")
    )
    tegra_release = src.read("/etc/nv_tegra_release")
    compatible = (src.read("/proc/device-tree/compatible") or "").replace("\0", " ")
    tegra = tegra_release is not None or "nvidia,tegra" in compatible or kernel.endswith("-tegra")
    jetpack = parse_nv_tegra_release(tegra_release or "") if tegra else None
    if tegra and jetpack is None:
        # JetPack 5 and older, /etc/nv_tegra_release removed: the kernel module still names the L4T release.
        from installer.core.detect.nvidia import parse_proc_driver_version

        _, l4t = parse_proc_driver_version(src.read("/proc/driver/nvidia/version") or "")
        jetpack = f"R{l4t}" if l4t else None
    return OSInfo(
        name="linux",
        version=release.get("VERSION_ID", kernel),
        arch=normalize_arch(machine),
        wsl=wsl,
        container=container,
        tegra=tegra,
        distro=release.get("PRETTY_NAME") or release.get("NAME"),
        build=kernel or None,
        glibc=glibc,
        jetpack=jetpack,
        libc="glibc" if glibc else ("musl" if release.get("ID") == "alpine" or _has_musl_loader(src) else None),
    )


def _has_musl_loader(src: MachineSources) -> bool:
    """musl's dynamic loader, /lib/ld-musl-<arch>.so.1: a musl system (PyTorch has no wheels for it)."""
    return any(src.exists(f"/lib/ld-musl-{arch}.so.1") for arch in ("x86_64", "aarch64"))


def detect_macos(src: MachineSources, machine: str, mac_version: str) -> OSInfo:
    rosetta = False
    if normalize_arch(machine) == "x86_64":
        result = src.run(["sysctl", "-n", "sysctl.proc_translated"], 3.0)
        rosetta = result.ok and result.stdout.strip() == "1"
    build = src.run(["sw_vers", "-buildVersion"], 3.0)
    # Under Rosetta the process says x86_64; the machine is Apple Silicon and arm64 wheels are right.
    arch = "arm64" if rosetta else normalize_arch(machine)
    return OSInfo(
        name="macos",
        version=mac_version,
        arch=arch,
        distro=f"macOS {mac_version}" if mac_version else "macOS",
        build=first_line(build.stdout) or None if build.ok else None,
        rosetta=rosetta,
    )


def detect_windows(src: MachineSources, machine: str, version: str, edition: str | None) -> OSInfo:
    # A 32-bit or emulated process hides the OS architecture; the WOW64 variable tells the truth.
    native = src.env.get("PROCESSOR_ARCHITEW6432") or machine or src.env.get("PROCESSOR_ARCHITECTURE", "")
    parts = version.split(".")
    build = int(parts[2]) if len(parts) >= 3 and parts[2].isdigit() else None
    name = windows_name(build)
    if edition:
        # win32_edition() gives "Professional", "Core" (Home) ...: the marketing name reads better.
        pretty = {"Core": "Home", "Professional": "Pro", "Enterprise": "Enterprise", "Education": "Education"}
        name = f"{name} {pretty.get(edition, edition)}"
    return OSInfo(name="windows", version=version, arch=normalize_arch(native), distro=name,
                  build=str(build) if build is not None else None)


def detect_os(src: MachineSources | None = None, system: str | None = None,
              uname: Callable[[], _platform.uname_result] = _platform.uname) -> OSInfo:
    src = src or MachineSources()
    system = system or sys.platform
    info = uname()
    if system.startswith("linux"):
        return detect_linux(src, info.machine, info.release, _glibc_version())
    if system == "darwin":
        return detect_macos(src, info.machine, _platform.mac_ver()[0])
    if system == "win32":
        edition = _platform.win32_edition() if hasattr(_platform, "win32_edition") else None
        return detect_windows(src, info.machine, _platform.version(), edition)
    return OSInfo(name=system, version=info.release, arch=normalize_arch(info.machine))


# -- the CPU ------------------------------------------------------------------------------------


def _windows_cpu() -> tuple[str | None, bool | None, bool | None, bool | None]:
    model = None
    try:
        import winreg  # type: ignore[import-not-found,unused-ignore]

        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"HARDWARE\DESCRIPTION\System\CentralProcessor\0")  # type: ignore[attr-defined,unused-ignore]
        model = str(winreg.QueryValueEx(key, "ProcessorNameString")[0]).strip()  # type: ignore[attr-defined,unused-ignore]
    except OSError:
        model = _platform.processor() or None
    try:
        import ctypes

        present = ctypes.windll.kernel32.IsProcessorFeaturePresent  # type: ignore[attr-defined,unused-ignore]
        # PF_AVX_INSTRUCTIONS_AVAILABLE = 39, PF_AVX2_... = 40, PF_AVX512F_... = 41 (Windows 10 and later)
        return model, bool(present(39)), bool(present(40)), bool(present(41))
    except (AttributeError, OSError):
        return model, None, None, None


def detect_cpu(src: MachineSources | None = None, system: str | None = None, machine: str | None = None) -> CPUInfo:
    import psutil

    src = src or MachineSources()
    system = system or sys.platform
    arch = normalize_arch(machine or _platform.machine())
    cpu = CPUInfo(cores=psutil.cpu_count(logical=False), threads=psutil.cpu_count(logical=True))
    if system.startswith("linux"):
        model, flags = parse_cpuinfo(src.read("/proc/cpuinfo") or "")
        cpu.model = model
        if arch in ("x86_64", "x86"):
            cpu.avx, cpu.avx2, cpu.avx512 = avx_from_flags(flags)
    elif system == "darwin":
        brand = src.run(["sysctl", "-n", "machdep.cpu.brand_string"], 3.0)
        cpu.model = first_line(brand.stdout) or None
        if arch == "x86_64":
            features = src.run(["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"], 3.0)
            cpu.avx, cpu.avx2, cpu.avx512 = avx_from_macos_features(features.stdout)
    elif system == "win32":
        cpu.model, avx, avx2, avx512 = _windows_cpu()
        if arch in ("x86_64", "x86"):
            cpu.avx, cpu.avx2, cpu.avx512 = avx, avx2, avx512
    return cpu
