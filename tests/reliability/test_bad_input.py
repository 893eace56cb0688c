"""Bad input is exit 2 with one sentence, never 'internal error' (issue 8).

Every case runs the real CLI as a child process, the way a lab admin's script would, starting from a
real `detect --json` report of this machine (or a recorded one with a GPU) with one field broken.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli_run import cli_env
from tests.torch_env import wheel_folder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LONG = "n" * 300  # a folder name no common file system allows (255 bytes)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run_cli(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "installer", *args], cwd=tmp_path, env=cli_env(tmp_path),
                          capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout)


def assert_one_sentence(done: subprocess.CompletedProcess[str], code: int = 2, *fragments: str) -> str:
    """Exit `code`, one non-empty line on stderr that says something, no traceback or internal error."""
    everything = done.stdout + done.stderr
    assert "Traceback" not in everything, everything[-3000:]
    assert "internal error" not in everything, everything[-3000:]
    assert done.returncode == code, everything[-3000:]
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, done.stderr
    assert len(lines[0]) > 20
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def this_machine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What `detect --json --offline` says about this machine (the shape every case below breaks)."""
    tmp = tmp_path_factory.mktemp("detect")
    done = run_cli(tmp, "detect", "--json", "--offline")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["pythons"] and data["resources"]["disks"], "the cases below break these sections"
    return data


def _gpu_machine() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "reports" / "linux-rtx4090.json").read_text(encoding="utf-8"))
    return data


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation: set the field at a dotted path ("gpus.0.compute_capability") to `value`."""
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return mutate


# (name, machine: "this" | "gpu", mutation, a fragment of the sentence)
REPORT_CASES = [
    ("compute capability a word", "gpu", _set("gpus.0.compute_capability", "abc"), "gpus[0].compute_capability"),
    ("compute capability a number", "gpu", _set("gpus.0.compute_capability", 8.9), "got 8.9"),
    ("driver a number", "gpu", _set("nvidia_driver", 550.54), "nvidia_driver"),
    ("CUDA version a word", "gpu", _set("cuda_driver_version", "latest"), "cuda_driver_version"),
    ("memory a string", "gpu", _set("gpus.0.memory_mib", "24 GB"), "gpus[0].memory_mib"),
    ("glibc a number", "this", _set("os.glibc", 2), "os.glibc"),
    ("wsl a string", "this", _set("os.wsl", "no"), "os.wsl"),
    ("python version a number", "this", _set("pythons.0.version", 311), "pythons[0].version"),
    ("python version without a dot", "this", _set("pythons.0.version", "311"), "pythons[0].version"),
    ("python bits a string", "this", _set("pythons.0.bits", "64"), "pythons[0].bits"),
    ("python usable a string", "this", _set("pythons.0.usable", "yes"), "pythons[0].usable"),
    ("free disk a string", "this", _set("resources.disks.0.free_mib", "1GB"), "resources.disks[0].free_mib"),
    ("ram a boolean", "this", _set("resources.ram_mib", True), "resources.ram_mib"),
    ("probe time a string", "this", _set("probes.0.seconds", "fast"), "probes[0].seconds"),
    ("gpus an object", "this", _set("gpus", {}), "gpus"),
    ("os a list", "this", _set("os", []), "os"),
    ("tools.git a string", "this", _set("tools.git", "/usr/bin/git"), "tools.git"),
    ("proxies of numbers", "this", _set("network.proxies", {"https": 8080}), "network.proxies.https"),
    ("os name missing", "this", lambda d: d["os"].pop("name"), "os.name"),
    ("schema_version true", "this", _set("schema_version", True), "schema_version"),
]


@pytest.mark.parametrize(("machine", "mutate", "fragment"), [c[1:] for c in REPORT_CASES],
                         ids=[c[0] for c in REPORT_CASES])
def test_a_report_with_a_wrong_type_is_exit_2_naming_the_field(
        tmp_path: Path, this_machine: dict[str, Any], machine: str,
        mutate: Callable[[dict[str, Any]], None], fragment: str) -> None:
    data = copy.deepcopy(this_machine) if machine == "this" else _gpu_machine()
    report = tmp_path / "report.json"
    report.write_text(json.dumps(data), encoding="utf-8")
    # --offline: the recorded GPU machine saw PyTorch's index, and this test must not wait for a network
    assert run_cli(tmp_path, "plan", "--offline", "--system", str(report)).returncode == 0, "the unbroken one plans"
    mutate(data)
    report.write_text(json.dumps(data), encoding="utf-8")
    assert_one_sentence(run_cli(tmp_path, "plan", "--offline", "--system", str(report)), 2, fragment)


@pytest.mark.parametrize("command", [["plan", "--system"], ["detect", "--system"], ["diagnose", "--verify-report"]])
def test_very_deep_json_is_exit_2(tmp_path: Path, command: list[str]) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"schema_version": 1, "os": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    args = [*command, str(deep)] + (["x.log"] if command[0] == "diagnose" else [])
    if command[0] == "diagnose":
        (tmp_path / "x.log").write_text("nothing\n")
    assert_one_sentence(run_cli(tmp_path, *args), 2, "nested too deeply")


# -- path flags --------------------------------------------------------------------------------------


def _long(tmp_path: Path) -> str:
    return str(tmp_path / LONG / "x")


PATH_CASES: list[tuple[str, Callable[[Path, str], list[str]], str]] = [
    ("plan --env", lambda t, r: ["plan", "--system", r, "--env", _long(t)], "--env"),
    ("plan --env-name", lambda t, r: ["plan", "--system", r, "--env-name", LONG], "--env-name"),
    ("plan --python", lambda t, r: ["plan", "--system", r, "--python", _long(t)], "--python"),
    ("plan --find-links", lambda t, r: ["plan", "--system", r, "--find-links", _long(t)], "--find-links"),
    ("plan --torch-source", lambda t, r: ["plan", "--system", r, "--torch-source", _long(t)], "--torch-source"),
    ("plan --torch-source file URL", lambda t, r: ["plan", "--system", r, "--torch-source", "file://" + _long(t)],
     "--torch-source"),
    ("plan --answers", lambda t, r: ["plan", "--system", r, "--answers", _long(t)], "--answers"),
    ("plan --system", lambda t, r: ["plan", "--system", _long(t)], "--system"),
    ("plan --source-repo", lambda t, r: ["plan", "--system", r, "--method", "source", "--source-repo", _long(t)],
     "--source-repo"),
    ("install --report", lambda t, r: ["install", "--system", r, "--yes", "--report", _long(t)], "--report"),
    ("install --env", lambda t, r: ["install", "--system", r, "--yes", "--env", _long(t)], "--env"),
    ("detect --env", lambda t, r: ["detect", "--system", r, "--env", _long(t)], "--env"),
    ("verify --python", lambda t, r: ["verify", "--python", _long(t)], "--python"),
    ("diagnose LOG", lambda t, r: ["diagnose", _long(t)], "LOG"),
    ("diagnose --verify-report", lambda t, r: ["diagnose", "--verify-report", _long(t)], "--verify-report"),
]


@pytest.mark.parametrize(("argv", "flag"), [c[1:] for c in PATH_CASES], ids=[c[0] for c in PATH_CASES])
def test_a_path_component_over_255_bytes_is_exit_2_naming_the_flag(
        tmp_path: Path, this_machine: dict[str, Any], argv: Callable[[Path, str], list[str]], flag: str) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(this_machine), encoding="utf-8")
    line = assert_one_sentence(run_cli(tmp_path, *argv(tmp_path, str(report))), 2, flag, "255 bytes")
    assert LONG not in line  # the sentence shows the start of the name, not all 300 characters


def test_a_nul_in_an_answer_file_path_is_exit_2(tmp_path: Path, this_machine: dict[str, Any]) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(this_machine), encoding="utf-8")
    answers = tmp_path / "answers.toml"
    answers.write_text('env = "/tmp/a\\u0000b"\n', encoding="utf-8")
    assert_one_sentence(run_cli(tmp_path, "plan", "--system", str(report), "--answers", str(answers)), 2,
                        "--env", "NUL")


# -- answer files ------------------------------------------------------------------------------------

ANSWER_CASES = [
    ("20 000 nested arrays", "packages = " + "[" * 20_000 + "]" * 20_000 + "\n", "nested too deeply"),
    ("torch a number", "torch = 2.1\n", "torch"),
    ("packages of numbers", "packages = [1, 2]\n", "packages"),
    ("offline a string", 'offline = "yes"\n', "offline"),
    ("a table for a string", "[backend]\nname = 'cpu'\n", "backend"),
    ("not TOML", "torch = \n", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "fragment"), [c[1:] for c in ANSWER_CASES], ids=[c[0] for c in ANSWER_CASES])
def test_a_bad_answer_file_is_exit_2(tmp_path: Path, this_machine: dict[str, Any], text: str, fragment: str) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(this_machine), encoding="utf-8")
    answers = tmp_path / "answers.toml"
    answers.write_text(text, encoding="utf-8")
    assert_one_sentence(run_cli(tmp_path, "plan", "--system", str(report), "--answers", str(answers)), 2, fragment)


# -- URLs --------------------------------------------------------------------------------------------

URL_CASES = [
    ("--index-url", "https://[::1"),
    ("--index-url", "https://example.invalid:99999/simple"),
    ("--index-url", "https://:443/simple"),
    ("--torch-source", "https://[::1"),
    ("--torch-source", "https://example.invalid:port/whl"),
    ("--find-links", "https://[::1"),
    ("--source-repo", "https://[::1"),
]


@pytest.mark.parametrize(("flag", "url"), URL_CASES)
def test_a_malformed_url_is_exit_2_naming_the_flag(tmp_path: Path, this_machine: dict[str, Any],
                                                   flag: str, url: str) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(this_machine), encoding="utf-8")
    extra = ["--method", "source"] if flag == "--source-repo" else []
    assert_one_sentence(run_cli(tmp_path, "plan", "--system", str(report), *extra, flag, url), 2, flag)


def test_catalog_refresh_with_a_malformed_url_is_exit_2(tmp_path: Path) -> None:
    assert_one_sentence(run_cli(tmp_path, "catalog", "--refresh", "--index-url", "https://[::1"), 2, "--index-url")


def test_catalog_refresh_with_an_unreachable_index_is_exit_1_and_keeps_the_bundled_catalog(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was just free: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run_cli(tmp_path, "catalog", "--refresh", "--index-url", f"http://127.0.0.1:{port}/whl",
                   "--timeout", "5")
    assert_one_sentence(done, 1, "Could not refresh the catalog", "The bundled catalog stays in use.")


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "soon"])
def test_a_timeout_that_is_not_a_number_of_seconds_is_exit_2(tmp_path: Path, value: str) -> None:
    assert_one_sentence(run_cli(tmp_path, "verify", "--python", sys.executable, "--timeout", value), 2, "--timeout")


# -- hostile programs: a "python" that answers the probes with wrong types ----------------------------


def _fake_program(folder: Path, name: str, output: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / name
    program.write_text("#!/bin/sh\ncat <<'EOF'\n" + output + "\nEOF\n", encoding="utf-8")
    program.chmod(0o755)
    return program


@pytest.mark.skipif(os.name == "nt", reason="a shell script stands in for the hostile interpreter")
@pytest.mark.parametrize("answer", [
    {"version": "3.12.1", "bits": 64, "executable": "/x/python"},  # version as a string
    {"version": [3, 12, 1], "bits": 64, "executable": 5, "platform": 7, "prefix": ["/"]},
    {"version": [3, -1, 0], "bits": 64},
    {"version": [3, 12], "bits": "lots"},
    "[" * 50_000 + "]" * 50_000,
])
def test_an_interpreter_that_answers_the_probe_with_wrong_types_is_marked_unusable(
        tmp_path: Path, answer: Any) -> None:
    from installer.core.detect.pythons import PROBE_MARKER

    payload = answer if isinstance(answer, str) else json.dumps(answer)
    fake = _fake_program(tmp_path / "bin", "python3.15", PROBE_MARKER + payload)
    env = cli_env(tmp_path, path=f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, "-m", "installer", "detect", "--json", "--offline"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    pythons = {p["executable"]: p for p in json.loads(done.stdout)["pythons"]}
    entry = pythons[str(fake)]
    assert entry["usable"] is False, entry
    assert "not the probe's answer" in entry["problem"] or "impossible answer" in entry["problem"], entry
    assert any(p["usable"] for p in pythons.values()), "the real interpreters are still found"


@pytest.mark.skipif(os.name == "nt", reason="a shell script stands in for the hostile interpreter")
def test_verify_with_a_probe_answer_of_wrong_types_fails_verification_with_a_reason(tmp_path: Path) -> None:
    from installer.core.verify import MARKER

    fake = _fake_program(tmp_path / "bin", "python", MARKER + "\n" + json.dumps(
        {"ok": True, "torch": 2.13, "devices": [{"index": "zero", "kind": "cuda", "device": "cuda:0"}]}))
    done = run_cli(tmp_path, "verify", "--python", str(fake), "--json")
    assert done.returncode == 3, done.stderr  # verification failed: not a pass, not a crash
    data = json.loads(done.stdout)
    assert data["ok"] is False and "malformed" in data["error"] and "torch" in data["error"]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


@pytest.mark.parametrize("report", [{"ok": "yes"}, {"ok": False, "devices": [{"index": 0}]}, [1, 2],
                                    {"ok": False, "checks": [{"name": "x", "ok": 1}]}])
def test_diagnose_a_verify_report_with_wrong_types_is_exit_2(tmp_path: Path, report: Any) -> None:
    path = tmp_path / "verify.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    assert_one_sentence(run_cli(tmp_path, "diagnose", "--verify-report", str(path)), 2, "not a VerifyReport")


# -- install: refuse up front, before anything is created ---------------------------------------------


@pytest.fixture
def install_args(tmp_path: Path, this_machine: dict[str, Any]) -> list[str]:
    """An install that would otherwise run: the torch CPU wheel from the local wheel folder, Python 3.11."""
    wheels = wheel_folder()
    if wheels is None:
        pytest.skip("no folder with the torch 2.13.0 cp311 wheel (set TORCH_SETUP_TEST_WHEELS)")
    report = tmp_path / "report.json"
    report.write_text(json.dumps(this_machine), encoding="utf-8")
    args = ["install", "--system", str(report), "--python", "3.11", "--torch", "2.13.0", "--backend", "cpu",
            "--torch-source", str(wheels), "--yes"]
    done = run_cli(tmp_path, *args, "--env", str(tmp_path / "dry"), "--dry-run")
    assert done.returncode == 0, done.stderr  # the plan itself is fine
    return args


def _assert_nothing_created(tmp_path: Path, env: Path) -> None:
    assert not env.exists()
    runs = tmp_path / "torch-setup-home" / "state" / "runs"
    assert not runs.is_dir() or not any(runs.iterdir())
    logs = tmp_path / "torch-setup-home" / "logs"
    assert not logs.is_dir() or not list(logs.glob("install-*"))
    assert not list(tmp_path.rglob(".torch-setup-write-test-*"))


def test_install_refuses_when_the_runs_folder_cannot_be_written(tmp_path: Path, install_args: list[str]) -> None:
    state = tmp_path / "torch-setup-home" / "state"
    state.mkdir(parents=True)
    (state / "runs").write_text("a file where the journal folder should be")
    env = tmp_path / "env"
    line = assert_one_sentence(run_cli(tmp_path, *install_args, "--env", str(env)), 2, "run journal",
                               "TORCH_SETUP_HOME")
    assert str(state / "runs") in line
    _assert_nothing_created(tmp_path, env)


@pytest.mark.skipif(IS_ROOT or os.name == "nt", reason="root writes into read-only folders")
def test_install_refuses_when_the_runs_folder_is_read_only(tmp_path: Path, install_args: list[str]) -> None:
    runs = tmp_path / "torch-setup-home" / "state" / "runs"
    runs.mkdir(parents=True)
    runs.chmod(stat.S_IRUSR | stat.S_IXUSR)
    env = tmp_path / "env"
    try:
        assert_one_sentence(run_cli(tmp_path, *install_args, "--env", str(env)), 2, "run journal", "not writable")
    finally:
        runs.chmod(0o755)
    _assert_nothing_created(tmp_path, env)


@pytest.mark.parametrize("where", ["a folder", "a missing folder", "under a file"])
def test_install_refuses_a_report_path_it_cannot_write_before_installing(
        tmp_path: Path, install_args: list[str], where: str) -> None:
    if where == "a folder":
        report = tmp_path / "reports"
        report.mkdir()
    elif where == "a missing folder":
        report = tmp_path / "missing" / "report.json"
    else:
        (tmp_path / "plain-file").write_text("x")
        report = tmp_path / "plain-file" / "report.json"
    env = tmp_path / "env"
    assert_one_sentence(run_cli(tmp_path, *install_args, "--env", str(env), "--report", str(report)), 2, "--report")
    _assert_nothing_created(tmp_path, env)
    assert not (tmp_path / "missing").exists()


def test_install_refuses_an_env_whose_parent_cannot_be_created(tmp_path: Path, install_args: list[str]) -> None:
    (tmp_path / "plain-file").write_text("x")
    env = tmp_path / "plain-file" / "deeper" / "env"
    assert_one_sentence(run_cli(tmp_path, *install_args, "--env", str(env)), 2, "cannot be created", "is a file")
    _assert_nothing_created(tmp_path, env)


@pytest.mark.skipif(IS_ROOT or os.name == "nt", reason="root writes into read-only folders")
def test_install_refuses_an_env_in_a_read_only_folder(tmp_path: Path, install_args: list[str]) -> None:
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    env = parent / "env"
    try:
        assert_one_sentence(run_cli(tmp_path, *install_args, "--env", str(env)), 2, "not writable")
    finally:
        parent.chmod(0o755)
    _assert_nothing_created(tmp_path, env)

