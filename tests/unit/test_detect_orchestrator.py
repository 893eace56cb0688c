"""detect() on this machine, its failure handling, the saved report fixtures, the checklist and the network probe."""

from __future__ import annotations

import http.server
import json
import platform
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import installer.core.detect as detect_mod
from installer.core.checklist import ChecklistRow, checklist, render_checklist_text
from installer.core.detect import PROBE_NAMES, assemble, detect
from installer.core.detect.network import default_index_url, detect_network, redacted_proxies
from installer.core.detect.nvidia import NvidiaFacts
from installer.core.detect.resources import disk_info, nearest_existing
from installer.core.report import GPUInfo, OSInfo, ProbeResult, SystemReport

REPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "reports"


# -- the real machine ----------------------------------------------------------------------------


def test_detect_on_this_machine_states_true_facts() -> None:
    report = detect(offline=True)
    assert report.os.name == "linux"
    assert report.os.arch == {"x86_64": "x86_64", "aarch64": "arm64"}.get(platform.machine(), report.os.arch)
    assert report.os.glibc  # this is a glibc Linux
    assert [p.name for p in report.probes] == list(PROBE_NAMES)
    assert all(p.seconds >= 0 for p in report.probes)
    hardware = {p.name: p.error for p in report.probes if p.name not in ("pythons", "tools")}
    assert hardware == dict.fromkeys(hardware), hardware  # every hardware probe ran without error
    assert report.gpus == [] and report.nvidia_driver is None  # no GPU on this machine
    assert report.network.checked is False
    assert report.cpu.threads and report.resources.ram_mib and report.resources.ram_mib > 0
    assert {d.purpose for d in report.resources.disks} == {"env", "temp", "cache"}
    # the pythons probe belongs to another module; whatever it says, the report stays well-formed
    assert isinstance(report.pythons, list)
    again = SystemReport.from_json(json.loads(report.dumps()))
    assert again.to_json() == report.to_json()


def test_detect_is_quick_when_offline() -> None:
    start = time.perf_counter()
    detect(offline=True)
    # generous: the target is about a second; a slow CI box must not fail on noise
    assert time.perf_counter() - start < 6.0


def test_a_failing_probe_is_recorded_and_detection_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(timeout: float) -> Any:
        raise RuntimeError("NVML exploded")

    monkeypatch.setattr(detect_mod, "_probe_nvidia", broken)
    seen: list[str] = []
    report = detect(offline=True, progress=seen.append)
    assert report.probe_error("nvidia") == "RuntimeError: NVML exploded"
    assert report.probe_error("platform") is None and report.os.name == "linux"
    assert "nvidia" in seen and "platform" in seen


def test_a_late_probe_is_abandoned_with_a_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hangs(timeout: float) -> Any:
        release.wait(10)
        return NvidiaFacts()

    monkeypatch.setattr(detect_mod, "_probe_amd", hangs)
    try:
        start = time.perf_counter()
        report = detect(offline=True, timeout=1.5)
        elapsed = time.perf_counter() - start
    finally:
        release.set()
    assert report.probe_error("amd") == "did not finish within 1.5 s"
    assert elapsed < 5.0
    assert report.probe_error("platform") is None


def test_missing_pythons_module_is_a_probe_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(timeout: float) -> Any:
        raise ModuleNotFoundError("No module named 'installer.core.detect.pythons'")

    monkeypatch.setattr(detect_mod, "_probe_pythons", missing)
    report = detect(offline=True)
    assert "ModuleNotFoundError" in (report.probe_error("pythons") or "")
    assert report.pythons == []


def test_assemble_marks_jetson_gpus_integrated_and_others_discrete() -> None:
    facts = NvidiaFacts(driver="540.4.0", cuda="12.6",
                        gpus=[GPUInfo("nvidia", "Orin (nvgpu)", "8.7", source="nvidia-smi")])
    report = assemble({"platform": OSInfo("linux", "22.04", "arm64", tegra=True), "nvidia": facts}, [])
    assert report.gpus[0].discrete is False
    desktop = NvidiaFacts(driver="550.54.14", cuda="12.4", gpus=[GPUInfo("nvidia", "NVIDIA GeForce RTX 4090", "8.9")])
    report = assemble({"platform": OSInfo("linux", "22.04", "x86_64"), "nvidia": desktop}, [])
    assert (report.gpus[0].discrete, report.nvidia_driver, report.cuda_driver_version) == (True, "550.54.14", "12.4")


def test_assemble_without_platform_still_names_the_os() -> None:
    report = assemble({}, [ProbeResult("platform", 0.1, "boom")])
    assert report.os.name == "linux" and report.os.arch


# -- resources -----------------------------------------------------------------------------------


def test_free_disk_of_a_folder_that_does_not_exist_yet(tmp_path: Path) -> None:
    target = tmp_path / "not" / "yet" / "there"
    assert nearest_existing(target) == tmp_path
    disk = disk_info("env", target)
    assert disk.path == str(target) and disk.free_mib is not None and disk.free_mib > 0


# -- network -------------------------------------------------------------------------------------


@pytest.fixture
def local_index() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(200 if self.path.startswith("/simple") else 405)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_network_checks_the_configured_index_and_redacts_proxies(local_index: str) -> None:
    calls: list[str] = []

    def check(url: str, timeout: float) -> tuple[bool, str]:
        calls.append(url)
        if url.startswith("http://127.0.0.1"):
            from installer.core.detect.network import url_answers

            return url_answers(url, timeout)
        return False, "offline test"

    env = {"PIP_INDEX_URL": f"{local_index}/simple/"}
    info = detect_network(env=env, check=check, proxies={"https": "http://bob:s3cret@proxy.corp:3128"})
    assert info.checked and info.package_index is True and info.pytorch_index is False
    assert info.proxies == {"https": "http://bob:***@proxy.corp:3128"}
    assert "s3cret" not in (info.detail or "")
    assert calls[0].startswith("https://download.pytorch.org/whl")


def test_network_counts_any_http_answer_as_reachable(local_index: str) -> None:
    from installer.core.detect.network import url_answers

    assert url_answers(f"{local_index}/whl/", 2.0) == (True, "HTTP 405")
    ok, detail = url_answers("http://127.0.0.1:9/", 1.0)  # the discard port: nothing listens
    assert ok is False and detail


def test_default_index_from_environment_wins() -> None:
    assert default_index_url({"UV_DEFAULT_INDEX": "https://mirror.example/simple"}) == (
        "https://mirror.example/simple", "UV_DEFAULT_INDEX")
    assert redacted_proxies({"http": "http://u:p@h:1"}) == {"http": "http://u:***@h:1"}


# -- saved reports and the checklist ---------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(REPORTS.glob("*.json")), ids=lambda p: p.stem)
def test_report_fixture_loads_and_reads_as_a_checklist(path: Path) -> None:
    report = SystemReport.load(path)
    rows = checklist(report)
    assert rows and all(isinstance(r, ChecklistRow) and r.status in ("ok", "warn", "fail", "info") for r in rows)
    text = render_checklist_text(rows)
    assert text.splitlines()[0][0] in "✓⚠✗•"
    for gpu in report.gpus:
        assert gpu.name.split(" (")[0] in text


def rows_about(name: str, topic: str) -> list[ChecklistRow]:
    return [r for r in checklist(SystemReport.load(REPORTS / f"{name}.json")) if r.topic == topic]


def test_checklist_says_what_an_old_driver_and_pascal_mean() -> None:
    driver = rows_about("linux-gtx1080-old-driver", "driver")[0]
    assert driver.status == "warn" and "525" in driver.meaning
    gpu = rows_about("linux-gtx1080-old-driver", "gpu")[0]
    assert gpu.status == "warn" and "7.5" in gpu.meaning


def test_checklist_blackwell_driver_runs_cuda_13() -> None:
    assert "CUDA 13" in rows_about("linux-b200-blackwell", "driver")[0].meaning
    assert all(r.status == "ok" for r in rows_about("linux-b200-blackwell", "gpu"))


def test_checklist_intel_and_apple_and_windows() -> None:
    assert rows_about("linux-intel-arc-a770", "gpu")[0].status == "ok"
    assert "integrated" in rows_about("linux-intel-uhd", "gpu")[0].text
    assert "MPS" in rows_about("macos-m2", "gpu")[0].meaning
    assert any("2.2.2" in r.meaning for r in rows_about("macos-intel", "os"))
    assert any("long paths" in r.text for r in rows_about("windows-rtx4070", "tools"))
    assert any("CPU only" in r.meaning for r in rows_about("windows-arm64", "os"))


def test_checklist_no_python_and_offline() -> None:
    python = rows_about("linux-no-python", "python")[0]
    assert python.status == "ok" and "unusable" in python.text
    assert rows_about("linux-no-python", "network")[0].text.startswith("Network not checked")


def test_checklist_driver_without_gpu_in_a_container() -> None:
    report = SystemReport(os=OSInfo("linux", "22.04", "x86_64", container=True), nvidia_driver="550.54.14",
                          cuda_driver_version="12.4")
    texts = [r.text for r in checklist(report)]
    assert "NVIDIA driver loaded, but no usable GPU" in texts
    assert "No GPU that PyTorch can use" not in texts


def test_render_ascii_marks() -> None:
    rows = [ChecklistRow("ok", "os", "Linux", "fine"), ChecklistRow("fail", "disk", "Full", "no room")]
    assert render_checklist_text(rows, ascii_only=True) == "+ Linux\n    fine\nx Full\n    no room"
