"""Ctrl-C during `torch-setup install`: exit 130, the new environment gone, no child process left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")]


def test_sigint_mid_install(tmp_path: Path, python311: str, wheels: str) -> None:
    env = tmp_path / "torch-env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "installer", "install", "--torch-source", wheels, "--python", python311,
         "--backend", "cpu", "--torch", "2.13.0", "--env", str(env), "--yes"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    descendants: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 300
        while not env.exists():
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            assert time.monotonic() < deadline, "the environment folder never appeared"
            time.sleep(0.05)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = output.decode(errors="replace")
    assert proc.returncode == 130, text[-3000:]
    assert not env.exists(), text[-3000:]
    for child in descendants:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, f"{child} is still running"
