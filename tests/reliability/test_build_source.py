"""The build you asked for, or nothing: the torch family comes only from the chosen source, a damaged
wheel is refused (never skipped for another build), an offline plan that cannot resolve is refused before
anything is created, and verification fails a build that is not the planned one.

Real CLI as a subprocess, real uv/pip, the real torch 2.13.0 CPU wheel (tests/torch_env.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_run import REPO, cli_env, run_install
from tests.torch_env import (
    TORCH_VERSION,
    TorchEnvUnavailable,
    ensure_torch_env,
    in_ci,
    python311,
    uv_bin,
    wheel_folder,
)

WHEEL = f"torch-{TORCH_VERSION}+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
TRUNCATED_BYTES = 1024 * 1024


def _need(value: Any, what: str) -> Any:
    if not value:
        if in_ci():
            pytest.fail(f"prerequisite missing in CI: {what}")
        pytest.skip(what)
    return value


@pytest.fixture(scope="module")
def real_wheel() -> Path:
    folder = _need(wheel_folder(), f"no folder with the torch {TORCH_VERSION} cp311 wheel")
    return _need(next(iter(sorted(Path(folder).glob(f"torch-{TORCH_VERSION}*cp311*.whl"))), None), "no wheel")


@pytest.fixture(scope="module")
def py311() -> str:
    return str(_need(python311(), "no Python 3.11"))


def _cli(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "installer", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _truncated_folder(tmp_path: Path, real_wheel: Path) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    with open(real_wheel, "rb") as src:
        (folder / real_wheel.name).write_bytes(src.read(TRUNCATED_BYTES))
    return folder


# -- 1. a truncated wheel: refused, and nothing from anywhere else ------------------------------------------


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_a_truncated_wheel_installs_nothing_from_elsewhere(engine: str, tmp_path: Path, real_wheel: Path,
                                                           py311: str) -> None:
    folder = _truncated_folder(tmp_path, real_wheel)
    env_dir = tmp_path / "env"
    seen: list[str] = []

    def watch(event: dict[str, Any], proc: subprocess.Popen[str]) -> None:
        # Before the fix uv skipped the damaged file and fetched the index's CUDA torch (4.5 GB):
        # stop at the first sign of that instead of downloading it, and let the assertions fail.
        text = json.dumps(event).lower()
        seen.append(text)
        if "nvidia" in text or "triton" in text:
            proc.kill()

    run = run_install(["--engine", engine, "--torch-source", str(folder), "--python", py311,
                       "--torch", TORCH_VERSION, "--backend", "cpu", "--env", str(env_dir)],
                      cli_env(tmp_path), tmp_path / "report.json", on_event=watch)
    said = run.stderr + "\n".join(seen) + json.dumps(run.report or {})
    assert run.returncode in (1, 2), run.tail()
    assert "damaged or incomplete" in said, run.tail()
    assert WHEEL.split("+")[0] in said  # the file is named
    assert "nvidia" not in said.lower() and "triton" not in said.lower()
    assert not env_dir.exists(), "nothing may be left behind"


def test_the_planned_torch_step_cannot_fall_back_to_an_index(tmp_path: Path, real_wheel: Path,
                                                             py311: str) -> None:
    """The pin itself, without the pre-start check: the plan's own install argv, run by real uv against the
    damaged file, fails with the damaged-wheel diagnosis and installs no torch at all."""
    from installer.core.diagnose import diagnose_text

    folder = _truncated_folder(tmp_path, real_wheel)
    env_dir = tmp_path / "env"
    plan = json.loads(_cli(["plan", "--json", "--torch-source", str(folder), "--python", py311, "--torch",
                            TORCH_VERSION, "--backend", "cpu", "--env", str(env_dir)], cli_env(tmp_path)).stdout)
    steps = {s["kind"]: s["argv"] for s in reversed(plan["steps"])}
    subprocess.run(steps["venv"], check=True, capture_output=True, timeout=300)
    done = subprocess.run(steps["install"], capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "nvidia" not in output.lower(), output
    first = diagnose_text(output)[0]
    assert first.category == "hash-mismatch" and "damaged or incomplete" in first.summary, output
    probe = subprocess.run([str(env_dir / "bin" / "python"), "-c", "import torch"], capture_output=True,
                           timeout=120)
    assert probe.returncode != 0, "no torch may have come from anywhere else"


# -- 2. a Python the folder cannot serve ------------------------------------------------------------------------


def test_plan_refuses_a_python_the_wheel_folder_cannot_serve(tmp_path: Path, real_wheel: Path) -> None:
    folder = tmp_path / "wheels"
    folder.mkdir()
    (folder / real_wheel.name).symlink_to(real_wheel)
    done = _cli(["plan", "--python", "3.12", "--torch-source", str(folder), "--torch", TORCH_VERSION,
                 "--backend", "cpu"], cli_env(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "only for Python 3.11" in done.stderr and "3.12" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


# -- 3. verification of a build that is not the planned one --------------------------------------------------


def test_verify_fails_a_build_that_is_not_the_expected_one(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("torch-env")
    try:
        python = ensure_torch_env(root)
    except TorchEnvUnavailable as exc:
        _need(None, str(exc))
    env = cli_env(root)
    done = _cli(["verify", "--python", str(python), "--expect", "cu126", "--json"], env)
    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads(done.stdout)
    failed = " ".join(c["detail"] for c in report["checks"] if not c["ok"])
    assert "cu126" in failed and f"{TORCH_VERSION}+cpu" in failed
    # the same environment passes when the plan asked for what it holds
    assert _cli(["verify", "--python", str(python), "--expect", "cpu"], env).returncode == 0


# -- 4. offline, with a folder that holds torch but not its dependencies -------------------------------------


def test_offline_plan_that_cannot_resolve_is_refused_naming_what_is_missing(tmp_path: Path, real_wheel: Path,
                                                                           py311: str) -> None:
    folder = tmp_path / "wheels"
    folder.mkdir()
    (folder / real_wheel.name).symlink_to(real_wheel)
    cache = tmp_path / "empty-uv-cache"  # this machine's uv cache is warm: it would hold the dependencies
    env_dir = tmp_path / "env"
    before = set(os.listdir(tmp_path))
    done = _cli(["install", "--yes", "--offline", "--torch-source", str(folder), "--python", py311,
                 "--torch", TORCH_VERSION, "--backend", "cpu", "--env", str(env_dir)],
                cli_env(tmp_path, {"UV_CACHE_DIR": str(cache)}))
    assert done.returncode == 2, done.stdout + done.stderr
    for name in ("filelock", "sympy", "networkx", "jinja2", "fsspec"):
        assert name in done.stderr, done.stderr
    assert "no published wheel" not in done.stderr.lower()
    assert not env_dir.exists()
    assert set(os.listdir(tmp_path)) - before <= {"empty-uv-cache", "torch-setup-home"}


def test_offline_plan_with_everything_local_is_not_refused(tmp_path: Path, real_wheel: Path, py311: str) -> None:
    """The check must not refuse what works: with the warm cache, the same offline plan resolves."""
    from installer.core.catalog import Catalog
    from installer.core.detect import detect
    from installer.core.plan import Choices
    from installer.core.planner import make_plan
    from installer.core.source_check import offline_missing

    folder = tmp_path / "wheels"
    folder.mkdir()
    (folder / real_wheel.name).symlink_to(real_wheel)
    choices = Choices(torch=TORCH_VERSION, backend="cpu", python=py311, env=str(tmp_path / "env"),
                      torch_source=str(folder), offline=True, yes=True)
    plan = make_plan(detect(offline=True, env_dir=str(tmp_path)), choices, Catalog.load(), uv=uv_bin())
    # uv's default cache on this machine holds torch's dependencies (the e2e installs put them there)
    warm = subprocess.run([uv_bin(), "pip", "install", "--python", py311, "--dry-run", "--offline", "--target",
                           str(tmp_path / "t"), "filelock", "sympy"], capture_output=True, timeout=120)
    if warm.returncode != 0:
        _need(None, "uv's cache does not hold torch's dependencies")
    assert offline_missing(plan) == ([], None)
    shutil.rmtree(tmp_path / "t", ignore_errors=True)
