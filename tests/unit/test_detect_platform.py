"""Platform and CPU facts from recorded files: distro, WSL, containers, Jetson, macOS, Windows, AVX."""

from __future__ import annotations

import platform as std_platform
from collections.abc import Sequence
from pathlib import Path

import pytest

from installer.core.detect import platform as plat
from installer.core.detect.sources import MachineSources, fake_completed
from installer.core.process import Completed

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "detect"


def fixture(name: str) -> str:
    return (FIX / name).read_text(encoding="utf-8")


def src_with(files: dict[str, str], env: dict[str, str] | None = None,
             commands: dict[str, str] | None = None) -> MachineSources:
    def run(argv: Sequence[str], timeout: float) -> Completed:
        key = " ".join(argv)
        for pattern, out in (commands or {}).items():
            if pattern in key:
                return fake_completed(argv, 0, out)
        return fake_completed(argv, 1, "", "unknown oid")

    return MachineSources(read=files.get, exists=lambda p: p in files, run=run, env=env or {})


def test_debian_container_from_recorded_files() -> None:
    files = {"/etc/os-release": fixture("os-release-debian-12.txt"), "/.dockerenv": "",
             "/proc/version": fixture("proc-version-this-machine.txt")}
    info = plat.detect_linux(src_with(files), "x86_64", "6.1.0-28-amd64", "2.36")
    assert (info.name, info.version, info.distro, info.arch, info.glibc) == (
        "linux", "12", "Debian GNU/Linux 12 (bookworm)", "x86_64", "2.36")
    assert info.container and not info.wsl and not info.tegra


@pytest.mark.parametrize("proc", ["proc-version-wsl2.txt", "proc-version-wsl1.txt"])
def test_wsl_from_proc_version(proc: str) -> None:
    files = {"/etc/os-release": fixture("os-release-fedora-remix-wsl.txt"), "/proc/version": fixture(proc)}
    info = plat.detect_linux(src_with(files), "x86_64", "5.4.72-microsoft-standard-WSL2", "2.32")
    assert info.wsl and info.distro == "Fedora Remix for WSL" and info.version == "33"
    assert not info.container


def test_wsl_from_environment_alone() -> None:
    info = plat.detect_linux(src_with({}, env={"WSL_DISTRO_NAME": "Ubuntu"}), "x86_64", "5.15", None)
    assert info.wsl


def test_container_from_cgroup_and_env() -> None:
    cgroup = "12:pids:/kubepods/besteffort/pod1234/abcd\n"
    assert plat.detect_linux(src_with({"/proc/1/cgroup": cgroup}), "x86_64", "6.1", None).container
    assert plat.detect_linux(src_with({}, env={"container": "podman"}), "x86_64", "6.1", None).container
    assert not plat.detect_linux(src_with({"/proc/1/cgroup": "0::/init.scope\n"}), "x86_64", "6.1", None).container


def test_jetson_release_files() -> None:
    files = {"/etc/nv_tegra_release": fixture("nv_tegra_release-r32-tx2.txt")}
    info = plat.detect_linux(src_with(files), "aarch64", "4.9.201-tegra", "2.27")
    assert (info.tegra, info.jetpack, info.arch) == (True, "R32.5.1", "arm64")
    # JetPack 5 image without nv_tegra_release: the device tree and the kernel module still tell.
    files = {"/proc/device-tree/compatible": "nvidia,p3768-0000+p3767-0000\0nvidia,tegra234\0",
             "/proc/driver/nvidia/version": fixture("proc-driver-nvidia-version-jetson-l4t-35.3.1.txt")}
    info = plat.detect_linux(src_with(files), "aarch64", "5.10.104-tegra", "2.31")
    assert (info.tegra, info.jetpack) == (True, "R35.3.1")


def test_parse_nv_tegra_release_r36() -> None:
    line = "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025"
    assert plat.parse_nv_tegra_release(line) == "R36.4.3"
    assert plat.parse_nv_tegra_release("garbage") is None


def test_apple_silicon_mac_and_rosetta() -> None:
    src = src_with({}, commands={"sw_vers": "23F79\n"})
    info = plat.detect_macos(src, "arm64", "14.5")
    assert (info.name, info.arch, info.rosetta, info.distro, info.build) == ("macos", "arm64", False, "macOS 14.5", "23F79")
    translated = src_with({}, commands={"sysctl.proc_translated": "1\n"})
    info = plat.detect_macos(translated, "x86_64", "14.5")
    assert (info.arch, info.rosetta) == ("arm64", True)
    intel_mac = src_with({}, commands={"sysctl.proc_translated": "0\n"})
    info = plat.detect_macos(intel_mac, "x86_64", "13.6.7")
    assert (info.arch, info.rosetta) == ("x86_64", False)


def test_windows_11_and_windows_on_arm() -> None:
    info = plat.detect_windows(src_with({}), "AMD64", "10.0.22631", "Core")
    assert (info.name, info.arch, info.build, info.distro) == ("windows", "x86_64", "22631", "Windows 11 Home")
    info = plat.detect_windows(src_with({}), "ARM64", "10.0.26100", "Professional")
    assert (info.arch, info.distro) == ("arm64", "Windows 11 Pro")
    # a 32-bit Python on 64-bit Windows: WOW64 names the real architecture
    info = plat.detect_windows(src_with({}, env={"PROCESSOR_ARCHITEW6432": "AMD64"}), "x86", "10.0.19045", None)
    assert (info.arch, info.distro) == ("x86_64", "Windows 10")


def test_cpuinfo_x86_flags_from_this_machine() -> None:
    model, flags = plat.parse_cpuinfo(fixture("proc-cpuinfo-xeon-avx512.txt"))
    assert model and "Xeon" in model
    assert plat.avx_from_flags(flags) == (True, True, True)


def test_cpuinfo_without_avx2_and_on_arm() -> None:
    text = "model name\t: Intel(R) Pentium(R) CPU G4560 @ 3.50GHz\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2\n"
    assert plat.avx_from_flags(plat.parse_cpuinfo(text)[1]) == (False, False, False)
    arm = "processor\t: 0\nBogoMIPS\t: 62.50\nFeatures\t: fp asimd evtstrm aes\nCPU implementer\t: 0x41\n"
    assert plat.parse_cpuinfo(arm) == (None, None)
    assert plat.avx_from_flags(None) == (None, None, None)


def test_macos_intel_avx_features() -> None:
    features = "FPU VME DE PSE TSC MSR PAE AVX1.0 RDRAND F16C\nRDWRFSGS TSC_THREAD_OFFSET BMI1 AVX2 SMEP BMI2\n"
    assert plat.avx_from_macos_features(features) == (True, True, False)


def test_cpu_on_this_machine() -> None:
    cpu = plat.detect_cpu()
    assert cpu.threads and cpu.threads >= 1
    assert cpu.model
    if std_platform.machine() == "x86_64":
        assert cpu.avx is not None and cpu.avx2 is not None


def test_musl_linux_is_told_apart_from_glibc() -> None:
    """Alpine 3.20's /etc/os-release and musl's loader (/lib/ld-musl-x86_64.so.1); glibc systems say glibc."""
    alpine = {"/etc/os-release": 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\n'}
    assert plat.detect_linux(src_with(alpine), "x86_64", "6.6.58-0-lts", None).libc == "musl"
    loader = {"/lib/ld-musl-x86_64.so.1": ""}
    assert plat.detect_linux(src_with(loader), "x86_64", "6.6", None).libc == "musl"
    assert plat.detect_linux(src_with({}), "x86_64", "6.1", "2.36").libc == "glibc"
    assert plat.detect_linux(src_with({}), "x86_64", "6.1", None).libc is None
