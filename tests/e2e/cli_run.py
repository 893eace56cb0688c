"""Run `python -m installer install …` as a real child process and collect what a fleet tool would read:
the exit code, the `--json-events` lines, the `--report` file and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 1500  # seconds; a hung install fails the test instead of hanging the suite


@dataclass
class CliRun:
    returncode: int
    events: list[dict[str, Any]]
    report: dict[str, Any] | None
    stdout: str
    stderr: str
    other_lines: list[str] = field(default_factory=list)  # stdout lines that are not JSON events

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    def step_argv(self, name: str) -> list[str]:
        """The argv of the plan step called `name`, from the report's plan."""
        assert self.report is not None, "no report was written"
        for step in self.report["plan"]["steps"]:
            if step["name"] == name:
                return [str(a) for a in step["argv"]]
        raise AssertionError(f"no step {name!r} in {[s['name'] for s in self.report['plan']['steps']]}")

    def finished(self) -> dict[str, dict[str, Any]]:
        """step-finished events by step name."""
        return {e["name"]: e for e in self.of_type("step-finished")}

    def tail(self, chars: int = 4000) -> str:
        """What to show when an assertion fails: the last output lines and stderr."""
        lines = [e.get("text", "") for e in self.of_type("output")]
        return ("\n".join(lines) + "\n--- stderr ---\n" + self.stderr)[-chars:]


def install_argv(*args: str, json_events: bool = True) -> list[str]:
    return [sys.executable, "-m", "installer", "install", *args, "--yes", *(["--json-events"] if json_events else [])]


def cli_env(tmp_path: Path, extra: Mapping[str, str] | None = None,
            path: str | None = None) -> dict[str, str]:
    """The environment of the CLI: this checkout importable, Torch Setup's logs and journal in tmp_path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["TORCH_SETUP_HOME"] = str(tmp_path / "torch-setup-home")
    if path is not None:
        env["PATH"] = path
    env.update(extra or {})
    return env


def _parse(stdout: str) -> tuple[list[dict[str, Any]], list[str]]:
    events: list[dict[str, Any]] = []
    other: list[str] = []
    for line in stdout.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            other.append(line)
            continue
        if isinstance(value, dict) and "type" in value:
            events.append(value)
        else:
            other.append(line)
    return events, other


def run_install(args: list[str], env: Mapping[str, str], report: Path,
                on_event: Callable[[dict[str, Any], subprocess.Popen[str]], None] | None = None,
                json_events: bool = True) -> CliRun:
    """Run the install to the end; `on_event(event, proc)` sees each JSON event as it arrives (to cancel)."""
    argv = install_argv(*args, "--report", str(report), json_events=json_events)
    err_path = report.with_name(report.name + ".stderr")
    out_lines: list[str] = []
    with open(err_path, "w+", encoding="utf-8", errors="replace") as err:
        proc = subprocess.Popen(argv, cwd=REPO, env=dict(env), stdout=subprocess.PIPE, stderr=err,
                                text=True, encoding="utf-8", errors="replace")
        watchdog = threading.Timer(INSTALL_TIMEOUT, proc.kill)  # a hung install fails instead of hanging
        watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                out_lines.append(line)
                if on_event is not None:
                    events, _ = _parse(line)
                    for event in events:
                        on_event(event, proc)
            proc.wait(timeout=INSTALL_TIMEOUT)
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        stderr = err.read()
    stdout = "".join(out_lines)
    events, other = _parse(stdout)
    data = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None
    return CliRun(proc.returncode, events, data, stdout, stderr, other)
