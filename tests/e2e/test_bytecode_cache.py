"""Two real installs of the torch 2.13.0 CPU wheel with one Torch Setup home, through the CLI: the first
verification compiles torch's import-time modules and keeps their bytecode, the second starts from it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import env_python

from tests.e2e.cli_run import cli_env, run_install

pytestmark = pytest.mark.e2e


def test_second_environment_starts_from_the_first_ones_bytecode(tmp_path: Path, python311: str,
                                                                wheels: str) -> None:
    env = cli_env(tmp_path)
    runs = []
    for name in ("first", "second"):
        run = run_install(["--torch-source", wheels, "--python", python311, "--torch", "2.13.0", "--backend", "cpu",
                           "--env", str(tmp_path / name)], env, tmp_path / f"{name}.json")
        assert run.returncode == 0, run.tail()
        assert run.report is not None
        argv = run.step_argv("Verify")
        assert argv[argv.index("--bytecode-cache") + 1] == str(tmp_path / "torch-setup-home" / "cache" / "bytecode")
        runs.append(run.report["verify"])
    first, second = runs
    assert first["ok"] and second["ok"]
    assert first["bytecode"]["seeded"] == 0 and first["bytecode"]["stored"] > 500  # about 700 modules
    assert second["bytecode"]["seeded"] > 500 and second["bytecode"]["stored"] == 0
    # The seeded environment is an ordinary one: torch imports there with the bytecode in place.
    out = subprocess.run([env_python(tmp_path / "second"), "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().startswith("2.13.0"), out.stderr
