"""Real networks (issue 10): the OS trust store, the user's pip/uv configuration, an authenticated proxy,
a mirror of PyTorch's index, and --offline, each proven with the real CLI installing the real torch wheel.

The index is HTTPS on 127.0.0.1 with a certificate from a CA made for the test. "Only in the OS trust
store" is done honestly on Linux: a private mount namespace (unshare -m) bind-mounts a system bundle that
includes the test CA over /etc/ssl/certs/ca-certificates.crt, and the CLI runs there with a scrubbed
environment (no SSL_* or PIP_* variables), as a double-clicked app would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.e2e.cli_run import REPO, CliRun, _parse
from tests.reliability.netfixtures import (
    HttpsIndex,
    build_index,
    bundle_with,
    connect_proxy,
    download_wheels,
    https_index,
)
from tests.torch_env import TorchEnvUnavailable, in_ci, python311, wheel_folder

pytestmark = pytest.mark.e2e

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
TIMEOUT = 1200


def _need(condition: bool, why: str) -> None:
    if not condition:
        if in_ci():
            raise TorchEnvUnavailable(why)
        pytest.skip(why)


@pytest.fixture(scope="module")
def py311() -> str:
    found = python311()
    _need(found is not None, "no Python 3.11")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def wheel_set(tmp_path_factory: pytest.TempPathFactory, py311: str) -> Path:
    folder = wheel_folder()
    _need(folder is not None, "no folder with the torch 2.13.0 wheel")
    assert folder is not None
    torch = sorted(folder.glob("torch-2.13.0*cp311*.whl"))[0]
    return download_wheels(py311, torch, tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, wheel_set: Path) -> Iterator[HttpsIndex]:
    root = build_index(wheel_set, tmp_path_factory.mktemp("index"))
    with https_index(root, tmp_path_factory.mktemp("ca")) as served:
        yield served


def scrubbed_env(tmp: Path, **extra: str) -> dict[str, str]:
    """What a double-clicked app gets: HOME and a plain PATH; nothing about certificates, pip or proxies.
    HOME is a fresh folder, so neither this machine's user pip.conf nor its warm uv cache helps."""
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO),
           "TORCH_SETUP_HOME": str(tmp / "ts-home"), "TORCH_SETUP_MACHINE_CONFIG": str(tmp / "no-machine.toml")}
    env.update(extra)
    return env


def run_cli(args: list[str], env: Mapping[str, str], report: Path, prefix: list[str] | None = None) -> CliRun:
    argv = [*(prefix or []), sys.executable, "-m", "installer", "install", *args, "--yes", "--json-events",
            "--report", str(report)]
    done = subprocess.run(argv, cwd=REPO, env=dict(env), capture_output=True, text=True, encoding="utf-8",
                          errors="replace", timeout=TIMEOUT)
    events, other = _parse(done.stdout)
    data = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None
    return CliRun(done.returncode, events, data, done.stdout, done.stderr, other)


def in_trust_store_namespace(bundle: Path) -> list[str]:
    """Run the command in a private mount namespace where the system CA bundle is `bundle`."""
    script = f'mount --bind "{bundle}" {SYSTEM_BUNDLE} && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh"]


def _can_unshare_mount() -> bool:
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    if not os.path.isfile(SYSTEM_BUNDLE):
        return False
    done = subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=30)
    return done.returncode == 0


def mirror_args(index: HttpsIndex, engine: str, env: Path, py: str) -> list[str]:
    return ["--torch", "2.13.0", "--backend", "cpu", "--python", py, "--engine", engine,
            "--torch-index-url", f"{index.url}/whl", "--env", str(env)]


def diagnosis_text(run: CliRun) -> str:
    found = (run.report or {}).get("diagnoses") or []
    return " ".join(f"{d.get('category')} {d.get('summary')}" for d in found) + " " + run.stderr


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_ca_only_in_the_os_trust_store_installs(engine: str, index: HttpsIndex, py311: str,
                                                tmp_path: Path) -> None:
    _need(_can_unshare_mount(), "needs Linux, root and unshare -m")
    bundle = bundle_with(index.ca_pem, tmp_path / "system-bundle-with-test-ca.crt")
    env_dir = tmp_path / f"env-{engine}"
    run = run_cli(mirror_args(index, engine, env_dir, py311), scrubbed_env(tmp_path), tmp_path / "report.json",
                  prefix=in_trust_store_namespace(bundle))
    assert run.returncode == 0, run.tail()
    out = subprocess.run([str(env_dir / "bin" / "python"), "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "2.13.0+cpu", out.stderr
    # The torch family came from the test index (not from a folder or cache elsewhere).
    assert any(index.url in a for a in run.step_argv("Install PyTorch"))


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_ca_trusted_nowhere_fails_with_a_certificate_diagnosis(engine: str, index: HttpsIndex, py311: str,
                                                              tmp_path: Path) -> None:
    env_dir = tmp_path / f"env-{engine}"
    run = run_cli(mirror_args(index, engine, env_dir, py311), scrubbed_env(tmp_path), tmp_path / "report.json")
    assert run.returncode == 1, run.tail()
    assert "certificate" in diagnosis_text(run).lower(), run.tail()
    assert not env_dir.exists()


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_pip_conf_index_find_links_and_cert_are_used(engine: str, index: HttpsIndex, wheel_set: Path,
                                                     py311: str, tmp_path: Path) -> None:
    # The index leaves out mpmath (sympy needs it): only pip.conf's find-links folder has it, so the
    # install works only if find-links reaches the engine; the CA is only in pip.conf's `cert`.
    links = tmp_path / "links"
    links.mkdir()
    for wheel in wheel_set.glob("mpmath-*.whl"):
        shutil.copy(wheel, links)
    partial = build_index(wheel_set, tmp_path / "partial-index", leave_out=("mpmath",))
    with https_index(partial, tmp_path / "ca2") as served:
        conf = tmp_path / "pip.conf"
        conf.write_text(f"[global]\nindex-url = {served.url}/simple\nfind-links = {links}\n"
                        f"cert = {served.ca_pem}\n", encoding="utf-8")
        env_dir = tmp_path / f"env-{engine}"
        args = [*mirror_args(served, engine, env_dir, py311), "--packages", "torch", "six"]
        run = run_cli(args, scrubbed_env(tmp_path, PIP_CONFIG_FILE=str(conf)), tmp_path / "report.json")
    assert run.returncode == 0, run.tail()
    reasons = " ".join(run.report["plan"]["reasons"]) if run.report else ""
    assert f"index-url from {conf}" in reasons and f"find-links from {conf}" in reasons, reasons
    assert f"{served.ca_pem} (from {conf})" in reasons, reasons
    other = run.step_argv("Install the other packages")
    if engine == "uv":  # uv does not read pip.conf: it was translated
        assert f"{served.url}/simple" in other and str(links) in other
    out = subprocess.run([str(env_dir / "bin" / "python"), "-c", "import six, mpmath, torch; print('ok')"],
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "ok", out.stderr


def test_uv_toml_settings_are_named_in_the_plan(tmp_path: Path, py311: str) -> None:
    links = tmp_path / "links"
    links.mkdir()
    uv_toml = tmp_path / "uv.toml"
    uv_toml.write_text(f'index-url = "https://127.0.0.1:9/simple"\nfind-links = ["{links}"]\n', encoding="utf-8")
    env = scrubbed_env(tmp_path, UV_CONFIG_FILE=str(uv_toml))
    done = subprocess.run([sys.executable, "-m", "installer", "plan", "--json", "--offline", "--torch", "2.13.0",
                           "--backend", "cpu", "--python", py311, "--torch-source", str(wheel_folder()),
                           "--env", str(tmp_path / "e"), "--packages", "torch", "six"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    # offline: the plan says no step touches the network, and every uv step runs with UV_OFFLINE
    assert any("Offline" in r for r in plan["reasons"])
    assert all(s["env"].get("UV_OFFLINE") == "1" for s in plan["steps"] if s["argv"][0].endswith("uv"))
    env.pop("TORCH_SETUP_HOME")
    env["TORCH_SETUP_HOME"] = str(tmp_path / "ts2")
    done = subprocess.run([sys.executable, "-m", "installer", "plan", "--json", "--torch", "2.13.0", "--backend",
                           "cpu", "--python", py311, "--torch-source", str(wheel_folder()), "--env",
                           str(tmp_path / "e"), "--packages", "torch", "six"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    reasons = " ".join(json.loads(done.stdout)["reasons"])
    assert f"uv setting index-url from {uv_toml}" in reasons and f"uv setting find-links from {uv_toml}" in reasons


@pytest.mark.parametrize("engine", ["uv", "pip"])
def test_install_through_an_authenticated_proxy_keeps_the_password_secret(
        engine: str, index: HttpsIndex, py311: str, tmp_path: Path) -> None:
    secret = "s3cret-Pa55"
    with connect_proxy("student", secret) as (port, seen):
        env = scrubbed_env(tmp_path, HTTPS_PROXY=f"http://student:{secret}@127.0.0.1:{port}")
        env_dir = tmp_path / f"env-{engine}"
        # the test CA is the "company CA" given with --cert
        args = [*mirror_args(index, engine, env_dir, py311), "--cert", str(index.ca_pem)]
        run = run_cli(args, env, tmp_path / "report.json")
    assert run.returncode == 0, run.tail()
    port_of_index = index.url.rsplit(":", 1)[1]
    assert f"127.0.0.1:{port_of_index}" in seen.connects, seen
    assert secret not in run.stdout and secret not in run.stderr
    for path in (tmp_path / "ts-home").rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(encoding="utf-8", errors="replace"), path
    assert secret not in (tmp_path / "report.json").read_text(encoding="utf-8")


def test_offline_installs_from_the_wheel_folder_in_a_network_namespace(py311: str, tmp_path: Path) -> None:
    """No network device at all (unshare -n): the install from the wheel folder with a warm uv cache works."""
    _need(sys.platform.startswith("linux") and os.geteuid() == 0 and bool(shutil.which("unshare")),
          "needs Linux, root and unshare -n")
    folder = wheel_folder()
    _need(folder is not None, "no wheel folder")
    env = dict(os.environ, PYTHONPATH=str(REPO), TORCH_SETUP_HOME=str(tmp_path / "ts-home"),
               TORCH_SETUP_MACHINE_CONFIG=str(tmp_path / "none.toml"))
    args = ["--offline", "--torch", "2.13.0", "--backend", "cpu", "--python", py311, "--torch-source", str(folder),
            "--env", str(tmp_path / "env")]
    # Warm the cache first (with the network), as a lab image would have been prepared.
    warm = run_cli([*args[:-1], str(tmp_path / "warm")], env, tmp_path / "warm.json")
    assert warm.returncode == 0, warm.tail()
    run = run_cli(args, env, tmp_path / "report.json", prefix=["unshare", "-n"])
    assert run.returncode == 0, run.tail()
    assert (tmp_path / "env" / "bin" / "python").exists()
