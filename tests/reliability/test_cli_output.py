"""The CLI's output as scripts and consoles meet it: any encoding, redirected to a file, JSON for every
refusal, --help that says how a command ends, and an install whose screen shows results, not internals.

Every test runs the real CLI as a child process (`python -m installer`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.cli_run import REPO, cli_env
from tests.torch_env import TorchEnvUnavailable, ensure_torch_env, in_ci, python311, wheel_folder

FIXTURES = REPO / "tests" / "fixtures" / "reports"
H100 = FIXTURES / "linux-h100.json"  # an NVIDIA machine: checklist with marks, a plan with reasons
NO_NVIDIA = FIXTURES / "linux-intel-uhd.json"  # an Intel iGPU only: no NVIDIA GPU
COMMANDS = ("gui", "detect", "plan", "install", "verify", "diagnose", "catalog", "cleanup", "config", "doctor", "envs")


def run_cli(args: list[str], tmp_path: Path, encoding: str | None = None, stdout_file: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    extra = {"PYTHONIOENCODING": encoding} if encoding else {}
    env = cli_env(tmp_path, extra)
    if stdout_file is None:
        return subprocess.run([sys.executable, "-m", "installer", *args], cwd=REPO, env=env, capture_output=True,
                              timeout=timeout)
    with open(stdout_file, "wb") as out:
        return subprocess.run([sys.executable, "-m", "installer", *args], cwd=REPO, env=env, stdout=out,
                              stderr=subprocess.PIPE, timeout=timeout)


def last_json(stdout: bytes) -> dict:
    lines = [ln for ln in stdout.decode("utf-8").splitlines() if ln.strip()]
    assert lines, "nothing on stdout"
    value = json.loads(lines[-1])
    assert isinstance(value, dict)
    return value


# -- encodings ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_detect_checklist_survives_a_narrow_console(tmp_path: Path, encoding: str) -> None:
    done = run_cli(["detect", "--system", str(H100)], tmp_path, encoding)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    text = done.stdout.decode(encoding)  # every byte is valid in the console's own encoding
    assert "[ok]" in text  # words where the console has no ✓
    assert "internal error" not in done.stderr.decode(encoding)


def test_plan_redirected_to_a_cp1252_file_reads_in_words(tmp_path: Path) -> None:
    out = tmp_path / "plan.txt"
    done = run_cli(["plan", "--system", str(H100), "--offline"], tmp_path, "cp1252", stdout_file=out)
    assert done.returncode == 0, done.stderr.decode("cp1252", "replace")
    text = out.read_bytes().decode("cp1252")
    assert "Why:" in text and "Steps:" in text
    why = text.split("Why:")[1].split("Steps:")[0]
    assert "\n  \u2022 " in why  # cp1252 has the bullet: it stays a bullet, not a "?"
    assert "internal error" not in done.stderr.decode("cp1252", "replace")


def test_utf8_console_keeps_the_symbols(tmp_path: Path) -> None:
    done = run_cli(["detect", "--system", str(H100)], tmp_path, "utf-8")
    assert done.returncode == 0
    assert "✓" in done.stdout.decode("utf-8")


# -- JSON on stdout for every refusal ------------------------------------------------------------------

@pytest.mark.parametrize(("args", "mode"), [
    (["plan", "--json", "--system", str(H100), "--offline", "--torch", "9.9"], "json"),
    (["install", "--json-events", "--system", str(H100), "--offline", "--torch", "9.9", "--yes"], "events"),
    (["plan", "--json", "--no-such-flag"], "json"),  # argparse's own refusal
    (["install", "--json-events", "--backend"], "events"),
    (["verify", "--json", "--python", "/no/such/python"], "json"),
    (["catalog", "--json", "--platform", "beos-m68k"], "json"),
    (["detect", "--json", "--system", "/no/such/report.json"], "json"),
    (["diagnose", "--json"], "json"),
])
def test_refusals_print_a_json_error_on_stdout(tmp_path: Path, args: list[str], mode: str) -> None:
    done = run_cli(args, tmp_path)
    assert done.returncode == 2
    error = last_json(done.stdout)
    assert error["ok"] is False and error["exit_code"] == 2 and error["error"] == "bad-input"
    assert error["message"] and error["message"].rstrip(".") in done.stderr.decode("utf-8")
    assert ("type" in error) == (mode == "events")
    if mode == "events":
        assert error["type"] == "error"


def test_an_internal_error_is_json_too(tmp_path: Path) -> None:
    code = ("import installer.cli as cli\n"
            "def broken(args):\n    raise RuntimeError('a bug')\n"
            "cli.COMMANDS['detect'] = broken\n"
            "raise SystemExit(cli.main(['detect', '--json', '--offline']))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=cli_env(tmp_path), capture_output=True,
                          timeout=120)
    assert done.returncode == 1
    error = last_json(done.stdout)
    assert error["error"] == "internal-error" and "RuntimeError: a bug" in error["message"]
    assert "Traceback" not in done.stderr.decode("utf-8")


def test_without_json_a_refusal_leaves_stdout_empty(tmp_path: Path) -> None:
    done = run_cli(["plan", "--system", str(H100), "--offline", "--torch", "9.9"], tmp_path)
    assert done.returncode == 2 and done.stdout == b""


# -- --help and --system -------------------------------------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_a_description_and_exit_codes(tmp_path: Path, command: str) -> None:
    done = run_cli([command, "--help"], tmp_path)
    assert done.returncode == 0
    text = done.stdout.decode("utf-8")
    _, _, rest = text.partition("\n\n")
    assert rest.split("\n")[0] and not rest.startswith("options"), "no description under the usage line"
    assert "exit codes:" in text and "  0 " in text and "  2 " in text
    if command not in ("gui", "cleanup", "config", "envs"):  # envs: its actions take --system
        assert "--system" in text, "the README promises --system for every command"


def test_catalog_system_shows_that_machines_platform(tmp_path: Path) -> None:
    done = run_cli(["catalog", "--system", str(FIXTURES / "macos-m2.json")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "macos-arm64" in done.stdout.decode("utf-8").splitlines()[0]


def test_cleanup_accepts_system_and_says_it_changes_nothing(tmp_path: Path) -> None:
    done = run_cli(["cleanup", "--system", str(H100)], tmp_path)
    assert done.returncode == 0
    assert "changes nothing" in done.stderr.decode("utf-8")
    assert "nothing to clean up" in done.stdout.decode("utf-8")


# -- with a real torch -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return ensure_torch_env(tmp_path_factory.mktemp("torch-env"))
    except TorchEnvUnavailable as exc:
        if in_ci():
            pytest.fail(f"CI must be able to build the torch environment: {exc}")
        pytest.skip(str(exc))
        raise


def test_verify_expecting_cuda_without_an_nvidia_gpu_tells_the_truth(tmp_path: Path, torch_python: Path) -> None:
    done = run_cli(["verify", "--python", str(torch_python), "--expect", "cu126", "--system", str(NO_NVIDIA)],
                   tmp_path)
    assert done.returncode == 3
    text = done.stdout.decode("utf-8")
    assert "no NVIDIA GPU on this machine" in text and "--expect cpu" in text
    assert "will not be used" not in text and "cu130" not in text
    as_json = run_cli(["verify", "--json", "--python", str(torch_python), "--expect", "cu126",
                       "--system", str(NO_NVIDIA)], tmp_path)
    data = json.loads(as_json.stdout)
    assert data["diagnoses"] == [] and "no NVIDIA GPU" in data["notes"][0]


def test_install_in_cp1252_redirected_shows_results_not_probe_internals(tmp_path: Path) -> None:
    wheels, python = wheel_folder(), python311()
    if wheels is None or python is None:
        if in_ci():
            pytest.fail("CI must have the torch wheel folder and a Python 3.11")
        pytest.skip("no torch wheel folder or no Python 3.11")
    out = tmp_path / "install.txt"
    env_dir = tmp_path / "env"
    done = run_cli(["install", "--torch-source", str(wheels), "--python", python, "--torch", "2.13.0",
                    "--backend", "cpu", "--env", str(env_dir), "--yes", "--offline"], tmp_path, "cp1252",
                   stdout_file=out, timeout=900)
    text = out.read_bytes().decode("cp1252")
    assert done.returncode == 0, text[-3000:] + done.stderr.decode("cp1252", "replace")
    assert "[ok] PyTorch 2.13.0 (cpu) is installed and verified" in text
    assert "checking import torch" in text and "matmul throughput" in text and "[ok] cpu kernel" in text
    for internal in ("TORCH_SETUP_VERIFY_STEP", "TORCH_SETUP_VERIFY_JSON", '"schema_version"', "NumPy"):
        assert internal not in text, internal
    log = next((tmp_path / "torch-setup-home").rglob("install-*.log"))
    assert "TORCH_SETUP_VERIFY_JSON" in log.read_text(encoding="utf-8")  # the log keeps everything
