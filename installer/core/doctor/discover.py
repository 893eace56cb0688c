"""Every environment a user could mean when they say "my PyTorch": found in parallel, each within a deadline.

Interpreter discovery is detection's (installer.core.detect.pythons: PATH, pyenv, conda's prefixes and
environments.txt); this adds the places people keep virtual environments (home, project folders given
by the user, Jupyter kernels' interpreters, the environments Torch Setup made).
"""

from __future__ import annotations

import glob
import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from installer.core import paths, safepath
from installer.core.detect import pythons
from installer.core.doctor.inspect import EnvFacts, inspect_env, python_in

# Folder names people give a project's environment.
PROJECT_ENV_NAMES = (".venv", "venv", "env", ".env", "virtualenv")
HOME_ENV_FOLDERS = (".virtualenvs", "venvs", ".venvs", "envs", "torch-envs", ".local/share/virtualenvs")


def env_dir_of(executable: str) -> Path:
    """The environment (prefix) an interpreter belongs to: <env>/bin/python, <env>\\Scripts\\python.exe,
    <conda prefix>\\python.exe."""
    exe = Path(executable).absolute()
    if exe.parent.name.lower() in ("bin", "scripts"):
        return exe.parent.parent
    return exe.parent


def _is_env(folder: Path) -> bool:
    return python_in(folder) is not None and ((folder / "pyvenv.cfg").is_file() or (folder / "conda-meta").is_dir())


def envs_under(folder: str | Path) -> list[Path]:
    """A folder the user names: an environment itself, or a project holding one (.venv, venv, env...)."""
    folder = Path(folder).expanduser().absolute()
    if _is_env(folder) or (python_in(folder) is not None and folder.is_dir()):
        return [folder]
    return [folder / name for name in PROJECT_ENV_NAMES if _is_env(folder / name)]


def jupyter_kernel_pythons(home: str) -> list[str]:
    """The interpreters Jupyter kernels start (kernel.json argv[0]), in the user's and the system's kernel folders."""
    dirs = [os.path.join(home, ".local", "share", "jupyter", "kernels"),
            os.path.join(home, "Library", "Jupyter", "kernels"),
            os.path.join(os.environ.get("APPDATA", home), "jupyter", "kernels"),
            "/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels"]
    found = []
    for d in dirs:
        for spec in sorted(glob.glob(os.path.join(d, "*", "kernel.json"))):
            try:
                argv = json.loads(Path(spec).read_text(encoding="utf-8")).get("argv") or []
            except (OSError, ValueError):
                continue
            if argv and isinstance(argv[0], str) and os.path.isabs(argv[0]):
                found.append(argv[0])
    return found


def torch_setup_envs(extra_roots: Iterable[str | Path] = ()) -> list[Path]:
    """Folders carrying Torch Setup's marker under the default environments folder (and extra roots)."""
    from installer.core.journal import read_marker

    out = []
    for root in [paths.default_env_root(), *[Path(r) for r in extra_roots]]:
        try:
            children = sorted(p for p in Path(root).iterdir() if p.is_dir())
        except OSError:
            continue
        out += [child for child in children if read_marker(child) is not None]
    return out


def candidate_envs(given: Iterable[str | Path] = (), *, home: str | None = None, scan: bool = True,
                   roots: pythons.SearchRoots | None = None) -> list[tuple[Path, str, str | None]]:
    """(environment folder, where it was found, its interpreter when discovery knew it) without duplicates,
    the folders the user gave first."""
    found: list[tuple[Path, str, str | None]] = []
    seen: set[str] = set()

    def add(folder: Path, source: str, exe: str | None = None) -> None:
        k = safepath.key(folder)
        if k not in seen:
            seen.add(k)
            found.append((folder, source, exe))

    for item in given:
        item_path = Path(item).expanduser()
        if item_path.is_file():  # an interpreter
            add(env_dir_of(str(item_path.absolute())), "given", str(item_path.absolute()))
            continue
        envs = envs_under(item_path)
        for env in envs or [item_path.absolute()]:
            add(env, "given")
    if not scan:
        return found
    for env in torch_setup_envs():
        add(env, "torch-setup")
    roots = roots or pythons.SearchRoots.from_environment()
    home = home or roots.home
    active = roots.env.get("VIRTUAL_ENV")
    if active:
        add(Path(active), "active")
    for name in PROJECT_ENV_NAMES:
        if _is_env(Path(home, name)):
            add(Path(home, name), "home")
    for sub in HOME_ENV_FOLDERS:
        for child in sorted(glob.glob(os.path.join(home, sub, "*"))):
            if _is_env(Path(child)):
                add(Path(child), "home")
    for cand in pythons.conda_candidates(roots):
        add(env_dir_of(cand.path), "conda", cand.path)
    for cand in pythons.pyenv_candidates(roots):
        add(env_dir_of(cand.path), "pyenv", cand.path)
    for exe in jupyter_kernel_pythons(home):
        add(env_dir_of(exe), "jupyter", exe)
    on_path, _shims = pythons.path_candidates(roots)
    for cand in on_path:
        real = os.path.realpath(cand.path)
        add(env_dir_of(real), "PATH", real)
    return found


def find_envs(given: Iterable[str | Path] = (), *, scan: bool = True, timeout: float = 30.0,
              home: str | None = None) -> list[EnvFacts]:
    """Inspect every candidate environment in parallel; one that does not answer within the deadline is
    listed as such, never waited for."""
    candidates = candidate_envs(given, home=home, scan=scan)
    deadline = time.monotonic() + timeout
    results: list[EnvFacts] = []
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="doctor-inspect") as pool:
        futures = [pool.submit(inspect_env, folder, source, max(1.0, timeout - 1.0), exe)
                   for folder, source, exe in candidates]
        wait(futures, timeout=max(0.1, deadline - time.monotonic()))
        for fut, (folder, source, exe) in zip(futures, candidates, strict=True):
            if fut.done():
                results.append(fut.result())
            else:
                fut.cancel()
                results.append(EnvFacts(path=str(folder), python_executable=exe or str(folder), source=source,
                                        ok=False, problem=f"not checked: it did not answer within {timeout:g} s"))
    # One interpreter reached through two routes (a conda prefix also on PATH) is listed once.
    unique: dict[str, EnvFacts] = {}
    for facts in results:
        unique.setdefault(safepath.key(facts.path), facts)
    return list(unique.values())
