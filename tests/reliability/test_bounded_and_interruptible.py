"""Bounded and interruptible (issue 8): what Torch Setup keeps of a child's output is capped, every way
out of a command stops the children it started, and no child outlives a killed Torch Setup.

Each test runs the real CLI as a child process with fake programs (shell scripts) standing in for a
Python that floods its output or hangs.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.reliability.cli_proc import (
    RSS_LIMIT,
    cli_env,
    fake_program,
    gone,
    kill_if_alive,
    run_watched,
    start_cli,
    wait_for_file,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and shell scripts")

FLOOD = 'exec yes "flood flood flood flood flood flood flood flood"'
SYSTEM_PATH = "/usr/bin:/bin"


def _hang(pid_file: Path, grandchild_file: Path | None = None) -> str:
    """A program that writes its pid (and its grandchild's) and then waits forever."""
    body = ""
    if grandchild_file is not None:
        body += f'sleep 1000 &\necho $! > "{grandchild_file}.tmp" && mv "{grandchild_file}.tmp" "{grandchild_file}"\n'
    body += f'echo $$ > "{pid_file}.tmp" && mv "{pid_file}.tmp" "{pid_file}"\nexec sleep 1000'
    return body


# -- 1. bounded output -------------------------------------------------------------------------------

def test_verify_of_a_flooding_python_is_bounded(tmp_path: Path) -> None:
    fake = fake_program(tmp_path / "bin", "python", FLOOD)
    run = run_watched(["verify", "--python", str(fake)], cli_env(tmp_path), timeout=120)
    assert run.peak_rss < RSS_LIMIT, f"verify grew to {run.peak_rss // 2**20} MB"
    assert run.returncode == 3, run.stdout[-2000:] + run.stderr[-2000:]
    assert "printed more than" in run.stdout


def test_detect_with_a_flooding_python_on_path_is_bounded(tmp_path: Path) -> None:
    fake_program(tmp_path / "bin", "python3.15", FLOOD)
    env = cli_env(tmp_path, path=f"{tmp_path / 'bin'}:{SYSTEM_PATH}")
    run = run_watched(["detect", "--offline", "--json"], env, timeout=120)
    assert run.peak_rss < RSS_LIMIT, f"detect grew to {run.peak_rss // 2**20} MB"
    assert run.returncode == 0, run.stderr[-2000:]
    pythons = {p["executable"]: p for p in json.loads(run.stdout)["pythons"]}
    flood = pythons[str(tmp_path / "bin" / "python3.15")]
    assert flood["usable"] is False
    assert "printed more than" in flood["problem"]


# -- 2. every way out stops the children ---------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_during_verify_stops_the_probe(tmp_path: Path, sig: signal.Signals) -> None:
    pid_file, grandchild_file = tmp_path / "probe.pid", tmp_path / "grandchild.pid"
    fake = fake_program(tmp_path / "bin", "python", _hang(pid_file, grandchild_file))
    proc = start_cli(["verify", "--python", str(fake)], cli_env(tmp_path))
    try:
        pid = int(wait_for_file(pid_file, proc))
        grandchild = int(wait_for_file(grandchild_file, proc))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, out + err
        assert "Cancelled." in err
        assert "Traceback" not in err
        assert gone(pid), "the probe outlived the cancelled verify"
        assert gone(grandchild), "the probe's own child outlived the cancelled verify"
    finally:
        if proc.poll() is None:
            proc.kill()
        for file in (pid_file, grandchild_file):
            if file.exists():
                kill_if_alive(int(file.read_text()))


def test_verify_timeout_stops_the_probe(tmp_path: Path) -> None:
    pid_file = tmp_path / "probe.pid"
    fake = fake_program(tmp_path / "bin", "python", _hang(pid_file))
    proc = start_cli(["verify", "--python", str(fake), "--timeout", "2"], cli_env(tmp_path))
    try:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 3, out + err
        assert "did not finish within 2 s" in out
        assert gone(int(pid_file.read_text())), "the probe outlived verify's timeout"
    finally:
        if proc.poll() is None:
            proc.kill()
        if pid_file.exists():
            kill_if_alive(int(pid_file.read_text()))


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "soon"])
def test_verify_timeout_must_be_a_real_number_of_seconds(tmp_path: Path, value: str) -> None:
    proc = start_cli(["verify", "--python", sys.executable, "--timeout", value], cli_env(tmp_path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, out + err
    assert len(err.strip().splitlines()) == 1 and "--timeout" in err
    assert "internal error" not in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_during_detect_stops_its_probes_and_says_so(tmp_path: Path, sig: signal.Signals) -> None:
    pid_file = tmp_path / "probe.pid"
    fake_program(tmp_path / "bin", "python3.15", _hang(pid_file))
    env = cli_env(tmp_path, path=f"{tmp_path / 'bin'}:{SYSTEM_PATH}")
    proc = start_cli(["detect", "--offline"], env)
    try:
        pid = int(wait_for_file(pid_file, proc))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, out + err  # not 143 with nothing said
        assert err.strip().endswith("Cancelled."), err
        assert gone(pid), "a python probe outlived the cancelled detect"
    finally:
        if proc.poll() is None:
            proc.kill()
        if pid_file.exists():
            kill_if_alive(int(pid_file.read_text()))


# -- 3. nothing outlives a killed Torch Setup -----------------------------------------------------------

@pytest.mark.skipif(not sys.platform.startswith("linux") and sys.platform != "darwin", reason="POSIX only")
def test_kill_9_of_the_cli_takes_its_children_along(tmp_path: Path) -> None:
    pid_file, grandchild_file = tmp_path / "probe.pid", tmp_path / "grandchild.pid"
    fake = fake_program(tmp_path / "bin", "python", _hang(pid_file, grandchild_file))
    proc = start_cli(["verify", "--python", str(fake)], cli_env(tmp_path))
    try:
        pid = int(wait_for_file(pid_file, proc))
        grandchild = int(wait_for_file(grandchild_file, proc))
        descendants = psutil.Process(proc.pid).children(recursive=True)
        proc.kill()  # SIGKILL: no handler, no clean-up in Torch Setup runs
        proc.wait(timeout=30)
        assert gone(pid), "the direct child outlived kill -9 of Torch Setup"
        assert gone(grandchild), "a grandchild outlived kill -9 of Torch Setup"
        alive = [d for d in descendants if d.pid not in (pid, grandchild) and not gone(d.pid, timeout=5)]
        assert not alive, f"still running: {alive}"
    finally:
        for file in (pid_file, grandchild_file):
            if file.exists():
                kill_if_alive(int(file.read_text()))


# -- 5. diagnose: linear, and never stuck on what is not a file ------------------------------------------

def test_diagnose_of_an_8_mb_line_is_quick(tmp_path: Path) -> None:
    log = tmp_path / "one-line.log"
    # Many literal hits on one line was the quadratic case (217 s for 8 MB).
    log.write_text("Loading c:\\x\\y.dll ... " * (8 * 2**20 // 24) + "\n", encoding="utf-8")
    started = time.monotonic()
    proc = start_cli(["diagnose", str(log)], cli_env(tmp_path))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    assert time.monotonic() - started < 30


def test_diagnose_of_a_fifo_without_writer_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)
    proc = start_cli(["diagnose", str(fifo)], cli_env(tmp_path))
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, out + err
    assert len(err.strip().splitlines()) == 1 and "not a regular file" in err


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_diagnose_of_a_proc_file_reads_it(tmp_path: Path) -> None:
    proc = start_cli(["diagnose", "/proc/self/status"], cli_env(tmp_path))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 2), out + err
    assert "internal error" not in err and "Traceback" not in err
