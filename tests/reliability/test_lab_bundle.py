"""Lab admins (issue 12): locked installs and offline bundles, through the real CLI.

A bundle made for this machine installs from a copy in another folder inside a network namespace with no
interfaces and an empty uv cache; a changed wheel is refused before anything is made; the installed
versions are the lock's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from installer.core.lockfile import read_lock
from tests.e2e.cli_run import REPO, cli_env
from tests.torch_env import TorchEnvUnavailable, in_ci, python311, uv_bin, wheel_folder

TIMEOUT = 900


def _folder() -> Path:
    folder = wheel_folder()
    if folder is None or python311() is None:
        if in_ci():
            raise TorchEnvUnavailable("no wheel folder or Python 3.11")
        pytest.skip("needs the torch 2.13.0 CPU wheel folder and a Python 3.11")
    return folder


def _cli(args: list[str], env: dict[str, str], prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*(prefix or []), sys.executable, "-m", "installer", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def _choices(folder: Path) -> list[str]:
    return ["--torch-source", str(folder), "--python", "3.11", "--torch", "2.13.0", "--backend", "cpu"]


def _installed(env_dir: Path) -> dict[str, str]:
    done = subprocess.run([uv_bin(), "pip", "list", "--format", "json", "--python", str(env_dir / "bin" / "python")],
                          capture_output=True, text=True, timeout=120, check=True)
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(done.stdout)}


def _locked(lock: Path) -> dict[str, str]:
    return {p.name.lower().replace("_", "-"): p.version for p in read_lock(lock)}


def _netns_works() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_plan_lock_then_install_lock_installs_exactly_the_lock(tmp_path: Path) -> None:
    folder = _folder()
    env = cli_env(tmp_path)
    lock = tmp_path / "pylock.toml"
    done = _cli(["plan", *_choices(folder), "--lock", str(lock)], env)
    assert done.returncode == 0, done.stderr
    locked = _locked(lock)
    assert locked["torch"] == "2.13.0+cpu" and "sympy" in locked and "filelock" in locked
    target = tmp_path / "env"
    done = _cli(["install", *_choices(folder), "--lock", str(lock), "--env", str(target), "--yes"], env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "Install the locked packages" in done.stdout
    assert _installed(target) == locked


def test_a_lock_file_not_named_as_pep_751_says_is_bad_input(tmp_path: Path) -> None:
    folder = _folder()
    done = _cli(["plan", *_choices(folder), "--lock", str(tmp_path / "stack.toml")], cli_env(tmp_path))
    assert done.returncode == 2
    assert "pylock.toml" in done.stderr and "Traceback" not in done.stderr


def test_bundle_installs_offline_from_a_copy_and_refuses_a_changed_wheel(tmp_path: Path) -> None:
    folder = _folder()
    if not _netns_works():
        if in_ci():
            raise AssertionError("unshare -n is needed to prove the offline install")
        pytest.skip("needs unshare -n (root)")
    env = cli_env(tmp_path)
    report = tmp_path / "here.json"
    done = _cli(["detect", "--json", "--offline"], env)
    assert done.returncode == 0, done.stderr
    report.write_text(done.stdout, encoding="utf-8")
    made = tmp_path / "made"
    done = _cli(["bundle", "--for", str(report), *_choices(folder), "--out", str(made), "--json"], env)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((made / "bundle.json").read_text())
    assert [t["name"] for t in manifest["targets"]] == ["linux-x86_64-py311-cpu"]
    target = manifest["targets"][0]
    # every file of the bundle is in the manifest with its real hash, and every locked wheel is there
    on_disk = {p.relative_to(made).as_posix() for p in made.rglob("*") if p.is_file() and p.name != "bundle.json"}
    assert set(manifest["files"]) == on_disk
    import hashlib

    for rel, facts in manifest["files"].items():
        assert hashlib.sha256((made / rel).read_bytes()).hexdigest() == facts["sha256"], rel
    assert {f"wheels/{w}" for w in target["wheels"]} <= on_disk
    assert "tools/verify_probe.py" in on_disk and any(r.startswith("tools/linux-x86_64/uv") for r in on_disk)
    lock = made / target["lock"]
    assert _locked(lock)["torch"] == "2.13.0+cpu"

    # a copy in another folder, installed with no network at all and an empty uv cache
    copy = tmp_path / "usb" / "bundle"
    shutil.copytree(made, copy)
    offline_env = {**env, "UV_CACHE_DIR": str(tmp_path / "empty-cache")}
    (tmp_path / "empty-cache").mkdir()

    tampered = tmp_path / "tampered"
    shutil.copytree(made, tampered)
    wheel = next((tampered / "wheels").glob("torch-*.whl"))
    data = bytearray(wheel.read_bytes()[:4096])
    with open(wheel, "r+b") as handle:  # same size, one changed byte: only the hash can tell
        data[100] ^= 0xFF
        handle.write(bytes(data))
    bad_env_dir = tmp_path / "never"
    done = _cli(["install", "--bundle", str(tampered), "--env", str(bad_env_dir), "--yes"], offline_env,
                prefix=["unshare", "-n"])
    assert done.returncode == 2, done.stdout + done.stderr
    assert "hash-mismatch" in done.stderr and wheel.name in done.stderr and "Nothing was installed" in done.stderr
    assert not bad_env_dir.exists()

    installed_at = tmp_path / "env"
    done = _cli(["install", "--bundle", str(copy), "--env", str(installed_at), "--yes"], offline_env,
                prefix=["unshare", "-n"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "installed and verified" in done.stdout
    assert _installed(installed_at) == _locked(copy / target["lock"])


def test_bundle_refuses_a_machine_it_does_not_fit(tmp_path: Path) -> None:
    folder = _folder()
    env = cli_env(tmp_path)
    report = tmp_path / "here.json"
    report.write_text(_cli(["detect", "--json", "--offline"], env).stdout, encoding="utf-8")
    made = tmp_path / "made"
    done = _cli(["bundle", "--for", str(report), *_choices(folder), "--out", str(made)], env)
    assert done.returncode == 0, done.stderr
    gpu = REPO / "tests" / "fixtures" / "reports" / "linux-h100.json"
    done = _cli(["install", "--bundle", str(made), "--system", str(gpu), "--yes"], env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "This bundle has builds for cpu" in done.stderr and "H100" in done.stderr


def _fake_gpu_torch_wheel(folder: Path) -> Path:
    """A small but valid torch 2.13.0+cu126 wheel: the recorded GPU machine's build, without 3 GB of CUDA."""
    import base64
    import hashlib
    import zipfile

    name = "torch-2.13.0+cu126-cp311-cp311-manylinux_2_28_x86_64.whl"
    info = "torch-2.13.0+cu126.dist-info"
    files = {
        "torch/__init__.py": "__version__ = '2.13.0+cu126'\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: torch\nVersion: 2.13.0+cu126\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_28_x86_64\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    with zipfile.ZipFile(folder / name, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return folder / name


def test_bundle_for_two_machines_holds_each_file_once_and_picks_the_cpu_target_here(tmp_path: Path) -> None:
    from installer.core import bundle
    from installer.core.report import SystemReport

    folder = _folder()
    mixed = tmp_path / "wheels"
    mixed.mkdir()
    for wheel in folder.glob("torch-2.13.0*cp311*.whl"):
        (mixed / wheel.name).symlink_to(wheel)
    _fake_gpu_torch_wheel(mixed)
    env = cli_env(tmp_path)
    here = tmp_path / "here.json"
    here.write_text(_cli(["detect", "--json", "--offline"], env).stdout, encoding="utf-8")
    gpu = REPO / "tests" / "fixtures" / "reports" / "linux-h100.json"
    made = tmp_path / "made"
    done = _cli(["bundle", "--for", str(here), "--for", str(gpu), "--torch-source", str(mixed), "--python", "3.11",
                 "--torch", "2.13.0", "--out", str(made)], env)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((made / "bundle.json").read_text())
    targets = {t["name"]: t for t in manifest["targets"]}
    assert set(targets) == {"linux-x86_64-py311-cpu", "linux-x86_64-py311-cu126"}
    cpu, cuda = targets["linux-x86_64-py311-cpu"], targets["linux-x86_64-py311-cu126"]
    assert "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl" in cpu["wheels"]
    assert cuda["wheels"] == ["torch-2.13.0+cu126-cp311-cp311-manylinux_2_28_x86_64.whl"]
    wheels = sorted(p.name for p in (made / "wheels").iterdir())
    assert len(wheels) == len(set(wheels)) == len(set(cpu["wheels"]) | set(cuda["wheels"]))
    for target in (cpu, cuda):  # each lock names exactly the target's wheels, hashed in the manifest
        locked = read_lock(made / target["lock"])
        assert {p.name for p in locked} == {w.split("-")[0].lower().replace("_", "-") for w in target["wheels"]}
        for wheel in target["wheels"]:
            assert manifest["files"][f"wheels/{wheel}"]["sha256"]
        assert (made / target["requirements"]).read_text().count("--hash=sha256:") == len(locked)
    # the recorded GPU machine gets the CUDA target; this machine (no GPU) gets the CPU one and installs it
    picked, _ = bundle.pick_target(bundle.targets_of(manifest), SystemReport.load(str(gpu)), "cu126")
    assert picked is not None and picked.backend == "cu126"
    installed_at = tmp_path / "env"
    done = _cli(["install", "--bundle", str(made), "--env", str(installed_at), "--yes"], env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "target linux-x86_64-py311-cpu" in done.stdout
    assert _installed(installed_at)["torch"] == "2.13.0+cpu"
