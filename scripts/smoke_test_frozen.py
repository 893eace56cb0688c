"""Smoke test of the frozen app, run in a scrubbed environment (no venv, no PYTHONPATH, PATH=/usr/bin:/bin).

    python scripts/smoke_test_frozen.py [BINARY] [--quick] [--wheels DIR] [--python PATH]

BINARY: dist/torch-setup (Linux, default), "dist/Torch Setup.app" or dist/torch-setup (Windows folder).
Checks: `--version`; `detect --json` parses and lists no interpreter inside the bundle; `gui --self-test`
offscreen paints and reports first_paint_s; then (not with --quick) a real unattended install of torch
2.13.0 CPU through a system Python 3.11 from a local wheel folder, with its dependencies from the
default index (no --index-url: the app must trust what the OS trusts), and `import torch` in the result.
The wheel folder: --wheels, else $TORCH_SETUP_TEST_WHEELS, else `pip config get global.find-links`.
Exit 0 when every check passed; each check prints one line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH_VERSION = "2.13.0"
IS_WIN = sys.platform == "win32"


class SmokeFailure(Exception):
    pass


def app_executables(binary: Path) -> tuple[Path, Path]:
    """(the executable for CLI checks, the one for the GUI self-test)."""
    if binary.suffix == ".app":
        exe = binary / "Contents" / "MacOS" / "torch-setup"
        return exe, exe
    if binary.is_dir():
        # Windows onedir: the console twin prints (a windowed exe may have no stdout); same code and bundle.
        exe = binary / ("torch-setup-cli.exe" if IS_WIN else "torch-setup")
        return exe, exe
    return binary, binary


def scrubbed_env(home: Path) -> dict[str, str]:
    """Like `env -i HOME=… PATH=/usr/bin:/bin`: nothing of the build venv or the CI's Python reaches the app."""
    env = {"HOME": str(home), "LANG": "C.UTF-8", "TORCH_SETUP_HOME": str(home / "torch-setup")}
    if IS_WIN:  # Windows needs these to start any program at all
        for key in ("SYSTEMROOT", "WINDIR", "TEMP", "TMP", "USERPROFILE", "LOCALAPPDATA", "APPDATA",
                    "PROGRAMDATA", "PROGRAMFILES", "COMSPEC", "NUMBER_OF_PROCESSORS", "PROCESSOR_ARCHITECTURE"):
            if key in os.environ:
                env[key] = os.environ[key]
        system_root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        env["PATH"] = os.pathsep.join([system_root + r"\System32", system_root])
    else:
        env["PATH"] = "/usr/bin:/bin"
    return env


def run(argv: list[str], env: dict[str, str], timeout: float, what: str) -> subprocess.CompletedProcess[str]:
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, encoding="utf-8", errors="replace",
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise SmokeFailure(f"{what}: no answer within {timeout:g} s") from exc
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stdout[-2000:] + "\n" + done.stderr[-3000:]).strip()
        raise SmokeFailure(f"{what}: exit {done.returncode} after {seconds:.1f} s\n{tail}")
    print(f"ok   {what} ({seconds:.1f} s)")
    return done


def last_json_line(text: str, what: str) -> dict:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    raise SmokeFailure(f"{what}: no JSON object in the output:\n{text[-2000:]}")


def expected_version() -> str:
    text = (ROOT / "installer" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.M)
    if not match:
        raise SmokeFailure("installer/__init__.py has no __version__")
    return match.group(1)


def check_version(cli: Path, env: dict[str, str]) -> None:
    done = run([str(cli), "--version"], env, 60, "--version")
    want = f"torch-setup {expected_version()}"
    if done.stdout.strip() != want:
        raise SmokeFailure(f"--version printed {done.stdout.strip()!r}, expected {want!r}")


def check_detect(cli: Path, env: dict[str, str], binary: Path) -> dict:
    done = run([str(cli), "detect", "--json"], env, 120, "detect --json")
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise SmokeFailure(f"detect --json is not JSON: {exc}\n{done.stdout[:1000]}") from exc
    for key in ("schema_version", "os", "gpus", "pythons", "tools", "probes"):
        if key not in report:
            raise SmokeFailure(f"detect --json lacks {key!r}")
    if report["os"].get("name") not in ("linux", "windows", "macos"):
        raise SmokeFailure(f"detect --json: odd os.name {report['os'].get('name')!r}")
    # The frozen app is not Python: neither it nor anything unpacked from it may be offered as an interpreter.
    bundle = str(binary.resolve())
    for py in report["pythons"]:
        exe = str(py.get("executable", ""))
        if exe.startswith(bundle) or "_MEI" in exe or "torch-setup" in Path(exe).name:
            raise SmokeFailure(f"detect --json lists the app itself as a Python: {exe}")
    failed = [p["name"] for p in report["probes"] if p.get("error")]
    print(f"     {len(report['pythons'])} Python(s), {len(report['gpus'])} GPU(s); probes with errors: {failed or 'none'}")
    return report


def check_self_test(gui: Path, env: dict[str, str]) -> dict:
    env = dict(env, QT_QPA_PLATFORM="offscreen")
    done = run([str(gui), "gui", "--self-test"], env, 180, "gui --self-test (offscreen)")
    result = last_json_line(done.stdout, "gui --self-test")
    if result.get("first_paint_s") is None or result.get("error"):
        raise SmokeFailure(f"gui --self-test did not paint cleanly: {result}")
    print(f"     first_paint_s={result['first_paint_s']} detect_s={result.get('detect_s')}")
    return result


def find_wheels(arg: str | None) -> Path | None:
    for value in (arg, os.environ.get("TORCH_SETUP_TEST_WHEELS")):
        if value:
            return Path(value)
    pip = shutil.which("pip") or shutil.which("pip3")
    if pip:
        done = subprocess.run([pip, "config", "get", "global.find-links"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            return Path(done.stdout.split()[0])
    return None


def check_install(cli: Path, env: dict[str, str], work: Path, python: str, wheels: Path | None) -> None:
    """torch from the wheel folder, its dependencies from the default index: no --index-url, no certificate
    or pip variables, so the app must trust the OS's store as a double-clicked app on a company network must."""
    target = work / "env"
    argv = [str(cli), "install", "--torch", TORCH_VERSION, "--backend", "cpu", "--python", python,
            "--env", str(target), "--yes", "--json-events"]
    if wheels is not None:
        argv += ["--torch-source", str(wheels)]
    done = run(argv, env, 1800, f"install torch {TORCH_VERSION} (cpu) with {python}")
    events = []
    for line in done.stdout.splitlines():
        if line.strip():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise SmokeFailure(f"--json-events printed a line that is not JSON: {line[:200]}") from exc
    if not events:
        raise SmokeFailure("install --json-events printed no events")
    env_python = target / ("Scripts/python.exe" if IS_WIN else "bin/python")
    probe = ("import sys, torch; print(torch.__version__); print(sys.base_prefix)")
    done = run([str(env_python), "-c", probe], env, 300, "import torch in the new environment")
    version, base_prefix = [*done.stdout.strip().splitlines(), "", ""][:2]
    if not version.startswith(TORCH_VERSION):
        raise SmokeFailure(f"the new environment has torch {version!r}, expected {TORCH_VERSION}")
    if "_MEI" in base_prefix or str(cli.parent) in base_prefix:
        raise SmokeFailure(f"the new environment was built on the app's own runtime: {base_prefix}")
    print(f"     {len(events)} events; torch {version} on {base_prefix}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", nargs="?", type=Path, default=ROOT / "dist" / "torch-setup")
    parser.add_argument("--quick", action="store_true", help="skip the real install (macOS/Windows CI)")
    parser.add_argument("--wheels", help="folder with the torch wheel (default: see above)")
    parser.add_argument("--python", default="/usr/bin/python3.11", help="interpreter to build the env on")
    args = parser.parse_args(argv)
    binary = args.binary
    if not binary.exists():
        print(f"FAIL {binary} does not exist; build it first: pyinstaller --noconfirm build.spec", file=sys.stderr)
        return 1
    cli, gui = app_executables(binary)
    with tempfile.TemporaryDirectory(prefix="torch-setup-smoke-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        env = scrubbed_env(work / "home")
        try:
            check_version(cli, env)
            windowed = binary / "torch-setup.exe"
            if IS_WIN and windowed.is_file():  # the double-click exe must start too (exit code only)
                run([str(windowed), "--version"], env, 60, "torch-setup.exe --version (windowed)")
            check_detect(cli, env, binary)
            check_self_test(gui, env)
            if not args.quick:
                if not Path(args.python).exists():
                    raise SmokeFailure(f"{args.python} does not exist; pass --python or --quick")
                check_install(cli, env, work, args.python, find_wheels(args.wheels))
        except SmokeFailure as exc:
            print(f"FAIL {exc}", file=sys.stderr)
            return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
