"""Environment names: letters and digits of any script are accepted; path and shell characters are not.

The rule is shared: the CLI's --env-name (Choices.validate) and the wizard's Name field both use
installer.core.plan.env_name_problem.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from installer.core.plan import ChoiceError, Choices, env_name_problem
from tests.conftest import FIXTURES
from tests.e2e.cli_run import cli_env

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["pytorch", "tørch_環境", "環境", "été", "e\u0301te\u0301", "Лаборатория-2", "py3.11_x"])
def test_unicode_letters_and_digits_are_accepted(name: str) -> None:
    assert env_name_problem(name) is None
    Choices(env_name=name).validate()


@pytest.mark.parametrize("name", ["a/b", "a\\b", ".hidden", "-rf", "my env", "x;reboot", "$(whoami)", "a\x01b",
                                  "a\u200bb", "tab\there", "", "x" * 65, "環境/..", "..", "a:b"])
def test_separators_control_and_leading_dots_are_refused(name: str) -> None:
    assert env_name_problem(name) is not None
    with pytest.raises(ChoiceError):  # some are caught earlier by the path checks, in their own words
        Choices(env_name=name).validate()


def test_cli_plans_into_a_unicode_named_environment(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "installer", "plan", "--system", str(FIXTURES / "reports" / "linux-h100.json"),
         "--backend", "cpu", "--env-name", "tørch_環境", "--json"],
        capture_output=True, env=env, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    plan = json.loads(proc.stdout.decode("utf-8"))
    assert Path(plan["env"]).name == "tørch_環境"


def test_cli_refuses_a_name_with_a_separator(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "installer", "plan", "--system", str(FIXTURES / "reports" / "linux-h100.json"),
         "--env-name", "../escape"],
        capture_output=True, env=cli_env(tmp_path), cwd=REPO, timeout=120)
    assert proc.returncode == 2
    assert "may only use" in proc.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in proc.stderr
