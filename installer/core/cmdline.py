"""Commands as text for people to read or paste, in the conventions of the machine they are for.

The runner never goes through a shell (argv lists); this is only how a plan's steps are shown. POSIX
targets get sh quoting with a leading ~/ left unquoted so the shell still expands it; Windows targets get
the quoting of the C runtime (subprocess.list2cmdline), which cmd.exe and PowerShell both read. Role names
of Torch Setup's own tools ({uv}, {verify_probe}: docs/ARCHITECTURE.md) stay bare.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

from installer.core.plan import Plan

_ROLE = re.compile(r"\{[a-z_]+\}")


def host_os() -> str:
    return "windows" if sys.platform.startswith("win") else "macos" if sys.platform == "darwin" else "linux"


def plan_os(plan: Plan) -> str:
    """The OS the plan's commands are for: the target of a plan for another machine, else this one."""
    target = plan.decision("target")
    return target.value if target is not None else host_os()


def quote(arg: str, os_name: str) -> str:
    if _ROLE.fullmatch(arg):
        return arg
    if os_name == "windows":
        return subprocess.list2cmdline([arg])
    if arg.startswith("~/"):
        return "~/" + shlex.quote(arg[2:])
    return shlex.quote(arg)


def command_text(argv: list[str], os_name: str, env: dict[str, str] | None = None) -> str:
    """One step as a line: `A=1 B=2 cmd args` (POSIX) or `set A=1 && cmd args` (Windows)."""
    line = " ".join(quote(str(a), os_name) for a in argv)
    if not env:
        return line
    if os_name == "windows":
        return " && ".join([*(f"set {subprocess.list2cmdline([f'{k}={v}'])}" for k, v in env.items()), line])
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " " + line
