"""pip/uv configuration reading, the plan translation for uv, failure classification, and Torch Setup's
own settings files with their precedence (flag > variable > user file > machine file > default)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

from installer.core import netconfig, settings
from installer.core.plan import ChoiceError, Choices, Plan, Step

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _process_wide_choice_put_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.apply() sets this process's mirror and network configuration; later tests must not see them."""
    for name in ("_ACTIVE", "_MIRROR", "_MIRROR_ORIGIN"):
        monkeypatch.setattr(netconfig, name, None)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_DIRS": str(tmp_path / "xdg"), **extra}


def test_pip_config_levels_and_variables_in_pips_order(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg" / "pip"
    xdg.mkdir(parents=True)
    (xdg / "pip.conf").write_text("[global]\nindex-url = https://global.example/simple\ntimeout = 5\n")
    user = tmp_path / "home" / ".config" / "pip"
    user.mkdir(parents=True)
    (user / "pip.conf").write_text("[global]\nindex-url = https://user.example/simple\n"
                                   "[install]\nfind-links = /a /b\n")
    found = netconfig.read_pip_config(_env(tmp_path, PIP_DEFAULT_TIMEOUT="60"))
    if sys.platform != "win32":
        assert found["index-url"].value == "https://user.example/simple"
        assert found["index-url"].origin == str(user / "pip.conf")
        assert found["find-links"].value == ["/a", "/b"]
    assert found["timeout"].value == "60" and found["timeout"].origin == "PIP_DEFAULT_TIMEOUT"
    # PIP_CONFIG_FILE that exists replaces the user files (as in pip); os.devnull turns every file off
    named = tmp_path / "named.conf"
    named.write_text("[global]\nextra-index-url = https://x.example/simple https://y.example/simple\n")
    found = netconfig.read_pip_config(_env(tmp_path, PIP_CONFIG_FILE=str(named)))
    assert "find-links" not in found
    assert found["extra-index-url"].value == ["https://x.example/simple", "https://y.example/simple"]
    assert netconfig.read_pip_config(_env(tmp_path, PIP_CONFIG_FILE=os.devnull)) == {}


def test_uv_toml_and_variables(tmp_path: Path) -> None:
    toml = tmp_path / "uv.toml"
    toml.write_text('[[index]]\nurl = "https://corp.example/simple"\ndefault = true\n'
                    '[pip]\nfind-links = ["/wheels"]\n')
    found = netconfig.read_uv_config(_env(tmp_path, UV_CONFIG_FILE=str(toml), UV_NATIVE_TLS="1"))
    assert found["index-url"].value == "https://corp.example/simple" and found["index-url"].origin == str(toml)
    assert found["find-links"].value == ["/wheels"]
    assert found["system-certs"].origin == "UV_NATIVE_TLS"


def _plan(uv: str = "/x/uv") -> Plan:
    return Plan(method="pip", backend="cpu", torch="2.13.0", python="3.11", env="/e", steps=[
        Step("Create the environment", [uv, "venv", "/e"], kind="venv"),
        Step("Install PyTorch", [uv, "pip", "install", "--python", "/e/bin/python", "--index-url",
                                 "https://mirror.example/whl/cpu", "torch==2.13.0+cpu"], kind="install"),
        Step("Install the other packages", [uv, "pip", "install", "--python", "/e/bin/python", "six"],
             kind="install"),
        Step("Verify", ["/e/bin/python", "probe.py"], kind="verify"),
    ])


def test_uv_gets_what_pip_would_use_and_the_system_store(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://corp.example/simple\nextra-index-url = https://more.example/s\n"
                    "trusted-host = more.example\nretries = 7\n")
    net = netconfig.load(_env(tmp_path, PIP_CONFIG_FILE=str(conf)))
    plan = _plan()
    netconfig.apply_to_plan(plan, net)
    torch_step, other = plan.steps[1].argv, plan.steps[2].argv
    assert torch_step.count("--index-url") == 1  # the torch family keeps its one index
    assert other[other.index("--index-url") + 1] == "https://corp.example/simple"
    assert "--extra-index-url" in other and "unsafe-best-match" in other
    assert other[other.index("--allow-insecure-host") + 1] == "more.example"
    assert all(s.env.get("UV_SYSTEM_CERTS") == "1" for s in plan.steps[:3])
    assert plan.steps[2].env["UV_HTTP_RETRIES"] == "7"
    assert "UV_SYSTEM_CERTS" not in plan.steps[3].env
    assert any(f"index-url from {conf}" in r for r in plan.reasons)
    assert any("more.example" in w and str(conf) in w for w in plan.warnings)


def test_an_extra_ca_travels_with_the_system_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_SETUP_HOME", str(tmp_path / "ts"))
    system = netconfig.system_ca_bundle()
    if system is None:
        pytest.skip("no system CA bundle file on this OS")
    company = tmp_path / "company.pem"
    company.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    net = netconfig.load(_env(tmp_path), cert=netconfig.Sourced(str(company), "--cert"))
    plan = _plan()
    plan.steps.append(Step("pip", ["/e/bin/python", "-m", "pip", "install", "six"], kind="install"))
    netconfig.apply_to_plan(plan, net)
    bundle = plan.steps[1].env["SSL_CERT_FILE"]
    text = Path(bundle).read_text()
    assert text.startswith(Path(system).read_text()[:200]) and "MIIB" in text  # both, not one instead of the other
    assert plan.steps[-1].argv[4:6] == ["--cert", bundle]


def test_offline_plan_marks_every_uv_step(tmp_path: Path) -> None:
    net = netconfig.load(_env(tmp_path), offline=True)
    plan = _plan()
    netconfig.apply_to_plan(plan, net)
    assert all(s.env.get("UV_OFFLINE") == "1" for s in plan.steps[:3])
    assert not any("UV_SYSTEM_CERTS" in s.env for s in plan.steps)


def test_failures_are_told_apart() -> None:
    cert = urllib.error.URLError(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] unable"))
    assert netconfig.classify(cert) == netconfig.CERTIFICATE
    assert netconfig.classify(OSError("Tunnel connection failed: 407 Proxy Authentication Required")) \
        == netconfig.PROXY_AUTH
    assert netconfig.classify(urllib.error.URLError(TimeoutError("timed out"))) == netconfig.NO_ANSWER
    kind, text = netconfig.describe_failure(OSError("Tunnel connection failed: 407 for http://u:pw@p:3128"))
    assert kind == netconfig.PROXY_AUTH and "pw" not in text and "407" in text


def test_settings_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_SETUP_HOME", str(tmp_path / "ts"))
    machine = tmp_path / "machine.toml"
    machine.write_text('engine = "pip"\ntorch_index_url = "https://machine.example/whl"\noffline = true\n')
    monkeypatch.setenv(settings.MACHINE_CONFIG_VAR, str(machine))
    user = settings.user_config_path()
    user.parent.mkdir(parents=True)
    user.write_text('torch_index_url = "https://user.example/whl"\n')
    monkeypatch.setenv("TORCH_SETUP_OFFLINE", "false")
    current = settings.load()
    assert current.get("engine") == "pip" and current.origin("engine") == str(machine)
    assert current.get("torch_index_url") == "https://user.example/whl" and current.origin("torch_index_url") == str(user)
    assert current.get("offline") is False and current.origin("offline") == "TORCH_SETUP_OFFLINE"
    assert current.origin("cert") == "default"
    choices = Choices(engine="uv")
    applied = settings.apply(choices, explicit={"engine"})  # the flag wins over the machine file
    assert choices.engine == "uv" and applied.origins["engine"] == "--engine"
    assert choices.torch_index_url == "https://user.example/whl"


@pytest.mark.parametrize("text, words", [
    ('colour = "blue"\n', "Unknown key 'colour'"),
    ('engine = "conda"\n', "choose uv or pip"),
    ('offline = "maybe"\n', "true or false"),
    ('cert = "/nonexistent/ca.pem"\n', "does not exist"),
    ("engine = \n", "not valid TOML"),
])
def test_bad_config_file_is_exit_2_with_one_sentence(tmp_path: Path, text: str, words: str) -> None:
    machine = tmp_path / "machine.toml"
    machine.write_text(text)
    env = dict(os.environ, PYTHONPATH=str(REPO), TORCH_SETUP_HOME=str(tmp_path / "ts"),
               TORCH_SETUP_MACHINE_CONFIG=str(machine))
    done = subprocess.run([sys.executable, "-m", "installer", "config"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and str(machine) in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(ChoiceError):
        settings.read_file(machine, "machine")


def test_config_command_shows_values_and_origins(tmp_path: Path) -> None:
    machine = tmp_path / "machine.toml"
    machine.write_text('proxy = "http://lab:hunter2@proxy.example:3128"\n')
    env = dict(os.environ, PYTHONPATH=str(REPO), TORCH_SETUP_HOME=str(tmp_path / "ts"),
               TORCH_SETUP_MACHINE_CONFIG=str(machine), TORCH_SETUP_ENGINE="pip")
    done = subprocess.run([sys.executable, "-m", "installer", "config"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout and "lab:***@proxy.example:3128" in done.stdout
    assert str(machine) in done.stdout and "TORCH_SETUP_ENGINE" in done.stdout
