"""The rules issue 9 fixed, each against a machine report whose source is noted, and every alternative a
refusal or warning offers planned on the same machine (a suggestion that would not work is never made)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from installer.core.catalog import Catalog
from installer.core.plan import ChoiceError, Choices, Plan
from installer.core.planner import make_plan
from installer.core.planner.facts import hardware
from installer.core.report import GPUInfo, OSInfo, PythonInfo, SystemReport

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "tests" / "fixtures" / "reports"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.bundled()


def plan_for(report: SystemReport, catalog: Catalog, **choices: Any) -> Plan:
    return make_plan(report, Choices(**choices), catalog, uv="/opt/uv/bin/uv")


def load(name: str) -> SystemReport:
    return SystemReport.load(REPORTS / f"{name}.json")


def linux(gpus: list[GPUInfo], driver: str | None = None, pythons: list[PythonInfo] | None = None,
          **os_kw: Any) -> SystemReport:
    os_kw.setdefault("glibc", "2.39")
    return SystemReport(
        os=OSInfo(name="linux", version=os_kw.pop("version", "24.04"), arch=os_kw.pop("arch", "x86_64"), **os_kw),
        gpus=gpus, nvidia_driver=driver,
        pythons=pythons if pythons is not None else [PythonInfo("/usr/bin/python3.12", "3.12.3", "x86_64", 64, False,
                                                                "PATH")],
    )


# Hand-written machines, values from public specifications:
# Jetson AGX Thor devkit, JetPack 7.0 (L4T R38.2, Ubuntu 24.04): nvidia-smi prints "NVIDIA Thor", driver 580.00,
# compute capability 11.0 (CUDA 13 numbering; NVIDIA's CUDA GPUs table).
THOR = linux([GPUInfo("nvidia", "NVIDIA Thor", compute_capability="11.0", discrete=False)], "580.00",
             [PythonInfo("/usr/bin/python3.12", "3.12.3", "arm64", 64, False, "PATH")],
             arch="arm64", tegra=True, jetpack="R38.2.0", distro="Ubuntu 24.04.3 LTS")
# Jetson Nano, JetPack 4.6 (L4T R32.7, Ubuntu 18.04: glibc 2.27, Python 3.6), Maxwell 5.3.
NANO = linux([GPUInfo("nvidia", "NVIDIA Tegra X1", compute_capability="5.3", discrete=False)], None,
             [PythonInfo("/usr/bin/python3.6", "3.6.9", "arm64", 64, False, "PATH")],
             arch="arm64", tegra=True, jetpack="R32.7.1", glibc="2.27", version="18.04")
# Alpine 3.20 (musl 1.2.5): /etc/os-release ID=alpine, no glibc.
ALPINE = linux([], None, [PythonInfo("/usr/bin/python3.12", "3.12.3", "x86_64", 64, False, "PATH")],
               glibc=None, libc="musl", version="3.20.3", distro="Alpine Linux v3.20")


def intel(name: str, discrete: bool = False) -> GPUInfo:
    return GPUInfo("intel", name, discrete=discrete)


# -- Jetson ---------------------------------------------------------------------------------------------


def test_jetson_thor_gets_the_standard_aarch64_cuda_wheels(catalog: Catalog) -> None:
    plan = plan_for(THOR, catalog)
    assert plan.backend.startswith("cu13"), plan.reasons + plan.warnings
    install = next(s for s in plan.steps if s.kind == "install")
    assert f"https://download.pytorch.org/whl/{plan.backend}" in install.argv
    assert any("SBSA" in r for r in plan.reasons)
    assert plan_for(THOR, catalog, torch="2.10", backend="cu130").warnings == []  # Thor's own CUDA 13.0 line


def test_older_jetsons_still_need_nvidias_builds(catalog: Catalog) -> None:
    for report in (load("jetson-orin"), NANO):
        plan = plan_for(report, catalog)
        assert plan.backend == "cpu"
        assert hardware().jetson_help.split()[0] in " ".join(plan.warnings)


# -- musl, Intel integrated Arc ---------------------------------------------------------------------------


def test_musl_linux_is_refused_with_the_reason(catalog: Catalog) -> None:
    with pytest.raises(ChoiceError, match=r"musl, not glibc: PyTorch publishes no musllinux wheels"):
        plan_for(ALPINE, catalog)


@pytest.mark.parametrize("name", [
    "Intel(R) Arc(TM) Graphics",  # Core Ultra 7 155H (Meteor Lake-H), Windows Device Manager
    "Meteor Lake-P [Intel Arc Graphics]",  # the same GPU as lspci names it
    "Intel(R) Arc(TM) 140V GPU (16GB)",  # Core Ultra 7 258V (Lunar Lake)
    "Intel(R) Arc(TM) 140T GPU (16GB)",  # Core Ultra 9 285H (Arrow Lake-H)
    "Intel(R) Arc(TM) B390 GPU",  # Core Ultra X9 388H (Panther Lake)
])
def test_core_ultra_integrated_arc_gets_xpu(catalog: Catalog, name: str) -> None:
    plan = plan_for(linux([intel(name)]), catalog)
    assert plan.backend == "xpu", plan.warnings


@pytest.mark.parametrize("name", ["Intel(R) UHD Graphics 620", "Intel(R) Iris(R) Xe Graphics", "Intel(R) Graphics"])
def test_uhd_and_iris_xe_stay_on_the_cpu(catalog: Catalog, name: str) -> None:
    plan = plan_for(linux([intel(name)]), catalog)
    assert plan.backend == "cpu" and "integrated" in " ".join(plan.warnings)


# -- Python -------------------------------------------------------------------------------------------------


def rosetta_mac() -> SystemReport:
    """An M1 Mac (macOS 14.5) whose only Python is an x86_64 build that runs under Rosetta 2."""
    return SystemReport(os=OSInfo(name="macos", version="14.5", arch="arm64"),
                        gpus=[GPUInfo("apple", "Apple M1")],
                        pythons=[PythonInfo(sys.executable, "3.12.4", "x86_64", 64, False, "python.org")])


def test_a_rosetta_python_is_rejected_for_its_real_reason(catalog: Catalog) -> None:
    plan = plan_for(rosetta_mac(), catalog)
    said = " ".join(plan.reasons)
    assert "x86_64 build running under emulation" in said and "outside the supported range" not in said
    with pytest.raises(ChoiceError, match="x86_64 build running under emulation"):
        plan_for(rosetta_mac(), catalog, python=sys.executable)


def test_offline_with_no_fitting_python_refuses_instead_of_downloading(catalog: Catalog) -> None:
    report = load("linux-no-python")
    with pytest.raises(ChoiceError, match="offline uv cannot download one"):
        plan_for(report, catalog, offline=True)
    # A Python uv already keeps (detected like any other, source "uv") is used offline.
    report.pythons.append(PythonInfo("/home/u/.local/share/uv/python/cpython-3.12.8-linux-x86_64-gnu/bin/python3.12",
                                     "3.12.8", "x86_64", 64, False, "uv"))
    plan = plan_for(report, catalog, offline=True)
    assert plan.python_executable and "/uv/python/" in plan.python_executable


# -- every alternative offered is planned first ---------------------------------------------------------------

_FIELDS = {"--torch": "torch", "--python": "python", "--method": "method", "--engine": "engine",
           "--backend": "backend", "--torch-source": "torch_source"}


def apply_suggestion(choices: dict[str, Any], text: str) -> dict[str, Any]:
    """The choices a message suggests: "choose --torch 2.5", "use --method pip with --torch nightly"."""
    changed = dict(choices)
    found = re.findall(r"(--[a-z-]+) ([\w.]+)", text)
    assert found, f"no suggestion in: {text}"
    for flag, value in found:
        changed[_FIELDS[flag]] = value.rstrip(".")
    return changed


def suggestion_of(message: str, marker: str) -> str:
    at = message.index(marker)
    return message[at:at + 80]


SUGGESTING: list[tuple[str, Any, dict[str, Any], str]] = [
    # (case, report factory, choices, the text that starts the suggestion)
    ("blackwell-on-2.6", lambda: linux([GPUInfo("nvidia", "NVIDIA GeForce RTX 5090", compute_capability="12.0",
                                                discrete=True)], "575.57.08"), {"torch": "2.6"}, "choose --torch"),
    ("pascal-driver-470", lambda: load("linux-gtx1080-old-driver"), {}, "use torch ≤"),
    ("nano-glibc-2.27", lambda: NANO, {"torch": "2.13"}, "choose --torch"),
    ("intel-mac-2.5", lambda: load("macos-intel"), {"torch": "2.5"}, "choose --torch"),
    ("windows-arm-python-3.14", lambda: load("windows-arm64"), {"python": "3.14"}, "choose --python"),
    ("conda-missing", lambda: load("linux-rtx4090"), {"method": "conda"}, "choose --method"),
    ("pip-engine-no-python", lambda: load("linux-no-python"), {"engine": "pip"}, "use --engine"),
    ("pypi-has-no-cu126", lambda: load("linux-rtx4090"), {"torch_source": "pypi", "backend": "cu126"},
     "use --torch-source"),
    ("mps-on-intel-mac", lambda: load("macos-intel"), {"backend": "mps"}, "use --backend"),
    ("conda-rocm", lambda: load("linux-h100"), {"method": "conda", "backend": "rocm7.2", "torch": "2.13"},
     "use --method"),
]


@pytest.mark.parametrize(("case", "report", "choices", "marker"), SUGGESTING, ids=[c[0] for c in SUGGESTING])
def test_each_suggested_alternative_plans_on_the_same_machine(
    catalog: Catalog, case: str, report: Any, choices: dict[str, Any], marker: str
) -> None:
    try:
        plan = plan_for(report(), catalog, **choices)
        message = " ".join(plan.warnings)
    except ChoiceError as exc:
        message = str(exc)
    assert marker in message, message
    text = suggestion_of(message, marker)
    if marker == "use torch ≤":  # "use torch ≤ 2.7 (cu118)": that release with that build
        series, variant = re.search(r"≤ ([\d.]+) \((\w+)\)", text).groups()  # type: ignore[union-attr]
        suggested = {**choices, "torch": series, "backend": variant}
    else:
        suggested = apply_suggestion(choices, text)
        build = re.search(r"its (\w+) build fits", text)
        if build:
            suggested["backend"] = build.group(1)
    alternative = plan_for(report(), catalog, **suggested)  # raises if the suggestion would not work
    if suggested.get("backend") != choices.get("backend"):  # a build it offers must also run here
        assert not any("cannot use" in w for w in alternative.warnings), alternative.warnings


def test_nothing_is_suggested_when_no_alternative_plans(catalog: Catalog) -> None:
    """A Jetson Nano with only Python 3.6 and the pip engine: no torch version installs there, so none is offered."""
    with pytest.raises(ChoiceError) as info:
        plan_for(NANO, catalog, torch="2.13", engine="pip")
    assert "--torch" not in str(info.value) and "use a newer Linux" in str(info.value)


# -- plans for another machine ----------------------------------------------------------------------------------


def cli_plan(report: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "TORCH_SETUP_HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
           "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "installer", "plan", "--system", str(REPORTS / f"{report}.json"),
                           "--offline", "--jupyter", *extra], capture_output=True, text=True, env=env, timeout=120)


def test_plan_for_a_windows_machine_uses_windows_conventions(tmp_path: Path) -> None:
    shown = cli_plan("windows-rtx4070", tmp_path)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "%USERPROFILE%\\torch-envs\\torch-2.14-" in out and "\\Scripts\\python.exe" in out
    assert "{uv} venv" in out and "{verify_probe}" in out
    steps = out[out.index("Steps:"):]
    assert str(tmp_path) not in out and str(Path.home()) not in out and "'%" not in steps and "'{" not in steps
    plan = json.loads(cli_plan("windows-rtx4070", tmp_path, "--json").stdout)
    assert plan["env"].startswith("%USERPROFILE%\\torch-envs\\")
    assert plan["env_python"].endswith("\\Scripts\\python.exe")
    assert any(d["topic"] == "target" and d["value"] == "windows" for d in plan["decisions"])


@pytest.mark.parametrize("report", ["macos-m2", "linux-rtx4090"])
def test_plan_for_a_posix_machine_uses_its_home(tmp_path: Path, report: str) -> None:
    shown = cli_plan(report, tmp_path)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert " ~/torch-envs/torch-2.14-" in out and "/bin/python" in out and "\\" not in out
    assert "{uv} venv" in out and "{verify_probe}" in out
    assert str(tmp_path) not in out and str(Path.home()) + "/" not in out


def test_a_plan_for_this_machine_still_names_real_tools(catalog: Catalog) -> None:
    plan = plan_for(load("linux-rtx4090"), catalog)
    assert plan.steps[0].argv[0] == "/opt/uv/bin/uv" and plan.decision("target") is None
    assert Path(plan.steps[-1].argv[1]).name == "verify_probe.py"


# -- facts are data, with sources -------------------------------------------------------------------------------


def test_every_fact_names_a_source_that_exists() -> None:
    data = json.loads((ROOT / "resources" / "hardware.json").read_text(encoding="utf-8"))
    sources = set(data["sources"])
    named = re.findall(r'"source": "([A-Z0-9]+)"', json.dumps(data))
    named += [s for s in data["macos"]["sources"]]
    assert named and set(named) <= sources, set(named) - sources
    facts = hardware()
    assert facts.glibc_floor("2.7", "x86_64") == "2.28" and facts.glibc_floor("2.6", "x86_64") == "2.17"
    assert facts.glibc_floor("2.6", "arm64") == "2.28" and facts.glibc_floor("2.5", "arm64") == "2.17"
    assert facts.numpy_pin("2.2") and not facts.numpy_pin("2.3")
    assert {x["codename"] for x in facts.xpu_integrated} == {"Meteor Lake-H", "Arrow Lake-H", "Lunar Lake",
                                                              "Panther Lake"}



def test_catalog_refresh_with_an_unreachable_index_says_so_without_an_internal_error(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(ROOT), "TORCH_SETUP_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "installer", "catalog", "--refresh", "--index-url",
                           "http://127.0.0.1:9/whl", "--timeout", "5"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 1 and "internal error" not in done.stderr + done.stdout
    assert "Could not refresh the catalog" in done.stderr + done.stdout
