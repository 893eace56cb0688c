"""`torch-setup install --method source` end to end, through the real CLI as a child process.

PyTorch's repository cannot be fetched here, so each test makes a small local git repository from
tests/fixtures/source-build (see its README): a package built the way PyTorch is built (setup.py runs CMake
with the Ninja generator; `pip install --no-build-isolation -v .`), which really compiles 39 C++ files and
links a library, printing ninja's "[n/40]" lines. It is not PyTorch and installs no `torch`, so the honest
outcome is exit 3: every install step worked, and the final check says `import torch` fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
from cli_run import CliRun, cli_env, run_install

from installer.core.journal import read_marker

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform == "win32", reason="POSIX build fixture")]

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "source-build"
VERSION = "2.13.0"
CLONE = "Download the PyTorch source"
DEPS = "Install the build dependencies"
BUILD = "Build and install PyTorch"


def make_source_repo(root: Path, hold_after_first_compile: bool = False) -> Path:
    """A git repository with the fixture committed and tagged v2.13.0 (the planner clones --branch v<version>)."""
    repo = root / "fixture-repo"
    shutil.copytree(FIXTURE, repo, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    if hold_after_first_compile:
        (repo / "hold-after-first-compile").write_text("see CMakeLists.txt\n")
    git = ["git", "-c", "user.name=Torch Setup tests", "-c", "user.email=tests@invalid", "-c",
           "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "source-build fixture"],
                 ["tag", f"v{VERSION}"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True, timeout=60)
    return repo


def build_tools_or_skip() -> None:
    missing = [t for t in ("git", "cmake", "ninja", "c++") if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the source-method tests need {', '.join(missing)} in CI")
        pytest.skip(f"the source-method tests need {', '.join(missing)}")


def real_executable(python: str) -> str:
    """The interpreter itself, not a pyenv shim in front of it."""
    done = subprocess.run([python, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def source_install(tmp_path: Path, python: str, repo: str, target: Path, json_events: bool = True,
                   on_event: Any = None) -> CliRun:
    build_tools_or_skip()
    args = ["--method", "source", "--torch", VERSION, "--backend", "cpu", "--python", real_executable(python),
            "--env", str(target), "--source-repo", repo]
    return run_install(args, cli_env(tmp_path), tmp_path / "r.json", on_event=on_event, json_events=json_events)


def test_source_build_installs_and_verify_says_no_torch(tmp_path: Path, python311: str) -> None:
    repo = make_source_repo(tmp_path)
    target = tmp_path / "srcenv"
    # file:// makes git use its transport, so the shallow clone and its progress are real (a plain folder
    # is hard-linked, and git ignores --depth for it)
    run = source_install(tmp_path, python311, repo.as_uri(), target)
    assert run.returncode == 3, run.tail()
    assert run.report is not None and run.report["exit_code"] == 3

    # the plan: a shallow recursive clone of the tag, the checkout's requirements.txt, pip without isolation
    clone = run.step_argv(CLONE)
    assert clone[1:3] == ["clone", "--recursive"] and "--progress" in clone
    assert clone[clone.index("--branch") + 1] == f"v{VERSION}" and repo.as_uri() in clone
    checkout = Path(clone[-1])
    assert checkout == target / "src" / "pytorch"
    assert run.step_argv(DEPS)[-2:] == ["-r", str(checkout / "requirements.txt")]
    build_step = next(s for s in run.report["plan"]["steps"] if s["name"] == BUILD)
    assert build_step["argv"][1:] == ["-m", "pip", "install", "--no-build-isolation", "-v", "."]
    assert build_step["env"]["USE_CUDA"] == "0" and build_step["cwd"] == str(checkout)

    # every install step worked; only the final check failed
    finished = run.finished()
    for name in (CLONE, DEPS, BUILD):
        assert finished[name]["ok"], (name, run.tail())
    assert not finished["Verify"]["ok"]

    # git's clone progress and ninja's build progress arrived as progress events
    index = {e["name"]: e["index"] for e in run.of_type("step-started")}
    clone_progress = [e for e in run.of_type("progress") if e["index"] == index[CLONE]]
    assert clone_progress and all(e["fraction"] is not None for e in clone_progress)
    ninja = [e for e in run.of_type("progress") if e["index"] == index[BUILD]]
    fractions = [e["fraction"] for e in ninja]
    assert len(ninja) == 40 and fractions == sorted(fractions) and fractions[-1] == 1.0, fractions
    assert ninja[0]["text"].startswith("[1/40] Building CXX object")
    assert ninja[-1]["text"].startswith("[40/40] Linking CXX shared library")
    overall = [e["overall"] for e in run.of_type("progress")]
    assert overall == sorted(overall) and 0 < overall[-1] < 1  # the verify step never completed the bar

    # the checkout stays in the environment, at the tag, marked as Torch Setup's; the build really installed
    assert (checkout / ".git").is_dir() and read_marker(checkout) is not None and read_marker(target) is not None
    head = subprocess.run(["git", "-C", str(checkout), "describe", "--tags"], capture_output=True, text=True,
                          timeout=60)
    assert head.stdout.strip() == f"v{VERSION}"
    py = target / "bin" / "python"
    built = subprocess.run([str(py), "-c", "import ninja_fixture, pathlib; "
                            "print(sorted(p.name for p in pathlib.Path(ninja_fixture.__file__).parent.iterdir()))"],
                           capture_output=True, text=True, timeout=60)
    assert "libninja_fixture.so" in built.stdout, built.stderr

    # the verify report says what is true: no torch in this environment
    verify = run.report["verify"]
    assert verify["ok"] is False and verify["torch"] is None
    failed = [c for c in verify["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["import torch"]
    assert "No module named 'torch'" in failed[0]["detail"]
    last = run.events[-1]
    assert last["type"] == "plan-finished" and not last["ok"] and last["failed_step"] == "Verify"
    assert "torch cannot be imported" in last["message"] and "No module named 'torch'" in last["message"]
    # whatever diagnosis is offered must not blame a GPU, a driver or the network for a missing package
    assert not {d["category"] for d in last["diagnoses"]} & {"cpu-build-on-gpu", "driver-too-old",
                                                               "gpu-arch-unsupported", "network"}
    assert last["rolled_back"] == [] and target.is_dir()


def test_source_failure_summary_for_a_person(tmp_path: Path, python311: str) -> None:
    """Without --json-events the CLI says what failed, without claiming PyTorch was installed."""
    repo = make_source_repo(tmp_path)
    target = tmp_path / "srcenv"
    run = source_install(tmp_path, python311, str(repo), target, json_events=False)
    assert run.returncode == 3, run.stdout[-3000:] + run.stderr
    assert "[40/40] Linking CXX shared library" in run.stdout
    assert "torch cannot be imported" in run.stderr and "No module named 'torch'" in run.stderr
    assert "PyTorch was installed" not in run.stderr
    assert f"The environment was kept: {target}" in run.stderr


def test_sigint_during_build(tmp_path: Path, python311: str) -> None:
    """Ctrl-C while ninja compiles: exit 130, the checkout and the env removed, no build process left."""
    repo = make_source_repo(tmp_path, hold_after_first_compile=True)
    target = tmp_path / "srcenv"
    tree: list[psutil.Process] = []
    names: set[str] = set()

    def on_event(event: dict[str, Any], proc: subprocess.Popen[str]) -> None:
        if event["type"] == "progress" and event["text"].startswith("[1/40]") and not tree:
            # the build is now busy: its other compiles wait in the fixture's launcher until stopped
            tree.extend(psutil.Process(proc.pid).children(recursive=True))
            for member in tree:
                try:
                    names.add(member.name())
                except psutil.Error:
                    pass
            proc.send_signal(signal.SIGINT)

    run = source_install(tmp_path, python311, str(repo), target, on_event=on_event)
    assert tree, "the first ninja progress event never came:\n" + run.tail()
    assert run.returncode == 130, run.tail()
    assert {"ninja", "cmake"} <= names, names  # it was cancelled in the middle of the build
    assert not target.exists(), "the environment (and the checkout inside it) was not removed"
    last = run.events[-1]
    assert last["type"] == "plan-finished" and last["cancelled"]
    assert any("pytorch" in line for line in last["rolled_back"]), last["rolled_back"]
    for child in tree:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, f"{child} is still running"
    # nothing started later (a compile, the launcher's sleep) survives either
    leftovers = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(p.info["cmdline"] or [])
        if str(tmp_path) in cmdline and p.pid != os.getpid():
            leftovers.append(f"{p.pid}: {cmdline}")
    assert not leftovers, leftovers

