"""Every failure the runner reports carries a diagnosis, even one no signature knows."""

from __future__ import annotations

from pathlib import Path

from test_runner_support import MAKE_ENV, plan_for, step

from installer.core.runner import Runner

ODD_FAILURE = """
import sys
print("collecting widgets", flush=True)
print("frobnicator: the manifest was refused", file=sys.stderr)
print("cleaning up widgets", flush=True)
sys.exit(4)
"""

KNOWN_FAILURE = """
import sys
print("ERROR: Could not find a version that satisfies the requirement torch==9.9 (from versions: none)", file=sys.stderr)
print("ERROR: No matching distribution found for torch==9.9", file=sys.stderr)
sys.exit(1)
"""


def test_an_unknown_failure_is_still_diagnosed_with_its_telling_line(tmp_path: Path) -> None:
    env = tmp_path / "env"
    plan = plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv"),
                          step(tmp_path, "Install PyTorch", ODD_FAILURE, kind="install")])
    result = Runner(plan, lambda event: None).run()
    assert result.exit_code == 1
    assert [d.category for d in result.diagnoses] == ["unrecognised"]
    diagnosis = result.diagnoses[0]
    assert diagnosis.summary.startswith("Install PyTorch failed")
    assert "the manifest was refused" in diagnosis.summary  # the telling line, wherever stderr landed
    assert not env.exists()  # rolled back all the same


def test_a_known_failure_gets_its_category_not_the_fallback(tmp_path: Path) -> None:
    env = tmp_path / "env"
    plan = plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv"),
                          step(tmp_path, "Install PyTorch", KNOWN_FAILURE, kind="install")])
    result = Runner(plan, lambda event: None).run()
    assert result.exit_code == 1
    assert result.diagnoses[0].category == "no-matching-wheel"
    assert all(d.category != "unrecognised" for d in result.diagnoses)
