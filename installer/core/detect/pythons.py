"""Finds every Python interpreter a user could mean and runs each one once to learn what it really is.

Existence is not usability (Windows Store aliases, Apple's python3 stub, half-removed installs), so every
candidate is started with a small probe script; the probe's own answers, not file names, decide the
version, architecture and features. One entry per real interpreter, newest first.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from installer.core import process, schema
from installer.core.report import PythonInfo, normalize_arch
from installer.core.versions import version_tuple

# The probe runs under every Python from 2.7 on: no f-strings, no walrus, nothing newer than 2.7/3.6 know.
# It drops '' from sys.path first so a json.py in the working folder cannot answer for the stdlib (2.7 has no -I).
PROBE_MARKER = "@@torch-setup-python-probe@@"
PROBE_SCRIPT = r"""
import sys
sys.path = [p for p in sys.path if p not in ('', '.')]
import json, os, platform, struct
try:
    import sysconfig
except ImportError:
    sysconfig = None

def has(name):
    try:
        import importlib.util
        return importlib.util.find_spec(name) is not None
    except Exception:
        pass
    try:
        import imp
        imp.find_module(name)
        return True
    except Exception:
        return False

def config_var(name):
    try:
        return sysconfig.get_config_var(name)
    except Exception:
        return None

stdlib = None
plat = None
try:
    stdlib = sysconfig.get_path('stdlib')
    plat = sysconfig.get_platform()
except Exception:
    pass
base = getattr(sys, 'base_prefix', getattr(sys, 'real_prefix', sys.prefix))
try:
    impl = platform.python_implementation()
except Exception:
    impl = 'unknown'
info = {
    'version': list(sys.version_info[:3]),
    'release': [sys.version_info[3], sys.version_info[4]],
    'implementation': impl,
    'machine': platform.machine(),
    'platform': plat,
    'bits': struct.calcsize('P') * 8,
    'free_threaded': config_var('Py_GIL_DISABLED') == 1,
    'venv': has('venv'),
    'ensurepip': has('ensurepip'),
    'externally_managed': bool(stdlib) and os.path.isfile(os.path.join(stdlib, 'EXTERNALLY-MANAGED')),
    'is_venv': sys.prefix != base or hasattr(sys, 'real_prefix'),
    'prefix': sys.prefix,
    'base_prefix': base,
    'executable': sys.executable,
}
sys.stdout.write('MARKER' + json.dumps(info) + '\n')
""".replace("MARKER", PROBE_MARKER)

# Where a label says the most about an interpreter, most telling first: "conda" tells a user more than "PATH".
SOURCE_RANK = ("conda", "venv", "uv", "pyenv", "homebrew", "python.org", "registry", "py launcher", "windows store",
               "system", "current", "PATH")

_NAME_RE = re.compile(r"^python(?:[23](?:\.\d{1,2}t?)?)?(?:\.exe)?$", re.IGNORECASE)


def _minor_names() -> list[str]:
    names = ["python3", "python", "python2", "python2.7"]
    names += [f"python3.{x}" for x in range(6, 16)]
    names += ["python3.13t", "python3.14t", "python3.15t"]
    return names


@dataclass
class SearchRoots:
    """Everything discovery looks at, so tests can point it at folders and PATHs they control."""

    path: list[str]
    home: str
    env: Mapping[str, str]
    platform: str = sys.platform  # sys.platform spelling: "linux", "darwin", "win32"
    current: str | None = None  # the running interpreter; None in a frozen app (that is not Python)
    system_dirs: list[str] = field(default_factory=list)  # /usr/bin-like folders searched even when not on PATH
    use_registry: bool = False  # PEP 514 (Windows only)
    use_py_launcher: bool = False  # `py -0p` (Windows only)
    use_uv: bool = True  # ask `uv python dir` where uv keeps its Pythons
    check_apple_stub: bool = False  # macOS /usr/bin/python3 may be the Xcode CLT installer stub

    @classmethod
    def from_environment(cls) -> SearchRoots:
        env = dict(os.environ)
        frozen = bool(getattr(sys, "frozen", False))
        bundle = getattr(sys, "_MEIPASS", None)
        path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not (bundle and p.startswith(bundle))]
        if sys.platform == "win32":
            system_dirs: list[str] = []
        elif sys.platform == "darwin":
            # Finder starts apps with PATH=/usr/bin:/bin:/usr/sbin:/sbin; Homebrew's folders must be added by hand.
            system_dirs = ["/opt/homebrew/bin", "/usr/local/bin", "/usr/bin"]
        else:
            system_dirs = ["/usr/local/bin", "/usr/bin", "/home/linuxbrew/.linuxbrew/bin"]
        return cls(
            path=path,
            home=os.path.expanduser("~"),
            env=env,
            platform=sys.platform,
            current=None if frozen or not sys.executable else sys.executable,
            system_dirs=system_dirs,
            use_registry=sys.platform == "win32",
            use_py_launcher=sys.platform == "win32",
            check_apple_stub=sys.platform == "darwin",
        )

    @property
    def windows(self) -> bool:
        return self.platform == "win32"


@dataclass
class Candidate:
    path: str
    source: str


# -- candidates -------------------------------------------------------------------------------------------


def _is_executable_file(path: str, windows: bool) -> bool:
    try:
        if windows:
            # App execution aliases are 0-byte reparse points: isfile() is True, and that is all we need to list them.
            return os.path.isfile(path) or os.path.islink(path)
        return os.path.isfile(path) and os.access(path, os.X_OK)
    except OSError:
        return False


def _names(roots: SearchRoots) -> list[str]:
    names = _minor_names()
    if roots.windows:
        return [n + ".exe" for n in names]
    return names


def _pyenv_root_of_shims(directory: str) -> str | None:
    """A pyenv (or pyenv-win) shims folder: its scripts run `pyenv exec`, so list the versions instead."""
    if os.path.basename(os.path.normpath(directory)).lower() != "shims":
        return None
    parent = os.path.dirname(os.path.normpath(directory))
    if os.path.isdir(os.path.join(parent, "versions")):
        return parent
    return None


def _in_dir(directory: str, names: Iterable[str], source: str, roots: SearchRoots) -> list[Candidate]:
    out = []
    for name in names:
        full = os.path.join(directory, name)
        if _is_executable_file(full, roots.windows):
            out.append(Candidate(full, source))
    return out


def _glob_pythons(pattern: str, source: str, roots: SearchRoots) -> list[Candidate]:
    out = []
    for full in sorted(glob.glob(pattern)):
        if _NAME_RE.match(os.path.basename(full)) and _is_executable_file(full, roots.windows):
            out.append(Candidate(full, source))
    return out


def _env_python(prefix: str, source: str, roots: SearchRoots) -> list[Candidate]:
    """The interpreter of an environment folder (conda env, venv, uv install, pyenv version)."""
    if roots.windows:
        return _in_dir(prefix, ["python.exe"], source, roots)
    found = _in_dir(os.path.join(prefix, "bin"), ["python3", "python"], source, roots)
    if not found:  # free-threaded-only or python2-only installs
        found = _glob_pythons(os.path.join(prefix, "bin", "python*"), source, roots)[:1]
    return found[:1]


def path_candidates(roots: SearchRoots) -> tuple[list[Candidate], list[str]]:
    """Pythons on PATH, and the pyenv roots whose shims were seen there (shims are not run)."""
    out: list[Candidate] = []
    pyenv_roots: list[str] = []
    names = _names(roots)
    for directory in roots.path:
        shim_root = _pyenv_root_of_shims(directory)
        if shim_root:
            pyenv_roots.append(shim_root)
            continue
        source = "windows store" if roots.windows and "windowsapps" in directory.lower() else "PATH"
        out.extend(_in_dir(directory, names, source, roots))
    return out, pyenv_roots


def pyenv_candidates(roots: SearchRoots, extra_roots: Sequence[str] = ()) -> list[Candidate]:
    bases = [roots.env.get("PYENV_ROOT", ""), os.path.join(roots.home, ".pyenv"), *extra_roots]
    if roots.windows:
        bases += [os.path.join(roots.home, ".pyenv", "pyenv-win"), roots.env.get("PYENV_HOME", "")]
    out: list[Candidate] = []
    seen: set[str] = set()
    for base in bases:
        if not base or os.path.normcase(base) in seen:
            continue
        seen.add(os.path.normcase(base))
        for version_dir in sorted(glob.glob(os.path.join(base, "versions", "*"))):
            out.extend(_env_python(version_dir, "pyenv", roots))
            # pyenv-virtualenv and conda-in-pyenv keep environments under versions/<v>/envs/<name>
            for env_dir in sorted(glob.glob(os.path.join(version_dir, "envs", "*"))):
                out.extend(_env_python(env_dir, "pyenv", roots))
    return out


def homebrew_candidates(roots: SearchRoots) -> list[Candidate]:
    if roots.platform != "darwin":
        return []
    out: list[Candidate] = []
    for brew in ("/opt/homebrew", "/usr/local"):
        out.extend(_in_dir(os.path.join(brew, "bin"), _names(roots), "homebrew", roots))
        for opt in sorted(glob.glob(os.path.join(brew, "opt", "python@3*"))):
            out.extend(_glob_pythons(os.path.join(opt, "bin", "python3*"), "homebrew", roots))
            out.extend(_in_dir(os.path.join(opt, "libexec", "bin"), ["python"], "homebrew", roots))
    return out


def framework_candidates(roots: SearchRoots) -> list[Candidate]:
    if roots.platform != "darwin":
        return []
    out: list[Candidate] = []
    for base in ("/Library/Frameworks", os.path.join(roots.home, "Library", "Frameworks")):
        for fw in ("Python.framework", "PythonT.framework"):
            out.extend(_glob_pythons(os.path.join(base, fw, "Versions", "*", "bin", "python3*"), "python.org", roots))
    return out


def system_candidates(roots: SearchRoots) -> list[Candidate]:
    out: list[Candidate] = []
    for directory in roots.system_dirs:
        out.extend(_in_dir(directory, _names(roots), "system", roots))
    return out


def conda_roots(roots: SearchRoots) -> list[str]:
    """Base prefixes of conda-like installs: from the environment first, then the usual places."""
    found: list[str] = []

    def add(path: str | None) -> None:
        if path and os.path.isdir(path) and os.path.normcase(path) not in (os.path.normcase(f) for f in found):
            found.append(path)

    for var in ("CONDA_EXE", "MAMBA_EXE"):
        exe = roots.env.get(var)
        if exe:
            # <root>/bin/conda, <root>/condabin/conda, <root>\Scripts\conda.exe
            add(os.path.dirname(os.path.dirname(exe)))
    add(roots.env.get("MAMBA_ROOT_PREFIX"))
    add(roots.env.get("CONDA_ROOT"))
    names = ("miniforge3", "mambaforge", "miniconda3", "anaconda3", "miniconda", "anaconda", "micromamba")
    for name in names:
        add(os.path.join(roots.home, name))
    if roots.windows:
        local = roots.env.get("LOCALAPPDATA", "")
        program_data = roots.env.get("ProgramData", r"C:\ProgramData")
        for name in names:
            if local:
                add(os.path.join(local, name))
            add(os.path.join(program_data, name))
    else:
        for base in ("/opt/conda", "/opt/miniforge3", "/opt/miniconda3", "/opt/anaconda3", "/usr/local/miniconda3"):
            add(base)
        add(os.path.join(roots.home, ".local", "share", "mamba"))
    return found


def conda_candidates(roots: SearchRoots) -> list[Candidate]:
    prefixes: list[str] = []
    for root in conda_roots(roots):
        prefixes.append(root)
        prefixes.extend(sorted(glob.glob(os.path.join(root, "envs", "*"))))
    prefixes.extend(sorted(glob.glob(os.path.join(roots.home, ".conda", "envs", "*"))))
    active = roots.env.get("CONDA_PREFIX")
    if active:
        prefixes.append(active)
    # conda records every environment it creates here, wherever it lives.
    try:
        with open(os.path.join(roots.home, ".conda", "environments.txt"), encoding="utf-8") as fh:
            prefixes.extend(line.strip() for line in fh if line.strip())
    except OSError:
        pass
    out: list[Candidate] = []
    for prefix in prefixes:
        out.extend(_env_python(prefix, "conda", roots))
    return out


def uv_python_dirs(roots: SearchRoots) -> list[str]:
    """The folders uv installs managed Pythons into, without running uv."""
    dirs = [roots.env.get("UV_PYTHON_INSTALL_DIR", "")]
    if roots.windows:
        appdata = roots.env.get("APPDATA", "")
        if appdata:
            dirs.append(os.path.join(appdata, "uv", "data", "python"))
    else:
        xdg = roots.env.get("XDG_DATA_HOME") or os.path.join(roots.home, ".local", "share")
        dirs.append(os.path.join(xdg, "uv", "python"))
    return [d for d in dirs if d]


def uv_candidates_in(directory: str, roots: SearchRoots) -> list[Candidate]:
    out: list[Candidate] = []
    for install in sorted(glob.glob(os.path.join(directory, "*"))):
        if os.path.isdir(install):
            out.extend(_env_python(install, "uv", roots))
    return out


def ask_uv_python_dir(timeout: float) -> str | None:
    """`uv python dir` via the bundled uv; None when uv is not there or does not answer."""
    from installer.core.uvbin import UvNotFoundError, uv_executable

    try:
        uv_bin = uv_executable()  # the bundled one in the frozen app, the uv package's otherwise
    except UvNotFoundError:
        return None
    done = process.run_captured([uv_bin, "python", "dir"], timeout=timeout)
    line = done.stdout.strip().splitlines()[-1].strip() if done.ok and done.stdout.strip() else ""
    return line or None


def windows_candidates(roots: SearchRoots) -> list[Candidate]:
    """python.org's default install folders and the Store's aliases, which need no registry."""
    if not roots.windows:
        return []
    out: list[Candidate] = []
    local = roots.env.get("LOCALAPPDATA", "")
    patterns = [r"C:\Python3*", r"C:\Python2*"]
    for var in ("ProgramFiles", "ProgramFiles(x86)"):
        if roots.env.get(var):
            patterns.append(os.path.join(roots.env[var], "Python3*"))
    if local:
        patterns.append(os.path.join(local, "Programs", "Python", "Python*"))
        patterns.append(os.path.join(local, "Python", "pythoncore-*"))  # the Python install manager
    for pattern in patterns:
        for prefix in sorted(glob.glob(pattern)):
            out.extend(_in_dir(prefix, ["python.exe"], "python.org", roots))
    if local:
        store = os.path.join(local, "Microsoft", "WindowsApps")
        out.extend(_in_dir(store, _names(roots), "windows store", roots))
    return out


_PY_LAUNCHER_LINE = re.compile(
    r"^\s*-(?:V:)?(?P<tag>\S+?)(?:\s+(?P<star1>\*))?\s+(?P<path>(?:[A-Za-z]:[\\/]|\\\\|/).*?)(?:\s+(?P<star2>\*))?\s*$"
)


@dataclass
class LauncherEntry:
    tag: str  # "3.12", "3.9-64", "ContinuumAnalytics/Anaconda39-64"
    path: str
    default: bool


def parse_py_launcher(text: str) -> list[LauncherEntry]:
    """Parse `py -0p`: new launchers print ' -V:3.12 *   C:\\...\\python.exe', old ones ' -3.9-64   C:\\...\\python.exe *'.

    Lines without a path (`py -0`, headers, "No Installed Pythons Found!") are skipped.
    """
    out = []
    for line in text.splitlines():
        m = _PY_LAUNCHER_LINE.match(line)
        if m:
            out.append(LauncherEntry(m["tag"], m["path"].strip(), bool(m["star1"] or m["star2"])))
    return out


def py_launcher_candidates(timeout: float) -> list[Candidate]:
    done = process.run_captured(["py", "-0p"], timeout=timeout)
    if not done.ok:
        return []
    return [Candidate(e.path, "py launcher") for e in parse_py_launcher(done.stdout)]


def pep514_candidates(winreg: Any = None) -> list[Candidate]:
    """PEP 514: HKCU and HKLM (64- and 32-bit views) Software\\Python\\<Company>\\<Tag>\\InstallPath."""
    if winreg is None:
        import winreg as _winreg  # type: ignore[import-not-found,unused-ignore]

        winreg = _winreg
    out: list[Candidate] = []
    hives = [(winreg.HKEY_CURRENT_USER, 0), (winreg.HKEY_LOCAL_MACHINE, winreg.KEY_WOW64_64KEY),
             (winreg.HKEY_LOCAL_MACHINE, winreg.KEY_WOW64_32KEY)]

    def subkeys(key: Any) -> list[str]:
        names = []
        i = 0
        while True:
            try:
                names.append(winreg.EnumKey(key, i))
            except OSError:
                return names
            i += 1

    for hive, view in hives:
        try:
            top = winreg.OpenKey(hive, r"Software\Python", 0, winreg.KEY_READ | view)
        except OSError:
            continue
        for company in subkeys(top):
            if company == "PyLauncher":  # the launcher's own settings, not an interpreter
                continue
            try:
                company_key = winreg.OpenKey(top, company)
            except OSError:
                continue
            for tag in subkeys(company_key):
                try:
                    install = winreg.OpenKey(company_key, tag + r"\InstallPath")
                except OSError:
                    continue
                exe = None
                try:
                    exe = winreg.QueryValueEx(install, "ExecutablePath")[0]
                except OSError:
                    try:
                        folder = winreg.QueryValueEx(install, "")[0]
                        exe = os.path.join(folder, "python.exe") if folder else None
                    except OSError:
                        exe = None
                if exe:
                    out.append(Candidate(str(exe), "registry"))
    return out


# -- running the candidates -------------------------------------------------------------------------------


def _venv_dir(path: str) -> str | None:
    """The venv a launcher belongs to: venv interpreters are symlinks or copies of their base, yet differ."""
    env_dir = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    return env_dir if os.path.isfile(os.path.join(env_dir, "pyvenv.cfg")) else None


def _file_key(path: str) -> str:
    venv = _venv_dir(path)
    if venv:
        return "venv:" + os.path.normcase(venv)
    try:
        return os.path.normcase(os.path.realpath(path))
    except OSError:
        return os.path.normcase(os.path.abspath(path))


@dataclass
class ProbeAnswer:
    """What PROBE_SCRIPT prints, type-checked: any program named python3 can answer, and a wrong or
    hostile answer marks that one interpreter unusable instead of breaking detection."""

    version: list[int]
    implementation: str | None = None
    machine: str | None = None
    platform: str | None = None  # None on old Pythons without sysconfig
    bits: int = 0
    free_threaded: bool | None = None
    venv: bool = False
    ensurepip: bool = False
    externally_managed: bool = False
    is_venv: bool = False
    prefix: str | None = None
    executable: str | None = None

    def problem(self) -> str | None:
        """Why the answer cannot come from a real interpreter, or None."""
        if not 2 <= len(self.version) <= 3 or not all(0 <= x < 1000 for x in self.version):
            return f"version {self.version} is not a Python version"
        if self.bits not in (32, 64):
            return f"a {self.bits}-bit interpreter"
        return None


def _rank(source: str) -> int:
    return SOURCE_RANK.index(source) if source in SOURCE_RANK else len(SOURCE_RANK)


def _arch(machine: str, platform_tag: str | None, bits: int) -> str:
    tag = (platform_tag or "").lower()
    # On Windows platform.machine() names the OS, not the process: a 32-bit Python on x64 Windows says AMD64.
    if tag.startswith("win"):
        machine = {"win32": "x86", "win-amd64": "x86_64", "win-arm64": "arm64", "win-arm32": "arm"}.get(tag, machine)
    arch = normalize_arch(machine)
    if bits == 32 and arch == "x86_64":
        return "x86"
    if bits == 32 and arch == "arm64":
        return "arm"
    return arch


def unusable(path: str, source: str, problem: str) -> PythonInfo:
    return PythonInfo(executable=path, version="unknown", arch="unknown", bits=0, free_threaded=False,
                      source=source, usable=False, problem=problem)


def _store_problem(path: str, source: str) -> str | None:
    if source == "windows store" or "\\microsoft\\windowsapps\\" in path.lower():
        return ("Windows Store alias: no Python from the Microsoft Store is installed behind it "
                "(turn it off under App execution aliases, or install Python)")
    return None


def parse_probe_output(path: str, source: str, returncode: int | None, stdout: str, stderr: str,
                       error: str | None = None) -> PythonInfo:
    """Turn what the probe printed (or failed to print) into a PythonInfo. Pure, for recorded outputs."""
    if returncode is None:
        return unusable(path, source, error or "did not run")
    payload = None
    for line in stdout.splitlines():
        if line.startswith(PROBE_MARKER):
            payload = line[len(PROBE_MARKER):]
    if returncode != 0 or payload is None:
        tail = (stderr.strip() or stdout.strip()).splitlines()
        detail = f": {tail[-1][:200]}" if tail else ""
        why = f"exited with code {returncode}{detail}" if returncode != 0 else f"printed no interpreter facts{detail}"
        return unusable(path, source, _store_problem(path, source) or why)
    try:
        answer = schema.build(ProbeAnswer, json.loads(payload))
    except (ValueError, RecursionError) as exc:  # SchemaError is a ValueError naming the field
        detail = f" ({exc})" if isinstance(exc, schema.SchemaError) else ""
        return unusable(path, source, f"printed something that is not the probe's answer{detail}")
    problem = answer.problem()
    if problem:
        return unusable(path, source, f"printed an impossible answer: {problem}")
    executable = answer.executable or path
    if not os.path.isabs(executable):
        executable = path
    return PythonInfo(
        executable=executable,
        version=".".join(str(x) for x in answer.version[:3]),
        arch=_arch(answer.machine or "", answer.platform, answer.bits),
        bits=answer.bits,
        free_threaded=bool(answer.free_threaded),
        source=source,
        implementation=(answer.implementation or "unknown").lower(),
        has_venv=answer.venv,
        has_ensurepip=answer.ensurepip,
        # PEP 668: the marker does not apply inside a virtual environment.
        externally_managed=answer.externally_managed and not answer.is_venv,
        is_venv=answer.is_venv,
        prefix=answer.prefix,
    )


def probe_python(path: str, source: str = "PATH", timeout: float = 6.0) -> PythonInfo:
    """Run one interpreter with the probe script. Never raises."""
    started = time.monotonic()
    done = process.run_captured([path, "-I", "-c", PROBE_SCRIPT], timeout=timeout)
    if done.returncode == 2 and "-I" in (done.stderr + done.stdout) and PROBE_MARKER not in done.stdout:
        # Python 2 and 3.3 do not know -I; -E -s is the nearest (the script drops the cwd from sys.path).
        left = max(0.5, timeout - (time.monotonic() - started))
        done = process.run_captured([path, "-E", "-s", "-c", PROBE_SCRIPT], timeout=left)
    info = parse_probe_output(path, source, done.returncode, done.stdout, done.stderr, done.error)
    if done.returncode is None and _store_problem(path, source):
        info.problem = _store_problem(path, source)
    return info


def _classify(info: PythonInfo, fallback: str) -> str:
    """The most telling source, from where the interpreter really lives."""
    if info.prefix and os.path.isdir(os.path.join(info.prefix, "conda-meta")):
        return "conda"
    if info.is_venv:  # a venv's interpreter links to its base; where the base lives says nothing about the venv
        return "venv"
    real = os.path.realpath(info.executable).replace("\\", "/")
    if "/.pyenv/" in real or "/pyenv-win/" in real:
        return "pyenv"
    if "/uv/python/" in real or "/uv/data/python/" in real:
        return "uv"
    if "/Cellar/" in real or real.startswith("/opt/homebrew/") or "/.linuxbrew/" in real:
        return "homebrew"
    if "/Library/Frameworks/Python" in real:
        return "python.org"
    return fallback


def _apple_stub_problem(path: str) -> str | None:
    """/usr/bin/python3 on a Mac without the Command Line Tools pops an install dialog when run."""
    if not path.startswith("/usr/bin/"):
        return None
    if os.path.isdir("/Library/Developer/CommandLineTools/usr/bin") or glob.glob("/Applications/Xcode*.app"):
        return None
    done = process.run_captured(["xcode-select", "-p"], timeout=3)
    if done.ok and os.path.isdir(done.stdout.strip()):
        return None
    return "Apple's python3 stub: the Xcode Command Line Tools are not installed (running it would ask to install them)"


def detect_pythons(timeout: float = 6.0, *, roots: SearchRoots | None = None,
                   probe: Callable[[str, str, float], PythonInfo] | None = None) -> list[PythonInfo]:
    """Every Python interpreter on this machine, newest first; broken ones listed with usable=False."""
    roots = roots or SearchRoots.from_environment()
    run_probe = probe or probe_python
    deadline = time.monotonic() + timeout

    # Several paths often lead to one file (python -> python3 -> python3.12): run each file once.
    groups: dict[str, list[Candidate]] = {}
    order: list[str] = []

    def add(candidates: Iterable[Candidate]) -> list[str]:
        new = []
        for cand in candidates:
            key = _file_key(cand.path)
            if key not in groups:
                groups[key] = []
                order.append(key)
                new.append(key)
            same = [i for i, c in enumerate(groups[key]) if c.path == cand.path]
            if not same:
                groups[key].append(cand)
            elif _rank(cand.source) < _rank(groups[key][same[0]].source):
                groups[key][same[0]] = cand
        return new

    on_path, shim_roots = path_candidates(roots)
    static: list[Candidate] = []
    if roots.current:
        static.append(Candidate(roots.current, "current"))
    static += on_path
    static += pyenv_candidates(roots, shim_roots)
    static += conda_candidates(roots)
    for directory in uv_python_dirs(roots):
        static += uv_candidates_in(directory, roots)
    static += homebrew_candidates(roots)
    static += framework_candidates(roots)
    static += windows_candidates(roots)
    static += system_candidates(roots)

    def best(key: str) -> Candidate:
        return min(groups[key], key=lambda c: _rank(c.source))

    def run(key: str) -> PythonInfo:
        cand = best(key)
        if roots.check_apple_stub:
            stub = _apple_stub_problem(cand.path)
            if stub:
                return unusable(cand.path, cand.source, stub)
        left = deadline - time.monotonic()
        if left <= 0.05:
            return unusable(cand.path, cand.source, f"not checked: detection ran out of its {timeout:g} s")
        return run_probe(cand.path, cand.source, left)

    results: dict[str, Future[PythonInfo]] = {}
    with ThreadPoolExecutor(max_workers=32, thread_name_prefix="python-probe") as pool:
        slow: list[Future[list[Candidate]]] = []
        if roots.use_uv:
            slow.append(pool.submit(lambda: [c for d in filter(None, [ask_uv_python_dir(min(timeout, 3.0))])
                                             for c in uv_candidates_in(d, roots)]))
        if roots.use_py_launcher:
            slow.append(pool.submit(py_launcher_candidates, min(timeout, 5.0)))
        if roots.use_registry:
            slow.append(pool.submit(pep514_candidates))
        for key in add(static):
            results[key] = pool.submit(run, key)
        for fut in slow:
            try:
                more = fut.result()
            except Exception:  # a discovery route that fails must not cost the others
                more = []
            for key in add(more):
                results[key] = pool.submit(run, key)
        infos = {key: fut.result() for key, fut in results.items()}

    # Different files can still be one interpreter (a copy, a hard link, a shim-like wrapper): merge by what
    # the interpreter says about itself.
    merged: dict[tuple[str, ...], PythonInfo] = {}
    for key in order:
        info = infos[key]
        paths = [c.path for c in groups[key]]
        label = best(key).source
        if info.usable:
            info.source = _classify(info, label)
            ident: tuple[str, ...] = (os.path.normcase(os.path.realpath(info.executable)),
                                      os.path.normcase(os.path.realpath(info.prefix or "")), info.version)
        else:
            ident = ("unusable", key)
        aliases = [p for p in paths if p != info.executable]
        if ident in merged:
            kept = merged[ident]
            if _rank(info.source) < _rank(kept.source):
                kept.source = info.source
            for p in [info.executable, *aliases]:
                if p != kept.executable and p not in kept.aliases:
                    kept.aliases.append(p)
            continue
        info.aliases = aliases
        merged[ident] = info

    out = list(merged.values())
    out.sort(key=lambda p: (not p.usable, tuple(-x for x in version_tuple(p.version)), _rank(p.source),
                            p.executable))
    return out
