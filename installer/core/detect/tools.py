"""Finds the programs an install may need (conda and friends, git, a compiler, cmake, ninja, nvcc, hipcc)
and asks each for its version, all at once. On Windows also reads the VC++ runtime and long-path settings.

The parsers are pure functions over what the programs print, tested on recorded outputs.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from installer.core import process
from installer.core.report import CondaInfo, ToolInfo, Tools

_VERSION = r"(\d+\.\d+(?:\.\d+)*)"


# -- parsers (pure) -----------------------------------------------------------------------------------------


def parse_nvcc_version(text: str) -> str | None:
    """'Cuda compilation tools, release 12.6, V12.6.77' -> '12.6' (the CUDA toolkit version)."""
    m = re.search(r"release\s+(\d+\.\d+)", text)
    return m.group(1) if m else None


def parse_nvcc_full_version(text: str) -> str | None:
    """'... release 12.6, V12.6.77' -> '12.6.77'."""
    m = re.search(r"\bV(\d+\.\d+\.\d+)", text)
    return m.group(1) if m else None


def parse_conda_version(text: str) -> str | None:
    """`conda --version` -> 'conda 24.11.3'; mamba 1.x prints 'mamba 1.5.8' then 'conda 24.3.0';
    mamba 2.x and micromamba print the bare number. The tool's own version is the first line's."""
    for line in text.strip().splitlines():
        m = re.match(r"^\s*(?:conda|mamba|micromamba)?\s*" + _VERSION + r"\s*$", line, re.IGNORECASE)
        if m:
            return m.group(1)
    return None


def parse_conda_info(text: str) -> dict[str, Any]:
    """The parts of `conda info --json` (or `micromamba info --json`) that matter here."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}

    def text_of(*keys: str) -> str | None:
        # any program named conda can answer: a value of the wrong type counts as not given
        for key in keys:
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
        return None

    root = text_of("root_prefix", "base environment")
    if root:
        root = root.split(" (")[0].strip()  # micromamba writes "/path  (writable)"
    envs = data.get("envs")
    return {
        "root_prefix": root or None,
        "version": text_of("conda_version", "micromamba version"),
        "envs": [e for e in envs if isinstance(e, str)] if isinstance(envs, list) else [],
        "platform": text_of("platform"),
    }


def parse_compiler_version(text: str) -> str | None:
    """gcc 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0', clang 'clang version 17.0.6', Apple
    'Apple clang version 15.0.0 (clang-1500.3.9.4)', MSVC 'Microsoft (R) C/C++ Optimizing Compiler Version 19.40.33811 for x64'."""
    for line in text.splitlines():
        m = re.search(r"[Vv]ersion\s+" + _VERSION, line)
        if m:
            return m.group(1)
        m = re.match(r"^\S*(?:gcc|g\+\+|cc|c\+\+)\S*\s+\(.*\)\s+" + _VERSION, line)
        if m:
            return m.group(1)
    return None


def parse_simple_version(text: str) -> str | None:
    """'cmake version 3.25.1', 'git version 2.45.1.windows.1', ninja's bare '1.11.1', 'HIP version: 6.2.41133-dd7f95766'."""
    for line in text.splitlines():
        m = re.search(_VERSION, line)
        if m:
            return m.group(1)
    return None


def parse_hipcc_version(text: str) -> str | None:
    m = re.search(r"HIP version:\s*" + _VERSION, text)
    return m.group(1) if m else parse_simple_version(text)


def conda_flavor(executable: str) -> str:
    name = re.split(r"[\\/]", executable)[-1].lower()  # a Windows path in a report read on another OS too
    for suffix in (".exe", ".bat", ".cmd"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.startswith("micromamba"):
        return "micromamba"
    if name.startswith("mamba"):
        return "mamba"
    return "conda"


# -- where to look ------------------------------------------------------------------------------------------


@dataclass
class ToolRoots:
    """What tool discovery looks at; tests replace it to control PATH, HOME and the environment."""

    path: list[str]
    home: str
    env: Mapping[str, str]
    platform: str = sys.platform
    use_registry: bool = False
    extra_conda_roots: list[str] = field(default_factory=list)

    @classmethod
    def from_environment(cls) -> ToolRoots:
        env = dict(os.environ)
        bundle = getattr(sys, "_MEIPASS", None)
        path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not (bundle and p.startswith(bundle))]
        if sys.platform == "darwin":  # Finder-started apps do not get Homebrew on PATH
            path += [p for p in ("/opt/homebrew/bin", "/usr/local/bin") if p not in path]
        return cls(path=path, home=os.path.expanduser("~"), env=env, platform=sys.platform,
                   use_registry=sys.platform == "win32")

    @property
    def windows(self) -> bool:
        return self.platform == "win32"

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=os.pathsep.join(self.path))


def _exists(path: str) -> bool:
    return bool(path) and os.path.isfile(path)


def conda_candidates(roots: ToolRoots) -> list[str]:
    """conda / mamba / micromamba executables, the most deliberate choice first (CONDA_EXE, then PATH)."""
    out: list[str] = []

    def add(path: str | None) -> None:
        if path and _exists(path) and os.path.normcase(path) not in (os.path.normcase(p) for p in out):
            out.append(path)

    add(roots.env.get("CONDA_EXE"))
    exe = ".exe" if roots.windows else ""
    for name in ("conda", "mamba", "micromamba"):
        add(roots.which(name))
    add(roots.env.get("MAMBA_EXE"))
    names = ("miniforge3", "mambaforge", "miniconda3", "anaconda3", "miniconda", "anaconda")
    bases = [os.path.join(roots.home, n) for n in names] + list(roots.extra_conda_roots)
    if roots.windows:
        for var in ("LOCALAPPDATA", "ProgramData"):
            if roots.env.get(var):
                bases += [os.path.join(roots.env[var], n) for n in names]
    else:
        bases += ["/opt/conda", "/opt/miniforge3", "/opt/miniconda3", "/opt/anaconda3"]
    for base in bases:
        if roots.windows:
            add(os.path.join(base, "Scripts", "conda.exe"))
            add(os.path.join(base, "Library", "bin", "mamba.exe"))
        else:
            add(os.path.join(base, "condabin", "conda"))
            add(os.path.join(base, "bin", "conda"))
            add(os.path.join(base, "bin", "mamba"))
    for path in (os.path.join(roots.home, ".local", "bin", "micromamba" + exe),
                 os.path.join(roots.home, "micromamba", "bin", "micromamba" + exe),
                 "/usr/local/bin/micromamba", "/opt/homebrew/bin/micromamba"):
        add(path)
    if roots.windows and roots.env.get("LOCALAPPDATA"):
        add(os.path.join(roots.env["LOCALAPPDATA"], "micromamba", "micromamba.exe"))
    return out


def conda_root_from_path(executable: str) -> str | None:
    """<root>/bin/conda, <root>/condabin/conda, <root>\\Scripts\\conda.exe, <root>\\Library\\bin\\mamba.exe -> <root>,
    when that folder really is a conda prefix (it has conda-meta)."""
    folder = os.path.dirname(os.path.abspath(executable))
    for _ in range(3):
        folder = os.path.dirname(folder) if os.path.basename(folder).lower() in ("bin", "condabin", "scripts",
                                                                                  "library") else folder
    return folder if os.path.isdir(os.path.join(folder, "conda-meta")) else None


def _newest_cuda_dir(pattern: str) -> list[str]:
    def key(path: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", os.path.basename(os.path.dirname(os.path.dirname(path)))))

    return sorted(glob.glob(pattern), key=key, reverse=True)


def nvcc_candidates(roots: ToolRoots) -> list[str]:
    exe = "nvcc.exe" if roots.windows else "nvcc"
    found = [roots.which("nvcc") or ""]
    for var in ("CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"):
        if roots.env.get(var):
            found.append(os.path.join(roots.env[var], "bin", exe))
    if roots.windows:
        program_files = roots.env.get("ProgramFiles", r"C:\Program Files")
        found += _newest_cuda_dir(os.path.join(program_files, "NVIDIA GPU Computing Toolkit", "CUDA", "v*", "bin", exe))
    else:
        found += ["/usr/local/cuda/bin/nvcc", *_newest_cuda_dir("/usr/local/cuda-*/bin/nvcc"), "/opt/cuda/bin/nvcc"]
    return [p for p in found if _exists(p)]


def hipcc_candidates(roots: ToolRoots) -> list[str]:
    found = [roots.which("hipcc") or ""]
    if roots.env.get("ROCM_PATH"):
        found.append(os.path.join(roots.env["ROCM_PATH"], "bin", "hipcc"))
    found += ["/opt/rocm/bin/hipcc", *sorted(glob.glob("/opt/rocm-*/bin/hipcc"), reverse=True)]
    return [p for p in found if _exists(p)]


def compiler_candidates(roots: ToolRoots) -> list[str]:
    names = ("cl", "clang-cl", "gcc", "clang") if roots.windows else ("cc", "gcc", "clang", "c++")
    return [p for p in (roots.which(n) for n in names) if p]


# -- Windows registry ---------------------------------------------------------------------------------------


def read_windows_settings(winreg: Any = None) -> tuple[str | None, bool | None]:
    """(VC++ 2015-2022 x64 runtime version, LongPathsEnabled). winreg can be a fake in tests."""
    if winreg is None:
        import winreg as _winreg  # type: ignore[import-not-found,unused-ignore]

        winreg = _winreg
    vc: str | None = None
    long_paths: bool | None = None
    for view in (winreg.KEY_WOW64_64KEY, winreg.KEY_WOW64_32KEY):
        try:
            key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64",
                                 0, winreg.KEY_READ | view)
            installed = winreg.QueryValueEx(key, "Installed")[0]
            version = str(winreg.QueryValueEx(key, "Version")[0])
            if installed:
                vc = version.lstrip("v")
                break
        except OSError:
            continue
    try:
        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Control\FileSystem", 0,
                             winreg.KEY_READ)
        long_paths = bool(winreg.QueryValueEx(key, "LongPathsEnabled")[0])
    except OSError:
        long_paths = False  # the value is absent on a default install: long paths are off
    return vc, long_paths


# -- running ------------------------------------------------------------------------------------------------


@dataclass
class _Query:
    slot: str
    executable: str
    argv: list[str]
    parse: Callable[[str], str | None]
    use_stderr: bool = False


def _ask(query: _Query, timeout: float) -> str | None:
    done = process.run_captured(query.argv, timeout=timeout)
    if done.returncode is None:
        return None
    text = done.stdout + "\n" + done.stderr if query.use_stderr else done.stdout or done.stderr
    return query.parse(text)


def conda_root(executable: str, timeout: float) -> str | None:
    """The base prefix: from the executable's location when that is a conda prefix, else `info --json`."""
    root = conda_root_from_path(executable)
    if root:
        return root
    done = process.run_captured([executable, "info", "--json"], timeout=timeout)
    if not done.ok:
        return None
    return parse_conda_info(done.stdout).get("root_prefix")


def _first(paths: Sequence[str]) -> str | None:
    return paths[0] if paths else None


def detect_tools(timeout: float = 6.0, *, roots: ToolRoots | None = None) -> Tools:
    """What is installed, with versions; every query runs in parallel and none may hang detection."""
    roots = roots or ToolRoots.from_environment()
    tools = Tools()
    queries: list[_Query] = []

    condas = conda_candidates(roots)
    conda_exe = _first(condas)
    if conda_exe:
        queries.append(_Query("conda", conda_exe, [conda_exe, "--version"], parse_conda_version))
    git = roots.which("git")
    if git:
        queries.append(_Query("git", git, [git, "--version"], parse_simple_version))
    cmake = roots.which("cmake")
    if cmake:
        queries.append(_Query("cmake", cmake, [cmake, "--version"], parse_simple_version))
    ninja = roots.which("ninja")
    if ninja:
        queries.append(_Query("ninja", ninja, [ninja, "--version"], parse_simple_version))
    compiler = _first(compiler_candidates(roots))
    if compiler:
        is_cl = os.path.basename(compiler).lower().startswith("cl")
        # cl prints its banner on stderr and has no --version; clang-cl understands --version.
        argv = [compiler] if os.path.basename(compiler).lower() in ("cl", "cl.exe") else [compiler, "--version"]
        queries.append(_Query("compiler", compiler, argv, parse_compiler_version, use_stderr=is_cl))
    nvcc = _first(nvcc_candidates(roots))
    if nvcc:
        queries.append(_Query("nvcc", nvcc, [nvcc, "--version"], parse_nvcc_version))
    hipcc = _first(hipcc_candidates(roots))
    if hipcc:
        queries.append(_Query("hipcc", hipcc, [hipcc, "--version"], parse_hipcc_version))

    with ThreadPoolExecutor(max_workers=max(1, len(queries) + 2), thread_name_prefix="tool-probe") as pool:
        versions = {q.slot: pool.submit(_ask, q, timeout) for q in queries}
        root_future = pool.submit(conda_root, conda_exe, timeout) if conda_exe else None
        win_future = pool.submit(read_windows_settings) if roots.use_registry else None
        for q in queries:
            version = versions[q.slot].result()
            if q.slot == "conda":
                root = root_future.result() if root_future else None
                tools.conda = CondaInfo(executable=q.executable, version=version, flavor=conda_flavor(q.executable),
                                        root=root)
            else:
                setattr(tools, q.slot, ToolInfo(executable=q.executable, version=version))
        if win_future is not None:
            try:
                tools.vc_runtime, tools.long_paths_enabled = win_future.result()
            except Exception:  # a locked-down registry must not cost the rest of the report
                pass
    return tools
