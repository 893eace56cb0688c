"""Doctor's judging from installed metadata under recorded machines, its reading of uv's dry run, and
`diagnose`'s fallback and standard input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from installer.core.catalog import Catalog
from installer.core.doctor.backup import changed_names, parse_changes
from installer.core.doctor.inspect import Dist, EnvFacts, cuda_families, torch_build, torch_cuda
from installer.core.doctor.judge import judge_env
from installer.core.doctor.planning import pinned_conflicts, retarget
from installer.core.plan import Plan, Step
from installer.core.report import SystemReport
from tests.conftest import FIXTURES, REPO

REPORTS = FIXTURES / "reports"


def facts(*dists: tuple[str, str] | Dist, python: str = "3.11.7") -> EnvFacts:
    items = [d if isinstance(d, Dist) else Dist(d[0], d[1]) for d in dists]
    return EnvFacts(path="/envs/x", python_executable="/envs/x/bin/python", python=python, dists=items)


def codes(f: EnvFacts, report: str, planned: str | None = None) -> list[str]:
    return [x.code for x in judge_env(f, SystemReport.load(REPORTS / report), Catalog.load(),
                                      planned_backend=planned)]


def test_build_from_local_label_and_nvidia_runtime() -> None:
    assert torch_build(facts(("torch", "2.13.0+cu126"))) == "cu126"
    assert torch_cuda(facts(("torch", "2.13.0+cu130"))) == "13.0"
    pypi_linux = facts(("torch", "2.5.1"), ("nvidia-cuda-runtime-cu12", "12.4.127"))
    assert torch_build(pypi_linux) == "cu124"
    assert torch_build(facts(("torch", "2.5.1"))) == "cpu"


def test_cpu_build_on_gpu_machine_and_old_driver() -> None:
    assert codes(facts(("torch", "2.13.0+cpu")), "linux-rtx4090.json", planned="cu126") == ["cpu-only-on-gpu"]
    # the planner would not use that GPU (its driver runs no published CUDA build): not a finding
    assert codes(facts(("torch", "2.13.0+cpu")), "linux-gtx1080-old-driver.json", planned="cpu") == ["works"]
    assert "driver-too-old" in codes(facts(("torch", "2.13.0+cu130")), "linux-gtx1080-old-driver.json")


def test_mixed_cuda_families_and_numpy_abi_and_family_mismatch() -> None:
    mixed = facts(("torch", "2.13.0+cu130"), ("nvidia-cublas-cu12", "12.6.4.1"), ("nvidia-cublas", "13.0.0.19"))
    assert sorted(cuda_families(mixed)) == ["12", "13"]
    assert "mixed-cuda" in codes(mixed, "linux-rtx4090.json", planned="cu126")
    assert "numpy-abi" in codes(facts(("torch", "2.1.2"), ("numpy", "2.0.1")), "macos-m2.json")
    tv = Dist("torchvision", "0.20.1+cu124", torch_requires=["torch==2.5.1"])
    mismatch = codes(facts(("torch", "2.13.0+cu126"), tv), "linux-rtx4090.json", planned="cu126")
    assert mismatch[0] == "family-mismatch"


def test_old_python_is_warned_and_missing_arch_is_found() -> None:
    assert "python-unsupported" in codes(facts(("numpy", "1.26.0"), python="3.8.18"), "linux-h100.json")
    # torch 2.13's cu126 build carries no Blackwell (sm_100) kernels (the bundled catalog's arch list)
    found = codes(facts(("torch", "2.13.0+cu126")), "linux-b200-blackwell.json", planned="cu130")
    catalog = Catalog.load()
    arches = catalog.cuda_arches(catalog.release("2.13.0"), "cu126", "linux-x86_64")
    assert ("arch-missing" in found) == (not any(a.startswith("10.") or "+PTX" in a for a in arches))


def test_pinned_packages_are_named_with_their_requirement() -> None:
    env = facts(("torch", "2.5.1+cu124"), Dist("xformers", "0.0.28", torch_requires=["torch==2.5.1"]),
                Dist("accelerate", "1.0", torch_requires=["torch>=1.10.0"]))
    plan = Plan(method="pip", backend="cu126", torch="2.13.0", python="3.11", env="/s",
                packages=["torch==2.13.0+cu126"])
    assert pinned_conflicts(env, plan) == ["xformers 0.0.28 requires torch==2.5.1; repairing will break it"]


def test_retarget_drops_the_venv_step_and_points_at_the_env() -> None:
    plan = Plan(method="pip", backend="cpu", torch="2.13.0", python="3.11", env="/scratch", env_python="/scratch/bin/python",
                steps=[Step("Create the environment", ["uv", "venv", "/scratch"], kind="venv", creates="/scratch"),
                       Step("Install PyTorch", ["uv", "pip", "install", "--python", "/scratch/bin/python", "torch"],
                            kind="install"),
                       Step("Verify", ["/scratch/bin/python", "probe.py", "--json", "--bytecode-cache", "/c/bytecode",
                                       "--expect", "cpu"], kind="verify")])
    out = retarget(plan, "/envs/x/bin/python")
    assert [s.kind for s in out.steps] == ["install", "verify"]
    assert out.steps[0].argv[4] == "/envs/x/bin/python" and out.steps[1].argv[0] == "/envs/x/bin/python"
    # someone's environment gets no bytecode from the cache: only environments a run creates do
    assert out.steps[1].argv == ["/envs/x/bin/python", "probe.py", "--json", "--expect", "cpu"]


def test_uv_dry_run_lines() -> None:
    text = ("Would uninstall 1 package\nWould install 2 packages\n + numpy==2.4.6\n - torch==2.13.0+cpu\n"
            " + torch==2.13.1+cpu (from file:///w/torch.whl)\n + torch @ file:///w/t.whl\n")
    changes = parse_changes(text)
    assert changes.removed == ["torch==2.13.0+cpu"] and changes.added == ["numpy", "torch"]
    assert changed_names("a==1\nb==2\n", "a==1\nb==3\nc==1\n") == ["b", "c"]


def _diagnose(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "installer", "diagnose", *args], cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_diagnose_reads_stdin_and_prints_evidence() -> None:
    log = (FIXTURES / "logs" / "driver-too-old-3.log").read_text(encoding="utf-8")
    done = _diagnose("-", stdin=log)
    assert done.returncode == 0 and "[driver-too-old]" in done.stdout
    assert "Evidence: " in done.stdout and "Error 804" in done.stdout


@pytest.mark.parametrize("json_flag", [True, False])
def test_diagnose_unknown_log_gets_the_unrecognised_fallback(tmp_path: Path, json_flag: bool) -> None:
    log = tmp_path / "x.log"
    log.write_text("step one\nfatal: the frobnicator refused\nbye\n", encoding="utf-8")
    done = _diagnose(str(log), *(["--json"] if json_flag else []))
    assert done.returncode == 0
    if json_flag:
        (only,) = json.loads(done.stdout)["diagnoses"]
        assert only["category"] == "unrecognised" and only["evidence"] == "fatal: the frobnicator refused"
    else:
        assert "[unrecognised]" in done.stdout and "Evidence: fatal: the frobnicator refused" in done.stdout
