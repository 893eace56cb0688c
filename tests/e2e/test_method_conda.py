"""`torch-setup install --method conda` end to end, through the real CLI as a child process.

conda cannot be installed here, so conda is the STAND-IN in tests/fixtures/conda-standin (see its README):
it answers conda's command line, but makes real virtual environments from a real Python 3.11 and installs
the real torch 2.13.0 CPU wheel (with pip, from the local wheel folder). What these tests prove is Torch
Setup's side: it finds conda (on PATH, or only through CONDA_EXE as a GUI app would), plans conda-forge
only, runs create and install, streams progress, verifies the result, and rolls back a failure.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from cli_run import CliRun, cli_env, run_install

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform == "win32", reason="the stand-in makes POSIX venvs")]

REPO = Path(__file__).resolve().parents[2]
STANDIN_DIR = REPO / "tests" / "fixtures" / "conda-standin"
STANDIN = STANDIN_DIR / "conda"
CREATE = "Create the conda environment"
INSTALL = "Install PyTorch"


def path_without_conda(*first: Path) -> str:
    """PATH with `first` in front and without any folder that holds a conda, mamba or micromamba."""
    keep = [str(p) for p in first]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and not any(shutil.which(n, path=folder) for n in ("conda", "mamba", "micromamba")):
            keep.append(folder)
    return os.pathsep.join(keep)


def standin_env(tmp_path: Path, wheels: str, path: str, **extra: str) -> dict[str, str]:
    env = cli_env(tmp_path, {"CONDA_STANDIN_ROOT": str(tmp_path / "conda-root"), "CONDA_STANDIN_WHEELS": wheels,
                             **extra}, path=path)
    for var in ("CONDA_EXE", "MAMBA_EXE", "CONDA_PREFIX", "CONDA_DEFAULT_ENV"):
        if var not in extra:
            env.pop(var, None)
    return env


def conda_install(tmp_path: Path, env: dict[str, str], target: Path, *more: str) -> CliRun:
    return run_install(["--method", "conda", "--torch", "2.13.0", "--backend", "cpu", "--python", "3.11",
                        "--env", str(target), *more], env, tmp_path / "r.json")


def assert_conda_forge_only(run: CliRun, executable: Path, target: Path) -> None:
    """The plan ran `executable` create + install on conda-forge alone: no `pytorch` channel, no cudatoolkit."""
    assert run.report is not None
    create, install = run.step_argv(CREATE), run.step_argv(INSTALL)
    for argv in (create, install):
        assert argv[0] == str(executable)
        assert argv[2:5] == ["-y", "-p", str(target)]
        channels = [argv[i + 1] for i, a in enumerate(argv) if a in ("-c", "--channel")]
        assert channels == ["conda-forge"] and "--override-channels" in argv, argv
        assert not any("pytorch::" in a or "cudatoolkit" in a or a.startswith("cuda-version") for a in argv), argv
    assert create[1] == "create" and "python=3.11" in create
    assert install[1] == "install" and "pytorch-cpu=2.13.0" in install
    for step in run.report["plan"]["steps"]:  # nothing else in the plan reaches for another channel either
        assert "pytorch" not in [step["argv"][i + 1] for i, a in enumerate(step["argv"][:-1]) if a == "-c"]


def assert_installed_and_verified(run: CliRun, target: Path) -> None:
    assert run.returncode == 0, run.tail()
    assert run.report is not None and run.report["exit_code"] == 0
    finished = run.finished()
    assert finished[CREATE]["ok"] and finished[INSTALL]["ok"], finished
    # conda's own output and progress streamed from both conda steps
    for index in (0, 1):
        assert any(e["index"] == index for e in run.of_type("output")), f"no output from step {index}"
        assert any(e["index"] == index and e["fraction"] is not None for e in run.of_type("progress")), index
    assert any("Executing transaction" in e["text"] for e in run.of_type("output"))
    # the stand-in really ran both commands against this prefix (conda keeps a history of them)
    history = (target / "conda-meta" / "history").read_text(encoding="utf-8")
    assert "create" in history and "pytorch-cpu=2.13.0" in history, history
    verify = run.report["verify"]
    assert verify is not None and verify["ok"], verify
    assert verify["torch"].startswith("2.13.0")
    last = run.events[-1]
    assert last["type"] == "plan-finished" and last["ok"] and not last["diagnoses"]


def test_conda_on_path(tmp_path: Path, python311: str, wheels: str) -> None:
    target = tmp_path / "condaenv"
    env = standin_env(tmp_path, wheels, path_without_conda(STANDIN_DIR))
    run = conda_install(tmp_path, env, target)
    assert_installed_and_verified(run, target)
    assert_conda_forge_only(run, STANDIN, target)
    assert run.report is not None
    assert run.report["system"]["tools"]["conda"]["flavor"] == "conda"
    assert run.report["plan"]["method"] == "conda"


def test_conda_found_only_through_conda_exe(tmp_path: Path, python311: str, wheels: str) -> None:
    """A GUI app started from a desktop often has no conda on PATH; CONDA_EXE still names it."""
    path = path_without_conda()
    assert not shutil.which("conda", path=path)
    target = tmp_path / "condaenv"
    env = standin_env(tmp_path, wheels, path, CONDA_EXE=str(STANDIN))
    run = conda_install(tmp_path, env, target)
    assert_installed_and_verified(run, target)
    assert_conda_forge_only(run, STANDIN, target)


def test_micromamba(tmp_path: Path, python311: str, wheels: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    micromamba = bin_dir / "micromamba"
    micromamba.symlink_to(STANDIN)  # the stand-in answers as micromamba when called by that name
    target = tmp_path / "mambaenv"
    env = standin_env(tmp_path, wheels, path_without_conda(bin_dir))
    run = conda_install(tmp_path, env, target)
    assert_installed_and_verified(run, target)
    assert_conda_forge_only(run, micromamba, target)
    assert run.report is not None
    assert run.report["system"]["tools"]["conda"]["flavor"] == "micromamba"


def test_conda_failure_rolls_back(tmp_path: Path, python311: str, wheels: str) -> None:
    target = tmp_path / "condaenv"
    env = standin_env(tmp_path, wheels, path_without_conda(STANDIN_DIR))
    run = conda_install(tmp_path, env, target, "--packages", "torch", "nosuchpkg-xyz")
    assert run.returncode == 1, run.tail()
    finished = run.finished()
    assert finished[CREATE]["ok"] and not finished[INSTALL]["ok"]
    assert "nosuchpkg-xyz" in run.step_argv(INSTALL)
    assert not target.exists(), "the environment this run created was not rolled back"
    last = run.events[-1]
    assert last["type"] == "plan-finished" and not last["ok"] and last["failed_step"] == INSTALL
    assert any(str(target) in line for line in last["rolled_back"]), last["rolled_back"]
    # the diagnosis names the package that could not be found
    assert run.report is not None and run.report["diagnoses"] == last["diagnoses"]
    first = last["diagnoses"][0]
    assert first["category"] == "no-matching-wheel"
    assert "nosuchpkg-xyz" in first["evidence"] and first["fix"]
    assert run.report["verify"] is None
