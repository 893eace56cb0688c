"""What the runner refuses to touch, what it moves aside, and what rollback removes (only its own)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from test_runner_support import CREATE_DIR, FAIL, MAKE_ENV, plan_for, step

from installer.core.journal import MARKER_NAME, read_marker, runs_dir
from installer.core.plan import ChoiceError, Step
from installer.core.runner import Runner, preflight


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under root with its content hash and mtime: 'untouched' means equal."""
    result = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_file():
            result[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        else:
            result[rel] = ("dir", path.stat().st_mtime_ns)
    return result


def events(_event: object) -> None:
    pass


def make_foreign(folder: Path) -> None:
    (folder / "thesis").mkdir(parents=True)
    (folder / "thesis" / "chapter1.tex").write_text("my only copy\n")
    (folder / "data.bin").write_bytes(bytes(range(256)) * 40)


def test_foreign_folder_is_refused_and_untouched(tmp_path: Path) -> None:
    env = tmp_path / "work"
    make_foreign(env)
    before = snapshot(env)
    plan = plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv")])
    with pytest.raises(ChoiceError, match="not made by Torch Setup; choose another folder"):
        preflight(plan)
    with pytest.raises(ChoiceError):
        Runner(plan, events, force=True).run()  # --force never applies to a folder that is not ours
    assert snapshot(env) == before
    assert not list(runs_dir().glob("*.json")) if runs_dir().exists() else True


def test_env_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text("not a folder")
    with pytest.raises(ChoiceError, match="is a file"):
        preflight(plan_for(env, []))
    assert env.read_text() == "not a folder"


def test_step_creating_an_existing_foreign_path_is_refused(tmp_path: Path) -> None:
    kernel = tmp_path / "kernels" / "torch"
    make_foreign(kernel)
    plan = plan_for(tmp_path / "env", [Step("kernel", ["true"], kind="kernel", creates=str(kernel))])
    with pytest.raises(ChoiceError, match="not made by Torch Setup"):
        preflight(plan)


def test_our_env_needs_force(tmp_path: Path) -> None:
    env = tmp_path / "env"
    assert Runner(plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv")]), events).run().ok
    assert read_marker(env) is not None
    with pytest.raises(ChoiceError, match="--force"):
        preflight(plan_for(env, []))
    preflight(plan_for(env, []), force=True)


def test_force_replacement_failing_restores_the_old_env(tmp_path: Path) -> None:
    env = tmp_path / "env"
    assert Runner(plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv")]), events).run().ok
    (env / "my-notes.txt").write_text("keep me")
    before = snapshot(env)
    plan = plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv"),
                          step(tmp_path, "install", FAIL, kind="install")])
    result = Runner(plan, events, force=True).run()
    assert result.exit_code == 1
    assert snapshot(env) == before, "the earlier environment is back, exactly as it was"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("env.old-")] == []


def test_force_replacement_succeeding_deletes_the_old_env(tmp_path: Path) -> None:
    env = tmp_path / "env"
    assert Runner(plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv")]), events).run().ok
    old_run = read_marker(env)["run_id"]  # type: ignore[index]
    (env / "old-only.txt").write_text("old")
    result = Runner(plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv")]), events,
                    force=True).run()
    assert result.ok
    assert not (env / "old-only.txt").exists()
    assert read_marker(env)["run_id"] != old_run  # type: ignore[index]
    assert [p.name for p in tmp_path.iterdir() if ".old-" in p.name] == []


def test_empty_existing_folder_is_used_and_kept_on_failure(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.mkdir()
    plan = plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv"),
                          step(tmp_path, "install", FAIL, kind="install")])
    result = Runner(plan, events).run()
    assert result.exit_code == 1
    assert env.is_dir() and list(env.iterdir()) == []


def test_rollback_removes_only_what_the_run_created(tmp_path: Path) -> None:
    env = tmp_path / "envs" / "torch"
    neighbour = tmp_path / "envs" / "other-project"
    make_foreign(neighbour)
    kernel = tmp_path / "kernels" / "torch-env"
    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "python3").mkdir()
    before_neighbour = snapshot(neighbour)
    before_kernels = sorted(p.name for p in (tmp_path / "kernels").iterdir())
    plan = plan_for(env, [
        step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv"),
        step(tmp_path, "kernel", CREATE_DIR, str(kernel), kind="kernel", creates=str(kernel)),
        step(tmp_path, "install", FAIL, kind="install"),
    ])
    seen = []
    result = Runner(plan, seen.append).run()
    assert result.exit_code == 1
    assert not env.exists() and not kernel.exists()
    scratch = {p for p in result.rolled_back if Path(p).name.startswith("torch-setup-")}
    assert set(result.rolled_back) - scratch == {str(env), str(kernel)}
    assert len(scratch) == 1 and not any(Path(p).exists() for p in scratch), "the run's temp folder goes too"
    assert snapshot(neighbour) == before_neighbour
    assert sorted(p.name for p in (tmp_path / "kernels").iterdir()) == before_kernels == ["python3"]
    assert not list(runs_dir().glob("*.json")), "a fully rolled-back run leaves no journal"


def test_marker_says_what_made_the_env(tmp_path: Path) -> None:
    env = tmp_path / "env"
    Runner(plan_for(env, [step(tmp_path, "make env", MAKE_ENV, str(env), kind="venv")]), events).run()
    marker = json.loads((env / MARKER_NAME).read_text())
    assert marker["made_by"] == "torch-setup"
    assert marker["plan"]["torch"] == "2.13.0" and marker["plan"]["backend"] == "cpu"
    assert marker["run_id"] and marker["created"]


def test_no_step_runs_when_preflight_refuses(tmp_path: Path) -> None:
    env = tmp_path / "work"
    make_foreign(env)
    ran = tmp_path / "ran"
    plan = plan_for(env, [Step("touch", [sys.executable, "-c", f"open({str(ran)!r}, 'w')"])])
    with pytest.raises(ChoiceError):
        Runner(plan, events).run()
    assert not ran.exists()
