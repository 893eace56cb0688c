"""Packaging: the spec and its pruning rules, icons, the Windows version resource, the scrubbed child
environment of a frozen app, the bundled uv, and resources found from an installed wheel."""

from __future__ import annotations

import ast
import json
import lzma
import os
import shutil
import struct
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
import tomllib

import installer
from installer.core import process, uvbin
from tests.torch_env import in_ci

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packaging"))
sys.path.insert(0, str(REPO / "packaging" / "windows"))

import make_icons  # noqa: E402
import spec_rules  # noqa: E402
import version_info  # noqa: E402

# -- build.spec -------------------------------------------------------------------------------------------


def test_spec_is_valid_python_with_every_platform_branch() -> None:
    source = (REPO / "build.spec").read_text(encoding="utf-8")
    tree = ast.parse(source, "build.spec")
    calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= calls
    assert "upx=False" in source
    assert (REPO / "packaging" / "entry.py").is_file()
    assert '"NSHighResolutionCapable": True' in source and "LSMinimumSystemVersion" in source
    assert 'name="torch-setup-cli", console=True' in source  # Windows console twin


def test_spec_version_is_the_package_version() -> None:
    assert spec_rules.read_version(REPO / "installer" / "__init__.py") == installer.__version__


@pytest.mark.parametrize(("plugin_type", "filename", "kept"), [
    ("platforms", "/x/PySide6/Qt/plugins/platforms/libqxcb.so", True),
    ("platforms", "libqoffscreen.so", True),
    ("platforms", r"C:\x\PySide6\plugins\platforms\qwindows.dll", True),
    ("platforms", "libqcocoa.dylib", True),
    ("platforms", "libqwayland.so", False),
    ("platforms", "libqeglfs.so", False),
    ("platformthemes", "libqgtk3.so", False),  # would bring GTK's libraries along
    ("platformthemes", "libqxdgdesktopportal.so", True),
    ("imageformats", "libqsvg.so", True),
    ("imageformats", "qico.dll", True),
    ("imageformats", "libqtiff.so", False),
    ("platforminputcontexts", "libqtvirtualkeyboardplugin.so", False),  # pulls in QtQuick
    ("platforminputcontexts", "libcomposeplatforminputcontextplugin.so", True),
    ("styles", "qmodernwindowsstyle.dll", True),
    ("tls", "libqopensslbackend.so", False),
    ("wayland-shell-integration", "libxdg-shell.so", False),
])
def test_qt_plugins_kept_and_dropped(plugin_type: str, filename: str, kept: bool) -> None:
    assert spec_rules.keep_plugin(plugin_type, filename) is kept


def test_drop_reason_of_collected_files() -> None:
    assert spec_rules.drop_reason("PySide6/Qt/translations/qtbase_de.qm") == "Qt translations"
    assert spec_rules.drop_reason("PySide6/Qt/plugins/platforms/libqvnc.so") == "Qt plugins"
    assert spec_rules.drop_reason(r"PySide6\plugins\imageformats\qtiff.dll") == "Qt plugins"
    assert spec_rules.drop_reason("resources/__pycache__/verify_probe.cpython-311.pyc") == "bytecode caches"
    for kept in ("PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/lib/libQt6Core.so.6",
                 "resources/catalog.json", "bin/uv", "PySide6/Qt/plugins/styles/libqmacstyle.dylib"):
        assert spec_rules.drop_reason(kept) is None, kept


def test_only_core_gui_widgets_of_qt_ship() -> None:
    excluded = set(spec_rules.EXCLUDED_MODULES)
    assert not {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"} & excluded
    assert {"PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtNetwork", "PySide6.QtWebEngineCore"} <= excluded
    # Nothing the app imports may be excluded: scan installer/ for PySide6 imports.
    imported = set()
    for path in (REPO / "installer").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("PySide6"):
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(a.name for a in node.names if a.name.startswith("PySide6"))
    assert imported, "the GUI imports PySide6 somewhere"
    assert not imported & excluded, f"build.spec excludes modules the app imports: {imported & excluded}"


# -- icons and the Windows version resource -------------------------------------------------------------


def test_icons_are_built_from_the_pngs(tmp_path: Path) -> None:
    written = make_icons.make_icons(REPO / "resources" / "icons", tmp_path)
    ico = written["ico"].read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, len(make_icons.ICO_SIZES))
    sizes = sorted(ico[6 + 16 * i] or 256 for i in range(count))
    assert sizes == sorted(make_icons.ICO_SIZES)
    icns = written["icns"].read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    assert b"ic10" in icns  # the 1024 px (512@2x) image macOS uses on Retina screens
    assert make_icons.png_size(written["png"].read_bytes()) == (256, 256)


def test_make_icons_says_why_without_pngs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no square PNG"):
        make_icons.make_icons(tmp_path, tmp_path / "out")


class _Recorded:
    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args, self.kwargs = args, kwargs


def test_windows_version_resource_text_evaluates() -> None:
    text = version_info.version_info_text("1.2.3rc1", "torch-setup.exe", "Torch Setup")
    names = ("VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct", "VarFileInfo", "VarStruct")
    namespace = {name: type(name, (_Recorded,), {}) for name in names}
    info = eval(text, namespace)  # PyInstaller evaluates the file the same way on Windows
    ffi = info.kwargs["ffi"]
    assert ffi.kwargs["filevers"] == (1, 2, 3, 0) == ffi.kwargs["prodvers"]
    table = info.kwargs["kids"][0].args[0][0]
    strings = {s.args[0]: s.args[1] for s in table.args[1]}
    assert strings["OriginalFilename"] == "torch-setup.exe"
    assert strings["ProductVersion"] == "1.2.3rc1"


def test_version_tuple_rejects_what_windows_cannot_store() -> None:
    assert version_info.version_tuple("0.1") == (0, 1, 0, 0)
    with pytest.raises(ValueError):
        version_info.version_tuple("70000.0")
    with pytest.raises(ValueError):
        version_info.version_tuple("dev")


# -- the frozen app's child environment -----------------------------------------------------------------


@pytest.fixture
def fake_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bundle = tmp_path / "_MEIabc123"
    (bundle / "bin").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(process, "FROZEN", True)
    return bundle


def test_clean_env_scrubs_what_the_bootloader_and_qt_hook_set(fake_bundle: Path) -> None:
    b = str(fake_bundle)
    base = {
        "PATH": os.pathsep.join([b, "/usr/bin", os.path.join(b, "PySide6"), "/bin"]),
        "LD_LIBRARY_PATH": b, "LD_LIBRARY_PATH_ORIG": "/opt/cuda/lib64",
        "DYLD_LIBRARY_PATH": os.pathsep.join([b, "/opt/homebrew/lib"]),
        "QT_PLUGIN_PATH": os.path.join(b, "PySide6", "Qt", "plugins"),
        "QML2_IMPORT_PATH": os.path.join(b, "PySide6", "Qt", "qml"),
        "_PYI_APPLICATION_HOME_DIR": b, "_PYI_PARENT_PROCESS_LEVEL": "1", "PYTHONHOME": b, "PYTHONPATH": b,
        "HOME": "/home/u", "PATH_SIBLING": b + "-other",
    }
    env = process.clean_env(base=base)
    assert env["PATH"].split(os.pathsep) == ["/usr/bin", "/bin"]
    assert env["LD_LIBRARY_PATH"] == "/opt/cuda/lib64" and "LD_LIBRARY_PATH_ORIG" not in env
    assert "DYLD_LIBRARY_PATH" not in env  # dyld variables never reach children (SIP strips them anyway)
    assert "QT_PLUGIN_PATH" not in env and "QML2_IMPORT_PATH" not in env
    assert not [k for k in env if k.startswith("_PYI_")] and "PYTHONHOME" not in env and "PYTHONPATH" not in env
    assert env["HOME"] == "/home/u" and env["PATH_SIBLING"] == b + "-other"  # a look-alike folder is not the bundle


def test_clean_env_keeps_a_users_own_qt_plugin_path(fake_bundle: Path) -> None:
    own = "/opt/qt/plugins"
    env = process.clean_env(base={"QT_PLUGIN_PATH": os.pathsep.join([str(fake_bundle / "PySide6"), own]), "PATH": "/bin"})
    assert env["QT_PLUGIN_PATH"] == own


def test_child_python_started_from_a_frozen_app_sees_the_clean_environment(fake_bundle: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    b = str(fake_bundle)
    monkeypatch.setenv("PATH", os.pathsep.join([b, os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    monkeypatch.setenv("LD_LIBRARY_PATH", b)
    monkeypatch.delenv("LD_LIBRARY_PATH_ORIG", raising=False)
    monkeypatch.setenv("_PYI_ARCHIVE_FILE", b + "/torch-setup")
    monkeypatch.setenv("QT_PLUGIN_PATH", b + "/PySide6/Qt/plugins")
    done = process.run_captured([sys.executable, "-c", "import os, json; print(json.dumps(dict(os.environ)))"],
                                timeout=30)
    assert done.ok, done.stderr
    child = json.loads(done.stdout)
    assert b not in child["PATH"]
    assert "LD_LIBRARY_PATH" not in child and "QT_PLUGIN_PATH" not in child
    assert not [k for k in child if k.startswith("_PYI_")]


def test_no_engine_code_runs_sys_executable_as_python() -> None:
    """DESIGN: in the binary sys.executable is the app. Any use in installer/ must be guarded or be probe text."""
    allowed = {"installer/core/detect/pythons.py"}  # the probe script's own sys.executable, and a frozen guard
    offenders = []
    for path in (REPO / "installer").rglob("*.py"):
        rel = path.relative_to(REPO).as_posix()
        if "sys.executable" in path.read_text(encoding="utf-8") and rel not in allowed:
            offenders.append(rel)
    assert offenders in ([], ["installer/core/frozen.py"]), offenders


# -- the bundled uv ---------------------------------------------------------------------------------------


def test_uv_from_the_package_when_not_frozen() -> None:
    uv = uvbin.uv_executable()
    done = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("uv ")


def test_frozen_app_uses_its_bundled_uv(fake_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TORCH_SETUP_UV", raising=False)
    bundled = fake_bundle / "bin" / uvbin.UV_NAME
    shutil.copy2(uvbin._package_uv() or "", bundled)
    assert uvbin.uv_executable() == str(bundled)


def test_packed_uv_is_unpacked_once_and_runs(fake_bundle: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TORCH_SETUP_UV", raising=False)
    real = Path(uvbin._package_uv() or "")
    (fake_bundle / "bin" / (uvbin.UV_NAME + ".xz")).write_bytes(lzma.compress(real.read_bytes(), preset=0))
    first = uvbin.uv_executable()
    assert Path(first).is_relative_to(Path(os.environ["TORCH_SETUP_HOME"]))  # the cache, not the bundle
    assert subprocess.run([first, "--version"], capture_output=True, text=True, timeout=30).returncode == 0
    stamp = Path(first).stat().st_mtime_ns
    assert uvbin.uv_executable() == first and Path(first).stat().st_mtime_ns == stamp
    assert not list(Path(first).parent.glob("*.partial"))


def test_frozen_without_uv_does_not_search_the_bundle_python(fake_bundle: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TORCH_SETUP_UV", raising=False)
    monkeypatch.setenv("PATH", str(fake_bundle / "nothing"))
    with pytest.raises(uvbin.UvNotFoundError, match="uv was not found"):
        uvbin.uv_executable()


def test_uv_override_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TORCH_SETUP_UV", str(tmp_path / "missing-uv"))
    with pytest.raises(uvbin.UvNotFoundError, match="TORCH_SETUP_UV"):
        uvbin.uv_executable()


# -- the installed wheel -----------------------------------------------------------------------------------


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    on_disk = {p.parent.relative_to(REPO).as_posix().replace("/", ".") for p in (REPO / "installer").rglob("__init__.py")}
    assert on_disk | {"installer.resources"} == listed


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout installed (without its dependencies) into a fresh venv; returns its python."""
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-w", str(work / "dist"),
                            "-q"], capture_output=True, text=True, timeout=600)
    unreachable = "Could not find a version" in build.stderr or "No matching distribution" in build.stderr
    if build.returncode != 0 and unreachable and not in_ci():  # in CI the wheel test must run
        pytest.skip(f"the build backend (setuptools) cannot be fetched here: {build.stderr.strip()[-300:]}")
    assert build.returncode == 0, build.stderr
    wheel = next((work / "dist").glob("torch_setup-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    done = subprocess.run([uvbin.uv_executable(), "pip", "install", "--offline", "--no-deps", "--python", str(python),
                           str(wheel)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return python


def test_installed_wheel_finds_its_resources(installed_wheel: Path, tmp_path: Path) -> None:
    # Dependencies (platformdirs) come from this test run's environment, appended *after* the venv's
    # site-packages, so `installer` itself can only be the installed wheel, never this checkout.
    deps = sysconfig.get_paths()["purelib"]
    code = textwrap.dedent(f"""
        import json, sys
        sys.path.append({deps!r})
        import installer
        from installer.core.paths import resources_dir
        print(json.dumps({{"package": installer.__file__, "resources": str(resources_dir())}}))
    """)
    env = process.clean_env()
    done = subprocess.run([str(installed_wheel), "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    venv = installed_wheel.parent.parent
    assert Path(found["package"]).is_relative_to(venv)
    resources = Path(found["resources"])
    assert resources.is_relative_to(venv) and resources.parent.name == "installer"
    for name in ("catalog.json", "verify_probe.py", "diagnoses.json", "icons/torch-setup-256.png"):
        assert (resources / name).is_file(), name
    assert not list(resources.rglob("__pycache__"))
