"""Install-time benchmark (not a test): torch-setup's uv engine (warm cache) and pip engine, next to a
plain `python -m venv` + `pip install torch==2.13.0`, each into a fresh folder.

    .venv/bin/python benchmarks/bench_install.py [--repeat N] [--wheels DIR] [--python PYTHON3.11]

Times are wall-clock seconds from nothing to an environment with torch importable; torch-setup's
figures are given without its verification step (which the plain path does not have) and with it.

"Warm caches" is the second and later environment on a machine: uv's cache holds the wheels and Torch
Setup's bytecode cache the modules the first verification compiled. The first environment's figure
(an empty bytecode cache: every import-time module of torch is compiled during verification) is
given too.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from installer.core.events import Event  # noqa: E402
from installer.core.plan import Choices, Plan, Step  # noqa: E402
from installer.core.runner import Runner  # noqa: E402

TORCH = "2.13.0"


def find_python311() -> str:
    for candidate in [shutil.which("python3.11"),
                      *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.11*/bin/python3.11")), reverse=True)]:
        if candidate:
            return candidate
    sys.exit("no Python 3.11 found; pass --python")


def find_wheels() -> str:
    folder = os.environ.get("TORCH_SETUP_TEST_WHEELS")
    if not folder:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.find-links"],
                             capture_output=True, text=True)
        folder = out.stdout.strip().split()[0] if out.returncode == 0 and out.stdout.strip() else ""
    if not folder or not glob.glob(os.path.join(folder, f"torch-{TORCH}*.whl")):
        sys.exit("no folder with the torch wheel found; pass --wheels or set TORCH_SETUP_TEST_WHEELS")
    return folder


def make_plan(engine: str, env: Path, python: str, wheels: str) -> Plan:
    """The plan `torch-setup install` would run: from the planner when it is there."""
    try:
        from installer.core import planner  # type: ignore[attr-defined,unused-ignore]
        from installer.core.catalog import Catalog
        from installer.core.detect import detect
        from installer.core.uvbin import uv_executable
    except ImportError:
        planner = None
    if planner is not None:
        choices = Choices(method="pip", engine=engine, torch=TORCH, backend="cpu", python=python, env=str(env),
                          torch_source=wheels, yes=True)
        return planner.make_plan(detect(offline=True), choices, Catalog.load(), uv=uv_executable())
    from uv import find_uv_bin

    uv = find_uv_bin()
    py = str(env / "bin" / "python")
    if engine == "uv":
        steps = [Step("venv", [uv, "venv", "--python", python, str(env)], kind="venv"),
                 Step("install", [uv, "pip", "install", "--python", py, "--find-links", wheels, f"torch=={TORCH}"],
                      kind="install")]
    else:
        steps = [Step("venv", [python, "-m", "venv", str(env)], kind="venv"),
                 Step("install", [py, "-m", "pip", "install", "--find-links", wheels, f"torch=={TORCH}"],
                      kind="install")]
    steps.append(Step("verify", [py, "-c", "import torch; print(torch.__version__)"], kind="verify"))
    return Plan(method="pip", backend="cpu", torch=TORCH, python="3.11", env=str(env), steps=steps, engine=engine)


def torch_setup(engine: str, root: Path, python: str, wheels: str, home: str | None = None) -> tuple[float, float]:
    """(seconds without the verify step, seconds in all) for one torch-setup run; `home` a fresh
    TORCH_SETUP_HOME (empty bytecode cache) instead of the benchmark's shared one."""
    shared = os.environ["TORCH_SETUP_HOME"]
    if home:
        os.environ["TORCH_SETUP_HOME"] = home
    env = root / f"ts-{engine}-{time.monotonic_ns()}"
    plan = make_plan(engine, env, python, wheels)

    def quiet(_event: Event) -> None:
        pass

    t0 = time.perf_counter()
    result = Runner(plan, quiet).run()
    total = time.perf_counter() - t0
    os.environ["TORCH_SETUP_HOME"] = shared
    if not result.ok:
        sys.exit(f"torch-setup ({engine}) failed: {result.message} (log: {result.log_path})")
    verify = sum(s for name, s in result.step_seconds.items()
                 if any(step.kind == "verify" and step.name == name for step in plan.steps))
    shutil.rmtree(env)
    return total - verify, total


def plain(root: Path, python: str) -> float:
    """python -m venv + pip install torch==2.13.0, as a person would type it (pip's config finds the wheel)."""
    env = root / f"plain-{time.monotonic_ns()}"
    t0 = time.perf_counter()
    subprocess.run([python, "-m", "venv", str(env)], check=True)
    subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", f"torch=={TORCH}"], check=True)
    subprocess.run([str(env / "bin" / "python"), "-c", "import torch"], check=True)
    seconds = time.perf_counter() - t0
    shutil.rmtree(env)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python", default=None)
    parser.add_argument("--wheels", default=None)
    args = parser.parse_args()
    python = args.python or find_python311()
    wheels = args.wheels or find_wheels()
    os.environ.setdefault("TORCH_SETUP_HOME", tempfile.mkdtemp(prefix="bench-ts-home-"))
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        root = Path(tmp)
        print(f"Python {python}; wheels {wheels}; {args.repeat} runs each; {os.cpu_count()} CPUs", flush=True)
        print("warming uv's cache (one untimed run) …", flush=True)
        torch_setup("uv", root, python, wheels)
        rows: dict[str, list[float]] = {"torch-setup, uv engine (warm caches)": [], "  … with verification": [],
                                        "  … first env (empty bytecode cache)": [],
                                        "torch-setup, pip engine": [], "  … with verification ": [],
                                        "plain venv + pip install": []}
        for _ in range(args.repeat):
            a, b = torch_setup("uv", root, python, wheels)
            rows["torch-setup, uv engine (warm caches)"].append(a)
            rows["  … with verification"].append(b)
            _, b = torch_setup("uv", root, python, wheels, home=tempfile.mkdtemp(prefix="cold-home-", dir=root))
            rows["  … first env (empty bytecode cache)"].append(b)
            a, b = torch_setup("pip", root, python, wheels)
            rows["torch-setup, pip engine"].append(a)
            rows["  … with verification "].append(b)
            rows["plain venv + pip install"].append(plain(root, python))
        base = statistics.median(rows["plain venv + pip install"])
        print(f"\n{'path':40} {'median s':>9} {'min s':>7} {'x plain':>8}")
        for name, values in rows.items():
            med = statistics.median(values)
            print(f"{name:40} {med:9.1f} {min(values):7.1f} {med / base:8.2f}")


if __name__ == "__main__":
    main()
