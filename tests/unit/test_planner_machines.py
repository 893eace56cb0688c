"""Recorded machines (tests/fixtures/reports) and built-in ones through the planner: the build a user gets and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.core.catalog import Catalog
from installer.core.plan import ChoiceError, Choices, Plan
from installer.core.planner import arch_covers, make_plan
from installer.core.report import GPUInfo, OSInfo, PythonInfo, SystemReport

REPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "reports"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.bundled()


def load(name: str) -> SystemReport:
    return SystemReport.load(REPORTS / f"{name}.json")


def plan_for(report: SystemReport, catalog: Catalog, **choices: object) -> Plan:
    return make_plan(report, Choices(**choices), catalog, uv="/opt/uv/bin/uv")  # type: ignore[arg-type]


def text(plan: Plan) -> str:
    return "\n".join(plan.reasons + plan.warnings)


def linux(gpus: list[GPUInfo], driver: str | None, **os_kw: object) -> SystemReport:
    return SystemReport(
        os=OSInfo(name="linux", version="24.04", arch="x86_64", glibc="2.39", **os_kw),  # type: ignore[arg-type]
        gpus=gpus,
        nvidia_driver=driver,
        pythons=[PythonInfo("/usr/bin/python3.12", "3.12.3", "x86_64", 64, False, "PATH")],
    )


def nv(name: str, cc: str) -> GPUInfo:
    return GPUInfo(vendor="nvidia", name=name, compute_capability=cc, discrete=True)


# -- the SASS/PTX rule -------------------------------------------------------------------------------


def test_arch_rule_same_major_lower_minor_and_ptx() -> None:
    assert arch_covers("8.9", ["8.0", "8.6"])  # Ada runs Ampere 8.6 SASS
    assert not arch_covers("8.6", ["8.9", "9.0"])  # never downwards
    assert not arch_covers("10.0", ["9.0"])  # never across a major
    assert arch_covers("12.1", ["12.0"])  # GB10 runs 12.0 SASS
    assert arch_covers("13.0", ["12.0+PTX"])  # PTX JIT for newer GPUs
    assert not arch_covers("6.1", ["7.5", "12.0+PTX"])  # PTX does not run on older GPUs


# -- NVIDIA ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gpu", "cc", "driver", "backend"),
    [
        ("NVIDIA GeForce RTX 3090", "8.6", "580.95.05", "cu132"),  # Ampere, new driver
        ("NVIDIA GeForce RTX 4090", "8.9", "580.95.05", "cu132"),  # Ada
        ("NVIDIA H100 80GB HBM3", "9.0", "580.95.05", "cu132"),  # Hopper
        ("NVIDIA GeForce RTX 5090", "12.0", "580.95.05", "cu132"),  # Blackwell
        ("NVIDIA GeForce GTX 1080", "6.1", "580.95.05", "cu126"),  # Pascal: no CUDA 13 kernels
        ("Tesla V100-SXM2-32GB", "7.0", "580.95.05", "cu126"),  # Volta: no CUDA 13 kernels
        ("NVIDIA GeForce RTX 3060", "8.6", "535.183.01", "cu126"),  # driver too old for CUDA 13
    ],
)
def test_nvidia_generations(catalog: Catalog, gpu: str, cc: str, driver: str, backend: str) -> None:
    plan = plan_for(linux([nv(gpu, cc)], driver), catalog, torch="2.14")
    assert plan.backend == backend
    assert plan.expect == backend
    assert gpu.replace("NVIDIA ", "") in text(plan)
    install = next(s for s in plan.steps if s.kind == "install")
    assert f"https://download.pytorch.org/whl/{backend}" in install.argv


def test_pascal_reason_names_the_gpu_and_cuda_13(catalog: Catalog) -> None:
    plan = plan_for(linux([nv("NVIDIA GeForce GTX 1080", "6.1")], "580.95.05"), catalog)
    assert "GeForce GTX 1080 (Pascal, compute 6.1) has no kernels in the CUDA 13 builds" in text(plan)


def test_blackwell_on_torch_2_6_has_no_build(catalog: Catalog) -> None:
    plan = plan_for(linux([nv("NVIDIA GeForce RTX 5090", "12.0")], "575.57.08"), catalog, torch="2.6")
    assert plan.backend == "cpu"
    assert "no kernels in any CUDA build of torch 2.6.0" in text(plan)
    assert "torch ≤ 2.14 (cu126)" not in text(plan)  # cu126 has no Blackwell either
    # Issue 9: "torch ≤ 2.13" was backwards (Blackwell needs a NEWER torch); the nearest release whose build
    # fits, planned on this machine first, is offered instead.
    assert "or choose --torch 2.7 (its cu128 build fits)" in text(plan)


def test_mixed_gpus_lowest_capability_decides(catalog: Catalog) -> None:
    plan = plan_for(load("linux-mixed-a100-gtx1080"), catalog)
    assert plan.backend == "cu126"
    assert "GTX 1080 (Pascal, compute 6.1) has no kernels in the CUDA 13 builds" in text(plan)


def test_old_driver_470_plans_cpu_with_update_advice(catalog: Catalog) -> None:
    plan = plan_for(load("linux-gtx1080-old-driver"), catalog)
    assert plan.backend == "cpu"
    warning = " ".join(plan.warnings)
    assert "470.223.02 is too old for any CUDA 12 build" in warning
    assert "update the driver to ≥ 525.60.13" in warning
    assert "torch ≤ 2.7 (cu118)" in warning


def test_driver_535_gets_cu126_not_cu130(catalog: Catalog) -> None:
    plan = plan_for(load("linux-h100"), catalog)
    assert plan.backend == "cu126"
    assert "need ≥ 580.65.06" in text(plan)


def test_recorded_machines(catalog: Catalog) -> None:
    assert plan_for(load("linux-rtx4090"), catalog).backend == "cu126"  # driver 550
    assert plan_for(load("linux-b200-blackwell"), catalog).backend == "cu132"
    assert plan_for(load("linux-v100"), catalog).backend == "cu126"


def test_wsl_uses_windows_driver_thresholds(catalog: Catalog) -> None:
    report = load("wsl-rtx3060")
    assert report.os.wsl
    plan = plan_for(report, catalog)
    assert plan.backend == "cu126"
    assert "WSL uses the Windows driver's thresholds" in text(plan)
    # 527.41 is the Windows floor for CUDA 12: 526.x passes the Linux floor (525.60.13) but not this one.
    report.nvidia_driver = "526.98"
    plan = plan_for(report, catalog)
    assert plan.backend == "cpu"
    assert "update the driver to ≥ 527.41" in " ".join(plan.warnings)


def test_container_says_the_gpu_comes_from_the_host(catalog: Catalog) -> None:
    report = linux([nv("NVIDIA A100-SXM4-80GB", "8.0")], "580.95.05", container=True)
    plan = plan_for(report, catalog)
    assert plan.backend == "cu132"
    assert "container" in text(plan)


def test_gpu_without_driver_never_silently_cpu(catalog: Catalog) -> None:
    plan = plan_for(linux([nv("NVIDIA GeForce RTX 3060", "8.6")], None), catalog)
    assert plan.backend == "cpu"
    assert "no working NVIDIA driver" in " ".join(plan.warnings)


def test_jetson_points_to_nvidia_builds(catalog: Catalog) -> None:
    plan = plan_for(load("jetson-orin"), catalog)
    assert plan.backend == "cpu"
    assert "Jetson" in " ".join(plan.warnings) and "jetson" in " ".join(plan.warnings).lower()
    assert "developer.nvidia.com" in " ".join(plan.warnings)


# -- AMD, Intel, Apple, Windows on Arm --------------------------------------------------------------------


def test_amd_supported_gets_rocm(catalog: Catalog) -> None:
    plan = plan_for(load("linux-amd-rx7900"), catalog, torch="2.13")
    assert plan.backend == "rocm7.2"
    assert "gfx1100" in text(plan)
    install = next(s for s in plan.steps if s.kind == "install")
    assert "https://download.pytorch.org/whl/rocm7.2" in install.argv


def test_amd_unsupported_gfx_says_why(catalog: Catalog) -> None:
    plan = plan_for(load("linux-amd-rx6700"), catalog)
    assert plan.backend == "cpu"
    assert "gfx1031" in " ".join(plan.warnings) and "not a target" in " ".join(plan.warnings)


def test_intel_arc_gets_xpu_and_integrated_gets_cpu(catalog: Catalog) -> None:
    assert plan_for(load("linux-intel-arc-a770"), catalog).backend == "xpu"
    plan = plan_for(load("linux-intel-uhd"), catalog)
    assert plan.backend == "cpu"
    assert "integrated" in " ".join(plan.warnings)


def test_apple_silicon_gets_mps(catalog: Catalog) -> None:
    plan = plan_for(load("macos-m2"), catalog)
    assert plan.backend == "mps" and plan.expect == "mps"
    assert plan.env_python.endswith("/bin/python")


def test_intel_mac_latest_is_2_2_2_and_newer_is_refused(catalog: Catalog) -> None:
    plan = plan_for(load("macos-intel"), catalog)
    assert plan.torch == "2.2.2" and plan.backend == "cpu"
    assert "stopped publishing Intel Mac" in text(plan)
    assert "numpy<2" in plan.packages
    with pytest.raises(
        ChoiceError, match=r"stopped publishing macOS x86_64 builds after 2\.2\.2: choose --torch 2\.2"
    ):
        plan_for(load("macos-intel"), catalog, torch="2.5")


def test_windows_on_arm_is_cpu_with_python_3_11_to_3_13(catalog: Catalog) -> None:
    report = load("windows-arm64")
    plan = plan_for(report, catalog)
    assert plan.backend == "cpu"
    assert plan.python in ("3.11", "3.12", "3.13")
    assert plan.env_python.endswith("Scripts\\python.exe")
    with pytest.raises(ChoiceError, match=r"supports Python 3\.11–3\.13"):
        plan_for(report, catalog, python="3.14")


def test_windows_preflight(catalog: Catalog) -> None:
    report = load("windows-rtx4070")
    plan = plan_for(report, catalog)
    assert plan.backend == "cu126"  # driver 560: R580+ needed for CUDA 13
    assert "long paths are off" in " ".join(plan.warnings)
    report.tools.vc_runtime = None
    assert "vc_redist" in " ".join(plan_for(report, catalog).warnings)


def test_no_avx2_and_low_disk_warnings(catalog: Catalog) -> None:
    from installer.core.report import DiskInfo

    report = linux([nv("NVIDIA GeForce RTX 4090", "8.9")], "580.95.05")
    report.cpu.avx2 = False
    report.resources.disks = [DiskInfo("env", "/home", 3000)]
    warnings = " ".join(plan_for(report, catalog).warnings)
    assert "no AVX2" in warnings
    assert "Only 2.9 GB are free where the environment goes" in warnings


# -- Python ---------------------------------------------------------------------------------------------


def test_no_compatible_python_provisions_one_with_uv(catalog: Catalog) -> None:
    plan = plan_for(load("linux-no-python"), catalog)
    assert plan.python_executable is None
    venv = plan.steps[0]
    assert venv.argv[:4] == ["/opt/uv/bin/uv", "venv", "--allow-existing", "--python"]
    assert venv.argv[4] == plan.python
    assert "uv downloads a managed CPython" in text(plan)


def test_no_compatible_python_with_pip_engine_suggests_uv(catalog: Catalog) -> None:
    with pytest.raises(ChoiceError, match="--engine uv"):
        plan_for(load("linux-no-python"), catalog, engine="pip")


def test_python_version_outside_range_is_one_sentence(catalog: Catalog) -> None:
    with pytest.raises(ChoiceError) as info:
        plan_for(load("linux-rtx4090"), catalog, torch="2.13", python="3.9")
    assert str(info.value).startswith("PyTorch 2.13.0 supports Python 3.10–3.14; 3.9 is outside")


def test_python_path_outside_range(catalog: Catalog, tmp_path: Path) -> None:
    exe = tmp_path / "python3.9"
    exe.write_text("")
    report = load("linux-rtx4090")
    report.pythons.append(PythonInfo(str(exe), "3.9.18", "x86_64", 64, False, "PATH"))
    with pytest.raises(ChoiceError, match=r"supports Python 3\.10–3\.14; the Python at .* is 3\.9\.18"):
        plan_for(report, catalog, python=str(exe))


def test_prefers_newest_regular_python(catalog: Catalog) -> None:
    report = linux([], None)
    report.pythons = [
        PythonInfo("/usr/bin/python3.11", "3.11.9", "x86_64", 64, False, "PATH"),
        PythonInfo("/opt/py/bin/python3.14t", "3.14.0", "x86_64", 64, True, "PATH"),
        PythonInfo("/opt/py/bin/python3.13", "3.13.1", "x86_64", 64, False, "PATH"),
        PythonInfo("/opt/py32/python.exe", "3.13.1", "x86", 32, False, "PATH"),
    ]
    plan = plan_for(report, catalog, torch="2.13")
    assert plan.python_executable == "/opt/py/bin/python3.13"
