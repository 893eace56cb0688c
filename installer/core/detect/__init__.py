"""System detection: one module per probe; detect() runs them all at once, each within a time limit.

A probe that fails or runs late is recorded in report.probes with its error, and detection goes on:
detect() never raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from installer.core.report import (
    CPUInfo,
    GPUInfo,
    NetworkInfo,
    OSInfo,
    ProbeResult,
    ResourceInfo,
    SystemReport,
    Tools,
    normalize_arch,
)

PROBE_NAMES = ("platform", "cpu", "resources", "nvidia", "amd", "intel", "apple", "pythons", "tools", "network")


def _probe_platform() -> OSInfo:
    from installer.core.detect.platform import detect_os

    return detect_os()


def _probe_cpu() -> CPUInfo:
    from installer.core.detect.platform import detect_cpu

    return detect_cpu()


def _probe_nvidia(timeout: float) -> Any:
    from installer.core.detect.nvidia import detect_nvidia

    return detect_nvidia(timeout=timeout)


def _probe_amd(timeout: float) -> Any:
    from installer.core.detect.amd import detect_amd

    return detect_amd(timeout=timeout)


def _probe_intel(timeout: float) -> list[GPUInfo]:
    from installer.core.detect.intel import detect_intel

    return detect_intel(timeout=timeout)


def _probe_apple() -> list[GPUInfo]:
    from installer.core.detect.apple import detect_apple

    return detect_apple()


def _probe_pythons(timeout: float) -> Any:
    from installer.core.detect.pythons import detect_pythons  # written by another module owner

    return detect_pythons(timeout=timeout)


def _probe_tools(timeout: float) -> Any:
    from installer.core.detect.tools import detect_tools

    return detect_tools(timeout=timeout)


def _probe_network() -> NetworkInfo:
    from installer.core.detect.network import detect_network

    return detect_network()


def _probe_resources(env_dir: str | None) -> ResourceInfo:
    from installer.core.detect.resources import detect_resources

    return detect_resources(env_dir)


def _fallback_os() -> OSInfo:
    import platform
    import sys

    name = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux" if sys.platform.startswith("linux")
                                                       else sys.platform)
    return OSInfo(name=name, version=platform.release(), arch=normalize_arch(platform.machine()))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def detect(offline: bool = False, env_dir: str | None = None, timeout: float = 8.0,
           progress: Callable[[str], None] | None = None) -> SystemReport:
    """Probe this machine. `progress` is called with each probe's name as it finishes (from this thread)."""
    # Commands inside probes get a little less than the whole budget so they end before we stop waiting.
    inner = max(0.5, timeout - 0.5)
    jobs: dict[str, Callable[[], Any]] = {
        "platform": _probe_platform,
        "cpu": _probe_cpu,
        "resources": lambda: _probe_resources(env_dir),
        "nvidia": lambda: _probe_nvidia(inner),
        "amd": lambda: _probe_amd(inner),
        "intel": lambda: _probe_intel(inner),
        "apple": _probe_apple,
        "pythons": lambda: _probe_pythons(min(6.0, inner)),
        "tools": lambda: _probe_tools(min(6.0, inner)),
        "network": _probe_network,
    }
    if offline:
        jobs.pop("network")

    started: dict[str, float] = {}
    finished: dict[str, float] = {}

    def timed(name: str, job: Callable[[], Any]) -> Any:
        started[name] = time.perf_counter()
        try:
            return job()
        finally:
            finished[name] = time.perf_counter()

    begin = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="probe")
    futures: dict[Future[Any], str] = {pool.submit(timed, name, job): name for name, job in jobs.items()}
    pending = set(futures)
    deadline = begin + timeout
    while pending:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
        if progress:
            for future in done:
                try:
                    progress(futures[future])
                except Exception:
                    pass  # a broken progress display must not break detection
    # Late probes keep running in their threads (their commands have their own time limits); we stop waiting.
    pool.shutdown(wait=False, cancel_futures=True)

    results: dict[str, Any] = {}
    probes: list[ProbeResult] = []
    for future, name in futures.items():
        end = finished.get(name, time.perf_counter())
        seconds = round(end - started.get(name, begin), 3)
        if not future.done():
            probes.append(ProbeResult(name, round(timeout, 3), f"did not finish within {timeout:g} s"))
            continue
        exc = future.exception()
        if exc is not None:
            probes.append(ProbeResult(name, seconds, _describe(exc)))
        else:
            results[name] = future.result()
            probes.append(ProbeResult(name, seconds, None))
    if offline:
        probes.append(ProbeResult("network", 0.0, None))
    probes.sort(key=lambda p: PROBE_NAMES.index(p.name) if p.name in PROBE_NAMES else len(PROBE_NAMES))
    return assemble(results, probes)


def assemble(results: dict[str, Any], probes: list[ProbeResult]) -> SystemReport:
    """Merge the probes' answers into one SystemReport (also used by tests with hand-made answers)."""
    os_info: OSInfo = results.get("platform") or _fallback_os()
    report = SystemReport(os=os_info, probes=probes)
    report.cpu = results.get("cpu") or CPUInfo()
    report.resources = results.get("resources") or ResourceInfo()
    report.network = results.get("network") or NetworkInfo(checked=False)
    report.tools = results.get("tools") or Tools()
    report.pythons = list(results.get("pythons") or [])

    nvidia = results.get("nvidia")
    if nvidia is not None:
        report.nvidia_driver = nvidia.driver
        report.cuda_driver_version = nvidia.cuda
        report.gpus.extend(nvidia.gpus)
    if os_info.tegra and not report.gpus_of("nvidia"):
        # Jetson: NVML and the desktop nvidia-smi do not see the integrated GPU; the board model names it.
        from installer.core.detect.nvidia import tegra_gpu_from_model
        from installer.core.detect.sources import read_text_file

        gpu = tegra_gpu_from_model(read_text_file("/proc/device-tree/model") or "")
        if gpu:
            report.gpus.append(gpu)
    for gpu in report.gpus_of("nvidia"):
        if os_info.tegra:
            gpu.discrete = False
        elif gpu.discrete is None:
            gpu.discrete = True  # every NVIDIA GPU outside Jetson is a card of its own

    amd = results.get("amd")
    if amd is not None:
        report.gpus.extend(amd.gpus)
        report.rocm_version = amd.rocm_version
    report.gpus.extend(results.get("intel") or [])
    report.gpus.extend(results.get("apple") or [])
    return report
