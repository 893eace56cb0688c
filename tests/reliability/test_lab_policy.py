"""An administrator's [policy] locks in the machine config file, through the real CLI: a flag that breaks a
lock is refused with exit 2 and the reason; locked values fill what the user left out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from installer.core import policy
from installer.core.plan import ChoiceError, Choices
from installer.core.settings import MACHINE_CONFIG_VAR
from tests.e2e.cli_run import REPO, cli_env

HERE = REPO / "tests" / "fixtures" / "reports"


def _plan(tmp_path: Path, policy_toml: str, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "machine.toml"
    config.write_text("[policy]\n" + policy_toml, encoding="utf-8")
    env = cli_env(tmp_path, {MACHINE_CONFIG_VAR: str(config)})
    return subprocess.run([sys.executable, "-m", "installer", "plan", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_backend_outside_the_policy_is_refused_with_the_reason(tmp_path: Path) -> None:
    done = _plan(tmp_path, 'backends = ["cpu"]\n', "--system", str(HERE / "linux-h100.json"), "--backend", "cu126",
                 "--python", "3.11")
    assert done.returncode == 2
    assert "cu126 build is not allowed by your administrator's policy" in done.stderr
    assert "allows cpu" in done.stderr and "machine.toml" in done.stderr and "Traceback" not in done.stderr


def test_auto_that_lands_outside_the_policy_is_refused_and_an_allowed_choice_plans(tmp_path: Path) -> None:
    lock = 'backends = ["cpu"]\ntorch_versions = ["2.13"]\n'
    done = _plan(tmp_path, lock, "--system", str(HERE / "linux-h100.json"), "--python", "3.11", "--torch", "2.13.0")
    assert done.returncode == 2 and "this machine needs is not allowed" in done.stderr, done.stderr
    done = _plan(tmp_path, lock, "--system", str(HERE / "linux-h100.json"), "--python", "3.11", "--torch", "2.12",
                 "--backend", "cpu")
    assert done.returncode == 2 and "torch 2.12 is not allowed" in done.stderr
    done = _plan(tmp_path, lock, "--system", str(HERE / "linux-h100.json"), "--python", "3.11", "--torch", "2.13.0",
                 "--backend", "cpu", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["backend"] == "cpu"


def test_env_root_mirror_and_source_builds_are_locked(tmp_path: Path) -> None:
    lock = ('env_root = "/opt/lab-envs"\nsource_builds = false\n'
            'torch_index_url = "https://mirror.lab.test/whl"\n')
    args = ("--system", str(HERE / "linux-h100.json"), "--python", "3.11", "--torch", "2.13.0")
    done = _plan(tmp_path, lock, *args, "--env", str(tmp_path / "mine"))
    assert done.returncode == 2 and "environments under /opt/lab-envs only" in done.stderr
    done = _plan(tmp_path, lock, *args, "--method", "source")
    assert done.returncode == 2 and "method source is not allowed" in done.stderr
    done = _plan(tmp_path, lock, *args, "--torch-index-url", "https://elsewhere.test/whl")
    assert done.returncode == 2 and "only https://mirror.lab.test/whl" in done.stderr
    done = _plan(tmp_path, lock, *args, "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert any("mirror.lab.test/whl" in str(a) for s in plan["steps"] for a in s["argv"])
    # on this machine the default environment goes under the locked root
    done = _plan(tmp_path, lock, "--python", "3.11", "--torch", "2.13.0", "--backend", "cpu", "--offline", "--json")
    if "No Python 3.11" in done.stderr:
        pytest.skip("needs a Python 3.11 here")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["env"].startswith("/opt/lab-envs/")


def test_a_policy_with_an_unknown_key_is_bad_input() -> None:
    with pytest.raises(ChoiceError, match="unknown keys"):
        policy.enforce_choices(Choices(), {"backend": ["cpu"]}, set(), "machine.toml")
    assert policy.locked_fields({"backends": ["cpu", "cu126"], "source_builds": False}) == {
        "backend": "set by your administrator: cpu, cu126", "method": "set by your administrator: no source builds"}
