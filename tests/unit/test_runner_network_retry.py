"""Which network failures the runner tries again: a timeout or a reset may pass, a name that does not
resolve, a refused connection, an untrusted certificate or a proxy that wants a password will not.

Judged on the real uv and pip output in tests/fixtures/logs (SOURCES.md), and on the real uv failing to
resolve a name, counting how often the runner started it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from test_runner_support import plan_for

from installer.core.events import Event, OutputLine
from installer.core.plan import Step
from installer.core.runner import Runner, _is_transient
from tests.conftest import FIXTURES

LOGS = FIXTURES / "logs"
# Recorded here (SOURCES.md): which cause each network log shows.
PERMANENT = {
    "network-1.log": "certificate expired",
    "network-6.log": "uv: name not resolved", "network-7.log": "pip: name not resolved",
    "network-8.log": "uv: refused", "network-9.log": "pip: refused",
    "network-12.log": "uv: certificate not trusted", "network-13.log": "pip: certificate not trusted",
    "network-14.log": "uv: proxy 407", "network-15.log": "pip: proxy 407",
}
TRANSIENT = {
    "network-2.log": "pip: connect timeout", "network-3.log": "reset", "network-4.log": "uv: timed out",
    "network-5.log": "pip: read timed out", "network-10.log": "uv: timed out", "network-11.log": "pip: read timeout",
}


def _tail(name: str) -> list[str]:
    return (LOGS / name).read_text(encoding="utf-8").splitlines()[-60:]  # what the runner looks at


@pytest.mark.parametrize("name", sorted(PERMANENT), ids=lambda n: f"{n}:{PERMANENT[n]}")
def test_a_failure_that_cannot_pass_on_its_own_is_not_retried(name: str) -> None:
    assert not _is_transient(_tail(name))


@pytest.mark.parametrize("name", sorted(TRANSIENT), ids=lambda n: f"{n}:{TRANSIENT[n]}")
def test_a_timeout_or_a_reset_is_retried(name: str) -> None:
    assert _is_transient(_tail(name))


# Counts its own starts in a file, then runs the real command and passes on its exit code.
COUNTING_WRAPPER = """
import subprocess, sys
with open(sys.argv[1], "a") as f:
    f.write("start\\n")
sys.exit(subprocess.call(sys.argv[2:]))
"""


def test_the_real_uv_failing_to_resolve_a_name_runs_once(tmp_path: Path) -> None:
    from installer.core.uvbin import uv_executable

    uv = uv_executable()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("torch\n", encoding="utf-8")
    starts = tmp_path / "starts"
    wrapper = tmp_path / "count.py"
    wrapper.write_text(COUNTING_WRAPPER, encoding="utf-8")
    # ".invalid" never resolves (RFC 6761), on any machine, online or not.
    argv = [sys.executable, str(wrapper), str(starts), str(uv), "pip", "compile", "--no-cache", "--quiet",
            "--index-url", "https://torch-index.invalid/simple", str(requirements)]
    plan = plan_for(tmp_path / "env", [Step("Install PyTorch", argv, kind="install", retries=2)])
    lines: list[str] = []

    def on_event(event: Event) -> None:
        if isinstance(event, OutputLine):
            lines.append(event.text)

    t0 = time.monotonic()
    result = Runner(plan, on_event).run()
    seconds = time.monotonic() - t0
    assert result.exit_code == 1
    assert any("lookup address" in line or "dns error" in line for line in lines), lines
    assert starts.read_text().split() == ["start"]  # once; before, three times with 3 s and 6 s between
    assert not any("trying again" in line for line in lines)
    assert seconds < Runner.retry_delay + 60  # no back-off wait (uv's own retries take ~5 s)
    first = result.diagnoses[0]
    assert first.category == "network" and "could not be resolved" in first.summary
    assert first.action == "torch-source" and first.gui_fix and "--" not in first.gui_fix
