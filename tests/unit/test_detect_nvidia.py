"""NVIDIA probe: recorded nvidia-smi and /proc outputs, and a fake NVML with real GPUs' values."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from installer.core.detect import nvidia
from installer.core.detect.sources import MachineSources, fake_completed
from installer.core.process import Completed

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "detect"
MIB = 1024 * 1024


def fixture(name: str) -> str:
    return (FIX / name).read_text(encoding="utf-8")


class FakeNVML:
    """The slice of pynvml the probe calls, answering like a real driver would."""

    class NVMLError(Exception):
        pass

    def __init__(self, gpus: list[tuple[str, tuple[int, int], int]], driver: str = "550.54.14",
                 cuda: int = 12040, fail_init: bool = False) -> None:
        self.gpus = gpus
        self.driver = driver
        self.cuda = cuda
        self.fail_init = fail_init
        self.shut_down = False

    def nvmlInit(self) -> None:
        if self.fail_init:
            raise self.NVMLError("Driver Not Loaded")

    def nvmlShutdown(self) -> None:
        self.shut_down = True

    def nvmlSystemGetDriverVersion(self) -> bytes:
        return self.driver.encode()  # older nvidia-ml-py releases return bytes

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return self.cuda

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, h: int) -> str:
        return self.gpus[h][0]

    def nvmlDeviceGetCudaComputeCapability(self, h: int) -> tuple[int, int]:
        return self.gpus[h][1]

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        return SimpleNamespace(total=self.gpus[h][2] * MIB, free=0, used=0)

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return f"GPU-0000000{h}-aaaa-bbbb-cccc-dddddddddddd"

    def nvmlDeviceGetPciInfo(self, h: int) -> Any:
        return SimpleNamespace(pciDeviceId=0x268410DE)


def sources(files: dict[str, str] | None = None, on_path: dict[str, str] | None = None,
            commands: dict[str, Completed] | None = None, existing: Sequence[str] = ()) -> MachineSources:
    files = files or {}
    commands = commands or {}
    calls: list[list[str]] = []

    def run(argv: Sequence[str], timeout: float) -> Completed:
        calls.append(list(argv))
        key = " ".join(argv[1:]) if len(argv) > 1 else ""
        for pattern, result in commands.items():
            if pattern in key or (pattern == "" and key == ""):
                return result
        return fake_completed(argv, None, error="not recorded")

    src = MachineSources(read=files.get, listdir=lambda p: [], exists=lambda p: p in files or p in existing,
                         which=lambda n: (on_path or {}).get(n), run=run, env={})
    src.calls = calls  # type: ignore[attr-defined]
    return src


# -- NVML ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,cc,mib,expect", [
    ("NVIDIA GeForce RTX 4090", (8, 9), 24564, "8.9"),  # Ada
    ("NVIDIA H100 80GB HBM3", (9, 0), 81559, "9.0"),  # Hopper
    ("NVIDIA B200", (10, 0), 183359, "10.0"),  # Blackwell
    ("NVIDIA A100-PCIE-40GB", (8, 0), 40960, "8.0"),  # Ampere
    ("Tesla V100-SXM2-32GB", (7, 0), 32768, "7.0"),  # Volta
    ("NVIDIA GeForce GTX 1080 Ti", (6, 1), 11264, "6.1"),  # Pascal
])
def test_nvml_reports_each_generation(name: str, cc: tuple[int, int], mib: int, expect: str) -> None:
    fake = FakeNVML([(name, cc, mib)])
    facts = nvidia.detect_nvidia(sources(), nvml=fake)
    assert facts.source == "nvml"
    assert facts.driver == "550.54.14"
    assert facts.cuda == "12.4"
    assert [(g.name, g.compute_capability, g.memory_mib) for g in facts.gpus] == [(name, expect, mib)]
    assert facts.gpus[0].pci_id == "10de:2684"
    assert fake.shut_down


def test_nvml_lists_every_gpu_of_a_mixed_machine() -> None:
    fake = FakeNVML([("NVIDIA A100-PCIE-40GB", (8, 0), 40960), ("NVIDIA GeForce GTX 1080", (6, 1), 8192)],
                    driver="580.65.06", cuda=13000)
    facts = nvidia.detect_nvidia(sources(), nvml=fake)
    assert facts.cuda == "13.0"
    assert [g.compute_capability for g in facts.gpus] == ["8.0", "6.1"]
    assert [g.index for g in facts.gpus] == [0, 1]


def test_nvml_with_driver_but_no_gpu_reports_no_gpu() -> None:
    facts = nvidia.detect_nvidia(sources(), nvml=FakeNVML([]))
    assert facts.driver == "550.54.14"
    assert facts.gpus == []


def test_nvml_failure_falls_back_to_proc_and_nvidia_smi() -> None:
    smi_out = "0, NVIDIA GeForce RTX 4090, 550.54.14, 24564, 8.9, GPU-6f5e2a1c, 0x268410DE\n"
    src = sources(
        files={"/proc/driver/nvidia/version": fixture("proc-driver-nvidia-version-open-565.txt")},
        on_path={"nvidia-smi": "/usr/bin/nvidia-smi"},
        commands={"--query-gpu": fake_completed([], 0, smi_out),
                  "": fake_completed([], 0, fixture("nvidia-smi-banner-rtx-a6000.txt"))},
    )
    facts = nvidia.detect_nvidia(src, nvml=FakeNVML([], fail_init=True))
    assert facts.source == "nvidia-smi"
    assert [(g.name, g.compute_capability, g.memory_mib, g.pci_id) for g in facts.gpus] == [
        ("NVIDIA GeForce RTX 4090", "8.9", 24564, "10de:2684")]
    assert facts.driver == "550.54.14"
    assert any("Driver Not Loaded" in n for n in facts.notes)


# -- nvidia-smi --------------------------------------------------------------------------------------


def test_smi_csv_with_header_parses_every_line() -> None:
    gpus = nvidia.parse_smi_csv(fixture("nvidia-smi-query-titanv-rtx5880.csv"))
    assert [(g.index, g.name, g.compute_capability) for g in gpus] == [
        (0, "NVIDIA TITAN V", "7.0"), (1, "NVIDIA RTX 5880 Ada Generation", "8.9")]
    assert nvidia.smi_driver_version(fixture("nvidia-smi-query-titanv-rtx5880.csv")) == "570.86.15"


def test_smi_csv_eight_gpus_are_all_reported() -> None:
    lines = "".join(f"{i}, NVIDIA H100 80GB HBM3, 535.154.05, 81559, 9.0, GPU-{i}, 0x233010DE\n" for i in range(8))
    gpus = nvidia.parse_smi_csv(lines)
    assert [g.index for g in gpus] == list(range(8))
    assert {g.pci_id for g in gpus} == {"10de:2330"}


def test_no_devices_means_no_gpu_even_with_a_driver() -> None:
    src = sources(
        files={"/proc/driver/nvidia/version": fixture("proc-driver-nvidia-version-open-525-arch.txt")},
        on_path={"nvidia-smi": "/usr/bin/nvidia-smi"},
        commands={"--query-gpu": fake_completed([], 6, fixture("nvidia-smi-no-devices.txt")),
                  "": fake_completed([], 6, fixture("nvidia-smi-no-devices.txt"))},
    )
    facts = nvidia.detect_nvidia(src, use_nvml=False)
    assert facts.gpus == []
    assert facts.driver == "525.60.11"
    assert any("No devices were found" in n for n in facts.notes)


def test_old_driver_without_compute_cap_uses_the_name_table_and_the_banner() -> None:
    old = 'Field "compute_cap" is not a valid field to query.\n'
    rows = "0, NVIDIA GeForce GTX 1080, 470.182.03, 8192, GPU-1, 0x1B8010DE\n"

    def run(argv: Sequence[str], timeout: float) -> Completed:
        if len(argv) == 1:
            return fake_completed(argv, 0, fixture("nvidia-smi-banner-rtx-a6000.txt"))
        if "compute_cap" in argv[1]:
            return fake_completed(argv, 2, old)
        return fake_completed(argv, 0, rows)

    src = MachineSources(read=lambda p: None, which=lambda n: "/usr/bin/nvidia-smi", run=run, env={})
    facts = nvidia.detect_nvidia(src, use_nvml=False)
    assert [(g.name, g.compute_capability) for g in facts.gpus] == [("NVIDIA GeForce GTX 1080", "6.1")]
    assert facts.driver == "470.182.03"
    assert facts.cuda == "11.7"  # from the banner fixture


def test_nvidia_smi_is_found_at_wsl_path_when_not_on_path() -> None:
    src = sources(existing=["/usr/lib/wsl/lib/nvidia-smi"])
    assert nvidia.find_nvidia_smi(src) == "/usr/lib/wsl/lib/nvidia-smi"
    src = sources(existing=[r"C:\Program Files\NVIDIA Corporation\NVSMI\nvidia-smi.exe"])
    assert nvidia.find_nvidia_smi(src) == r"C:\Program Files\NVIDIA Corporation\NVSMI\nvidia-smi.exe"


@pytest.mark.parametrize("name,driver,cuda", [
    ("nvidia-smi-banner-rtx-a6000.txt", "515.48.07", "11.7"),
    ("nvidia-smi-banner-wsl-cuda-err.txt", "546.80", None),  # WSL: Windows driver, "ERR!" CUDA
    ("nvidia-smi-banner-gtx680-2014.txt", "331.62", None),  # banners before CUDA Version existed
])
def test_smi_banner(name: str, driver: str, cuda: str | None) -> None:
    assert nvidia.parse_smi_banner(fixture(name)) == (driver, cuda)


def test_smi_banner_new_umd_wording() -> None:
    line = "| NVIDIA-SMI 610.43.02    Driver Version: 610.43.02    CUDA UMD Version: 13.2 |"
    assert nvidia.parse_smi_banner(line) == ("610.43.02", "13.2")


# -- /proc/driver/nvidia/version ---------------------------------------------------------------------


@pytest.mark.parametrize("name,expect", [
    ("proc-driver-nvidia-version-open-565.txt", ("565.57.01", None)),
    ("proc-driver-nvidia-version-open-525-arch.txt", ("525.60.11", None)),
    ("proc-driver-nvidia-version-proprietary-590.txt", ("590.48.01", None)),
    ("proc-driver-nvidia-version-jetson-l4t-35.3.1.txt", (None, "35.3.1")),  # JetPack 5: not a driver
])
def test_proc_driver_version(name: str, expect: tuple[str | None, str | None]) -> None:
    assert nvidia.parse_proc_driver_version(fixture(name)) == expect


def test_proc_only_reports_driver_without_inventing_gpus() -> None:
    src = sources(files={"/proc/driver/nvidia/version": fixture("proc-driver-nvidia-version-open-565.txt")})
    facts = nvidia.detect_nvidia(src, use_nvml=False)
    assert (facts.driver, facts.gpus, facts.source) == ("565.57.01", [], "proc")


def test_jetson_l4t_is_not_taken_for_a_driver() -> None:
    src = sources(files={"/proc/driver/nvidia/version": fixture("proc-driver-nvidia-version-jetson-l4t-35.3.1.txt")})
    facts = nvidia.detect_nvidia(src, use_nvml=False)
    assert facts.driver is None
    assert any("L4T 35.3.1" in n for n in facts.notes)


@pytest.mark.parametrize("name,cc", [
    ("NVIDIA GeForce RTX 5090", "12.0"), ("NVIDIA B200", "10.0"), ("NVIDIA H100 80GB HBM3", "9.0"),
    ("NVIDIA RTX 6000 Ada Generation", "8.9"), ("NVIDIA GeForce RTX 4070", "8.9"), ("NVIDIA A100-SXM4-80GB", "8.0"),
    ("NVIDIA RTX A6000", "8.6"), ("NVIDIA GeForce RTX 3060", "8.6"), ("Quadro RTX 6000", "7.5"),
    ("Tesla T4", "7.5"), ("NVIDIA GeForce GTX 1650", "7.5"), ("Tesla V100-PCIE-16GB", "7.0"),
    ("Tesla P100-PCIE-16GB", "6.0"), ("NVIDIA GeForce GTX 1080 Ti", "6.1"), ("Tesla K80", "3.7"),
    ("Some Future GPU", None),
])
def test_capability_from_name(name: str, cc: str | None) -> None:
    assert nvidia.capability_from_name(name) == cc


def test_tegra_gpu_from_device_tree_model() -> None:
    gpu = nvidia.tegra_gpu_from_model("NVIDIA Jetson AGX Orin Developer Kit\0")
    assert gpu is not None and (gpu.name, gpu.compute_capability, gpu.discrete) == ("Orin", "8.7", False)
    assert nvidia.tegra_gpu_from_model("Raspberry Pi 4 Model B") is None
