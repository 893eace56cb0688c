"""Credentials never leave the process: the real CLI, given index and wheel URLs with passwords and tokens,
shows and writes only redacted URLs (stdout, stderr, events, the report, the log), and writes its report and
log owner-readable only. Issue 8, "Secrets"."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.cli_run import REPO, cli_env, run_install
from tests.torch_env import TORCH_VERSION, in_ci, python311, wheel_folder

# Each form hides a different secret string, so a leak names the form that leaked.
PASSWORD = "http://user:s3cr3tPW@127.0.0.1:9/simple"  # user:password
TOKEN = "http://t0kenSECRET@127.0.0.1:9/links"  # token only
AT_SIGN = "http://user:p@ssAT_SECRET@127.0.0.1:9/more"  # an @ inside the password
PROXY = "http://proxyuser:pr0xySECRET@127.0.0.1:9"  # a proxy URL a child quotes
SECRETS = ("s3cr3tPW", "t0kenSECRET", "p@ss", "ssAT_SECRET", "pr0xySECRET")
POSIX = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _cli(tmp_path: Path, *args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "installer", *args], cwd=REPO, env=cli_env(tmp_path, env_extra),
                          capture_output=True, text=True, encoding="utf-8", timeout=300)


def _wheels_and_python() -> tuple[Path, str]:
    """The torch wheel folder and a Python 3.11; skipped without them (failed in CI, like tests/e2e)."""
    py = python311()
    folder = wheel_folder()
    if folder is None and py is not None:
        # A venv without pip cannot answer `pip config get`; the Python 3.11's pip reads the same config.
        done = subprocess.run([py, "-m", "pip", "config", "get", "global.find-links"], capture_output=True,
                              text=True, timeout=60)
        candidate = Path(done.stdout.strip().split()[0].removeprefix("file://")) if done.stdout.strip() else None
        if candidate is not None and any(candidate.glob(f"torch-{TORCH_VERSION}*cp311*.whl")):
            folder = candidate
    if folder is None or py is None:
        reason = "needs the torch wheel folder (TORCH_SETUP_TEST_WHEELS or pip's find-links) and a Python 3.11"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return folder, py


FAILING_ENV = {"UV_OFFLINE": "1"}


def _choices(index: str = PASSWORD, *links: str, install: bool = False) -> list[str]:
    """A plan that makes no network request. For `plan` it is --offline. An --offline install is checked
    before it starts (and refused, exit 2); so an install asks for a package no index has and runs uv
    offline through FAILING_ENV: it gets to its steps and fails fast (exit 1) without touching the network."""
    folder, _ = _wheels_and_python()
    argv = ["--torch-source", str(folder), "--python", "3.11", "--torch", "2.13.0", "--backend", "cpu",
            "--index-url", index, "--trusted-host", "127.0.0.1"]
    argv += ["--packages", "torch", "no-such-package-xyz"] if install else ["--offline"]
    for link in links:
        argv += ["--find-links", link]
    return argv


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_plan_json_hides_every_form(tmp_path: Path) -> None:
    done = _cli(tmp_path, "plan", "--json", *_choices(PASSWORD, TOKEN, AT_SIGN))
    assert done.returncode == 0, done.stderr
    assert _leaks(done.stdout + done.stderr) == []
    plan = json.loads(done.stdout)
    assert plan["choices"]["index_url"] == "http://user:***@127.0.0.1:9/simple"
    assert plan["choices"]["find_links"] == ["http://***@127.0.0.1:9/links", "http://user:***@127.0.0.1:9/more"]
    install = next(s for s in plan["steps"] if "--index-url" in s["argv"])
    assert install["argv"][install["argv"].index("--index-url") + 1] == "http://user:***@127.0.0.1:9/simple"


def test_plan_text_hides_every_form(tmp_path: Path) -> None:
    done = _cli(tmp_path, "plan", *_choices(AT_SIGN, TOKEN, PASSWORD))
    assert done.returncode == 0, done.stderr
    assert _leaks(done.stdout + done.stderr) == []
    assert "http://user:***@127.0.0.1:9/more" in done.stdout


@pytest.mark.parametrize("json_events", [True, False])
def test_dry_run_hides_every_form(tmp_path: Path, json_events: bool) -> None:
    done = _cli(tmp_path, "install", "--dry-run", *(["--json-events"] if json_events else []),
                *_choices(TOKEN, PASSWORD, AT_SIGN))
    assert done.returncode == 0, done.stderr
    assert _leaks(done.stdout + done.stderr) == []
    assert "http://***@127.0.0.1:9/links" in done.stdout
    if json_events:
        event = json.loads(done.stdout)
        assert event["type"] == "plan" and event["plan"]["choices"]["index_url"] == "http://***@127.0.0.1:9/links"


@pytest.mark.parametrize(("index", "links", "json_events"),
                         [(PASSWORD, [TOKEN], True), (TOKEN, [AT_SIGN], True), (AT_SIGN, [PASSWORD, TOKEN], True),
                          (PASSWORD, [AT_SIGN], False)],
                         ids=["password", "token", "at-in-password", "human-output"])
def test_failing_install_leaks_nothing_and_writes_0600(tmp_path: Path, index: str, links: list[str],
                                                       json_events: bool) -> None:
    report = tmp_path / "report.json"
    run = run_install([*_choices(index, *links, install=True), "--env", str(tmp_path / "env")],
                      cli_env(tmp_path, FAILING_ENV), report,
                      json_events=json_events)
    assert run.returncode == 1, run.tail()  # no index has that package, and uv may not ask the network
    assert run.report is not None
    log = Path(run.report["log_path"])
    if json_events:
        assert run.of_type("step-started") and Path(run.of_type("plan-finished")[0]["log_path"]) == log
    else:
        assert "Install PyTorch" in run.stdout and "Full log" in run.stderr
    texts = {"stdout": run.stdout, "stderr": run.stderr, "report": report.read_text(encoding="utf-8"),
             "log": log.read_text(encoding="utf-8")}
    assert {where: _leaks(text) for where, text in texts.items() if _leaks(text)} == {}
    # the redacted index is still there for whoever reads the report: the user name, and where it points
    assert index.split("@")[-1] in texts["report"] and "***@" in texts["report"]
    if os.name != "nt":
        assert _mode(report) == 0o600
        assert _mode(log) == 0o600
        assert _mode(log.parent) == 0o700


@POSIX
def test_an_existing_report_file_is_tightened_to_0600(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("old", encoding="utf-8")
    report.chmod(0o644)
    log_dir = tmp_path / "torch-setup-home" / "logs"
    log_dir.mkdir(parents=True)
    log_dir.chmod(0o755)  # left wide by an older version
    run = run_install([*_choices(PASSWORD, install=True), "--env", str(tmp_path / "env")],
                      cli_env(tmp_path, FAILING_ENV), report)
    assert run.returncode == 1, run.tail()
    assert _mode(report) == 0o600 and "s3cr3tPW" not in report.read_text(encoding="utf-8")
    assert _mode(log_dir) == 0o700


FAKE_UV = '''\
    #!{python}
    """A uv that echoes index URLs back, the way pip and uv quote them in their messages and errors."""
    import os, sys
    args = sys.argv[1:]
    if args[:1] == ["venv"]:
        os.execv({real_uv!r}, [{real_uv!r}, *args])
    urls = [a for a in args if a.startswith(("http://", "https://"))]  # from the plan's argv: the index URL
    print("Looking in indexes: " + ", ".join(urls), flush=True)
    print("Looking in links: {token}, {at_sign}", flush=True)  # as a child reads them from its own config
    print("--index-url=" + urls[0] + " '{token}'", flush=True)
    print("error: proxy {proxy} refused the request for " + urls[0], file=sys.stderr, flush=True)
    sys.exit(2)
'''


@POSIX
def test_urls_in_child_output_are_redacted_in_events_log_and_report(tmp_path: Path) -> None:
    from installer.core.uvbin import uv_executable

    fake = tmp_path / "fake-uv"
    fake.write_text(textwrap.dedent(FAKE_UV).format(python=sys.executable, real_uv=uv_executable(), proxy=PROXY,
                                                    token=TOKEN, at_sign=AT_SIGN), encoding="utf-8")
    fake.chmod(0o755)
    report = tmp_path / "report.json"
    run = run_install([*_choices(PASSWORD, TOKEN, AT_SIGN, install=True), "--env", str(tmp_path / "env")],
                      cli_env(tmp_path, {**FAILING_ENV, "TORCH_SETUP_UV": str(fake)}), report)
    assert run.returncode == 1, run.tail()
    lines = [e["text"] for e in run.of_type("output")]
    # the child really echoed the URLs (else this test could not fail), and they arrive redacted
    assert "Looking in indexes: http://user:***@127.0.0.1:9/simple" in lines, lines
    assert "Looking in links: http://***@127.0.0.1:9/links, http://user:***@127.0.0.1:9/more" in lines, lines
    assert "--index-url=http://user:***@127.0.0.1:9/simple 'http://***@127.0.0.1:9/links'" in lines, lines
    assert any("proxy http://proxyuser:***@127.0.0.1:9 refused" in line for line in lines), lines
    log = Path(run.of_type("plan-finished")[0]["log_path"]).read_text(encoding="utf-8")
    assert "Looking in links: http://***@127.0.0.1:9/links, http://user:***@127.0.0.1:9/more" in log
    everything = run.stdout + run.stderr + log + report.read_text(encoding="utf-8")
    assert _leaks(everything) == []


def test_bad_input_sentence_hides_the_secret(tmp_path: Path) -> None:
    done = _cli(tmp_path, "plan", "--offline", "--method", "source", "--source-repo", "ftp://user:s3cr3tPW@h/repo")
    assert done.returncode == 2
    assert "ftp://user:***@h/repo" in done.stderr and _leaks(done.stdout + done.stderr) == []


@POSIX
def test_crash_log_is_redacted_and_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from installer import cli

    monkeypatch.setenv("TORCH_SETUP_HOME", str(tmp_path / "home"))
    try:
        raise RuntimeError(f"could not reach {PASSWORD}")
    except RuntimeError as exc:
        assert cli._internal_error(exc) == 1
    err = capsys.readouterr().err
    crash = next((tmp_path / "home" / "logs").glob("crash-*.log"))
    assert _leaks(err) == [] and _leaks(crash.read_text(encoding="utf-8")) == []
    assert "http://user:***@127.0.0.1:9/simple" in crash.read_text(encoding="utf-8")
    assert _mode(crash) == 0o600 and _mode(crash.parent) == 0o700


def test_diagnose_quotes_its_evidence_redacted(tmp_path: Path) -> None:
    log = tmp_path / "pip.log"
    log.write_text(f"Looking in indexes: {PASSWORD}\n"
                   f"  Caused by: Connection refused (os error 111) {TOKEN}/torch/\n", encoding="utf-8")
    done = _cli(tmp_path, "diagnose", str(log), "--json")
    assert done.returncode == 0, done.stderr
    evidence = [d.get("evidence") or "" for d in json.loads(done.stdout)["diagnoses"]]
    assert any("http://***@127.0.0.1:9/links/torch/" in e for e in evidence), evidence  # the line was quoted
    assert _leaks(done.stdout + done.stderr) == []
