"""The verdict on one environment, in the System page's ✓ ⚠ ✗ words: does its PyTorch fit this machine?

Judged from the installed distributions' metadata (and, when it ran, the real verify probe's report);
what the right build would be is the planner's answer, given as the planned fix.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from installer.core.catalog import Catalog, CatalogError, platform_key
from installer.core.checklist import FAIL, INFO, MARKS, OK, WARN
from installer.core.doctor.inspect import (
    EnvFacts,
    canonical_name,
    cuda_families,
    local_label,
    public_version,
    torch_build,
    torch_cuda,
)
from installer.core.report import SystemReport

RANK = {OK: 0, INFO: 0, WARN: 1, FAIL: 2}


@dataclass
class Finding:
    status: str  # ok | warn | fail | info
    code: str  # stable, for scripts: works, cpu-only-on-gpu, driver-too-old, arch-missing, mixed-cuda, ...
    text: str
    meaning: str

    @property
    def mark(self) -> str:
        return MARKS.get(self.status, "?")


@dataclass
class EnvVerdict:
    env: str
    python_executable: str
    python: str | None
    kind: str
    source: str
    torch: str | None
    build: str | None  # cpu, cu126, rocm6.4, xpu
    status: str  # the worst finding
    findings: list[Finding] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)  # torch family, numpy, nvidia runtime: name -> version
    planned_fix: dict[str, Any] | None = None  # {"torch", "backend", "packages", "reasons"} or {"error"}
    pinned: list[str] = field(default_factory=list)  # packages the planned fix would break
    made_by_torch_setup: bool = False
    verify: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


def _vt(version: str | None) -> tuple[int, ...]:
    out = []
    for part in (version or "").split("."):
        m = re.match(r"\d+", part)
        if not m:
            break
        out.append(int(m.group()))
    return tuple(out)


def _usable_nvidia(report: SystemReport) -> list[Any]:
    return [g for g in report.gpus_of("nvidia") if g.compute_capability and _vt(g.compute_capability) >= (5, 0)]


def _gpu_names(gpus: list[Any]) -> str:
    return ", ".join(sorted({g.name.replace("NVIDIA ", "") for g in gpus}))


def _family_findings(facts: EnvFacts) -> list[Finding]:
    """torchvision/torchaudio built for another torch: their wheels pin torch exactly."""
    torch = facts.torch
    out = []
    for name in ("torchvision", "torchaudio"):
        dist = facts.dist(name)
        if dist is None or torch is None:
            continue
        problem = None
        for line in dist.torch_requires:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if canonical_name(req.name) != "torch" or (req.marker is not None and "extra" in str(req.marker)):
                continue
            try:
                have = Version(torch)
            except InvalidVersion:
                continue
            if req.specifier and not req.specifier.contains(Version(have.public), prereleases=True) \
                    and not req.specifier.contains(have, prereleases=True):
                problem = f"{name} {dist.version} requires torch{req.specifier}, but torch {torch} is installed"
        mine, theirs = local_label(torch), local_label(dist.version)
        if problem is None and mine and theirs and mine != theirs:
            problem = f"{name} {dist.version} is a {theirs} build, torch {torch} a {mine} build"
        if problem:
            out.append(Finding(FAIL, "family-mismatch", "torchvision/torchaudio do not match torch",
                               f"{problem}: importing it fails or its operators are missing. A repair reinstalls "
                               "the family together."))
    return out


def judge_env(facts: EnvFacts, report: SystemReport, catalog: Catalog, verify: Any = None,
              planned_backend: str | None = None) -> list[Finding]:
    """Every finding for one environment, worst first. `planned_backend` is the planner's build for this env on
    this machine: a GPU is "usable" when the planner would use it (an old driver, a too-old GPU: it would not)."""
    if not facts.ok:
        return [Finding(FAIL, "broken-interpreter", "Its Python does not run", facts.problem or "")]
    findings: list[Finding] = []
    torch = facts.torch
    py = ".".join((facts.python or "").split(".")[:2])
    platform = platform_key(report.os)
    latest = catalog.latest()
    rng = latest.python_range(platform)
    if py and _vt(py) < _vt(rng.min):
        findings.append(Finding(WARN, "python-unsupported", "A Python PyTorch no longer supports for new releases",
                                f"Python {facts.python}: PyTorch {latest.version} needs Python {rng.text()}; this "
                                "environment can only have older PyTorch releases."))
    if torch is None:
        findings.append(Finding(INFO, "no-torch", "No PyTorch in this environment",
                                "`torch-setup doctor --fix` adds the build the planner picks for this machine."))
        return _sorted(findings)
    build = torch_build(facts) or "cpu"
    cuda = torch_cuda(facts)
    nvidia = _usable_nvidia(report)
    families = cuda_families(facts)
    if len(families) > 1:
        listed = "; ".join(f"CUDA {major}: {', '.join(names[:3])}" for major, names in sorted(families.items()))
        findings.append(Finding(FAIL, "mixed-cuda", "Mixed CUDA runtime families",
                                f"{listed}. Two CUDA majors' libraries in one environment load the wrong one; a repair "
                                "reinstalls one build with its own runtime."))
    findings += _family_findings(facts)
    numpy = facts.dist("numpy")
    if numpy and _vt(numpy.version)[:1] >= (2,) and _vt(public_version(torch)) < (2, 3):
        findings.append(Finding(FAIL, "numpy-abi", "numpy 2 with a torch built for numpy 1",
                                f"numpy {numpy.version} with torch {torch}: torch before 2.3 was compiled against "
                                "numpy 1 and fails to convert arrays; install numpy<2 or a newer torch."))
    gpu_build = build.startswith(("cu", "rocm")) or build == "xpu"
    mac_mps = platform == "macos-arm64" and build == "cpu"
    if planned_backend is not None:
        gpu_usable = planned_backend.startswith(("cu", "rocm")) or planned_backend == "xpu"
    else:
        gpu_usable = bool(nvidia) and _vt(report.cuda_driver_version)[:1] >= (12,)
    if not gpu_build and not mac_mps and gpu_usable:
        findings.append(Finding(FAIL, "cpu-only-on-gpu", "CPU-only build on a machine with a usable GPU",
                                f"torch {torch} has no CUDA support (torch.cuda.is_available() is False); "
                                f"{_gpu_names(nvidia) or 'the GPU'} goes unused; the planner would install a "
                                f"{planned_backend or 'GPU'} build."))
    if cuda and build.startswith("cu"):
        driver_cuda = report.cuda_driver_version
        if nvidia and driver_cuda and _vt(driver_cuda)[:1] < _vt(cuda)[:1]:
            findings.append(Finding(FAIL, "driver-too-old", "The build's CUDA needs a newer driver",
                                    f"torch {torch} is built for CUDA {cuda}; driver {report.nvidia_driver} supports "
                                    f"CUDA up to {driver_cuda}. Update the driver or install an older CUDA build."))
        arches = _arch_list(facts, catalog, build, platform, verify)
        if arches and nvidia:
            from installer.core.planner import arch_covers

            missing = [g for g in nvidia if not arch_covers(g.compute_capability, arches)]
            if missing:
                findings.append(Finding(FAIL, "arch-missing", "The GPU's arch is missing from the build's arch list",
                                        f"{_gpu_names(missing)} (compute {missing[0].compute_capability}) is not in "
                                        f"torch {torch}'s list ({', '.join(arches)}): CUDA kernels fail with 'no kernel "
                                        "image is available'."))
        if not nvidia:
            findings.append(Finding(WARN, "gpu-build-without-gpu", "A CUDA build on a machine without a usable NVIDIA "
                                    "GPU", f"torch {torch} runs on the CPU here; the CUDA libraries only take space."))
    if verify is not None:
        findings += _verify_findings(verify)
    if not any(f.status in (FAIL, WARN) for f in findings if f.code != "python-unsupported"):
        if gpu_build and nvidia:
            text = f"Works on this machine's GPU ({_gpu_names(nvidia)})"
            meaning = f"torch {torch}, a {build} build, fits the GPU and the driver" + \
                (" and passed the verify probe." if verify is not None else
                 " (read from its metadata; `doctor --verify` runs the probe).")
        elif mac_mps and report.gpus_of("apple"):
            text = "Works on this machine's GPU (MPS)"
            meaning = f"torch {torch} uses the Apple GPU through MPS."
        else:
            text = "Works on this machine (CPU build)"
            meaning = f"torch {torch} is a CPU build; no GPU here that PyTorch can use."
        findings.append(Finding(OK, "works", text, meaning))
    return _sorted(findings)


def _arch_list(facts: EnvFacts, catalog: Catalog, build: str, platform: str, verify: Any) -> list[str]:
    if verify is not None and getattr(verify, "arch_list", None):
        return [entry for entry in (_arch_entry(a) for a in verify.arch_list) if entry]
    try:
        release = catalog.release(public_version(facts.torch) or "")
    except CatalogError:
        return []
    return catalog.cuda_arches(release, build, platform)


def _arch_entry(arch: str) -> str | None:
    """torch.cuda.get_arch_list()'s "sm_86" / "compute_90" as the catalog writes them: "8.6" / "9.0+PTX"."""
    m = re.fullmatch(r"(sm|compute)_(\d+)(\d)[a-z]?", arch)
    if not m:
        return None
    return f"{m.group(2)}.{m.group(3)}" + ("+PTX" if m.group(1) == "compute" else "")


def _verify_findings(verify: Any) -> list[Finding]:
    if getattr(verify, "ok", False):
        return []
    failed = [c for c in getattr(verify, "checks", []) if not c.ok]
    detail = getattr(verify, "error", None) or (f"{failed[0].name}: {failed[0].detail}" if failed else "")
    return [Finding(FAIL, "verify-failed", "The verify probe failed", str(detail)[:400])]


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -RANK.get(f.status, 0))


def worst(findings: list[Finding]) -> str:
    if not findings:
        return OK
    top = max(findings, key=lambda f: RANK.get(f.status, 0))
    return top.status if top.status != INFO else INFO


def packages_of(facts: EnvFacts) -> dict[str, str]:
    keep = ("torch", "torchvision", "torchaudio", "numpy", "xformers")
    return {d.name: d.version for d in facts.dists if d.key in keep or d.key.startswith("nvidia-cuda-runtime")}
