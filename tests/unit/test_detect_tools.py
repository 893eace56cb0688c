"""Tool discovery: version parsers on recorded outputs, real runs of this machine's tools and of the conda stand-in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from installer.core.detect import tools as T
from installer.core.detect.tools import ToolRoots, detect_tools

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "tools"
STANDIN = Path(__file__).resolve().parent.parent / "fixtures" / "conda-standin" / "conda"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX scripts")


def read(name: str) -> str:
    return (FIX / name).read_text()


# -- parsers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, toolkit, full", [
    ("nvcc-13.0-linux.txt", "13.0", "13.0.88"),
    ("nvcc-12.6-windows.txt", "12.6", "12.6.77"),
    ("nvcc-11.1-linux.txt", "11.1", "11.1.105"),
])
def test_nvcc_version(name: str, toolkit: str, full: str) -> None:
    assert T.parse_nvcc_version(read(name)) == toolkit
    assert T.parse_nvcc_full_version(read(name)) == full


def test_conda_family_versions() -> None:
    assert T.parse_conda_version("conda 24.11.3\n") == "24.11.3"
    assert T.parse_conda_version(read("mamba-1.4.1-version.txt")) == "1.4.1"  # mamba's own, not conda's
    assert T.parse_conda_version(read("mamba-2.0.8-version.txt")) == "2.0.8"
    assert T.parse_conda_version("usage: conda [-h]\n") is None


def test_conda_info_json() -> None:
    info = T.parse_conda_info(read("conda-info-4.1.json"))
    assert info["root_prefix"] == "/home/miniconda3" and info["version"] == "4.1.12"
    assert info["envs"] == ["/home/miniconda3/envs/foo", "/home/miniconda3/envs/bar"]
    assert info["platform"] == "linux-64"
    assert T.parse_conda_info("not json") == {}


@pytest.mark.parametrize("name, version", [
    ("gcc-12-debian.txt", "12.2.0"), ("cc-12-debian.txt", "12.2.0"), ("clang-apple-15.txt", "15.0.0"),
    ("cl-19.26-banner.txt", "19.26.28806"),
])
def test_compiler_versions(name: str, version: str) -> None:
    assert T.parse_compiler_version(read(name)) == version


def test_simple_versions() -> None:
    assert T.parse_simple_version(read("cmake-3.25-debian.txt")) == "3.25.1"
    assert T.parse_simple_version(read("ninja-1.11.txt")) == "1.11.1"
    assert T.parse_simple_version(read("git-2.39-debian.txt")) == "2.39.5"
    assert T.parse_simple_version("git version 2.45.1.windows.1") == "2.45.1"  # the windows tag is not part of it


def test_hipcc_version() -> None:
    assert T.parse_hipcc_version("HIP version: 6.2.41133-dd7f95766\nAMD clang version 18.0.0git\n") == "6.2.41133"


def test_flavor_from_name() -> None:
    assert T.conda_flavor("/opt/conda/bin/conda") == "conda"
    assert T.conda_flavor(r"C:\Users\u\miniforge3\Library\bin\mamba.exe") == "mamba"
    assert T.conda_flavor("/home/u/.local/bin/micromamba") == "micromamba"


def test_conda_root_from_its_location(tmp_path: Path) -> None:
    root = tmp_path / "miniforge3"
    (root / "conda-meta").mkdir(parents=True)
    assert T.conda_root_from_path(str(root / "bin" / "conda")) == str(root)
    assert T.conda_root_from_path(str(root / "condabin" / "conda")) == str(root)
    assert T.conda_root_from_path(str(root / "Scripts" / "conda.exe")) == str(root)
    assert T.conda_root_from_path(str(root / "Library" / "bin" / "mamba.exe")) == str(root)
    assert T.conda_root_from_path(str(tmp_path / "bin" / "conda")) is None  # not a conda prefix


def test_conda_found_in_a_known_root_without_path_or_conda_exe(tmp_path: Path) -> None:
    # GUI apps do not source shell rc files: conda must be found where installers put it.
    home = tmp_path / "home"
    conda = home / "miniforge3" / "condabin" / "conda"
    conda.parent.mkdir(parents=True)
    conda.write_text("")
    roots = ToolRoots(path=[], home=str(home), env={})
    assert T.conda_candidates(roots)[0] == str(conda)
    win = ToolRoots(path=[], home=str(home), env={}, platform="win32")
    exe = home / "miniforge3" / "Scripts" / "conda.exe"
    exe.parent.mkdir(parents=True)
    exe.write_text("")
    assert str(exe) in T.conda_candidates(win)


class FakeWinreg:
    HKEY_LOCAL_MACHINE = "HKLM"
    KEY_READ, KEY_WOW64_64KEY, KEY_WOW64_32KEY = 1, 2, 4

    def __init__(self, values: dict[str, dict[str, object]]) -> None:
        self.values = values

    def OpenKey(self, hive, sub, reserved=0, access=0):  # type: ignore[no-untyped-def]
        if sub not in self.values:
            raise OSError(2, "not found")
        return self.values[sub]

    def QueryValueEx(self, key, name):  # type: ignore[no-untyped-def]
        if name not in key:
            raise OSError(2, "no value")
        return key[name], 4


def test_windows_settings() -> None:
    reg = FakeWinreg({
        r"SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64": {"Installed": 1, "Version": "v14.40.33810.00"},
        r"SYSTEM\CurrentControlSet\Control\FileSystem": {"LongPathsEnabled": 0},
    })
    assert T.read_windows_settings(reg) == ("14.40.33810.00", False)
    assert T.read_windows_settings(FakeWinreg({})) == (None, False)  # no runtime; no value = long paths off


# -- real runs ----------------------------------------------------------------------------------------------


def _first_line(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout


@pytest.mark.parametrize("slot, name", [("git", "git"), ("cmake", "cmake"), ("ninja", "ninja")])
def test_real_tools_on_this_machine(slot: str, name: str) -> None:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} not installed")
    info = getattr(detect_tools(), slot)
    assert info is not None and info.executable == path
    assert info.version and info.version in _first_line([path, "--version"])


def test_real_compiler_and_nvcc() -> None:
    found = detect_tools()
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc and sys.platform != "win32":
        assert found.compiler is not None and found.compiler.version
        assert found.compiler.version in _first_line([found.compiler.executable, "--version"])
    nvcc = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if os.path.exists("/usr/local/cuda/bin/nvcc") else None)
    if nvcc:
        assert found.nvcc is not None
        assert found.nvcc.version == T.parse_nvcc_version(_first_line([found.nvcc.executable, "--version"]))


@posix_only
@pytest.mark.parametrize("flavor, version", [("conda", "24.11.3"), ("mamba", "1.5.8"), ("micromamba", "2.0.5")])
def test_conda_standin_is_found_with_version_flavor_and_root(tmp_path: Path, flavor: str, version: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / flavor).symlink_to(STANDIN)
    root = tmp_path / "root"
    env = {"CONDA_STANDIN_ROOT": str(root)}
    roots = ToolRoots(path=[str(bindir), *os.environ["PATH"].split(os.pathsep)], home=str(tmp_path), env=env)
    monkeypatch.setenv("CONDA_STANDIN_ROOT", str(root))  # the child reads it from the real environment
    found = detect_tools(roots=roots)
    assert found.conda is not None
    assert (found.conda.flavor, found.conda.version, found.conda.root) == (flavor, version, str(root))


@posix_only
def test_a_hanging_or_broken_tool_does_not_stop_detection(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, body in (("git", "exec sleep 30"), ("cmake", "echo garbage"), ("ninja", "exit 1")):
        (bindir / name).write_text("#!/bin/sh\n" + body + "\n")
        (bindir / name).chmod(0o755)
    found = detect_tools(timeout=1, roots=ToolRoots(path=[str(bindir)], home=str(tmp_path), env={}))
    assert found.git is not None and found.git.version is None  # listed, version unknown
    assert found.cmake is not None and found.cmake.version is None
    assert found.ninja is not None and found.ninja.version is None
    assert found.conda is None
