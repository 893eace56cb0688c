"""The conda STAND-IN (tests/fixtures/conda-standin/conda) answers like conda for the calls Torch Setup makes.

Quick checks only (version, info, create, run, remove, failures); the real torch install through it is the
runner's e2e test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

STANDIN = Path(__file__).resolve().parent.parent / "fixtures" / "conda-standin" / "conda"
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the stand-in is a POSIX script")


def standin_as(flavor: str, folder: Path) -> Path:
    """A `mamba` / `micromamba` / `conda` link to the stand-in in `folder` (the flavor is read from argv[0])."""
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / flavor
    if not link.exists():
        link.symlink_to(STANDIN)
    return link


def run(tool: Path, *args: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CONDA_STANDIN_ROOT=str(root))
    return subprocess.run([str(tool), *args], capture_output=True, text=True, env=env, timeout=300)


def a_python_minor() -> str | None:
    """A Python X.Y the stand-in can find (pyenv first), so create has something real to use."""
    versions = sorted((PYENV / "versions").glob("3.*")) if PYENV.is_dir() else []
    if versions:
        return ".".join(versions[-1].name.split(".")[:2])
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_version_per_flavor(tmp_path: Path) -> None:
    assert run(STANDIN, "--version", root=tmp_path).stdout == "conda 24.11.3\n"
    assert run(standin_as("mamba", tmp_path / "bin"), "--version", root=tmp_path).stdout == "mamba 1.5.8\nconda 24.11.3\n"
    assert run(standin_as("micromamba", tmp_path / "bin"), "--version", root=tmp_path).stdout.strip() == "2.0.5"


def test_info_json(tmp_path: Path) -> None:
    root = tmp_path / "root"
    done = run(STANDIN, "info", "--json", root=root)
    info = json.loads(done.stdout)
    assert info["root_prefix"] == str(root) and info["envs"] == [str(root)]
    assert info["platform"] in ("linux-64", "linux-aarch64", "osx-64", "osx-arm64")
    assert (root / "conda-meta").is_dir()


def test_create_run_info_remove(tmp_path: Path) -> None:
    root, prefix = tmp_path / "root", tmp_path / "envs" / "torch"
    minor = a_python_minor()
    assert minor
    done = run(STANDIN, "create", "-y", "-p", str(prefix), f"python={minor}", "-c", "conda-forge",
               "--override-channels", root=root)
    assert done.returncode == 0, done.stderr
    assert "Downloading and Extracting Packages:" in done.stdout and "Executing transaction: done" in done.stdout
    history = (prefix / "conda-meta" / "history").read_text()
    assert history.startswith("==> ") and f"::python-{minor}." in history and f"python={minor}" in history
    # the environment is real: its python runs and is the requested version
    ran = run(STANDIN, "run", "-p", str(prefix), "python", "-c", "import sys; print(sys.prefix, sys.version_info[:2])",
              root=root)
    assert ran.returncode == 0
    assert ran.stdout.split()[0] == str(prefix) and ran.stdout.strip().endswith(f"({minor.replace('.', ', ')})")
    assert str(prefix) in json.loads(run(STANDIN, "info", "--json", root=root).stdout)["envs"]
    removed = run(STANDIN, "env", "remove", "-y", "-p", str(prefix), root=root)
    assert removed.returncode == 0 and not prefix.exists()
    assert str(prefix) not in json.loads(run(STANDIN, "info", "--json", root=root).stdout)["envs"]


def test_unavailable_python_fails_like_conda(tmp_path: Path) -> None:
    done = run(STANDIN, "create", "-y", "-p", str(tmp_path / "e"), "python=3.99", root=tmp_path / "root")
    assert done.returncode == 1 and "PackagesNotFoundError" in done.stderr and "python=3.99" in done.stderr
    assert not (tmp_path / "e").exists()


def test_refuses_a_folder_that_is_not_an_environment(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("keep me")
    done = run(STANDIN, "create", "-y", "-p", str(folder), "python=3.12", root=tmp_path / "root")
    assert done.returncode == 1 and "DirectoryNotACondaEnvironmentError" in done.stderr
    assert (folder / "thesis.tex").read_text() == "keep me"
    gone = run(STANDIN, "env", "remove", "-y", "-p", str(folder), root=tmp_path / "root")
    assert gone.returncode == 1 and "Not a conda environment" in gone.stderr and folder.exists()


def test_install_maps_conda_names_and_pins_to_pip(tmp_path: Path) -> None:
    # The mapping is what the runner relies on; checked through the script's own functions.
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader("conda_standin", str(STANDIN))
    spec = importlib.util.spec_from_loader("conda_standin", loader)
    assert spec
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    cases = {"pytorch=2.5": "torch==2.5.*", "pytorch-gpu=2.5.1=cuda126*": "torch==2.5.1", "torchvision": "torchvision",
             "numpy>=1.26": "numpy>=1.26", "conda-forge::pytorch-cpu==2.4.0": "torch==2.4.0"}
    for conda_spec, pip_req in cases.items():
        name, op, version = mod.split_spec(conda_spec)
        assert mod.pip_requirement(mod.TORCH_NAMES.get(name, name), op, version) == pip_req


def test_unknown_command_exits_2(tmp_path: Path) -> None:
    done = run(STANDIN, "build", "recipe", root=tmp_path)
    assert done.returncode == 2 and "invalid choice" in done.stderr
