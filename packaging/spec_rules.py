"""What build.spec leaves out of the frozen app, and the app's version; plain functions so tests can check them.

Only QtCore, QtGui and QtWidgets ship. Of Qt's plugins only those a widgets wizard uses on some OS stay:
platforms (xcb, offscreen, minimal on Linux; cocoa; windows), the XDG portal theme (native file dialogs,
dark mode; GTK3's theme plugin would drag GTK's libraries in), compose/IBus input (dead keys, CJK input),
svg/ico/icns images, svg icons, styles, xcb GL integration and the accessibility bridge. Wayland sessions
run the app through XWayland, which every Wayland desktop provides. No translations: the UI is English.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

# Qt for Python modules the app does not import (Essentials and Add-ons), plus stdlib parts it never uses.
_UNUSED_QT = (
    "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender", "QtAxContainer",
    "QtBluetooth", "QtCharts", "QtConcurrent", "QtDataVisualization", "QtDBus", "QtDesigner", "QtGraphs",
    "QtGraphsWidgets", "QtHelp", "QtHttpServer", "QtLabsStyleKit", "QtLocation", "QtMultimedia",
    "QtMultimediaWidgets", "QtNetwork", "QtNetworkAuth", "QtNfc", "QtOpenGL", "QtOpenGLWidgets", "QtPdf",
    "QtPdfWidgets", "QtPositioning", "QtPrintSupport", "QtQml", "QtQmlFeatures", "QtQuick", "QtQuick3D",
    "QtQuickControls2", "QtQuickTest", "QtQuickWidgets", "QtRemoteObjects", "QtScxml", "QtSensors",
    "QtSerialBus", "QtSerialPort", "QtSpatialAudio", "QtSql", "QtStateMachine", "QtSvg", "QtSvgWidgets",
    "QtTest", "QtTextToSpeech", "QtUiTools", "QtWebChannel", "QtWebEngineCore", "QtWebEngineQuick",
    "QtWebEngineWidgets", "QtWebSockets", "QtWebView", "QtXml",
)
EXCLUDED_MODULES = [f"PySide6.{name}" for name in _UNUSED_QT] + [
    "tkinter", "_tkinter", "turtle", "turtledemo", "idlelib", "lib2to3", "test", "pydoc_data",
    "PyQt5", "PyQt6", "PySide2",  # a second Qt binding in the build venv must never ride along
    # Build tools of the build venv: the frozen app never runs pip in-process (it drives uv or a real
    # Python's pip), and these would add ~4 MB and two start-up hooks (pkg_resources, setuptools).
    "pip", "setuptools", "pkg_resources", "distutils", "_distutils_hack", "wheel",
]

# The Linux one-file launcher (packaging/launcher.py) needs os, zipfile, shutil, subprocess and signal only
# (and what they import: pathlib needs urllib.parse);
# whatever it carries is unpacked at every launch, so the heavier stdlib parts stay out.
LAUNCHER_EXCLUDES = [
    "PySide6", "shiboken6", "installer", "platformdirs", "psutil", "packaging", "pynvml", "uv", "truststore",
    "asyncio", "email", "http", "xml", "xmlrpc", "html", "json", "sqlite3", "ssl", "_ssl",
    "unittest", "pydoc", "doctest", "multiprocessing", "concurrent", "ctypes", "decimal", "_decimal",
    "csv", "logging", "tomllib", "lzma", "_lzma", "bz2", "_bz2", "curses", "readline",
]

# plugin type -> kept plugin names (file name without lib prefix and extension); None keeps all of that type.
KEPT_PLUGINS: dict[str, frozenset[str] | None] = {
    "platforms": frozenset({"qxcb", "qoffscreen", "qminimal", "qwindows", "qcocoa"}),
    "platforms/darwin": None,
    "platformthemes": frozenset({"qxdgdesktopportal"}),
    "platforminputcontexts": frozenset({"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"}),
    "imageformats": frozenset({"qsvg", "qico", "qicns"}),  # PNG support is built into QtGui
    "iconengines": None,
    "styles": None,
    "xcbglintegrations": None,
    "accessiblebridge": None,
}


def plugin_name(filename: str) -> str:
    """'libqxcb.so' / 'qwindows.dll' / 'libqcocoa.dylib' -> 'qxcb' / 'qwindows' / 'qcocoa'."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = re.sub(r"\.(so(\.\d+)*|dll|dylib)$", "", name)
    return name[3:] if name.startswith("lib") else name


def keep_plugin(plugin_type: str, filename: str) -> bool:
    plugin_type = plugin_type.replace("\\", "/").strip("/")
    if plugin_type not in KEPT_PLUGINS:
        return False
    kept = KEPT_PLUGINS[plugin_type]
    return kept is None or plugin_name(filename) in kept


def drop_reason(dest: str) -> str | None:
    """Why a collected file (its path inside the bundle) is left out, or None to keep it."""
    parts = PurePosixPath(dest.replace("\\", "/")).parts
    if "__pycache__" in parts:
        return "bytecode caches"
    if parts[:1] == ("PySide6",):
        if "translations" in parts and dest.endswith(".qm"):
            return "Qt translations"
        if "plugins" in parts:
            at = parts.index("plugins")
            plugin_type = "/".join(parts[at + 1:-1])
            if plugin_type and not keep_plugin(plugin_type, parts[-1]):
                return "Qt plugins"
    return None


def read_version(init_file: Path) -> str:
    """installer.__version__ read from the file (importing the package at build time is not needed)."""
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", init_file.read_text(encoding="utf-8"), re.M)
    if not match:
        raise ValueError(f"no __version__ in {init_file}")
    return match.group(1)
