"""QApplication set-up (native style, HiDPI, icon) and the GUI entry points the CLI calls.

run_gui(argv) opens the wizard; self_test() times the first paint and detection; both refuse politely
where no display can be opened instead of letting Qt abort the process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

NO_DISPLAY_MESSAGE = """Torch Setup cannot open a window here: no display was found (DISPLAY and WAYLAND_DISPLAY are unset).
Use the command line instead, for example:
  torch-setup detect              what this computer has
  torch-setup plan                what would be installed, and why
  torch-setup install --yes       install it
  torch-setup --help              everything else
(To force a window system, set QT_QPA_PLATFORM, e.g. QT_QPA_PLATFORM=offscreen.)"""


def display_available() -> bool:
    """False only where Qt would certainly fail: Linux/BSD without X11, Wayland or an explicit platform."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))


# Libraries Qt's xcb plugin loads (ldd of PySide6's libqxcb.so and libQt6XcbQpa.so.6) that desktop installs
# may lack; without them Qt aborts the process. The README's Set up section lists the same packages.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
}


def missing_xcb_libraries(libraries: dict[str, str] | None = None) -> list[str]:
    """Debian package names of the X11 libraries Qt would fail on (only when it is going to use xcb)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return []
    if os.environ.get("WAYLAND_DISPLAY") or not os.environ.get("DISPLAY"):
        return []
    import ctypes

    missing = []
    for soname, package in (libraries or XCB_LIBRARIES).items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(package)
    return missing


def make_application(argv: list[str] | None = None) -> Any:
    """The one QApplication: platform style and palette (so it follows light/dark), app name and icon."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        return app
    # Fractional scale factors render crisply on 125 % / 150 % displays instead of being rounded.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    QCoreApplication.setOrganizationName("torch-setup")
    QCoreApplication.setApplicationName("Torch Setup")
    QGuiApplication.setDesktopFileName("torch-setup")
    app = QApplication(list(argv or sys.argv[:1]))
    from installer import __version__
    from installer.gui.wizard import app_icon

    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    forced = os.environ.get("TORCH_SETUP_COLOR_SCHEME") or None  # "light"/"dark": screenshots and tests
    apply_color_scheme(app, forced)
    if forced is None:
        # The desktop switched between light and dark while the window is open: follow it.
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_color_scheme(app))
    return app


def dark_palette() -> Any:
    """A dark palette for the Fusion style, for where the platform gives none (or a test asks for dark)."""
    from PySide6.QtGui import QColor, QPalette

    palette = QPalette()
    roles = QPalette.ColorRole
    base, window, text, disabled = QColor(30, 30, 32), QColor(45, 45, 48), QColor(230, 230, 230), QColor(130, 130, 135)
    for role, color in ((roles.Window, window), (roles.WindowText, text), (roles.Base, base),
                        (roles.AlternateBase, QColor(40, 40, 43)), (roles.ToolTipBase, window),
                        (roles.ToolTipText, text), (roles.Text, text), (roles.Button, window),
                        (roles.ButtonText, text), (roles.BrightText, QColor(255, 120, 120)),
                        (roles.Link, QColor(140, 180, 255)), (roles.Highlight, QColor(53, 110, 200)),
                        (roles.HighlightedText, QColor(255, 255, 255)), (roles.PlaceholderText, disabled),
                        (roles.Light, QColor(70, 70, 74)), (roles.Midlight, QColor(58, 58, 62)),
                        (roles.Mid, QColor(38, 38, 40)), (roles.Dark, QColor(20, 20, 22)),
                        (roles.Shadow, QColor(0, 0, 0))):
        palette.setColor(role, color)
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def apply_color_scheme(app: Any, scheme: str | None = None) -> str:
    """Follow the desktop's light/dark scheme (Qt 6's style hints), or force one ("light"/"dark").

    Where the platform cannot switch its palette itself (no platform theme, offscreen), the Fusion style with
    our own dark palette stands in, so a dark desktop never gets a light window. Returns the scheme in use.
    """
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication, QStyleFactory

    hints = app.styleHints()
    wanted = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(scheme or "")
    if wanted is not None:
        hints.setColorScheme(wanted)
    current = hints.colorScheme()
    dark = (wanted or current) == Qt.ColorScheme.Dark
    palette_is_dark = app.palette().color(QPalette.ColorRole.Window).lightness() < 128
    if dark and not palette_is_dark:
        QApplication.setStyle(QStyleFactory.create("Fusion"))
        app.setPalette(dark_palette())
        app.setProperty("torchSetupDarkPalette", True)
    elif not dark and palette_is_dark and (wanted is not None or app.property("torchSetupDarkPalette")):
        QApplication.setStyle(QStyleFactory.create("Fusion"))
        app.setPalette(QApplication.style().standardPalette())
        app.setProperty("torchSetupDarkPalette", False)
    return "dark" if dark else "light"


def run_gui(argv: list[str]) -> int:
    if not display_available():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2
    missing = missing_xcb_libraries()
    if missing:
        print("Torch Setup cannot open a window: Qt needs X11 libraries that are not installed. On Debian or "
              f"Ubuntu: sudo apt install {' '.join(missing)}\n\n" + NO_DISPLAY_MESSAGE.split("\n", 1)[1],
              file=sys.stderr)
        return 2
    try:
        app = make_application(argv)
    except Exception as exc:  # a broken Qt platform plugin: still say what to do
        print(f"Torch Setup could not start its window: {exc}\n\n{NO_DISPLAY_MESSAGE}", file=sys.stderr)
        return 2
    from installer.gui.autopilot import Autopilot
    from installer.gui.wizard import TorchSetupWizard

    wizard = TorchSetupWizard()
    autopilot = Autopilot.from_environment(wizard)
    stop = _StopOnSignal(wizard)
    wizard.show()
    if autopilot is not None:
        autopilot.start()
    app.exec()
    error = autopilot.error if autopilot is not None else None
    stopped_by = stop.received
    stop.restore()
    close_wizard(wizard)
    del wizard, autopilot, stop
    if stopped_by:
        print("Cancelled; everything the running install created was removed.", file=sys.stderr)
        return 130
    if error:
        print(f"Torch Setup's autopilot stopped: {error}", file=sys.stderr)
        return 1
    return 0


class _StopOnSignal:
    """SIGTERM, SIGHUP (a closed terminal, a logout) and SIGINT end the wizard the way Cancel does: a running
    install is cancelled and rolled back, the worker threads are waited for, then the window closes.

    Python runs signal handlers only between bytecodes, and Qt's event loop is C++: a timer gives the
    interpreter a turn five times a second to notice.
    """

    def __init__(self, wizard: Any) -> None:
        import threading

        from PySide6.QtCore import QTimer

        from installer.core.runner import SignalHandlers

        self.wizard = wizard
        self._flag = threading.Event()
        self._handlers = SignalHandlers(self._flag)
        self._timer = QTimer()
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._check)
        self._timer.start()
        self.received: list[int] = []

    def _check(self) -> None:
        if not self._flag.is_set() or self.received:
            return
        from PySide6.QtWidgets import QApplication

        from installer.gui.wizard import PageId

        self.received = list(self._handlers.received) or [0]
        if self.wizard.install_running():
            self.wizard.page_of(PageId.INSTALL).begin_cancel()
        self.wizard.setEnabled(False)
        self.wizard.stop_jobs()
        QApplication.quit()

    def restore(self) -> None:
        self._timer.stop()
        self._handlers.restore()


_UNFINISHED_JOBS: list[Any] = []


def close_wizard(wizard: Any) -> None:
    """The orderly end of a session, while the QApplication and the interpreter are still whole.

    done() has already stopped and waited for the worker threads; this makes sure of it on every way out,
    then destroys the wizard's C++ side now. Left to itself the wizard would live on: its pages hold it in
    reference cycles, so Python's garbage collector would destroy it during interpreter shutdown, after
    the modules its slots use are gone. Finally the deferred deletions the last jobs posted (their
    QThreads) are delivered, since no event loop runs any more.
    """
    import gc

    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent

    if not wizard.stop_jobs():
        # A worker that ignored cancel for two minutes: destroying its QThread now would abort the process.
        # Keep the jobs referenced for the rest of the process instead; nothing else depends on them.
        _UNFINISHED_JOBS.extend(wizard.jobs)
    if shiboken6.isValid(wizard):
        shiboken6.delete(wizard)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def _seconds_since_process_start() -> float | None:
    """How long this process has existed. Linux: /proc (10 ms resolution); elsewhere psutil's create_time."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return time.time() - float(psutil.Process().create_time())
    except Exception:
        return None


def self_test(timeout_s: float = 60.0) -> int:
    """Show the wizard, wait for its first paint and for detection, print the timings as JSON, exit 0.

    first_paint_s counts from the start of this process (imports included), which is what a user waits.
    """
    entered = time.perf_counter()
    alive_at_entry = _seconds_since_process_start()
    if not display_available():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a self-test still runs on a headless CI machine
    from PySide6.QtCore import QEvent, QObject, QTimer

    app = make_application(sys.argv[:1])
    from installer.gui.wizard import PageId, TorchSetupWizard

    times: dict[str, float] = {}

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and "paint" not in times:
                times["paint"] = time.perf_counter()
                times["paint_wall"] = time.time()
                QTimer.singleShot(0, wizard.next)  # go to the System page: detection starts
            return False

    wizard = TorchSetupWizard(settings=_scratch_settings())
    painter = FirstPaint()
    wizard.installEventFilter(painter)
    wizard.show()
    system = wizard.page_of(PageId.SYSTEM)
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        app.processEvents()
        if "paint" in times and wizard.state.report is not None and not system.is_detecting():
            break
        if system.error:
            break
        time.sleep(0.005)
    since_start = (times["paint"] - entered) + alive_at_entry if alive_at_entry is not None and "paint" in times \
        else None
    out = {
        "first_paint_s": round(since_start, 3) if since_start is not None else None,
        "first_paint_since_self_test_s": round(times["paint"] - entered, 3) if "paint" in times else None,
        "first_paint_wall": times.get("paint_wall"),
        "detect_s": round(wizard.state.detect_seconds, 3) if wizard.state.detect_seconds is not None else None,
        "checklist_rows": len(wizard.state.checklist),
        "platform": app.platformName(),
        "error": system.error,
    }
    wizard.removeEventFilter(painter)
    if system.is_detecting():
        # A probe that ignores its timeout would also block the interpreter's exit (executor threads are
        # joined at exit): report and leave at once.
        out["error"] = f"detection did not finish within {timeout_s:.0f} s"
        print(json.dumps(out), flush=True)
        sys.stderr.flush()
        os._exit(1)
    wizard.hide()
    close_wizard(wizard)
    print(json.dumps(out))
    return 0


def _scratch_settings() -> Any:
    """Settings that do not overwrite the user's remembered window size during a self-test."""
    import tempfile

    from PySide6.QtCore import QSettings

    return QSettings(os.path.join(tempfile.gettempdir(), "torch-setup-self-test.ini"), QSettings.Format.IniFormat)
