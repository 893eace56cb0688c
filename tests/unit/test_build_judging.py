"""Is the installed torch the planned build? Judged from the probe's JSON (verify.judge_build), and the
planner's pins that keep the torch family to the chosen source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installer.core.catalog import Catalog
from installer.core.plan import ChoiceError, Choices
from installer.core.planner import make_plan
from installer.core.report import OSInfo, PythonInfo, SystemReport
from installer.core.verify import MARKER, report_from_output

UV = "/opt/uv/bin/uv"
CPU_WHEEL = "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"


def probe_json(**overrides: object) -> str:
    """What the probe prints for a torch that imports and computes on the CPU (no GPU on the machine)."""
    data = {"schema_version": 1, "ok": True, "python": "3.11.7", "torch": "2.13.0+cpu", "cuda": None, "hip": None,
            "build": "cpu", "backend": "cpu", "expect": "cpu", "expect_torch": "2.13.0+cpu",
            "expect_from": "the wheel folder /w", "available": {"cuda": False, "mps": False, "xpu": False},
            "devices": [], "checks": [{"name": "python", "ok": True, "detail": "Python 3.11.7"},
                                      {"name": "cpu", "ok": True, "detail": "matmul matches"},
                                      {"name": "backend", "ok": True, "detail": "expected a working CPU build: it works"}]}
    data.update(overrides)
    return f"noise\n{MARKER}\n{json.dumps(data)}\n"


def test_a_cuda_build_where_cpu_was_planned_fails_naming_both() -> None:
    # The swap of issue 8: the index's CUDA torch, running on the CPU, answered a CPU plan.
    r = report_from_output(probe_json(torch="2.13.0+cu130", cuda="13.0", build="cu130"), 0)
    assert not r.ok
    build = next(c for c in r.checks if c.name == "build")
    assert not build.ok
    assert "expected torch 2.13.0+cpu from the wheel folder /w, found 2.13.0+cu130" in build.detail
    assert "CUDA 13.0" in build.detail


def test_the_planned_build_passes() -> None:
    r = report_from_output(probe_json(), 0)
    assert r.ok and next(c for c in r.checks if c.name == "build").ok


def test_a_default_index_cuda_build_without_a_label_fails_a_cpu_plan() -> None:
    r = report_from_output(probe_json(torch="2.13.0", cuda="13.0", expect_torch=None, expect_from=None), 0)
    assert not r.ok and "found 2.13.0 (built for CUDA 13.0)" in r.failed_checks()[0].detail


def test_another_version_fails() -> None:
    r = report_from_output(probe_json(torch="2.12.1+cpu"), 0)
    assert not r.ok and "expected torch 2.13.0+cpu" in r.failed_checks()[0].detail


def test_a_label_the_plan_did_not_ask_for_fails_even_without_a_planned_version() -> None:
    r = report_from_output(probe_json(torch="2.13.0+cu126", cuda="12.6", expect="cu130", expect_torch=None), 0)
    assert not r.ok and any(c.name == "build" and "a cu130 build" in c.detail for c in r.checks)


def test_rocm_labels_compare_by_prefix_and_unlabelled_builds_are_not_judged() -> None:
    ok = report_from_output(probe_json(torch="2.13.0+rocm7.2.1", hip="7.2.1", expect="rocm7.2",
                                       expect_torch=None), 0)
    assert not any(c.name == "build" for c in ok.checks)
    mac = report_from_output(probe_json(torch="2.13.0", expect="mps", expect_torch=None), 0)
    assert not any(c.name == "build" for c in mac.checks)


# -- the planner: the family only from the chosen source -------------------------------------------------


def linux(*pythons: str) -> SystemReport:
    return SystemReport(os=OSInfo(name="linux", version="24.04", arch="x86_64", glibc="2.39"),
                        pythons=[PythonInfo(f"/usr/bin/python{v}", f"{v}.1", "x86_64", 64, False, "PATH")
                                 for v in pythons])


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.bundled()


def test_folder_source_refuses_a_python_it_has_no_wheel_for(catalog: Catalog, tmp_path: Path) -> None:
    (tmp_path / CPU_WHEEL).write_bytes(b"")
    with pytest.raises(ChoiceError, match=r"only for Python 3\.11, not for the chosen Python 3\.12: "
                                          r"choose --python 3\.11"):
        make_plan(linux("3.12", "3.11"), Choices(torch_source=str(tmp_path), python="3.12", torch="2.13.0",
                                                 backend="cpu"), catalog, uv=UV)


def test_folder_source_takes_torchvision_from_the_folder_too(catalog: Catalog, tmp_path: Path) -> None:
    (tmp_path / CPU_WHEEL).write_bytes(b"")
    choices = Choices(torch_source=str(tmp_path), torch="2.13.0", backend="cpu", packages=["torch", "torchvision"])
    with pytest.raises(ChoiceError, match=r"has no cpu wheel of torchvision 0\.28\.0"):
        make_plan(linux("3.11"), choices, catalog, uv=UV)
    vision = "torchvision-0.28.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    (tmp_path / vision).write_bytes(b"")
    plan = make_plan(linux("3.11"), choices, catalog, uv=UV)
    install = next(s for s in plan.steps if s.kind == "install").argv
    assert install[-2:] == [f"torch @ {(tmp_path / CPU_WHEEL).as_uri()}",
                            f"torchvision @ {(tmp_path / vision).as_uri()}"]
    assert plan.packages == ["torch==2.13.0+cpu", "torchvision==0.28.0+cpu"]
    verify = next(s for s in plan.steps if s.kind == "verify").argv
    assert verify[verify.index("--expect-torch") + 1] == "2.13.0+cpu"


def test_index_sources_pin_the_local_label_where_pytorch_uses_one(catalog: Catalog) -> None:
    plan = make_plan(linux("3.12"), Choices(torch="2.13.0", backend="cpu"), catalog, uv=UV)
    assert "torch==2.13.0+cpu" in next(s for s in plan.steps if s.kind == "install").argv
    mirror = make_plan(linux("3.12"), Choices(torch="2.13.0", backend="cpu",
                                              torch_source="https://mirror.example.org/whl"), catalog, uv=UV)
    assert "torch==2.13.0+cpu" in next(s for s in mirror.steps if s.kind == "install").argv
    pypi = make_plan(linux("3.12"), Choices(torch="2.13.0", torch_source="pypi"), catalog, uv=UV)
    assert "torch==2.13.0" in next(s for s in pypi.steps if s.kind == "install").argv  # PyPI has no labels
    mac = SystemReport(os=OSInfo(name="macos", version="15.0", arch="arm64"),
                       pythons=[PythonInfo("/usr/bin/python3.12", "3.12.1", "arm64", 64, False, "PATH")])
    plan = make_plan(mac, Choices(torch="2.13.0"), catalog, uv=UV)
    assert "torch==2.13.0" in next(s for s in plan.steps if s.kind == "install").argv  # macOS wheels: no label
