"""The verify probe's bytecode cache (--bytecode-cache), run for real: a venv made with `python -m venv`, a
stand-in `torch` package in its site-packages, the probe as a child process. What is attacked: a changed
source must never run old bytecode, a .pyc already there is never replaced, the cache is refused when
other users could write to it, and two probes at once both finish and both add to the index."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

import pytest

from installer.core import paths
from installer.core.verify import MARKER

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX venv layout and permissions")

MODULES = {
    "torch/__init__.py": "from torch._version import VERSION as __version__\nfrom torch import _helpers\n",
    "torch/_version.py": "VERSION = '9.9.9'\n",
    "torch/_helpers.py": "def double(x):\n    return 2 * x\n" + "".join(f"C{i} = {i}\n" for i in range(50)),
    "torch/empty/__init__.py": "",
    "other/__init__.py": "",  # same (empty) source as torch/empty: one object in the cache
}


def make_env(root: Path, sources: dict[str, str] = MODULES) -> Path:
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    site = next((root / "lib").glob("python3*/site-packages"))
    for rel, text in sources.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    (site / "torch" / "__init__.py").write_text(
        sources["torch/__init__.py"] + "import torch.empty\nimport other\n", encoding="utf-8")
    return site


def probe(env: Path, cache: Path, **extra: str) -> dict[str, Any]:
    argv = [str(env / "bin" / "python"), str(paths.resource("verify_probe.py")), "--json", "--bench-seconds", "0",
            "--bytecode-cache", str(cache)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **extra})  # the probe writes it anyway
    assert MARKER in out.stdout, out.stderr
    data: dict[str, Any] = json.loads(out.stdout.split(MARKER, 1)[1])
    return data


def pyc(site: Path, rel: str) -> Path:
    return Path(importlib.util.cache_from_source(str(site / rel)))


def objects(cache: Path) -> list[Path]:
    return sorted(cache.glob("*/objects/*/*.pyc"))


def test_first_env_fills_the_cache_and_the_next_one_imports_from_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    site_a = make_env(tmp_path / "a")
    first = probe(tmp_path / "a", cache)
    assert first["torch"] == "9.9.9"
    assert first["bytecode"]["seeded"] == 0 and first["bytecode"]["skipped"] is None
    # five modules, two of them with the same (empty) source: four objects
    assert first["bytecode"]["stored"] == 4 and len(objects(cache)) == 4
    index = next(cache.glob("*/modules.txt")).read_text(encoding="utf-8").split()
    assert sorted(index) == sorted(MODULES)
    for obj in objects(cache):
        data = obj.read_bytes()
        assert data[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(data[4:8], "little") == 0b11
    assert (cache.stat().st_mode & 0o777) == 0o700

    time.sleep(1.1)  # the second env's sources get other mtimes: only their content may match
    site_b = make_env(tmp_path / "b")
    assert not pyc(site_b, "torch/_helpers.py").exists()
    second = probe(tmp_path / "b", cache)
    assert second["bytecode"]["seeded"] == 5 and second["bytecode"]["stored"] == 0
    assert second["ok"] is False  # the stand-in is no torch; the verdict does not depend on the cache
    assert second["torch"] == "9.9.9"
    seeded = pyc(site_b, "torch/_helpers.py").read_bytes()
    assert int.from_bytes(seeded[4:8], "little") == 0b11  # still the cache's file: Python accepted it
    source_hash = importlib.util.source_hash((site_b / "torch/_helpers.py").read_bytes())
    assert seeded[8:16] == source_hash
    assert pyc(site_a, "torch/_helpers.py").read_bytes()[16:] == seeded[16:]  # the same code
    # readable like the source (a shared environment stays usable); the cache's own copies stay private
    source_mode = (site_b / "torch/_helpers.py").stat().st_mode & 0o666
    assert pyc(site_b, "torch/_helpers.py").stat().st_mode & 0o777 == source_mode
    assert all(o.stat().st_mode & 0o777 == 0o600 for o in objects(cache))


def test_changed_source_never_runs_cached_bytecode(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    make_env(tmp_path / "a")
    probe(tmp_path / "a", cache)
    changed = dict(MODULES, **{"torch/_version.py": "VERSION = '1.0.0-changed'\n"})
    site = make_env(tmp_path / "b", changed)
    result = probe(tmp_path / "b", cache)
    assert result["torch"] == "1.0.0-changed"
    assert result["bytecode"]["seeded"] == 4 and result["bytecode"]["stored"] == 1
    # even a cached file planted under the changed module's name is rejected by Python's hash check
    site_c = make_env(tmp_path / "c", changed)
    old = next(o for o in objects(cache) if b"9.9.9" in o.read_bytes())
    target = pyc(site_c, "torch/_version.py")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(old.read_bytes())
    assert probe(tmp_path / "c", cache)["torch"] == "1.0.0-changed"
    assert site.is_dir()


def test_a_pyc_already_there_is_kept(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    make_env(tmp_path / "a")
    probe(tmp_path / "a", cache)
    site = make_env(tmp_path / "b")
    import py_compile

    mine = pyc(site, "torch/_helpers.py")
    py_compile.compile(str(site / "torch/_helpers.py"), cfile=str(mine),
                       invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    before = mine.read_bytes()
    result = probe(tmp_path / "b", cache)
    assert result["bytecode"]["seeded"] == 4
    assert mine.read_bytes() == before and int.from_bytes(before[4:8], "little") == 0


def test_cache_others_can_write_is_not_used(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    make_env(tmp_path / "a")
    probe(tmp_path / "a", cache)
    cache.chmod(0o777)
    site = make_env(tmp_path / "b")
    result = probe(tmp_path / "b", cache)
    assert result["bytecode"]["seeded"] == 0 and result["bytecode"]["stored"] == 0
    assert "can be written by other users" in result["bytecode"]["skipped"]
    assert result["torch"] == "9.9.9"
    assert int.from_bytes(pyc(site, "torch/_helpers.py").read_bytes()[4:8], "little") == 0  # compiled here


def test_cache_behind_a_link_is_not_used(tmp_path: Path) -> None:
    real = tmp_path / "real-cache"
    real.mkdir(mode=0o700)
    link = tmp_path / "cache"
    link.symlink_to(real)
    make_env(tmp_path / "a")
    result = probe(tmp_path / "a", link)
    assert "is not a plain folder" in result["bytecode"]["skipped"]
    assert list(real.iterdir()) == []


def test_two_probes_at_once_both_finish_and_both_add(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    extra_a = dict(MODULES, **{"torch/only_a.py": "A = 1\n"})
    extra_b = dict(MODULES, **{"torch/only_b.py": "B = 1\n"})
    extra_a["torch/__init__.py"] += "from torch import only_a\n"
    extra_b["torch/__init__.py"] += "from torch import only_b\n"
    make_env(tmp_path / "a", extra_a)
    make_env(tmp_path / "b", extra_b)
    argv = [paths.resource("verify_probe.py"), "--json", "--bench-seconds", "0", "--bytecode-cache", str(cache)]
    procs = [subprocess.Popen([str(tmp_path / e / "bin" / "python"), *map(str, argv)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for e in ("a", "b")]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    for out in outs:
        data = json.loads(out.split(MARKER, 1)[1])
        assert data["torch"] == "9.9.9" and data["bytecode"]["skipped"] is None
    index = set(next(cache.glob("*/modules.txt")).read_text(encoding="utf-8").split())
    # each run writes what it read plus what it saw; at least one of them saw its own module land
    assert {"torch/only_a.py", "torch/only_b.py"} & index
    assert not list(cache.glob("*/objects/*/.tmp-*")) and not list(cache.glob("*/.tmp-*"))


@pytest.mark.parametrize("variable", ["PYTHONPYCACHEPREFIX", "PYTHONOPTIMIZE"])
def test_bytecode_kept_elsewhere_or_optimised_is_left_alone(tmp_path: Path, variable: str) -> None:
    cache = tmp_path / "cache"
    make_env(tmp_path / "a")
    probe(tmp_path / "a", cache)
    stored = objects(cache)
    make_env(tmp_path / "b")
    value = str(tmp_path / "prefix") if variable == "PYTHONPYCACHEPREFIX" else "1"
    result = probe(tmp_path / "b", cache, **{variable: value})
    assert result["bytecode"]["seeded"] == 0 and result["bytecode"]["stored"] == 0
    assert result["bytecode"]["skipped"] and result["torch"] == "9.9.9"
    assert objects(cache) == stored


def test_a_forged_index_cannot_write_outside_site_packages(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    make_env(tmp_path / "a")
    probe(tmp_path / "a", cache)
    site = make_env(tmp_path / "b")
    outside = site.parent / "outside.py"  # lib/python3.X/outside.py: not under site-packages
    outside.write_text("X = 1\n", encoding="utf-8")
    import hashlib
    import py_compile

    compiled = Path(py_compile.compile(str(outside), cfile=str(tmp_path / "x.pyc"),
                                       invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH))
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    obj = next(cache.glob("*/objects")) / digest[:2] / f"{digest}.pyc"
    obj.parent.mkdir(mode=0o700, exist_ok=True)
    obj.write_bytes(compiled.read_bytes())
    index = next(cache.glob("*/modules.txt"))
    index.write_text(index.read_text(encoding="utf-8") + f"../outside.py\n{outside}\n", encoding="utf-8")
    result = probe(tmp_path / "b", cache)
    assert result["bytecode"]["seeded"] == 5 and result["bytecode"]["skipped"] is None
    assert not (site.parent / "__pycache__").exists()


def test_a_full_disk_under_the_cache_costs_the_cache_not_the_verdict(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k,mode=0700", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        big = dict(MODULES, **{"torch/_big.py": "DATA = [\n" + "".join(f"    {i} * 3,\n" for i in range(8000)) + "]\n"})
        big["torch/__init__.py"] += "from torch import _big\n"
        make_env(tmp_path / "a", big)
        cache = mount / "cache"
        result = probe(tmp_path / "a", cache)
        assert result["torch"] == "9.9.9"
        assert "No space left" in (result["bytecode"]["skipped"] or "")
        assert not [p for p in cache.rglob("*") if ".tmp" in p.name]  # no half-written file left behind
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_cache_stops_growing_and_says_how_to_start_afresh(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    make_env(tmp_path / "a")
    probe(tmp_path / "a", cache)
    index = next(cache.glob("*/modules.txt"))
    index.write_text(index.read_text(encoding="utf-8") + "".join(f"other/m{i}.py\n" for i in range(20000)),
                     encoding="utf-8")
    before = objects(cache)
    changed = dict(MODULES, **{"torch/_version.py": "VERSION = '1.0.0-changed'\n"})
    make_env(tmp_path / "b", changed)
    result = probe(tmp_path / "b", cache)
    assert result["torch"] == "1.0.0-changed"
    assert result["bytecode"]["seeded"] == 4 and result["bytecode"]["stored"] == 0  # still read, no longer grown
    assert "is full" in result["bytecode"]["skipped"] and str(cache) in result["bytecode"]["skipped"]
    assert objects(cache) == before
