"""The steps each method plans (argv a user could run by hand), explicit choices, and bad requests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from installer.core import verify
from installer.core.catalog import Catalog
from installer.core.plan import ChoiceError, Choices, Plan
from installer.core.planner import make_plan, method_options
from installer.core.report import CondaInfo, GPUInfo, OSInfo, PythonInfo, SystemReport, ToolInfo

REPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "reports"
UV = "/opt/uv/bin/uv"
LOCAL_WHEEL = "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.bundled()


def load(name: str) -> SystemReport:
    return SystemReport.load(REPORTS / f"{name}.json")


def plan_for(report: SystemReport, catalog: Catalog, **kw: object) -> Plan:
    return make_plan(report, Choices(**kw), catalog, uv=UV)  # type: ignore[arg-type]


def step(plan: Plan, kind: str, n: int = 0) -> list[str]:
    return [s for s in plan.steps if s.kind == kind][n].argv


def ampere() -> SystemReport:
    return SystemReport(
        os=OSInfo(name="linux", version="24.04", arch="x86_64", glibc="2.39"),
        gpus=[GPUInfo("nvidia", "NVIDIA GeForce RTX 3090", "8.6", discrete=True)],
        nvidia_driver="580.95.05",
        pythons=[PythonInfo("/usr/bin/python3.12", "3.12.3", "x86_64", 64, False, "PATH")],
    )


# -- pip with uv and with pip ------------------------------------------------------------------------------


def test_pip_uv_steps_route_the_torch_family_only_to_pytorchs_index(catalog: Catalog, tmp_path: Path) -> None:
    env = tmp_path / "env"
    plan = plan_for(
        ampere(), catalog, torch="2.13", env=str(env), packages=["torch", "torchvision", "numpy>=2"]
    )
    assert plan.torch == "2.13.0" and plan.backend == "cu132"
    assert step(plan, "venv") == [UV, "venv", "--allow-existing", "--python", "/usr/bin/python3.12", str(env)]
    torch_step, other_step = step(plan, "install", 0), step(plan, "install", 1)
    assert torch_step == [
        UV, "pip", "install", "--python", str(env / "bin" / "python"),
        "--index-url", "https://download.pytorch.org/whl/cu132", "torch==2.13.0+cu132", "torchvision==0.28.0",
    ]  # fmt: skip
    assert "--extra-index-url" not in torch_step  # uv would search an extra index FIRST
    # The rest never sees PyTorch's index, and the torch family is pinned so nothing swaps it.
    assert not any("download.pytorch.org" in a for a in other_step)
    assert other_step[-3:] == ["torch==2.13.0+cu132", "torchvision==0.28.0", "numpy>=2"]
    assert all(s.retries == 2 for s in plan.steps if s.kind == "install")
    assert plan.steps[-1].kind == "verify"
    assert plan.steps[-1].argv[-10:] == ["--expect", "cu132", "--require", "torchvision",
                                         "--expect-torch", "2.13.0+cu132", "--expect-from", "PyTorch's cu132 index",
                                         "--bytecode-cache", str(verify.bytecode_cache_dir())]
    assert plan.env == str(env) and plan.torch_index == "https://download.pytorch.org/whl/cu132"
    assert (plan.download_mib or 0) > 2000 and (plan.disk_mib or 0) >= 6000


def test_pip_engine_uses_venv_and_pip_with_progress(catalog: Catalog) -> None:
    plan = plan_for(ampere(), catalog, engine="pip", torch="2.13")
    assert step(plan, "venv")[:3] == ["/usr/bin/python3.12", "-m", "venv"]
    install = step(plan, "install")
    assert install[1:4] == ["-m", "pip", "install"] and "--progress-bar" in install
    assert install[-1] == "torch==2.13.0+cu132"


def test_default_env_name_and_folder(catalog: Catalog) -> None:
    from installer.core import paths

    plan = plan_for(ampere(), catalog, torch="2.13")
    assert plan.env == str(paths.default_env_root() / "torch-2.13-cu132")
    plan = plan_for(ampere(), catalog, torch="2.13", env_name="lab")
    assert plan.env == str(paths.default_env_root() / "lab")


def test_torchaudio_without_a_release_is_a_warning(catalog: Catalog) -> None:
    plan = plan_for(ampere(), catalog, torch="2.13", packages=["torch", "torchaudio"])
    assert "torchaudio==2.11.0" in plan.packages
    assert any("no torchaudio 2.13" in w for w in plan.warnings)
    plan = plan_for(ampere(), catalog, torch="2.10", packages=["torch", "torchaudio"])
    assert "torchaudio==2.10.0" in plan.packages


def test_nightly_uses_the_nightly_index_with_pre(catalog: Catalog) -> None:
    plan = plan_for(ampere(), catalog, torch="nightly", packages=["torch", "torchvision"])
    install = step(plan, "install")
    assert "https://download.pytorch.org/whl/nightly/cu134" in install and "--pre" in install
    assert install[-2:] == ["torch", "torchvision"] and plan.torch == "nightly"


def test_local_wheel_folder_pins_the_version_and_uses_find_links(catalog: Catalog, tmp_path: Path) -> None:
    (tmp_path / LOCAL_WHEEL).write_bytes(b"")
    report = load("linux-rtx4090")
    report.pythons.append(PythonInfo("/usr/bin/python3.11", "3.11.9", "x86_64", 64, False, "PATH"))
    plan = plan_for(report, catalog, torch_source=str(tmp_path))
    assert plan.torch == "2.13.0" and plan.backend == "cpu" and plan.expect == "cpu"
    assert plan.python_executable == "/usr/bin/python3.11"  # the folder holds a cp311 wheel
    # torch is the folder's wheel file itself, so no index can serve another build in its place
    assert step(plan, "install")[-3:] == ["--find-links", str(tmp_path), f"torch @ {(tmp_path / LOCAL_WHEEL).as_uri()}"]
    assert plan.packages == ["torch==2.13.0+cpu"]
    # The GPU is there: the CPU build from the folder is never silent.
    assert any("holds only the cpu build" in w for w in plan.warnings)


@pytest.mark.skipif(
    not Path("/opt/wheels", LOCAL_WHEEL).is_file(), reason="needs the CI wheel folder /opt/wheels"
)
def test_planned_uv_steps_pick_the_local_cpu_wheel(catalog: Catalog, tmp_path: Path) -> None:
    # Runs the plan's own venv step and its install step as a dry run (offline, no deps) with real uv.
    from installer.core.uvbin import uv_executable

    uv = uv_executable()
    report = SystemReport(
        os=OSInfo(name="linux", version="x", arch="x86_64", glibc="2.39"),
        pythons=[PythonInfo(sys.executable, "3.11.0", "x86_64", 64, False, "PATH")],
    )
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the wheel in /opt/wheels is for Python 3.11")
    plan = make_plan(report, Choices(torch_source="/opt/wheels", env=str(tmp_path / "env")), catalog, uv=uv)
    subprocess.run(step(plan, "venv"), check=True, capture_output=True, timeout=120)
    install = step(plan, "install")
    argv = [*install[:3], "--dry-run", "--no-deps", "--offline", *install[3:]]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "file:///opt/wheels/torch-2.13.0+cpu-" in out.stdout + out.stderr  # that file, no index's torch


def test_pypi_source_uses_pypis_build_and_says_when_it_does_not_fit(catalog: Catalog) -> None:
    report = ampere()
    report.gpus = [GPUInfo("nvidia", "NVIDIA GeForce GTX 1080", "6.1", discrete=True)]
    plan = plan_for(report, catalog, torch="2.13", torch_source="pypi")
    assert plan.backend == "cu130" and plan.torch_index is None
    assert "--index-url" not in step(plan, "install")
    assert any("best served by cu126" in w for w in plan.warnings)
    with pytest.raises(ChoiceError, match="PyPI carries only the cu130 build"):
        plan_for(report, catalog, torch="2.13", torch_source="pypi", backend="cu126")


def test_mirror_url_replaces_pytorchs_index(catalog: Catalog) -> None:
    plan = plan_for(ampere(), catalog, torch="2.13", torch_source="https://mirror.example.org/pytorch/whl")
    assert "https://mirror.example.org/pytorch/whl/cu132" in step(plan, "install")
    plan = plan_for(ampere(), catalog, torch="2.13", torch_source="https://mirror.example.org/whl/cu126")
    assert "https://mirror.example.org/whl/cu126" in step(plan, "install")


def test_user_index_and_find_links_go_to_the_other_packages(catalog: Catalog, tmp_path: Path) -> None:
    plan = plan_for(
        ampere(), catalog, torch="2.13", packages=["torch", "pandas"],
        index_url="https://pypi.corp.example/simple", find_links=[str(tmp_path)],
    )  # fmt: skip
    torch_step, other = step(plan, "install", 0), step(plan, "install", 1)
    assert "https://pypi.corp.example/simple" not in torch_step
    assert other[other.index("--index-url") + 1] == "https://pypi.corp.example/simple"
    assert other[other.index("--find-links") + 1] == str(tmp_path)


def test_jupyter_kernel_step(catalog: Catalog, tmp_path: Path) -> None:
    plan = plan_for(ampere(), catalog, torch="2.13", jupyter=True, env=str(tmp_path / "My Env"))
    assert "ipykernel" in step(plan, "install", 1)
    kernel = next(s for s in plan.steps if s.kind == "kernel")
    assert kernel.argv[1:5] == ["-m", "ipykernel", "install", "--user"]
    assert kernel.argv[-1] == "PyTorch 2.13.0 (cu132)"
    assert kernel.creates and kernel.creates.endswith("jupyter/kernels/my-env")


# -- explicit backend ---------------------------------------------------------------------------------------


def test_explicit_backend_is_honoured_with_a_warning(catalog: Catalog) -> None:
    report = load("linux-intel-uhd")
    plan = plan_for(report, catalog, torch="2.13", backend="cu130")
    assert plan.backend == "cu130" and plan.expect == "cu130"
    assert any("cannot use the cu130 build: no NVIDIA GPU was found" in w for w in plan.warnings)
    plan = plan_for(load("linux-gtx1080-old-driver"), catalog, torch="2.13", backend="cu126")
    assert any("driver 470.223.02 is older than the ≥ 525.60.13" in w for w in plan.warnings)


def test_explicit_backend_not_published_is_refused(catalog: Catalog) -> None:
    with pytest.raises(
        ChoiceError, match=r"PyTorch 2\.13\.0 has no cu118 build for linux-x86_64; its builds there are"
    ):
        plan_for(ampere(), catalog, torch="2.13", backend="cu118")
    with pytest.raises(ChoiceError, match="mps backend exists only on Apple Silicon"):
        plan_for(ampere(), catalog, backend="mps")


# -- conda ------------------------------------------------------------------------------------------------------


def with_conda(report: SystemReport, flavor: str = "micromamba") -> SystemReport:
    report.tools.conda = CondaInfo(
        executable="/home/ana/.local/bin/micromamba", version="2.0.5", flavor=flavor
    )
    return report


def test_conda_uses_conda_forge_with_cuda_version_pin(catalog: Catalog, tmp_path: Path) -> None:
    env = tmp_path / "cenv"
    plan = plan_for(
        with_conda(ampere()), catalog, method="conda", env=str(env), packages=["torch", "torchvision"]
    )
    assert plan.torch == "2.10.0"  # newest conda-forge is assumed to carry
    assert "conda-forge builds lag" in " ".join(plan.reasons)
    create = step(plan, "conda-create")
    assert create == ["/home/ana/.local/bin/micromamba", "create", "-y", "-p", str(env), "python=3.12",
                      "-c", "conda-forge", "--override-channels"]  # fmt: skip
    install = step(plan, "install")
    assert "pytorch-gpu=2.10.0" in install and "torchvision=0.25.0" in install
    assert "cuda-version=13.0" in install
    joined = " ".join(install)
    assert "cudatoolkit" not in joined and "-c pytorch" not in joined
    assert plan.env_python == str(env / "bin" / "python")


def test_conda_cpu_and_newer_torch_warning(catalog: Catalog) -> None:
    report = with_conda(load("linux-intel-uhd"), flavor="conda")
    plan = plan_for(report, catalog, method="conda", torch="2.13")
    assert any(a.startswith("pytorch-cpu=2.13.0") for a in step(plan, "install"))
    assert any("conda-forge may not have PyTorch 2.13" in w for w in plan.warnings)


def test_conda_refusals(catalog: Catalog) -> None:
    with pytest.raises(ChoiceError, match=r"none was found\. Install Miniforge"):
        plan_for(ampere(), catalog, method="conda")
    with pytest.raises(ChoiceError, match=r"conda-forge has no rocm7\.2 builds"):
        plan_for(
            with_conda(load("linux-amd-rx7900")), catalog, method="conda", torch="2.13", backend="rocm7.2"
        )
    plan = plan_for(with_conda(load("linux-amd-rx7900")), catalog, method="conda")
    assert plan.backend == "cpu" and any("no ROCm builds" in w for w in plan.warnings)


# -- source ------------------------------------------------------------------------------------------------------


def builder() -> SystemReport:
    report = ampere()
    report.gpus.append(GPUInfo("nvidia", "NVIDIA GeForce RTX 4090", "8.9", discrete=True))
    report.tools.git = ToolInfo("/usr/bin/git", "2.43.0")
    report.tools.compiler = ToolInfo("/usr/bin/g++", "13.2.0")
    report.tools.cmake = ToolInfo("/usr/bin/cmake", "3.28.3")
    report.tools.nvcc = ToolInfo("/usr/local/cuda/bin/nvcc", "12.8")
    report.cpu.threads = 32
    report.resources.ram_mib = 64 * 1024
    return report


def test_source_build_steps(catalog: Catalog, tmp_path: Path) -> None:
    env = tmp_path / "src-env"
    repo = str(tmp_path / "fake-pytorch")
    plan = make_plan(
        builder(), Choices(method="source", torch="2.13", env=str(env)), catalog, uv=UV, source_repo=repo
    )
    assert plan.backend == "cu128"  # what the local CUDA 12.8 toolkit builds
    kinds = [s.kind for s in plan.steps]
    assert kinds[:4] == ["check"] * 4 and kinds[-3:] == ["install", "build", "verify"]
    clone = step(plan, "clone")
    assert clone[:3] == ["/usr/bin/git", "clone", "--recursive"]
    assert clone[clone.index("--branch") + 1] == "v2.13.0" and repo in clone
    build = next(s for s in plan.steps if s.kind == "build")
    assert build.argv[1:] == ["-m", "pip", "install", "--no-build-isolation", "-v", "."]
    assert build.cwd == str(env / "src" / "pytorch") and build.progress == "ninja"
    assert build.env["USE_CUDA"] == "1" and build.env["TORCH_CUDA_ARCH_LIST"] == "8.6;8.9"
    assert build.env["MAX_JOBS"] == "25"  # 64 GiB / 2.5 per job, under 32 threads
    assert "ninja" in step(plan, "install")  # ninja was not found: installed into the env


def test_source_without_compiler_or_nvcc(catalog: Catalog) -> None:
    report = builder()
    report.tools.nvcc = None
    plan = plan_for(report, catalog, method="source")
    assert plan.backend == "cpu" and any("No CUDA toolkit (nvcc)" in w for w in plan.warnings)
    with pytest.raises(ChoiceError, match="CUDA toolkit"):
        plan_for(report, catalog, method="source", backend="cu126")
    report.tools.compiler = None
    with pytest.raises(ChoiceError, match=r"Building from source needs a C/C\+\+ compiler"):
        plan_for(report, catalog, method="source")


# -- bad requests and method options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ({"torch": "2.15"}, r"PyTorch 2\.15 is not in the catalog \(newest known: 2\.14\.1\)"),
        ({"torch": "2.13.9"}, r"PyTorch 2\.13\.9 does not exist"),
        ({"torch": "1.13"}, r"choose 2\.0 to 2\.14\.1"),
        ({"packages": ["torch==2.5"]}, r"Give the torch version with --torch"),
        ({"backend": "cuda"}, r"Unknown compute platform"),
        ({"method": "conda", "torch": "nightly"}, r"conda"),
    ],
)
def test_bad_requests_are_one_sentence(catalog: Catalog, choices: dict, message: str) -> None:
    with pytest.raises(ChoiceError, match=message) as info:
        plan_for(ampere(), catalog, **choices)
    assert "\n" not in str(info.value)


def test_32bit_windows_is_refused(catalog: Catalog) -> None:
    report = SystemReport(os=OSInfo(name="windows", version="10", arch="x86"))
    with pytest.raises(ChoiceError, match="32-bit"):
        plan_for(report, catalog)


def test_method_options(catalog: Catalog) -> None:
    opts = {o.method: o for o in method_options(ampere())}
    assert opts["pip"].available and opts["pip"].recommended
    assert not opts["conda"].available and "Miniforge" in opts["conda"].reason
    assert not opts["source"].available and "git" in opts["source"].reason
    opts = {o.method: o for o in method_options(with_conda(builder()))}
    assert opts["conda"].available and "micromamba" in opts["conda"].reason
    assert opts["source"].available and "1–3 hours" in opts["source"].reason


def test_planner_runs_no_processes(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a: object, **k: object) -> None:
        raise AssertionError("the planner must not start processes")

    monkeypatch.setattr(subprocess, "Popen", boom)
    monkeypatch.setattr(shutil, "which", boom)
    for name in ("linux-h100", "macos-m2", "windows-rtx4070", "jetson-orin"):
        plan_for(load(name), catalog)
