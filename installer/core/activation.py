"""How to step into a new environment: the activation command for each OS and shell."""

from __future__ import annotations

import os
import shlex
from pathlib import Path


def shells_for(os_name: str) -> list[str]:
    """The shells to offer on this OS, the likeliest first (the login shell on POSIX)."""
    if os_name == "windows":
        return ["PowerShell", "cmd", "bash"]
    shell = Path(os.environ.get("SHELL", "")).name
    order = ["bash / zsh", "fish"]
    if shell == "fish":
        order.reverse()
    return order


def activation_command(method: str, env: str, shell: str, windows: bool) -> str:
    """The command that activates `env` in `shell` ("bash / zsh", "fish", "PowerShell", "cmd")."""
    if method == "conda":
        return f"conda activate {shlex.quote(env)}" if shell not in ("PowerShell", "cmd") else f'conda activate "{env}"'
    if shell == "PowerShell":
        return f'& "{env}\\Scripts\\Activate.ps1"'
    if shell == "cmd":
        return f'"{env}\\Scripts\\activate.bat"'
    if shell == "fish":
        return f"source {shlex.quote(env + '/bin/activate.fish')}"
    if windows:  # Git Bash on Windows
        return f"source {shlex.quote(env.replace(chr(92), '/') + '/Scripts/activate')}"
    return f"source {shlex.quote(env + '/bin/activate')}"
