"""Child programs for the runner tests: each is written to a file and run as a real subprocess."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from installer.core.plan import Plan, Step

STREAMING = """
import sys
for i in range(5):
    print(f"out {i}", flush=True)
    print(f"err {i}", file=sys.stderr, flush=True)
sys.stdout.write("Downloading torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl (2310.0 MB)\\n")
for done in (0, 412, 1155, 2310):
    sys.stdout.write(f"\\r   ━━━━━━━━━━━━━━━━━━━━━━ {done}.0/2310.0 MB 40.2 MB/s eta 0:00:47")
    sys.stdout.flush()
sys.stdout.write("\\nSuccessfully installed torch-2.13.0\\n")
sys.stdout.write("caf\\u00e9 bytes: ")
sys.stdout.flush()
sys.stdout.buffer.write(b"\\xff\\xfe broken utf-8\\n")
"""

FAIL = """
import sys
print("Collecting torch")
print("ERROR: Could not find a version that satisfies the requirement torch==9.9", file=sys.stderr)
sys.exit(7)
"""

# Starts a grandchild that would outlive it, writes both pids, then hangs until killed.
HANG_WITH_GRANDCHILD = """
import os, subprocess, sys, time
from pathlib import Path
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
Path(sys.argv[1]).write_text(f"{os.getpid()} {grandchild.pid}")
print("Downloading torch (180.4MiB)", flush=True)
time.sleep(600)
"""

MANY_LINES = """
import sys
w = sys.stdout.write
for i in range(100_000):
    w(f"line {i} " + "x" * 40 + "\\n")
w("[100/100] Building CXX object the-end.o\\n")
"""

# Fails with a network error the first time, succeeds the second (the state file remembers).
FLAKY = """
import sys
from pathlib import Path
state = Path(sys.argv[1])
if not state.exists():
    state.write_text("1")
    print("ERROR: Could not install packages due to an OSError: ('Connection aborted.', "
          "ConnectionResetError(104, 'Connection reset by peer'))", file=sys.stderr)
    sys.exit(1)
print("Successfully installed torch-2.13.0")
"""

MAKE_ENV = """
import sys
from pathlib import Path
env = Path(sys.argv[1])
(env / "bin").mkdir(parents=True, exist_ok=True)
(env / "pyvenv.cfg").write_text("home = /usr/bin\\n")
(env / "bin" / "python").write_text("#!/bin/sh\\n")
print("Creating virtual environment at:", env)
"""

CREATE_DIR = """
import sys
from pathlib import Path
Path(sys.argv[1]).mkdir(parents=True)
(Path(sys.argv[1]) / "kernel.json").write_text("{}")
"""


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return str(path)


def step(tmp_path: Path, name: str, body: str, *args: str, **kw: object) -> Step:
    return Step(name=name, argv=[sys.executable, script(tmp_path, name.replace(" ", "_"), body), *args], **kw)  # type: ignore[arg-type]


def plan_for(env: Path, steps: list[Step], **kw: object) -> Plan:
    return Plan(method="pip", backend="cpu", torch="2.13.0", python="3.11", env=str(env), steps=steps, **kw)  # type: ignore[arg-type]
