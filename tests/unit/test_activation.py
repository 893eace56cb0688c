"""The activation command the CLI prints and the wizard's Finish page shows."""

from __future__ import annotations

import pytest

from installer.core.activation import activation_command, shells_for


@pytest.mark.parametrize(
    ("method", "env", "shell", "windows", "expected"),
    [
        ("pip", "/home/ana/torch-envs/t", "bash / zsh", False, "source /home/ana/torch-envs/t/bin/activate"),
        ("pip", "/home/ana/my envs/t", "bash / zsh", False, "source '/home/ana/my envs/t/bin/activate'"),
        ("pip", "/home/ana/t", "fish", False, "source /home/ana/t/bin/activate.fish"),
        ("pip", r"C:\Users\ana\t", "PowerShell", True, r'& "C:\Users\ana\t\Scripts\Activate.ps1"'),
        ("pip", r"C:\Users\ana\t", "cmd", True, r'"C:\Users\ana\t\Scripts\activate.bat"'),
        ("pip", r"C:\Users\ana\t", "bash", True, "source C:/Users/ana/t/Scripts/activate"),
        ("conda", "/opt/envs/t", "bash / zsh", False, "conda activate /opt/envs/t"),
        ("conda", r"C:\envs\t", "PowerShell", True, r'conda activate "C:\envs\t"'),
    ],
)
def test_activation_command(method: str, env: str, shell: str, windows: bool, expected: str) -> None:
    assert activation_command(method, env, shell, windows) == expected


def test_login_shell_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELL", "/usr/bin/fish")
    assert shells_for("linux")[0] == "fish"
    monkeypatch.setenv("SHELL", "/bin/zsh")
    assert shells_for("macos")[0] == "bash / zsh"
    assert shells_for("windows")[0] == "PowerShell"
