"""Helpers for tests that run the real CLI as a child process and watch it (memory, signals, its children)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.e2e.cli_run import REPO, cli_env

__all__ = ["REPO", "Watched", "cli_env", "fake_program", "gone", "run_watched", "start_cli", "wait_for_file"]

RSS_LIMIT = 600 * 1024 * 1024  # generous: the CLI itself needs about 60 MB


def fake_program(folder: Path, name: str, body: str) -> Path:
    """A shell script standing in for a program (a Python that floods, hangs, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def start_cli(args: list[str], env: Mapping[str, str], **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "installer", *args], cwd=REPO, env=dict(env), text=True,
                            encoding="utf-8", errors="replace", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            **kwargs)  # type: ignore[call-overload]


@dataclass
class Watched:
    returncode: int
    stdout: str
    stderr: str
    peak_rss: int


def run_watched(args: list[str], env: Mapping[str, str], timeout: float = 120) -> Watched:
    """Run the CLI, sampling its resident memory; a CLI that grows past RSS_LIMIT is killed (and fails)."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "installer", *args], cwd=REPO, env=dict(env), text=True,
                                stdout=out, stderr=err)
        peak = 0
        deadline = time.monotonic() + timeout
        try:
            watched = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    peak = max(peak, watched.memory_info().rss)
                except psutil.Error:
                    pass
                if peak > RSS_LIMIT or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                for child in psutil.Process(proc.pid).children(recursive=True):
                    child.kill()
                proc.kill()
            proc.wait()
        out.seek(0)
        err.seek(0)
        return Watched(proc.returncode, out.read(), err.read(), peak)


def wait_for_file(path: Path, proc: subprocess.Popen[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        assert proc.poll() is None, f"the CLI ended early ({proc.returncode}): {proc.communicate()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return path.read_text().strip()


def gone(pid: int, timeout: float = 10) -> bool:
    """The process has ended (a zombie waiting for its parent counts as ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def kill_if_alive(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except OSError:
        pass
