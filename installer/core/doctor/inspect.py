"""What is installed in an environment, read from its distributions' metadata without importing torch.

The environment's own interpreter runs a short stdlib-only script (importlib.metadata sees exactly
what that interpreter would import, conda layouts and .pth tricks included); torch itself is never
imported here, so a broken CUDA build cannot hang or crash the inspection.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from installer.core import process, schema

MARKER = "TORCH_SETUP_ENV_FACTS "

# Runs under any Python 3.8+: names, versions, torch requirements and where each distribution lives.
SCRIPT = r"""
import json, sys, sysconfig
try:
    from importlib import metadata
except ImportError:
    metadata = None
dists = []
if metadata is not None:
    seen = set()
    for d in metadata.distributions():
        try:
            name = d.metadata["Name"]
        except Exception:
            name = None
        if not name:
            continue
        key = name.lower().replace("_", "-").replace(".", "-")
        if key in seen:
            continue
        seen.add(key)
        reqs = [r for r in (d.requires or []) if r.split(";")[0].strip().lower().replace("_", "-")
                .split("[")[0].split("=")[0].split("<")[0].split(">")[0].split("!")[0].split("~")[0]
                .strip() in ("torch", "torchvision", "torchaudio")]
        path = getattr(d, "_path", None)
        dists.append({"name": name, "version": d.version, "torch_requires": reqs,
                      "dist_info": str(path) if path else None})
print("TORCH_SETUP_ENV_FACTS " + json.dumps({
    "python": ".".join(str(x) for x in sys.version_info[:3]),
    "prefix": sys.prefix, "base_prefix": getattr(sys, "base_prefix", sys.prefix),
    "purelib": sysconfig.get_paths().get("purelib"), "platlib": sysconfig.get_paths().get("platlib"),
    "bits": 64 if sys.maxsize > 2**32 else 32, "dists": dists}))
"""


@dataclass
class Dist:
    name: str
    version: str
    torch_requires: list[str] = field(default_factory=list)  # its Requires-Dist lines that name the torch family
    dist_info: str | None = None  # the .dist-info (or .egg-info) folder

    @property
    def key(self) -> str:
        return canonical_name(self.name)


@dataclass
class ScriptAnswer:
    python: str
    prefix: str
    base_prefix: str
    purelib: str | None = None
    platlib: str | None = None
    bits: int = 64
    dists: list[Dist] = field(default_factory=list)


@dataclass
class EnvFacts:
    """One environment as found: its interpreter, and the torch family's installed versions."""

    path: str  # the environment's folder (prefix)
    python_executable: str
    kind: str = "venv"  # "venv" | "conda" | "interpreter" (a base Python) | "unknown"
    source: str = ""  # where discovery found it: "given", "home", "conda", "pyenv", "jupyter", "torch-setup", ...
    python: str | None = None  # "3.11.7"
    ok: bool = True  # the interpreter ran and answered
    problem: str | None = None
    site_packages: list[str] = field(default_factory=list)
    dists: list[Dist] = field(default_factory=list)
    marker: dict[str, Any] | None = None  # Torch Setup's marker, for the envs it made

    def dist(self, name: str) -> Dist | None:
        key = canonical_name(name)
        return next((d for d in self.dists if d.key == key), None)

    @property
    def torch(self) -> str | None:
        d = self.dist("torch")
        return d.version if d else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def python_in(env: str | Path) -> Path | None:
    """The interpreter of an environment folder (venv or conda prefix), or None."""
    env = Path(env)
    for rel in ("bin/python", "bin/python3", "Scripts/python.exe", "python.exe"):
        candidate = env / rel
        if candidate.is_file() or candidate.is_symlink():
            return candidate
    return None


def env_kind(env: str | Path) -> str:
    env = Path(env)
    if (env / "conda-meta").is_dir():
        return "conda"
    if (env / "pyvenv.cfg").is_file():
        return "venv"
    return "interpreter"


def inspect_env(env: str | Path, source: str = "given", timeout: float = 20.0,
                python: str | None = None) -> EnvFacts:
    """Inspect one environment folder (or the prefix of `python`). Never raises."""
    from installer.core.journal import read_marker

    env = Path(env).absolute()
    exe = Path(python) if python else python_in(env)
    facts = EnvFacts(path=str(env), python_executable=str(exe or env), kind=env_kind(env), source=source,
                     marker=read_marker(env) if env.is_dir() else None)
    if exe is None:
        facts.ok = False
        facts.problem = "no Python interpreter in it (bin/python or Scripts\\python.exe)"
        return facts
    done = process.run_captured([str(exe), "-I", "-c", SCRIPT], timeout=timeout)
    payload = None
    for line in (done.stdout or "").splitlines():
        if line.startswith(MARKER):
            payload = line[len(MARKER):]
    if done.returncode != 0 or payload is None:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()
        why = done.error or (f"exited with code {done.returncode}" if done.returncode else "printed no answer")
        facts.ok = False
        facts.problem = f"its Python does not run: {why}" + (f" ({tail[-1][:200]})" if tail else "")
        return facts
    try:
        answer = schema.build(ScriptAnswer, json.loads(payload))
    except (ValueError, RecursionError) as exc:
        facts.ok = False
        facts.problem = f"its Python printed something that is not an answer ({exc})"
        return facts
    facts.python = answer.python
    facts.dists = sorted(answer.dists, key=lambda d: d.key)
    facts.site_packages = sorted({p for p in (answer.purelib, answer.platlib) if p})
    if answer.prefix and os.path.isdir(answer.prefix) and python:
        facts.path = answer.prefix
        facts.kind = env_kind(answer.prefix)
    return facts


# -- what the metadata says about the build ------------------------------------------------------------

_CUDA_LABEL = re.compile(r"^cu(\d{2,3})$")
_NVIDIA_SUFFIX = re.compile(r"-cu(\d+)$")
# The nvidia-* runtime wheels whose version (or -cuXX suffix) names the CUDA major they belong to.
_CUDA_RUNTIME_DISTS = ("nvidia-cuda-runtime", "nvidia-cublas", "nvidia-cudnn", "nvidia-cuda-nvrtc",
                       "nvidia-cufft", "nvidia-cusparse", "nvidia-nccl", "nvidia-cusolver", "nvidia-curand")


def local_label(version: str | None) -> str | None:
    if not version or "+" not in version:
        return None
    return version.split("+", 1)[1].lower()


def public_version(version: str | None) -> str | None:
    return version.split("+", 1)[0] if version else None


def torch_cuda(facts: EnvFacts) -> str | None:
    """The CUDA version torch was built for ("12.6"), from its local label or its nvidia runtime wheel."""
    label = local_label(facts.torch)
    if label:
        m = _CUDA_LABEL.match(label)
        if m:
            digits = m.group(1)
            return f"{digits[:-1]}.{digits[-1]}"
        return None  # +cpu, +rocm6.2, +xpu
    runtime = facts.dist("nvidia-cuda-runtime-cu12") or facts.dist("nvidia-cuda-runtime-cu11") \
        or facts.dist("nvidia-cuda-runtime")
    if runtime and facts.torch:
        parts = runtime.version.split(".")
        return ".".join(parts[:2])
    return None


def torch_build(facts: EnvFacts) -> str | None:
    """cpu, cuXXX, rocmX.Y, xpu, or None (no torch). A torch with no label and no CUDA runtime is a CPU build
    (macOS, Windows and Linux-aarch64 wheels on PyPI)."""
    if not facts.torch:
        return None
    label = local_label(facts.torch)
    if label and re.fullmatch(r"cpu|xpu|cu\d+|rocm[\d.]+", label):
        return label
    cuda = torch_cuda(facts)
    if cuda:
        return "cu" + cuda.replace(".", "")
    return "cpu"


def cuda_families(facts: EnvFacts) -> dict[str, list[str]]:
    """CUDA major -> the nvidia-* runtime wheels installed for it."""
    found: dict[str, list[str]] = {}
    for d in facts.dists:
        if not d.key.startswith("nvidia-"):
            continue
        m = _NVIDIA_SUFFIX.search(d.key)
        base = _NVIDIA_SUFFIX.sub("", d.key)
        if base not in _CUDA_RUNTIME_DISTS:
            continue
        major = m.group(1) if m else (d.version.split(".")[0] if base != "nvidia-cudnn" and base != "nvidia-nccl"
                                      else None)
        if major:
            found.setdefault(major, []).append(f"{d.name} {d.version}")
    return found
