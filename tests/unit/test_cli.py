"""The command line as a lab admin meets it: real `python -m installer` processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "installer", *args], capture_output=True, text=True, cwd=REPO,
        env=full_env, input=stdin, timeout=timeout,
    )


def assert_one_sentence_exit_2(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("Note:")]
    assert len(lines) == 1, proc.stderr
    assert fragment in lines[0], proc.stderr


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("torch-setup ")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["frobnicate"], "invalid choice"),
        (["install", "--method", "brew"], "invalid choice"),
        (["install", "--no-such-flag"], "Unrecognized arguments"),
        (["install", "--env-name", "lab;reboot", "--yes"], "may only use"),
        (["install", "--packages", "torch", "numpy$(id)", "--yes"], "not a package requirement"),
        (["install", "--torch-source", "ftp://mirror.example/whl", "--yes"], "not pytorch, pypi"),
        (["install", "--index-url", "http://mirror.example/simple", "--yes"], "plain http"),
        (["install", "--find-links", "/no/such/wheels", "--yes"], "does not exist"),
        (["install", "--python", "/no/such/python3", "--yes"], "does not exist"),
        (["install", "--torch", "two", "--yes"], "Unknown PyTorch version"),
        (["plan", "--backend", "cuda-please"], "Unknown compute platform"),
        (["verify", "--python", "/no/such/python"], "does not exist"),
        (["verify", "--python", sys.executable, "--expect", "gpu"], "Unknown backend"),
        (["diagnose", "/no/such/log.txt"], "no such log file"),
        (["diagnose"], "Give a log file"),
        (["detect", "--system", "/no/such/report.json"], "no such report file"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(args: list[str], fragment: str) -> None:
    assert_one_sentence_exit_2(run_cli(*args), fragment)


def test_env_path_that_is_a_file_is_refused_and_untouched(tmp_path: Path) -> None:
    target = tmp_path / "thesis.tex"
    target.write_text("\\documentclass{article}")
    proc = run_cli("install", "--env", str(target), "--yes")
    assert_one_sentence_exit_2(proc, "is a file")
    assert target.read_text() == "\\documentclass{article}"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'method = "pip"\nflavour = "vanilla"\n', "Unknown key 'flavour'"),
        (b"method = [unclosed\n", "not valid TOML"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary"),
        (b"# x\n" * 40000, "at most 64 KiB"),
        (b'env_name = "a b"\n', "may only use"),
    ],
)
def test_bad_answer_files_exit_2(tmp_path: Path, content: bytes, fragment: str) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_bytes(content)
    assert_one_sentence_exit_2(run_cli("install", "--answers", str(answers), "--yes"), fragment)


def test_missing_answer_file_exits_2(tmp_path: Path) -> None:
    assert_one_sentence_exit_2(run_cli("plan", "--answers", str(tmp_path / "none.toml")), "does not exist")


def test_garbled_system_report_exits_2(tmp_path: Path) -> None:
    report = tmp_path / "machine.json"
    report.write_text("{ this is not json")
    assert_one_sentence_exit_2(run_cli("plan", "--system", str(report)), "not valid JSON")


def test_conda_method_without_conda_exits_2() -> None:
    report = FIXTURES / "reports" / "linux-rtx4090.json"
    data = json.loads(report.read_text())
    assert data["tools"]["conda"] is None, "fixture changed: pick a report without conda"
    proc = run_cli("plan", "--system", str(report), "--method", "conda", "--offline")
    assert_one_sentence_exit_2(proc, "conda")


def test_install_without_yes_and_without_a_terminal_refuses(tmp_path: Path) -> None:
    report = FIXTURES / "reports" / "linux-rtx4090.json"
    proc = run_cli("install", "--system", str(report), "--offline", "--env", str(tmp_path / "env"), stdin="")
    assert_one_sentence_exit_2(proc, "--yes")
    assert not (tmp_path / "env").exists()


def test_plan_for_another_machine_as_json() -> None:
    proc = run_cli("plan", "--system", str(FIXTURES / "reports" / "linux-rtx4090.json"), "--offline", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert set(plan) >= {"method", "backend", "torch", "python", "env", "steps", "reasons", "warnings"}
    assert plan["backend"].startswith("cu")
    assert all(isinstance(step["argv"], list) for step in plan["steps"])


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    proc = run_cli("install", "--system", str(FIXTURES / "reports" / "linux-rtx4090.json"), "--offline",
                   "--env", str(env_dir), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "Dry run" in proc.stdout
    assert not env_dir.exists()


def test_detect_json_on_this_machine() -> None:
    proc = run_cli("detect", "--json", "--offline")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["schema_version"] == 1
    assert report["os"]["name"] == "linux"
    assert report["gpus"] == []
    assert any(p["version"].startswith("3.11") for p in report["pythons"])


def test_detect_human_checklist_reads_well() -> None:
    proc = run_cli("detect", "--offline")
    assert proc.returncode == 0, proc.stderr
    assert "✓" in proc.stdout
    assert "Python" in proc.stdout


def test_diagnose_json_shape(tmp_path: Path) -> None:
    log = tmp_path / "pip.log"
    log.write_text(
        "ERROR: Could not find a version that satisfies the requirement torch==2.13.0 (from versions: none)\n"
        "ERROR: No matching distribution found for torch==2.13.0\n"
    )
    proc = run_cli("diagnose", str(log), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["diagnoses"][0]["category"] == "no-matching-wheel"
    assert set(data["diagnoses"][0]) >= {"category", "summary", "fix"}


def test_gui_without_display_explains_the_cli() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "installer"], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "torch-setup install" in proc.stderr + proc.stdout
