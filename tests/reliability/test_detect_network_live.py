"""Detection's network check against live servers on 127.0.0.1: "certificate not trusted", "proxy refused
(407)" and "no answer" are told apart in `torch-setup detect --json` and each comes with its fix in the
checklist `torch-setup detect` prints.

The check asks the mirror of PyTorch's index (TORCH_SETUP_TORCH_INDEX_URL, the setting users have) and the
package index (PIP_INDEX_URL); both point at the server under test, so nothing leaves this machine.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from installer.core.netconfig import FIXES
from tests.e2e.cli_run import REPO
from tests.reliability.netfixtures import HttpsIndex, connect_proxy, https_index

TIMEOUT = 120


def detect_env(tmp: Path, url: str, **extra: str) -> dict[str, str]:
    """A plain environment (no proxy, certificate or pip settings from this machine), pointed at `url`."""
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
           "TORCH_SETUP_HOME": str(tmp / "ts-home"), "TORCH_SETUP_MACHINE_CONFIG": str(tmp / "no-machine.toml"),
           "PIP_CONFIG_FILE": "/dev/null", "TORCH_SETUP_TORCH_INDEX_URL": f"{url}/whl/",
           "PIP_INDEX_URL": f"{url}/simple/"}
    env.update(extra)
    return env


def detect(env: dict[str, str]) -> tuple[dict[str, Any], str]:
    """(the report's network section from `detect --json`, the checklist text from `detect`)."""
    runs = []
    for extra in (["--json"], []):
        done = subprocess.run([sys.executable, "-m", "installer", "detect", *extra], cwd=REPO, env=env,
                              capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=TIMEOUT)
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append(done.stdout)
    return json.loads(runs[0])["network"], runs[1]


def fix_sentence(kind: str) -> str:
    fix = FIXES[kind]
    return fix[0].upper() + fix[1:] + "."


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsIndex]:
    """An HTTPS server whose certificate comes from a throw-away CA that no trust store holds."""
    root = tmp_path_factory.mktemp("site")
    (root / "whl").mkdir()
    (root / "simple").mkdir()
    with https_index(root, tmp_path_factory.mktemp("ca")) as server:
        yield server


@pytest.fixture
def untrusted_https(served: HttpsIndex) -> str:
    return served.url


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def test_a_certificate_from_an_unknown_ca_is_told_as_certificate_not_trusted(untrusted_https: str,
                                                                           tmp_path: Path) -> None:
    network, text = detect(detect_env(tmp_path, untrusted_https))
    assert network["checked"] and network["pytorch_index"] is False
    assert network["problem"] == "certificate"
    assert "certificate not trusted" in network["detail"]
    assert "its certificate is not trusted" in text
    assert fix_sentence("certificate") in text
    # Where the settings checked came from, for the person reading the checklist.
    assert network["sources"]["PyTorch index mirror"] == "TORCH_SETUP_TORCH_INDEX_URL"
    assert network["sources"]["package index"] == "PIP_INDEX_URL"
    assert "PyTorch index mirror from TORCH_SETUP_TORCH_INDEX_URL" in text


def test_the_same_server_is_trusted_with_its_ca_as_the_company_bundle(served: HttpsIndex, tmp_path: Path) -> None:
    """The fix the checklist names works: the CA given as `cert` (here TORCH_SETUP_CERT) makes it answer."""
    network, text = detect(detect_env(tmp_path, served.url, TORCH_SETUP_CERT=str(served.ca_pem)))
    assert network["pytorch_index"] is True and network["package_index"] is True, network["detail"]
    assert network["problem"] is None
    assert network["sources"]["CA bundle"] == "TORCH_SETUP_CERT"
    assert "CA bundle from TORCH_SETUP_CERT" in text


def test_a_proxy_answering_407_is_told_as_proxy_refused(untrusted_https: str, tmp_path: Path) -> None:
    with connect_proxy("alice", "s3cret-pw") as (port, log):
        # No credentials in the variable: the proxy refuses every tunnel with 407.
        network, text = detect(detect_env(tmp_path, untrusted_https, HTTPS_PROXY=f"http://127.0.0.1:{port}"))
    assert log.refused >= 1 and not log.connects
    assert network["pytorch_index"] is False
    assert network["problem"] == "proxy-auth", network["detail"]
    assert "407" in network["detail"]
    assert "the proxy refused (407)" in text
    assert fix_sentence("proxy-auth") in text
    assert network["sources"]["proxy"] == "HTTPS_PROXY"
    assert "proxy from HTTPS_PROXY" in text


def test_wrong_proxy_credentials_never_show(untrusted_https: str, tmp_path: Path) -> None:
    with connect_proxy("alice", "s3cret-pw") as (port, log):
        network, text = detect(detect_env(tmp_path, untrusted_https,
                                          HTTPS_PROXY=f"http://alice:wrong-pw-123@127.0.0.1:{port}"))
    assert log.refused >= 1
    assert network["problem"] == "proxy-auth"
    assert "wrong-pw-123" not in json.dumps(network) and "wrong-pw-123" not in text


def test_a_silent_server_is_told_as_no_answer(tmp_path: Path) -> None:
    with silent_server() as port:
        network, text = detect(detect_env(tmp_path, f"https://127.0.0.1:{port}"))
    assert network["pytorch_index"] is False and network["package_index"] is False
    assert network["problem"] == "no-answer"
    assert "(no answer)" in text
    assert fix_sentence("no-answer") in text


def test_a_closed_port_is_told_as_no_answer(tmp_path: Path) -> None:
    network, text = detect(detect_env(tmp_path, f"https://127.0.0.1:{closed_port()}"))
    assert network["pytorch_index"] is False
    assert network["problem"] == "no-answer"
    assert "certificate" not in network["detail"] and "407" not in network["detail"]
    assert fix_sentence("no-answer") in text
