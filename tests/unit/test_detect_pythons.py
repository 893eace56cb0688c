"""Interpreter discovery: parsers on recorded outputs, and real runs against this machine's Pythons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from installer.core.detect import pythons
from installer.core.detect.pythons import (
    Candidate,
    SearchRoots,
    detect_pythons,
    parse_probe_output,
    parse_py_launcher,
    pep514_candidates,
)
from installer.core.report import PythonInfo

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "pythons"
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
PYENV_VERSIONS = sorted(p for p in (PYENV / "versions").glob("*") if (p / "bin").is_dir()) if PYENV.is_dir() else []
needs_pyenv = pytest.mark.skipif(not PYENV_VERSIONS or sys.platform == "win32", reason="needs pyenv interpreters")


def roots_for(tmp_path: Path, path: list[Path], **kw: object) -> SearchRoots:
    """Discovery confined to folders the test controls: no real HOME, PATH, uv or registry."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: str(v) for k, v in kw.pop("env", {}).items()}  # type: ignore[attr-defined]
    return SearchRoots(path=[str(p) for p in path], home=str(home), env=env, platform=str(kw.pop("platform", "linux")),
                       current=None, system_dirs=[], use_uv=False, **kw)  # type: ignore[arg-type]


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


# -- py launcher ------------------------------------------------------------------------------------------


def test_py_launcher_new_format_with_path() -> None:
    entries = parse_py_launcher((FIX / "py-0p-pyenv-win.txt").read_text())
    assert [(e.tag, e.path, e.default) for e in entries] == [
        ("3.9.13", r"C:\Users\oleksis\.pyenv\pyenv-win\versions\3.9.13\python.exe", False)]


def test_py_launcher_default_marked_with_star() -> None:
    entries = parse_py_launcher((FIX / "py-0p-single.txt").read_text())
    assert [(e.tag, e.path, e.default) for e in entries] == [("3.12", r"C:\TechRoot\py\3.12.0\python.exe", True)]


def test_py_launcher_lists_without_paths_give_no_candidates() -> None:
    # `py -0` and the old `py --list` name versions but no executables: nothing there can be run.
    assert parse_py_launcher((FIX / "py-0-anaconda.txt").read_text()) == []
    assert parse_py_launcher((FIX / "py-list-old-launcher.txt").read_text()) == []


def test_py_launcher_old_format_star_after_path() -> None:
    # Built from the pre-3.11 launcher's documented -0p shape (see SOURCES.md: no verbatim recording found).
    text = "Installed Pythons found by py Launcher for Windows\n -3.9-64        C:\\Python39\\python.exe *\n" \
           " -2.7-32        C:\\Python27\\python.exe\n"
    entries = parse_py_launcher(text)
    assert [(e.tag, e.path, e.default) for e in entries] == [
        ("3.9-64", r"C:\Python39\python.exe", True), ("2.7-32", r"C:\Python27\python.exe", False)]


# -- the probe's answers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, version", [("probe-2.7.18-linux.txt", "2.7.18"), ("probe-3.6.15-linux.txt", "3.6.15"),
                                           ("probe-3.13.0-linux.txt", "3.13.0")])
def test_recorded_probe_outputs_parse(name: str, version: str) -> None:
    info = parse_probe_output("/x/python", "pyenv", 0, (FIX / name).read_text(), "")
    assert info.usable and info.version == version
    assert info.arch == "x86_64" and info.bits == 64 and info.implementation == "cpython"
    assert info.has_venv is (version != "2.7.18")  # venv arrived in 3.3
    assert info.has_ensurepip is True and info.is_venv is False


def test_debian_system_python_is_externally_managed() -> None:
    info = parse_probe_output("/usr/bin/python3.11", "system", 0, (FIX / "probe-3.11-debian-system.txt").read_text(), "")
    assert info.externally_managed is True and info.prefix == "/usr" and info.version == "3.11.2"


def test_externally_managed_does_not_apply_inside_a_venv() -> None:
    data = json.loads((FIX / "probe-3.11-debian-system.txt").read_text().split("@@", 2)[2])
    data.update(is_venv=True, prefix="/home/u/venv")
    info = parse_probe_output("/home/u/venv/bin/python", "PATH", 0, pythons.PROBE_MARKER + json.dumps(data), "")
    assert info.is_venv and not info.externally_managed


def test_windows_arch_comes_from_the_platform_tag_not_the_os() -> None:
    # A 32-bit Python on 64-bit Windows: platform.machine() says AMD64, the interpreter is x86.
    payload = {"version": [3, 12, 4], "machine": "AMD64", "platform": "win32", "bits": 32, "implementation": "CPython"}
    info = parse_probe_output(r"C:\Py32\python.exe", "registry", 0, pythons.PROBE_MARKER + json.dumps(payload), "")
    assert (info.arch, info.bits) == ("x86", 32)
    payload.update(platform="win-arm64", machine="ARM64", bits=64)
    info = parse_probe_output(r"C:\Py\python.exe", "registry", 0, pythons.PROBE_MARKER + json.dumps(payload), "")
    assert info.arch == "arm64"


def test_python2_without_dash_I_is_reported_with_its_usage_error() -> None:
    stderr = (FIX / "python2.7-dash-I-stderr.txt").read_text()
    info = parse_probe_output("/x/python2.7", "PATH", 2, "", stderr)
    assert not info.usable and "exited with code 2" in (info.problem or "")


def test_store_alias_failure_names_the_store() -> None:
    stub = r"C:\Users\u\AppData\Local\Microsoft\WindowsApps\python.exe"
    info = parse_probe_output(stub, "windows store", 9009, "", "Python was not found; run without arguments to install "
                              "from the Microsoft Store, or disable this shortcut from Settings")
    assert not info.usable and "Windows Store alias" in (info.problem or "")


# -- real runs on this machine ----------------------------------------------------------------------------


def _real_version(exe: str) -> str:
    out = subprocess.run([exe, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


@needs_pyenv
def test_finds_every_pyenv_interpreter_with_true_facts() -> None:
    found = detect_pythons()
    usable = [p for p in found if p.usable]
    by_prefix = {os.path.realpath(p.prefix or ""): p for p in usable}
    for version_dir in PYENV_VERSIONS:
        info = by_prefix.get(os.path.realpath(version_dir))
        assert info is not None, f"{version_dir} not found"
        assert info.source == "pyenv"
        assert info.version == _real_version(info.executable) == version_dir.name
    # one entry per real interpreter
    idents = [(os.path.realpath(p.executable), os.path.realpath(p.prefix or "")) for p in usable]
    assert len(idents) == len(set(idents))
    # pyenv's shims are never listed as interpreters of their own
    assert not any("/shims/" in p.executable for p in found)
    # newest first
    keys = [tuple(int(x) for x in p.version.split(".")) for p in usable]
    assert keys == sorted(keys, reverse=True)


@pytest.mark.skipif(not Path("/usr/bin/python3.11").exists(), reason="Debian's python3.11 not installed")
def test_finds_the_system_python_once() -> None:
    found = detect_pythons()
    target = os.path.realpath("/usr/bin/python3.11")
    matches = [p for p in found if target in {os.path.realpath(x) for x in [p.executable, *p.aliases]}]
    assert len(matches) == 1
    assert matches[0].version == _real_version("/usr/bin/python3.11")
    assert matches[0].source == "system" and matches[0].externally_managed == Path(
        "/usr/lib/python3.11/EXTERNALLY-MANAGED").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell scripts")
def test_broken_interpreters_are_listed_unusable(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    script(bindir / "python3.12", "echo 'error while loading shared libraries: libpython3.12.so.1.0' >&2; exit 127")
    script(bindir / "python3.13", "echo 'this is not python'")
    script(bindir / "python3.14", "exec sleep 30")
    found = detect_pythons(timeout=1.5, roots=roots_for(tmp_path, [bindir]))
    problems = {Path(p.executable).name: p.problem or "" for p in found}
    assert all(not p.usable for p in found) and len(found) == 3
    assert "exited with code 127" in problems["python3.12"] and "libpython3.12" in problems["python3.12"]
    assert "printed no interpreter facts" in problems["python3.13"]
    assert "did not answer" in problems["python3.14"] or "ran out" in problems["python3.14"]


@needs_pyenv
def test_pyenv_shims_are_resolved_not_run(tmp_path: Path) -> None:
    # A pyenv root whose shim would fail if run, and one real version: one entry, from pyenv.
    real = PYENV_VERSIONS[-1]
    root = tmp_path / "pyenv"
    script(root / "shims" / "python3", "exit 3")
    script(root / "shims" / "python", "exit 3")
    (root / "versions").mkdir(parents=True)
    (root / "versions" / real.name).symlink_to(real)
    found = detect_pythons(roots=roots_for(tmp_path, [root / "shims"]))
    assert len(found) == 1 and found[0].usable and found[0].source == "pyenv"
    assert found[0].version == real.name


@needs_pyenv
def test_a_venv_is_not_merged_with_its_base(tmp_path: Path) -> None:
    base = PYENV_VERSIONS[-1] / "bin" / "python3"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True, timeout=60)
    roots = roots_for(tmp_path, [base.parent, tmp_path / "venv" / "bin"])
    found = detect_pythons(roots=roots)
    assert len(found) == 2
    venv = next(p for p in found if p.is_venv)
    assert venv.source == "venv" and os.path.realpath(venv.prefix or "") == os.path.realpath(tmp_path / "venv")
    assert venv.version == next(p for p in found if not p.is_venv).version


def test_a_windows_store_stub_is_listed_unusable(tmp_path: Path) -> None:
    apps = tmp_path / "Local" / "Microsoft" / "WindowsApps"
    apps.mkdir(parents=True)
    stub = apps / "python.exe"
    stub.write_bytes(b"")  # App execution aliases are 0-byte files
    stub.chmod(0o755)
    roots = roots_for(tmp_path, [apps], platform="win32", env={"LOCALAPPDATA": tmp_path / "Local"})
    found = detect_pythons(timeout=3, roots=roots)
    assert len(found) == 1 and not found[0].usable
    assert "Windows Store alias" in (found[0].problem or "") and found[0].source == "windows store"


# -- discovery routes, with the probe replaced (the layouts are built in tmp) -----------------------------


def fake_probe(prefix_of: dict[str, str]):  # type: ignore[no-untyped-def]
    def probe(path: str, source: str, timeout: float) -> PythonInfo:
        return PythonInfo(executable=path, version="3.12.4", arch="x86_64", bits=64, free_threaded=False, source=source,
                          prefix=prefix_of.get(path, os.path.dirname(os.path.dirname(path))))
    return probe


def exe(path: Path) -> Path:
    return script(path, "exit 0")


def test_conda_base_envs_and_environments_txt(tmp_path: Path) -> None:
    home = tmp_path / "home"
    base = home / "miniforge3"
    (base / "conda-meta").mkdir(parents=True)
    exe(base / "bin" / "python3")
    (base / "envs" / "torch" / "conda-meta").mkdir(parents=True)
    exe(base / "envs" / "torch" / "bin" / "python3")
    elsewhere = tmp_path / "projects" / "env1"
    (elsewhere / "conda-meta").mkdir(parents=True)
    exe(elsewhere / "bin" / "python")
    (home / ".conda").mkdir(parents=True)
    (home / ".conda" / "environments.txt").write_text(f"{base}\n{elsewhere}\n")
    found = detect_pythons(roots=roots_for(tmp_path, []), probe=fake_probe({}))
    assert sorted(p.prefix or "" for p in found) == sorted([str(base), str(base / "envs" / "torch"), str(elsewhere)])
    assert {p.source for p in found} == {"conda"}


def test_uv_managed_pythons(tmp_path: Path) -> None:
    uvdir = tmp_path / "uvpy"
    exe(uvdir / "cpython-3.12.4-linux-x86_64-gnu" / "bin" / "python3")
    exe(uvdir / "cpython-3.13.1-linux-x86_64-gnu" / "bin" / "python3")
    roots = roots_for(tmp_path, [], env={"UV_PYTHON_INSTALL_DIR": uvdir})
    found = detect_pythons(roots=roots, probe=fake_probe({}))
    assert len(found) == 2 and {p.source for p in found} == {"uv"}


def test_symlinks_to_one_file_run_once_and_become_aliases(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    real = exe(bindir / "python3.12")
    (bindir / "python3").symlink_to(real)
    (bindir / "python").symlink_to(real)
    calls: list[str] = []

    def probe(path: str, source: str, timeout: float) -> PythonInfo:
        calls.append(path)
        return fake_probe({})(path, source, timeout)

    found = detect_pythons(roots=roots_for(tmp_path, [bindir]), probe=probe)
    assert len(calls) == 1 and len(found) == 1
    assert {found[0].executable, *found[0].aliases} == {str(bindir / n) for n in ("python", "python3", "python3.12")}


def test_a_frozen_app_never_offers_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert SearchRoots.from_environment().current is None
    monkeypatch.delattr(sys, "frozen")
    assert SearchRoots.from_environment().current == sys.executable


def test_candidate_routes_never_crash_on_missing_folders(tmp_path: Path) -> None:
    roots = roots_for(tmp_path, [tmp_path / "nope"], env={"CONDA_EXE": tmp_path / "x" / "bin" / "conda",
                                                          "PYENV_ROOT": tmp_path / "nope"})
    assert detect_pythons(roots=roots) == []


class FakeWinreg:
    """Just enough of winreg for PEP 514: nested dicts of keys, values under "".."""

    HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE = "HKCU", "HKLM"
    KEY_READ, KEY_WOW64_64KEY, KEY_WOW64_32KEY = 1, 2, 4

    def __init__(self, tree: dict[str, dict]) -> None:  # type: ignore[type-arg]
        self.tree = tree

    def OpenKey(self, key, sub, reserved=0, access=0):  # type: ignore[no-untyped-def]
        node = self.tree[key] if isinstance(key, str) else key
        for part in sub.split("\\"):
            if part not in node:
                raise OSError(2, "not found")
            node = node[part]
        return node

    def EnumKey(self, key, i):  # type: ignore[no-untyped-def]
        subkeys = [k for k, v in key.items() if isinstance(v, dict)]
        if i >= len(subkeys):
            raise OSError(259, "no more")
        return subkeys[i]

    def QueryValueEx(self, key, name):  # type: ignore[no-untyped-def]
        if name not in key or isinstance(key[name], dict):
            raise OSError(2, "no value")
        return key[name], 1


def test_pep514_registry_entries() -> None:
    reg = FakeWinreg({
        "HKCU": {"Software": {"Python": {
            "PythonCore": {"3.12": {"InstallPath": {"": r"C:\Users\u\AppData\Local\Programs\Python\Python312",
                                                    "ExecutablePath": r"C:\Users\u\AppData\Local\Programs\Python\Python312\python.exe"}}},
            "PyLauncher": {"Settings": {}},
        }}},
        "HKLM": {"Software": {"Python": {
            "ContinuumAnalytics": {"Anaconda39-64": {"InstallPath": {"": r"C:\ProgramData\Anaconda3"}}},
        }}},
    })
    paths = [c.path for c in pep514_candidates(reg)]
    assert r"C:\Users\u\AppData\Local\Programs\Python\Python312\python.exe" in paths
    assert os.path.join(r"C:\ProgramData\Anaconda3", "python.exe") in paths
    assert all(isinstance(c, Candidate) and c.source == "registry" for c in pep514_candidates(reg))
