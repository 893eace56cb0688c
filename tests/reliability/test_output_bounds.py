"""What is kept of a child's output is bounded: run_captured keeps the start and the end with a note,
cuts long lines, and the run log stops writing child output at its cap (our own notes still go in)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from installer.core import process, runlog

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses sh")


def test_run_captured_keeps_start_and_end_of_a_long_output() -> None:
    script = "i=0; echo FIRST; while [ $i -lt 20000 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done; echo LAST"
    done = process.run_captured(["sh", "-c", script], timeout=60, keep=64 * 1024)
    assert done.ok and done.cut
    assert done.stdout.startswith("FIRST") and done.stdout.rstrip().endswith("LAST")
    assert "bytes of output were cut by Torch Setup" in done.stdout
    assert len(done.stdout) < 70 * 1024


def test_run_captured_stops_a_flood_and_cuts_long_lines() -> None:
    done = process.run_captured(["sh", "-c", "exec yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"], timeout=60,
                                flood=8 * process.MIB)
    assert done.returncode is None and done.flooded and "printed more than 8 MB" in (done.error or "")
    one_line = process.run_captured(["sh", "-c", "head -c 3000000 /dev/zero | tr '\\\\0' a"], timeout=60)
    assert one_line.ok
    assert max(len(line) for line in one_line.stdout.split("\n")) <= process.MAX_LINE_CHARS + 60


def test_run_captured_refuses_to_start_while_stopping() -> None:
    process.STOPPING.set()
    try:
        done = process.run_captured(["sh", "-c", "echo hi"])
    finally:
        process.STOPPING.clear()
    assert done.returncode is None and "stopping" in (done.error or "")
    assert not process.live_children()


def test_run_log_caps_child_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runlog, "MAX_CHILD_OUTPUT_BYTES", 100_000)
    log = runlog.RunLog(tmp_path / "install-x.log")
    for n in range(20_000):
        log.write(f"output line {n}", "stdout")
    log.note("finished: exit 0")
    log.close()
    text = (tmp_path / "install-x.log").read_text()
    assert len(text) < 200_000
    assert text.count("the rest of it was not written") == 1
    assert text.rstrip().endswith("finished: exit 0")
