"""The real wizard process, driven through real installs and closed, must exit 0 every time (issue 8).

Each run is `python -m installer gui` as a child process with the autopilot (installer/gui/autopilot.py):
it types the answers into the pages and presses Next, Install, Next, and then Close on the last page or
Cancel on the Checking page, through the wizard's own buttons. Before the fix 6 of 13 such sessions under
X ended in "Fatal Python error: bool_dealloc" (exit 134) at exit. Offscreen always; under Xvfb as well
when Xvfb is installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 600  # one session: detection, a real install, verification; a hang fails instead of blocking
# Three Close and two Cancel: 6 of 13 crashed before, so five clean exits in a row are strong evidence.
CLOSES = ["finish", "checking", "finish", "checking", "finish"]


def wizard_env(tmp_path: Path, answers: Path, close: str, platform: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "TORCH_SETUP_GUI_"))}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update({
        "PYTHONPATH": str(REPO),
        "TORCH_SETUP_HOME": str(tmp_path / "torch-setup-home"),
        "HOME": str(home),  # the remembered window size goes here, not into the user's settings
        "XDG_CONFIG_HOME": str(home / ".config"),
        "TORCH_SETUP_GUI_AUTOPILOT": str(answers),
        "TORCH_SETUP_GUI_AUTOPILOT_CLOSE": close,
        "TORCH_SETUP_GUI_AUTOPILOT_TIMEOUT": str(RUN_TIMEOUT_S - 60),
        **platform,
    })
    return env


def write_answers(path: Path, env_folder: Path, wheels: Path, python: str) -> Path:
    path.write_text("\n".join([
        'method = "pip"',
        'torch = "2.13.0"',
        'backend = "cpu"',
        'packages = ["torch"]',
        'engine = "uv"',
        f"torch_source = {str(wheels)!r}",
        f"python = {python!r}",
        f"env = {str(env_folder)!r}",
    ]) + "\n", encoding="utf-8")
    return path


def run_session(tmp_path: Path, n: int, close: str, wheels: Path, py311: str,
                platform: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env_folder = tmp_path / "envs" / f"process-{n}"
    answers = write_answers(tmp_path / f"answers-{n}.toml", env_folder, wheels, py311)
    done = subprocess.run([sys.executable, "-X", "faulthandler", "-m", "installer", "gui"],
                          env=wizard_env(tmp_path, answers, close, platform), cwd=tmp_path,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    what = f"session {n} (close={close}) exited {done.returncode}:\n{done.stderr[-6000:]}"
    assert "Fatal Python error" not in done.stderr, what
    assert done.returncode == 0, what
    # It really went through a whole install and closed the way asked, by the buttons.
    assert "Review: pressing Install" in done.stderr, what
    assert "PyTorch is installed: pressing Next" in done.stderr, what
    last = "Checking PyTorch: pressing Cancel" if close == "checking" else "Done: pressing Close"
    assert last in done.stderr, what
    assert list(env_folder.glob("lib/python3.11/site-packages/torch/__init__.py")) or \
        (env_folder / "Lib" / "site-packages" / "torch" / "__init__.py").is_file(), what
    return done


def test_real_wizard_installs_and_closes_cleanly_every_time(tmp_path: Path, wheels: Path, py311: str) -> None:
    for n, close in enumerate(CLOSES, 1):
        run_session(tmp_path, n, close, wheels, py311, {"QT_QPA_PLATFORM": "offscreen"})


@pytest.fixture
def xvfb_display(tmp_path: Path) -> Iterator[str]:
    """A private X server, where the issue's crashes were seen; skipped where Xvfb is not installed."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    for number in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    display = f":{number}"
    server = subprocess.Popen([xvfb, display, "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.skip(f"Xvfb could not start on {display}")
        time.sleep(0.1)
    try:
        yield display
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_real_wizard_under_an_x_server(tmp_path: Path, wheels: Path, py311: str, xvfb_display: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from installer.gui.app import missing_xcb_libraries

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", xvfb_display)
    if missing_xcb_libraries():
        pytest.skip(f"Qt's xcb plugin needs {', '.join(missing_xcb_libraries())}")
    for n, close in enumerate(["finish", "checking"], 1):
        run_session(tmp_path, n, close, wheels, py311, {"DISPLAY": xvfb_display, "WAYLAND_DISPLAY": ""})


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_the_install_rolls_back_and_exits_130(tmp_path: Path, wheels: Path, py311: str,
                                                              sig: signal.Signals) -> None:
    """A logout or `kill` ends the wizard like Cancel: the install is rolled back, no child is left."""
    import psutil

    env_folder = tmp_path / "envs" / "signalled"
    answers = write_answers(tmp_path / "answers.toml", env_folder, wheels, py311)
    proc = subprocess.Popen([sys.executable, "-m", "installer", "gui"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            env=wizard_env(tmp_path, answers, "finish", {"QT_QPA_PLATFORM": "offscreen"}))
    assert proc.stderr is not None
    children: list[int] = []
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "Review: pressing Install" in line:
            deadline = time.monotonic() + 60
            while not env_folder.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
            proc.send_signal(sig)
            break
    rest = proc.communicate(timeout=RUN_TIMEOUT_S)[1]
    what = "".join(seen)[-3000:] + rest[-3000:]
    assert proc.returncode == 130, what
    assert "Fatal Python error" not in rest
    assert not env_folder.exists(), what
    time.sleep(1)
    alive = [p for p in children if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == []
