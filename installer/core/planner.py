"""(SystemReport, Choices, Catalog) -> Plan: which build, which Python, which steps, and why.

Pure: no processes, no network. The only file-system reads are those Choices.validate() does and
the listing of a local wheel folder given as --torch-source (its file names say what it holds).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from installer.core import paths, safepath, verify
from installer.core.catalog import (
    PLATFORM_KEYS,
    Catalog,
    CatalogError,
    Release,
    parse_wheel_name,
    platform_key,
    variant_kind,
)
from installer.core.plan import ChoiceError, Choices, Plan, Step
from installer.core.report import GPUInfo, PythonInfo, SystemReport, Tools
from installer.core.versions import version_tuple

DEFAULT_SOURCE_REPO = "https://github.com/pytorch/pytorch"
TORCH_FAMILY = ("torch", "torchvision", "torchaudio")
SOURCE_MIN_FREE_MIB = 15 * 1024
INSTALL_RETRIES = 2
MIN_VC_RUNTIME = "14.40"
JETSON_HELP = (
    "https://developer.nvidia.com/embedded/jetson-linux (NVIDIA's PyTorch for Jetson: pypi.jetson-ai-lab.io)"
)
MINIFORGE_URL = "https://conda-forge.org/download/"


@dataclass
class MethodOption:
    method: str  # "pip" | "conda" | "source"
    available: bool
    recommended: bool
    reason: str


# -- small facts ------------------------------------------------------------------------------------


def _driver_ok(driver: str | None, minimum: str | None) -> bool:
    have, need = version_tuple(driver), version_tuple(minimum)
    if not need:
        return True
    return bool(have) and have >= need


def _cc(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def gpu_family(cc: str | None) -> str:
    """NVIDIA architecture name for a compute capability, as students know them."""
    if not cc:
        return "unknown architecture"
    major, minor = _cc(cc)
    if major == 3:
        return "Kepler"
    if major == 5:
        return "Maxwell"
    if major == 6:
        return "Pascal"
    if major == 7:
        return "Turing" if minor >= 5 else "Volta"
    if major == 8:
        return "Ada Lovelace" if minor == 9 else "Ampere"
    if major == 9:
        return "Hopper"
    if major in (10, 11, 12):
        return "Blackwell"
    return f"compute {cc}"


def arch_covers(gpu_cc: str, arch_list: list[str]) -> bool:
    """Does a wheel built for `arch_list` have kernels that run on a GPU of capability `gpu_cc`?

    The rule (CUDA binary compatibility): SASS compiled for sm_XY runs on GPUs of the SAME major X
    with minor >= Y: 8.6 code runs on an 8.9 Ada card, 12.0 code on a 12.1 GB10, but nothing
    crosses a major (9.0 code does not run on 10.0, 8.9 code not on 8.6). A "+PTX" entry X.Y also
    ships PTX, which the driver JIT-compiles for any GPU with capability >= X.Y, newer majors too
    (slow first start, but it runs). Entries are "8.6" or "12.0+PTX".
    """
    g_major, g_minor = _cc(gpu_cc)
    for entry in arch_list:
        arch, _, ptx = entry.partition("+")
        a_major, a_minor = _cc(arch)
        if a_major == g_major and a_minor <= g_minor:
            return True
        if ptx.upper() == "PTX" and (a_major, a_minor) <= (g_major, g_minor):
            return True
    return False


def _gpu_text(gpu: GPUInfo) -> str:
    name = gpu.name.replace("NVIDIA ", "") if gpu.vendor == "nvidia" else gpu.name
    if gpu.vendor == "nvidia" and gpu.compute_capability:
        return f"{name} ({gpu_family(gpu.compute_capability)}, compute {gpu.compute_capability})"
    if gpu.vendor == "amd" and gpu.gfx_arch:
        return f"{name} ({gpu.gfx_arch})"
    return name


def _cuda_line(catalog: Catalog, variant: str) -> str:
    cuda = catalog.cuda_version(variant) or variant[2:]
    return cuda.split(".")[0]


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# -- the build --------------------------------------------------------------------------------------


@dataclass
class _Build:
    backend: str  # what verification must see: cpu, cu130, rocm7.2, xpu, mps
    variant: str  # the wheel variant (index name): same as backend, except "mps"/"cpu" on macOS
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Planner:
    def __init__(
        self, report: SystemReport, choices: Choices, catalog: Catalog, uv: str, source_repo: str
    ) -> None:
        self.report = report
        self.choices = choices
        self.catalog = catalog
        self.uv = uv
        self.source_repo = source_repo
        self.platform = platform_key(report.os)
        self.windows = report.os.name == "windows"
        self.reasons: list[str] = []
        self.warnings: list[str] = []
        self.local_wheels: list[tuple[str, Any]] = []  # (file name, WheelFacts) for a folder source
        # torchvision/torchaudio wheels of a folder source, by name: the whole family comes from the folder
        self.family_wheels: dict[str, list[tuple[str, Any]]] = {}

    # -- entry ----------------------------------------------------------------------------------

    def plan(self) -> Plan:
        c = self.choices
        c.validate()
        self._check_platform()
        source = c.torch_source
        self.folder = (
            None if source in ("pytorch", "pypi") or "://" in source else str(Path(source).expanduser())
        )
        if self.folder:
            self._scan_folder(self.folder)
        if c.method == "conda" and self.report.tools.conda is None:
            raise ChoiceError(
                "The conda method needs conda, mamba or micromamba; none was found. "
                f"Install Miniforge ({MINIFORGE_URL}) or choose --method pip."
            )
        if c.method == "conda" and c.torch == "nightly":
            raise ChoiceError(
                "conda-forge has no nightly PyTorch builds: use --method pip with --torch nightly."
            )
        if c.method == "conda" and self.folder:
            raise ChoiceError("A local wheel folder works with --method pip, not conda: choose --method pip.")
        release, version = self._pick_release()
        python, python_exe = self._pick_python(release)
        build = self._pick_build(release, version, python)
        if c.method == "source":
            build = self._source_build(build)
        self.reasons += build.reasons
        self.warnings += build.warnings
        env = self._env_path(release, build)
        plan = Plan(
            method=c.method,
            backend=build.backend,
            torch=version,
            python=python,
            env=str(env),
            engine=c.engine,
            python_executable=python_exe,
            expect=build.backend,
            choices=c.to_json(),
        )
        if c.method == "conda":
            self._conda_steps(plan, release, version, build, env)
        elif c.method == "source":
            self._source_steps(plan, release, version, build, env)
        else:
            self._pip_steps(plan, release, version, build, env)
        self._preflight(plan, release, build)
        plan.reasons = _dedupe(self.reasons)
        plan.warnings = _dedupe(self.warnings)
        return plan

    # -- platform and release ---------------------------------------------------------------------

    def _check_platform(self) -> None:
        if self.platform in PLATFORM_KEYS:
            return
        os_name, arch = self.report.os.name, self.report.os.arch
        if arch == "x86":
            raise ChoiceError(
                f"PyTorch publishes no builds for 32-bit {os_name}: it needs a 64-bit operating system and Python."
            )
        raise ChoiceError(
            f"PyTorch publishes no wheels for {os_name} on {arch}; it supports Linux (x86_64, arm64), "
            "Windows (x86_64, arm64) and macOS (Apple Silicon)."
        )

    def _pick_release(self) -> tuple[Release, str]:
        c, cat, plat = self.choices, self.catalog, self.platform
        if c.torch == "nightly":
            rel = cat.release("nightly")
            if not rel.variants.get(plat):
                raise ChoiceError(f"PyTorch publishes no nightly builds for {plat}.")
            self.reasons.append(
                "Nightly build as asked: a pre-release built every night, newer than any release."
            )
            return rel, "nightly"
        if self.folder and c.torch == "latest":
            found = self._folder_versions()
            if not found:
                raise ChoiceError(
                    f"The wheel folder {self.folder} has no torch wheel for {plat}: add one or choose another --torch-source."
                )
            version = found[0]
            try:
                rel = cat.release(".".join(version.split(".")[:2]))
            except CatalogError as exc:
                raise ChoiceError(str(exc)) from None
            self.reasons.append(
                f"torch {version}: the newest torch for this machine in the wheel folder {self.folder}."
            )
            return rel, version
        if c.torch == "latest":
            return self._latest_for_platform()
        try:
            rel = cat.release(c.torch)
        except CatalogError as exc:
            raise ChoiceError(str(exc)) from None
        version = c.torch if c.torch.count(".") == 2 else rel.versions[0]
        if plat not in rel.platforms():
            raise ChoiceError(self._not_published_text(rel, version))
        self._check_glibc(rel)
        if c.method == "conda":
            self._check_conda_forge(rel)
        if self.folder and version not in self._folder_versions():
            raise ChoiceError(
                f"The wheel folder {self.folder} has no torch {version} wheel for {plat}; "
                f"it has {', '.join(self._folder_versions()) or 'none'}."
            )
        self.reasons.append(f"torch {version}: the version you asked for.")
        return rel, version

    def _latest_for_platform(self) -> tuple[Release, str]:
        cat, plat = self.catalog, self.platform
        newest = cat.latest()
        candidates = [r for r in cat.releases if plat in r.platforms() and self._glibc_fits(r)]
        if self.choices.method == "conda":
            conda_ok = [r for r in candidates if r.conda_forge.get("available") is True]
            if conda_ok and conda_ok[0] is not candidates[0]:
                rel = conda_ok[0]
                self.reasons.append(
                    f"torch {rel.version}: the newest release conda-forge is known to carry "
                    f"(PyTorch's newest is {newest.version}; conda-forge builds lag behind)."
                )
                return rel, rel.version
        if not candidates:
            raise ChoiceError(f"PyTorch publishes no builds for {plat}.")
        rel = candidates[0]
        if rel is newest:
            self.reasons.append(f"torch {rel.version}: the newest release.")
        elif plat == "macos-x86_64":
            self.reasons.append(
                f"torch {rel.version}: PyTorch stopped publishing Intel Mac (macOS x86_64) builds after 2.2.2, "
                f"so this is the newest one for this Mac (the newest release is {newest.version})."
            )
        elif plat not in newest.platforms():
            self.reasons.append(f"torch {rel.version}: the newest release with builds for {plat}.")
        else:
            self.reasons.append(
                f"torch {rel.version}: the newest release whose Linux wheels fit this system's glibc "
                f"{self.report.os.glibc} (torch 2.7 and newer need glibc 2.28)."
            )
        return rel, rel.version

    def _not_published_text(self, rel: Release, version: str) -> str:
        plat = self.platform
        having = [r.series for r in self.catalog.releases if plat in r.platforms()]
        if plat == "macos-x86_64":
            return (
                f"PyTorch stopped publishing macOS x86_64 builds after 2.2.2: choose --torch 2.2 or older "
                f"(torch {version} needs an Apple Silicon Mac)."
            )
        if not having:
            return f"PyTorch publishes no builds for {plat}."
        return f"PyTorch {version} has no builds for {plat}: choose --torch {having[0]}" + (
            f" (or anything from {having[-1]} to {having[0]})." if len(having) > 1 else "."
        )

    def _glibc_fits(self, rel: Release) -> bool:
        glibc = version_tuple(self.report.os.glibc)
        if self.report.os.name != "linux" or not glibc or rel.nightly:
            return True
        # All Linux wheels are manylinux_2_28 from 2.7 on (before: manylinux2014, glibc 2.17).
        return not (Version(rel.series) >= Version("2.7") and glibc < (2, 28))

    def _check_glibc(self, rel: Release) -> None:
        if not self._glibc_fits(rel):
            raise ChoiceError(
                f"PyTorch {rel.series} needs glibc 2.28 or newer but this Linux has glibc {self.report.os.glibc}: "
                "choose --torch 2.6 or use a newer Linux."
            )

    def _check_conda_forge(self, rel: Release) -> None:
        avail = rel.conda_forge.get("available")
        newest = self.catalog.conda_forge.get("newest_assumed")
        if avail is not True:
            self.warnings.append(
                f"conda-forge may not have PyTorch {rel.series} yet (its builds lag PyTorch's releases; the newest "
                f"Torch Setup knows of there is {newest}). If the install cannot find it, choose --torch {newest} "
                "or --method pip."
            )

    # -- local wheel folder -------------------------------------------------------------------------

    def _scan_folder(self, folder: str) -> None:
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            raise ChoiceError(f"The wheel folder {folder} cannot be read: {exc.strerror}.") from None
        for name in names:
            if not name.endswith(".whl"):
                continue
            project = str(canonicalize_name(name.split("-", 1)[0]))
            if project not in TORCH_FAMILY:
                continue
            facts = parse_wheel_name(name)
            if not facts or self.platform not in facts.platforms:
                continue
            if project == "torch":
                self.local_wheels.append((name, facts))
            else:
                self.family_wheels.setdefault(project, []).append((name, facts))

    def _folder_versions(self) -> list[str]:
        return sorted({f.version for _n, f in self.local_wheels}, key=Version, reverse=True)

    def _folder_wheels(self, version: str) -> list[Any]:
        return [f for _n, f in self.local_wheels if f.version == version]

    # -- Python -----------------------------------------------------------------------------------

    def _pick_python(self, rel: Release) -> tuple[str, str | None]:
        """(minor "3.12", interpreter path or None when one is provisioned)."""
        c = self.choices
        rng = rel.python_range(self.platform)
        where = f"PyTorch {rel.version}" + (
            f" on {self.platform}" if rel.python_by_platform.get(self.platform) else ""
        )
        folder_pythons: set[str] | None = None
        if self.folder:
            folder_pythons = {p for _n, f in self.local_wheels for p in f.pythons}
        if c.python and not re.fullmatch(r"\d+\.\d+", c.python):
            return self._python_from_path(c.python, rel, where)
        wanted = c.python
        if wanted is not None and not rng.supports(wanted):
            raise ChoiceError(
                f"{where} supports Python {rng.text()}; {wanted} is outside that range: "
                f"choose --python {rng.max} or another torch version."
            )
        if c.method == "conda":
            minor = wanted or ("3.12" if rng.supports("3.12") else rng.max)
            self.reasons.append(
                f"Python {minor} inside the conda environment"
                + (" (as asked)." if wanted else " (well supported by conda-forge and by this PyTorch).")
            )
            return minor, None
        candidates = self._usable_pythons(rng, folder_pythons)
        if wanted:
            candidates = [p for p in candidates if p.minor == wanted]
        if candidates:
            best = candidates[0]
            tag = "free-threaded " if best.free_threaded else ""
            self.reasons.append(
                f"Python {best.version} ({tag}{best.executable}): the newest Python on this machine that "
                f"{where} supports ({rng.text()})."
                if not wanted
                else f"Python {best.version} ({best.executable}) as asked."
            )
            if best.free_threaded:
                self.warnings.append(
                    "The only fitting Python is free-threaded (no GIL): PyTorch's support for it is experimental."
                )
            if self.choices.engine == "pip" and (best.has_venv is False or best.has_ensurepip is False):
                raise ChoiceError(
                    f"Python {best.version} at {best.executable} cannot create virtual environments (venv/ensurepip "
                    "missing, e.g. Debian's python3-venv package): use --engine uv or install that package."
                )
            return best.minor, best.executable
        # No interpreter fits: provision one.
        minor = wanted or self._provision_minor(rng, folder_pythons)
        if self.choices.engine == "pip" and c.method != "conda":
            raise ChoiceError(
                f"No Python {wanted or rng.text()} that {where} supports was found, and the pip engine cannot "
                f"download one: use --engine uv (it fetches a managed Python {minor}) or install Python {minor}."
            )
        self._explain_no_python(rng)
        self.reasons.append(
            f"No Python on this machine fits {where} ({rng.text()}), so uv downloads a managed CPython {minor} "
            "(python-build-standalone) for the environment; nothing else on the system changes."
        )
        return minor, None

    def _provision_minor(self, rng: Any, folder_pythons: set[str] | None) -> str:
        for minor in rng.stable_minors():
            if folder_pythons is None or minor in folder_pythons:
                return str(minor)
        return str(rng.max)

    def _explain_no_python(self, rng: Any) -> None:
        seen = self.report.usable_pythons()
        if not seen:
            return
        listed = ", ".join(sorted({p.version for p in seen}))
        thirty_two = [p for p in seen if p.bits == 32]
        if thirty_two:
            self.warnings.append(
                f"32-bit Python found ({thirty_two[0].executable}): PyTorch has no 32-bit builds; use a 64-bit Python."
            )
        self.reasons.append(
            f"Pythons found here ({listed}) are outside the supported range {rng.text()} or unusable."
        )

    def _usable_pythons(self, rng: Any, folder_pythons: set[str] | None) -> list[PythonInfo]:
        out = []
        for p in self.report.usable_pythons():
            if p.implementation != "cpython" or p.bits != 64:
                continue
            if p.arch != self.report.os.arch:
                continue  # e.g. an x86_64 Python under Rosetta or Windows' emulation
            ok = rng.supports(p.minor, p.free_threaded)
            if not ok and self.choices.torch_source != "pypi":
                # Experimental Pythons (3.15 for 2.13) exist only on download.pytorch.org.
                ok = rng.supports(p.minor, p.free_threaded, experimental=True)
            if not ok:
                continue
            tag = f"{p.minor}t" if p.free_threaded else p.minor
            if folder_pythons is not None and tag not in folder_pythons:
                continue
            out.append(p)

        def key(p: PythonInfo) -> tuple[Any, ...]:
            experimental = f"{p.minor}{'t' if p.free_threaded else ''}" in rng.experimental
            return (
                p.free_threaded,
                experimental,
                p.is_venv,
                [-x for x in version_tuple(p.minor)],
                p.source == "conda",
            )

        return sorted(out, key=key)

    def _python_from_path(self, path: str, rel: Release, where: str) -> tuple[str, str | None]:
        rng = rel.python_range(self.platform)
        target = os.path.normcase(os.path.abspath(os.path.expanduser(path)))
        real = os.path.normcase(os.path.realpath(target))
        # The path detection recorded; else the same file under another name (…/python3.11 is …/python3).
        exact = [p for p in self.report.pythons if os.path.normcase(os.path.abspath(p.executable)) == target]
        same = [p for p in self.report.pythons if os.path.normcase(os.path.realpath(p.executable)) == real]
        if exact or same:
            p = (exact or same)[0]
            # a link's target may also be a venv's base: run what was asked for, with the facts detection found
            executable = p.executable if exact else str(Path(path).expanduser().absolute())
            if not p.usable:
                raise ChoiceError(f"The Python at {path} cannot be used: {p.problem or 'it did not run'}.")
            if p.bits != 64:
                raise ChoiceError(f"The Python at {path} is 32-bit; PyTorch needs a 64-bit Python.")
            if not rng.supports(p.minor, p.free_threaded, experimental=True):
                raise ChoiceError(
                    f"{where} supports Python {rng.text()}; the Python at {path} is {p.version}: "
                    f"choose another interpreter or --python {rng.max}."
                )
            self.reasons.append(f"Python {p.version} ({executable}) as asked.")
            return p.minor, executable
        m = re.search(r"python(\d+\.\d+)", Path(path).name)
        if m and not rng.supports(m.group(1), experimental=True):
            raise ChoiceError(
                f"{where} supports Python {rng.text()}; {path} looks like Python {m.group(1)}: "
                f"choose another interpreter or --python {rng.max}."
            )
        minor = m.group(1) if m else rng.max
        self.warnings.append(
            f"Torch Setup did not inspect {path} during detection; make sure it is a 64-bit Python {rng.text()}."
        )
        self.reasons.append(f"Python at {path} as asked.")
        return minor, str(Path(path).expanduser().absolute())

    # -- the build --------------------------------------------------------------------------------

    def _pick_build(self, rel: Release, version: str, python: str) -> _Build:
        c = self.choices
        variants = self.catalog.variants(rel, self.platform)
        if c.torch_source == "pypi":
            return self._pypi_build(rel, variants)
        if self.folder:
            return self._folder_build(rel, version)
        if c.method == "conda":
            variants = [v for v in variants if variant_kind(v) in ("cuda", "cpu", "mps")]
        if c.backend != "auto":
            return self._explicit_build(rel, variants, c.backend)
        return self._auto_build(rel, variants)

    def _auto_build(self, rel: Release, variants: list[str]) -> _Build:
        r = self.report
        plat = self.platform
        if plat.startswith("macos"):
            return self._mac_build(rel)
        if r.os.tegra:
            jet = r.gpus_of("nvidia")
            what = _gpu_text(jet[0]) if jet else "its integrated GPU"
            return _Build(
                "cpu",
                "cpu",
                reasons=["CPU build: PyTorch's own wheels do not support Jetson's integrated GPU."],
                warnings=[
                    f"This is an NVIDIA Jetson ({what}, JetPack {r.os.jetpack or 'unknown'}): PyTorch's wheels do not "
                    f"serve Jetson. For the GPU use NVIDIA's Jetson builds: {JETSON_HELP}. Planned: the CPU build."
                ],
            )
        nvidia = r.gpus_of("nvidia")
        amd = r.gpus_of("amd")
        intel = r.gpus_of("intel")
        notes: list[str] = []
        if nvidia:
            build = self._nvidia_build(rel, variants, nvidia, notes)
            if build:
                return build
        if amd:
            build = self._amd_build(rel, variants, amd, notes)
            if build:
                return build
        if intel:
            build = self._intel_build(rel, variants, intel, notes)
            if build:
                return build
        if not notes:
            return _Build(
                "cpu", "cpu", reasons=["CPU build: no GPU that PyTorch can use was found on this machine."]
            )
        return _Build(
            "cpu",
            "cpu",
            reasons=["CPU build, because no GPU build fits this machine (see the warnings)."],
            warnings=notes,
        )

    def _mac_build(self, rel: Release) -> _Build:
        if self.platform == "macos-x86_64":
            return _Build(
                "cpu",
                "cpu",
                reasons=["CPU build: PyTorch has no GPU support on Intel Macs."],
            )
        mac = version_tuple(self.report.os.version) or (0,)
        if mac >= (12, 3):
            return _Build(
                "mps",
                "mps",
                reasons=["Apple Silicon: the standard macOS wheel uses the GPU through Metal (MPS)."],
            )
        return _Build(
            "cpu",
            "mps",
            reasons=[
                "The standard macOS wheel, on the CPU: the Metal (MPS) GPU backend needs macOS 12.3 or newer."
            ],
            warnings=[
                f"macOS {self.report.os.version} is too old for MPS: update macOS to 12.3+ to use the GPU."
            ],
        )

    def _driver_os(self) -> str:
        # WSL runs the Windows driver, so the Windows thresholds apply there too.
        return "windows" if self.windows or self.report.os.wsl else "linux"

    def _cuda_problems(self, rel: Release, variant: str, gpus: list[GPUInfo]) -> tuple[bool, list[GPUInfo]]:
        """(driver too old?, GPUs without kernels) for one CUDA variant."""
        need = self.catalog.min_driver(variant, self._driver_os())
        driver_bad = not _driver_ok(self.report.nvidia_driver, need)
        arches = self.catalog.cuda_arches(rel, variant, self.platform)
        missing = [g for g in gpus if g.compute_capability and not arch_covers(g.compute_capability, arches)]
        return driver_bad, missing

    def _nvidia_build(
        self, rel: Release, variants: list[str], gpus: list[GPUInfo], notes: list[str]
    ) -> _Build | None:
        cuda_variants = _prefer_verified(rel, [v for v in variants if variant_kind(v) == "cuda"])
        names = _join(sorted({_gpu_text(g) for g in gpus}))
        if not cuda_variants:
            notes.append(
                f"PyTorch {rel.version} publishes no CUDA builds for {self.platform}, so your {names} is not used."
            )
            return None
        if not self.report.nvidia_driver:
            floor = min(
                cuda_variants, key=lambda v: version_tuple(self.catalog.min_driver(v, self._driver_os()))
            )
            notes.append(
                f"Your {names} has no working NVIDIA driver (none was detected): install the NVIDIA driver "
                f"(≥ {self.catalog.min_driver(floor, self._driver_os())}) and plan again to get a CUDA build."
            )
            return None
        unknown = [g for g in gpus if not g.compute_capability]
        rejected: list[tuple[str, bool, list[GPUInfo]]] = []
        for v in cuda_variants:
            driver_bad, missing = self._cuda_problems(rel, v, gpus)
            if not driver_bad and not missing:
                reasons = [
                    f"{v}: the newest CUDA build of torch {rel.version} that fits your {names} and driver "
                    f"{self.report.nvidia_driver}."
                ]
                reasons += self._why_not_newer(rejected)
                warnings = []
                if unknown:
                    warnings.append(
                        f"The compute capability of {_join([g.name for g in unknown])} is unknown, so Torch Setup "
                        "could not check that the build has kernels for it."
                    )
                if self.report.os.container:
                    reasons.append(
                        "Inside a container: the GPU and driver seen here are those passed in by the host."
                    )
                return _Build(v, v, reasons=reasons, warnings=warnings)
            rejected.append((v, driver_bad, missing))
        notes.append(self._no_cuda_text(rel, rejected, gpus))
        return None

    def _why_not_newer(self, rejected: list[tuple[str, bool, list[GPUInfo]]]) -> list[str]:
        out = []
        by_gpu: dict[str, list[str]] = {}
        driver_only: list[str] = []
        for v, driver_bad, missing in rejected:
            for g in missing:
                listed = by_gpu.setdefault(_gpu_text(g), [])
                if v not in listed:
                    listed.append(v)
            if driver_bad and not missing:
                driver_only.append(v)
        for gpu, vs in by_gpu.items():
            lines = sorted({_cuda_line(self.catalog, v) for v in vs})
            out.append(
                f"Your {gpu} has no kernels in the CUDA {' and '.join(lines)} builds ({', '.join(vs)}), so not those."
            )
        if driver_only:
            need = self.catalog.min_driver(driver_only[-1], self._driver_os())
            wsl = " (WSL uses the Windows driver's thresholds)" if self.report.os.wsl else ""
            out.append(
                f"Driver {self.report.nvidia_driver} is too old for {', '.join(driver_only)}, which need ≥ {need}{wsl}; "
                "updating the driver would allow them."
            )
        return out

    def _no_cuda_text(
        self, rel: Release, rejected: list[tuple[str, bool, list[GPUInfo]]], gpus: list[GPUInfo]
    ) -> str:
        driver = self.report.nvidia_driver
        arch_fit = [v for v, _d, missing in rejected if not missing]
        if arch_fit:
            # The GPUs are covered, only the driver is too old.
            v = arch_fit[-1]
            need = self.catalog.min_driver(v, self._driver_os())
            line = _cuda_line(self.catalog, v)
            text = (
                f"Driver {driver} is too old for any CUDA {line} build of torch {rel.version}: "
                f"update the driver to ≥ {need}"
            )
        else:
            worst = sorted({_gpu_text(g) for _v, _d, m in rejected for g in m})
            text = f"Your {_join(worst)} has no kernels in any CUDA build of torch {rel.version}"
        older = self._older_release_for(gpus)
        if older:
            text += f", or use torch ≤ {older[0]} ({older[1]})"
        return text + ". Planned: the CPU build."

    def _older_release_for(self, gpus: list[GPUInfo]) -> tuple[str, str] | None:
        """The newest release (and variant) whose CUDA builds fit this driver and these GPUs."""
        for rel in self.catalog.releases:
            for v in self.catalog.variants(rel, self.platform):
                if variant_kind(v) != "cuda":
                    continue
                driver_bad, missing = self._cuda_problems(rel, v, gpus)
                if not driver_bad and not missing:
                    return rel.series, v
        return None

    def _amd_build(
        self, rel: Release, variants: list[str], gpus: list[GPUInfo], notes: list[str]
    ) -> _Build | None:
        names = _join(sorted({_gpu_text(g) for g in gpus}))
        if self.platform != "linux-x86_64":
            notes.append(
                f"PyTorch publishes ROCm (AMD GPU) builds only for Linux x86_64, so your {names} is not used here."
            )
            return None
        rocm = _prefer_verified(rel, [v for v in variants if variant_kind(v) == "rocm"])
        if self.choices.method == "conda":
            notes.append(f"conda-forge has no ROCm builds of PyTorch: use --method pip to use your {names}.")
            return None
        if not rocm:
            notes.append(f"PyTorch {rel.version} publishes no ROCm builds, so your {names} is not used.")
            return None
        usable = [g for g in gpus if g.gfx_arch]
        if not usable:
            notes.append(
                f"The GPU architecture (gfx target) of your {names} is unknown, so no ROCm build was chosen."
            )
            return None
        for v in rocm:
            targets = self.catalog.rocm_targets(v)
            if all(g.gfx_arch in targets for g in usable):
                return _Build(
                    v,
                    v,
                    reasons=[
                        f"{v}: the newest ROCm build of torch {rel.version} with kernels for your {names}."
                    ],
                )
        targets = self.catalog.rocm_targets(rocm[0])
        bad = [g for g in usable if g.gfx_arch not in targets]
        hint = ""
        if any((g.gfx_arch or "").startswith("gfx103") for g in bad):
            hint = " (some RDNA2 cards run the gfx1030 build with HSA_OVERRIDE_GFX_VERSION=10.3.0, unsupported by AMD)"
        notes.append(
            f"Your {_join([_gpu_text(g) for g in bad])} is not a target of PyTorch's ROCm builds "
            f"({', '.join(targets)}){hint}. Planned: the CPU build."
        )
        return None

    def _intel_build(
        self, rel: Release, variants: list[str], gpus: list[GPUInfo], notes: list[str]
    ) -> _Build | None:
        discrete = [g for g in gpus if g.discrete]
        if not discrete:
            integrated = _join([g.name for g in gpus])
            notes.append(
                f"Your {integrated} is integrated Intel graphics, which PyTorch's XPU builds do not target "
                "(they need a discrete Intel Arc or Data Center GPU)."
            )
            return None
        names = _join([g.name for g in discrete])
        if self.choices.method == "conda":
            notes.append(f"conda-forge has no XPU builds of PyTorch: use --method pip to use your {names}.")
            return None
        if "xpu" not in variants:
            notes.append(
                f"PyTorch {rel.version} has no XPU build for {self.platform} (XPU wheels start with 2.5 on Linux and "
                f"Windows x86_64), so your {names} is not used."
            )
            return None
        return _Build(
            "xpu",
            "xpu",
            reasons=[f"xpu: your {names} is a discrete Intel GPU, which PyTorch's XPU build uses."],
            warnings=[
                "The XPU build needs Intel's GPU driver (Level Zero) installed; Torch Setup does not install it."
            ],
        )

    def _explicit_build(self, rel: Release, variants: list[str], backend: str) -> _Build:
        plat = self.platform
        mac = plat.startswith("macos")
        if mac and backend in ("mps", "cpu"):
            if backend == "mps" and plat == "macos-x86_64":
                raise ChoiceError(
                    "MPS needs an Apple Silicon Mac; Intel Macs run PyTorch on the CPU: use --backend cpu."
                )
            build = _Build(
                backend, "mps" if plat == "macos-arm64" else "cpu", reasons=[f"{backend} as asked."]
            )
            if backend == "mps" and version_tuple(self.report.os.version) < (12, 3):
                build.warnings.append("MPS needs macOS 12.3 or newer; this Mac will run PyTorch on the CPU.")
            return build
        if backend == "mps":
            raise ChoiceError(
                "The mps backend exists only on Apple Silicon Macs: choose cpu or a GPU build for this machine."
            )
        if self.choices.method == "conda" and variant_kind(backend) in ("rocm", "xpu"):
            raise ChoiceError(
                f"conda-forge has no {backend} builds of PyTorch: use --method pip for {backend}."
            )
        if backend not in variants:
            shown = ", ".join(variants) or "none"
            raise ChoiceError(
                f"PyTorch {rel.version} has no {backend} build for {plat}; its builds there are {shown}."
            )
        reason = f"{backend} as asked."
        problem = self._machine_cannot_use(rel, backend)
        build = _Build(backend, backend, reasons=[reason])
        if problem:
            build.warnings.append(
                f"This machine cannot use the {backend} build: {problem} Planned anyway as asked (e.g. for another "
                "machine); verification here will report that the GPU is not used."
            )
        elif backend == "cpu" and any(g.vendor in ("nvidia", "amd") or g.discrete for g in self.report.gpus):
            build.reasons.append("The CPU build as asked: this machine's GPU will not be used.")
        return build

    def _machine_cannot_use(self, rel: Release, backend: str) -> str | None:
        kind = variant_kind(backend)
        r = self.report
        if kind == "cuda":
            gpus = r.gpus_of("nvidia")
            if r.os.tegra:
                return "this is a Jetson, which PyTorch's CUDA wheels do not serve."
            if not gpus:
                return "no NVIDIA GPU was found."
            if not r.nvidia_driver:
                return "no NVIDIA driver was detected."
            driver_bad, missing = self._cuda_problems(rel, backend, gpus)
            if driver_bad:
                need = self.catalog.min_driver(backend, self._driver_os())
                return f"driver {r.nvidia_driver} is older than the ≥ {need} it needs."
            if missing:
                return f"your {_join([_gpu_text(g) for g in missing])} has no kernels in it."
            return None
        if kind == "rocm":
            gpus = [g for g in r.gpus_of("amd") if g.gfx_arch]
            if not gpus:
                return "no AMD GPU was found."
            targets = self.catalog.rocm_targets(backend)
            bad = [g for g in gpus if g.gfx_arch not in targets]
            return f"{_join([_gpu_text(g) for g in bad])} is not one of its targets." if bad else None
        if kind == "xpu":
            return None if any(g.discrete for g in r.gpus_of("intel")) else "no discrete Intel GPU was found."
        return None

    def _pypi_build(self, rel: Release, variants: list[str]) -> _Build:
        default = rel.pypi_default.get(self.platform)
        if not default:
            raise ChoiceError(
                f"PyPI has no torch {rel.version} for {self.platform}: use --torch-source pytorch."
            )
        backend = "cpu" if default == "mps" and self.platform == "macos-x86_64" else default
        if self.choices.backend not in ("auto", backend) and not (
            default == "mps" and self.choices.backend == "cpu"
        ):
            raise ChoiceError(
                f"PyPI carries only the {default} build of torch {rel.version} for {self.platform}: "
                f"use --torch-source pytorch for {self.choices.backend}."
            )
        if self.choices.backend == "cpu":
            backend = "cpu"
        build = _Build(
            backend,
            default,
            reasons=[f"{default}: the build PyPI serves for {self.platform} (--torch-source pypi)."],
        )
        if self.choices.backend == "auto":
            best = self._auto_build(rel, variants)
            if best.backend != backend and not (best.backend == "mps" and default == "mps"):
                build.warnings.append(
                    f"PyPI's build is {default}, but this machine is best served by {best.backend}: "
                    f"{' '.join(best.reasons + best.warnings)} Use --torch-source pytorch to get it."
                )
                if best.backend == "cpu" and variant_kind(default) == "cuda":
                    build.warnings.append(
                        f"The {default} build will run on the CPU here and downloads about "
                        f"{self.catalog.size_mib(default)[0] // 1024} GB of CUDA libraries."
                    )
        return build

    def _folder_build(self, rel: Release, version: str) -> _Build:
        wheels = self._folder_wheels(version)
        have = sorted({f.variant or ("mps" if self.platform == "macos-arm64" else "cpu") for f in wheels})
        backend = self.choices.backend
        if backend != "auto":
            want = "mps" if backend in ("mps", "cpu") and self.platform == "macos-arm64" else backend
            if want not in have:
                raise ChoiceError(
                    f"The wheel folder {self.folder} has no {backend} build of torch {version}; it has {', '.join(have)}."
                )
            build = _Build(
                backend, want, reasons=[f"{backend} as asked, from the wheel folder {self.folder}."]
            )
            problem = self._machine_cannot_use(rel, backend)
            if problem:
                build.warnings.append(f"This machine cannot use the {backend} build: {problem}")
            return build
        best = self._auto_build(rel, self.catalog.variants(rel, self.platform))
        variant = best.variant if best.variant in have else have[0]
        chosen = "cpu" if variant == "mps" and best.backend == "cpu" else variant
        build = _Build(
            chosen,
            variant,
            reasons=[f"{chosen}: the build of torch {version} in the wheel folder {self.folder}."],
        )
        if variant != best.variant:
            build.warnings.append(
                f"The wheel folder holds only the {', '.join(have)} build of torch {version}, but this machine would "
                f"use {best.backend} ({' '.join(best.reasons)}). Planned: {chosen} from the folder."
            )
        else:
            build.reasons += best.reasons
            build.warnings += best.warnings
        return build

    # -- packages -----------------------------------------------------------------------------------

    def _packages(self, rel: Release, version: str) -> tuple[list[str], list[str]]:
        """(torch family specs, other specs)."""
        family: dict[str, str] = {}
        others: list[str] = []
        nightly = version == "nightly"
        for spec in self.choices.packages:
            try:
                req = Requirement(spec)
            except InvalidRequirement:
                raise ChoiceError(
                    f"{spec!r} is not a package requirement (e.g. torchvision or numpy>=2)."
                ) from None
            name = str(canonicalize_name(req.name))
            if name not in TORCH_FAMILY:
                others.append(spec)
                continue
            if name == "torch" and req.specifier:
                raise ChoiceError(
                    "Give the torch version with --torch (e.g. --torch 2.13), not in the package list."
                )
            family[name] = spec if req.specifier else ""
        family.setdefault("torch", "")
        specs = []
        for name in TORCH_FAMILY:
            if name not in family:
                continue
            if family[name]:
                specs.append(family[name])
                self.warnings.append(
                    f"{family[name]} is pinned as you asked; Torch Setup did not check it matches torch."
                )
                continue
            if nightly:
                specs.append(name)
                continue
            if name == "torch":
                specs.append(f"torch=={version}")
            elif name == "torchvision":
                tv = rel.torchvision_for(version)
                if tv:
                    specs.append(f"torchvision=={tv}")
                    if rel.is_unverified("torchvision"):
                        self.warnings.append(
                            f"torchvision {tv} for torch {version} is assumed, not confirmed."
                        )
                else:
                    specs.append("torchvision")
                    self.warnings.append(
                        f"The torchvision version matching torch {version} is unknown; the installer picks one."
                    )
            else:
                ta = rel.torchaudio_for(version)
                if ta and ta.split(".")[:2] != version.split(".")[:2]:
                    specs.append(f"torchaudio=={ta}")
                    self.warnings.append(
                        f"There is no torchaudio {rel.series} (torchaudio is in maintenance): torchaudio {ta} is "
                        "planned instead"
                        + (
                            ", which PyTorch has not confirmed for this release."
                            if rel.is_unverified("torchaudio")
                            else "."
                        )
                    )
                elif ta:
                    specs.append(f"torchaudio=={ta}")
                else:
                    self.warnings.append(
                        f"No torchaudio release matches torch {version}; torchaudio is left out."
                    )
        if (
            not nightly
            and Version(rel.series) < Version("2.3")
            and not any(canonicalize_name(Requirement(o).name) == "numpy" for o in others)
        ):
            others.append("numpy<2")
            self.reasons.append(
                f"numpy<2: torch {rel.series} was built against NumPy 1 and breaks with NumPy 2."
            )
        return specs, others

    # -- environment ----------------------------------------------------------------------------------

    def _env_path(self, rel: Release, build: _Build) -> Path:
        c = self.choices
        # Canonical (links followed, `..` collapsed): the plan shows, and every step uses, the real target.
        if c.env:
            return safepath.canonical(c.env)
        name = c.env_name or f"torch-{'nightly' if rel.nightly else rel.series}-{build.backend}"
        return safepath.canonical(paths.default_env_root() / name)

    def _env_python(self, env: Path, conda: bool = False) -> str:
        if self.windows:
            p = PureWindowsPath(str(env))
            return str(p / "python.exe") if conda else str(p / "Scripts" / "python.exe")
        return str(PurePosixPath(str(env)) / "bin" / "python")

    # -- pip --------------------------------------------------------------------------------------------

    def _index_args(self, build: _Build, nightly: bool) -> tuple[list[str], str | None]:
        """(arguments that route the torch family, the torch index recorded in the plan)."""
        c = self.choices
        if self.folder:
            args = ["--find-links", self.folder]
            if c.index_url:
                args += ["--index-url", c.index_url]
            return args, self.folder
        if c.torch_source == "pypi":
            return (["--index-url", c.index_url] if c.index_url else []), c.index_url
        if c.torch_source == "pytorch":
            url = self.catalog.index_url(build.variant, nightly=nightly)
        else:
            # A mirror of download.pytorch.org/whl: the variant is appended unless the URL names one.
            src = c.torch_source.rstrip("/")
            last = src.rsplit("/", 1)[-1]
            name = "cpu" if build.variant == "mps" else build.variant
            url = src if re.fullmatch(r"cpu|xpu|cu\d+|rocm[\d.]+", last) else f"{src}/{name}"
        return ["--index-url", url], url

    def _python_tag(self, python: str, python_exe: str | None) -> str:
        """The wheel-tag Python of the environment: "3.12", or "3.13t" for a free-threaded interpreter."""
        free = any(p.free_threaded for p in self.report.pythons if python_exe and p.executable == python_exe)
        return f"{python}t" if free else python

    def _folder_wheel(self, spec: str, variant: str, py_tag: str) -> tuple[str, str]:
        """(absolute path, version with local label) of the folder's wheel for `spec` on this Python and
        platform; ChoiceError (exit 2) naming the Pythons the folder serves when it holds none."""
        req = Requirement(spec)
        name = str(canonicalize_name(req.name))
        default = "mps" if self.platform == "macos-arm64" else "cpu"
        wheels = self.local_wheels if name == "torch" else self.family_wheels.get(name, [])
        fitting = [
            (n, f) for n, f in wheels
            if req.specifier.contains(f.version, prereleases=True) and (f.variant or default) == variant
        ]
        wanted = str(req.specifier) or ""
        what = f"{name}{wanted.replace('==', ' ')}"
        if not fitting:
            raise ChoiceError(
                f"The wheel folder {self.folder} has no {variant} wheel of {what} for {self.platform}: add it to "
                f"the folder" + (f" or leave {name} out of the packages." if name != "torch" else ".")
            )
        for_python = [(n, f) for n, f in fitting if py_tag in f.pythons]
        if not for_python:
            served = sorted({p for _n, f in fitting for p in f.pythons}, key=version_tuple)
            raise ChoiceError(
                f"The wheel folder {self.folder} holds {what} ({variant}) only for Python {', '.join(served)}, "
                f"not for the chosen Python {py_tag}: choose --python {served[-1]} or add a "
                f"cp{py_tag.replace('.', '')} wheel to the folder."
            )
        # Newest version first, then the most specific platform tag (the longest name), for a stable pick.
        file, facts = max(for_python, key=lambda nf: (Version(nf[1].version), len(nf[0]), nf[0]))
        local = f"{facts.version}+{facts.variant}" if facts.variant else facts.version
        return str(Path(self.folder or ".", file).absolute()), local

    def _index_local_label(self, build: _Build, nightly: bool) -> str | None:
        """The local version label PyTorch's index gives this variant's torch wheels ("cu126", "cpu"), or
        None where its wheels carry none (macOS, Linux/Windows on Arm CPU) or the version is unknown."""
        v = build.variant
        if nightly:
            return None
        if re.fullmatch(r"cu\d+|rocm[\d.]+|xpu", v):
            return v
        if v == "cpu" and self.platform in ("linux-x86_64", "windows-x86_64"):
            return "cpu"
        return None

    def _source_pins(
        self, family: list[str], build: _Build, nightly: bool, py_tag: str
    ) -> tuple[list[str], list[str], str | None]:
        """(torch family requirements for the install, exact pins that keep them in later steps, the torch
        version verification must find).

        A folder: each family member is its wheel FILE, so no index can substitute another build (a
        damaged file fails the install instead of being skipped for PyPI's CUDA build). PyTorch's index or
        a mirror: torch pinned with its local label (torch==2.13.0+cu126), which no other index carries.
        """
        if self.folder:
            specs, keep, expected = [], [], None
            for spec in family:
                name = str(canonicalize_name(Requirement(spec).name))
                path, local = self._folder_wheel(spec, build.variant, py_tag)
                specs.append(f"{name} @ {Path(path).as_uri()}")
                keep.append(f"{name}=={local}")
                if name == "torch":
                    expected = local
            return specs, keep, expected
        label = None if self.choices.torch_source == "pypi" else self._index_local_label(build, nightly)
        specs = []
        for spec in family:
            req = Requirement(spec)
            pinned = [s.version for s in req.specifier if s.operator == "=="]
            if label and canonicalize_name(req.name) == "torch" and pinned and "+" not in pinned[0]:
                spec = f"torch=={pinned[0]}+{label}"
            specs.append(spec)
        keep = [s for s in specs if "==" in s] if not nightly else []
        torch_pin = next((s for s in specs if Requirement(s).name == "torch" and "==" in s), None)
        expected = torch_pin.split("==", 1)[1] if torch_pin and not nightly else None
        return specs, keep, expected

    def _net_args(self, uv: bool) -> list[str]:
        args: list[str] = []
        for host in self.choices.trusted_host:
            args += ["--allow-insecure-host" if uv else "--trusted-host", host]
        return args

    def _pip_steps(self, plan: Plan, rel: Release, version: str, build: _Build, env: Path) -> None:
        c = self.choices
        uv = c.engine == "uv"
        env_python = self._env_python(env)
        plan.env_python = env_python
        family, others = self._packages(rel, version)
        if c.jupyter and "ipykernel" not in [canonicalize_name(Requirement(o).name) for o in others]:
            others.append("ipykernel")
        family, keep, expect_torch = self._source_pins(
            family, build, rel.nightly, self._python_tag(plan.python, plan.python_executable)
        )
        # What a person reads on Review: the exact versions, not the file URLs of a folder source.
        plan.packages = (keep if self.folder else family) + others
        base = plan.python_executable or plan.python
        offline = ["--offline"] if uv and c.offline else []
        if uv:
            plan.steps.append(
                Step(
                    name="Create the environment",
                    argv=[self.uv, "venv", "--allow-existing", *offline, "--python", base, str(env)],
                    kind="venv",
                    description=f"Creates an isolated Python {plan.python} environment in {env}"
                    + (" (uv downloads that Python first)." if plan.python_executable is None else "."),
                    creates=str(env),
                    progress="uv",
                    retries=INSTALL_RETRIES if plan.python_executable is None else 0,
                )
            )
        else:
            plan.steps.append(
                Step(
                    name="Create the environment",
                    argv=[base, "-m", "venv", str(env)],
                    kind="venv",
                    description=f"Creates an isolated Python {plan.python} environment in {env}.",
                    creates=str(env),
                )
            )
        index_args, plan.torch_index = self._index_args(build, rel.nightly)
        if c.offline and self.folder and not uv:
            index_args = ["--no-index", *index_args]
        pre = ["--pre"] if rel.nightly else []
        installer = (
            [self.uv, "pip", "install", "--python", env_python]
            if uv
            else [env_python, "-m", "pip", "install", "--progress-bar", "on", "--disable-pip-version-check"]
        )
        if self.folder:
            where = f"the wheel folder {self.folder}"
        else:
            where = "PyPI" if c.torch_source == "pypi" else f"PyTorch's {build.variant} index"
        # Index strategy. Step 1 takes the torch family from ONE place: PyTorch's index for the
        # backend (--index-url replaces the default index, so a look-alike package on PyPI can never
        # win, the torchtriton lesson; with uv, --extra-index-url would even be searched FIRST and
        # serve PyPI's torch, the wrong CUDA build). torch's own dependencies (filelock, sympy,
        # nvidia-*) come from that index too: PyTorch mirrors them there, as its documented install
        # does. Step 2 installs everything else from the default index (or --index-url/--find-links)
        # and never sees PyTorch's index, so e.g. numpy>=2.3 is not limited to PyTorch's mirror; the
        # torch family is pinned again there so that a dependency cannot swap the build for PyPI's.
        # A local folder: each family member is named by its wheel FILE (see _source_pins), so no index
        # can serve another build; --find-links lets torch's dependencies come from the folder too, and
        # the default index serves those the folder lacks.
        plan.steps.append(
            Step(
                name="Install PyTorch",
                argv=[*installer, *offline, *index_args, *self._net_args(uv), *pre, *family],
                kind="install",
                description=f"Downloads and installs {', '.join(family)} ({build.variant}) from {where}.",
                progress="uv" if uv else "pip",
                retries=INSTALL_RETRIES,
            )
        )
        if others:
            other_index: list[str] = []
            if c.index_url:
                other_index += ["--index-url", c.index_url]
            for link in c.find_links:
                other_index += ["--find-links", link]
            if self.folder:
                other_index += ["--find-links", self.folder]
            plan.steps.append(
                Step(
                    name="Install the other packages",
                    argv=[*installer, *offline, *other_index, *self._net_args(uv), *keep, *others],
                    kind="install",
                    description=f"Installs {', '.join(others)} from "
                    + ("your package index" if c.index_url else "the default package index (PyPI)")
                    + ", keeping the PyTorch build just installed.",
                    progress="uv" if uv else "pip",
                    retries=INSTALL_RETRIES,
                )
            )
        if c.jupyter:
            self._kernel_step(plan, rel, version, build, env, env_python)
        self._verify_step(plan, env_python, family, expect_torch, where)
        self._sizes(plan, build.variant)

    def _kernel_step(
        self, plan: Plan, rel: Release, version: str, build: _Build, env: Path, env_python: str
    ) -> None:
        name = re.sub(r"[^a-z0-9._-]", "-", env.name.lower()) or "torch"
        home = Path.home()
        kernels: PurePosixPath | PureWindowsPath
        if self.windows:
            kernels = PureWindowsPath(str(home)) / "AppData" / "Roaming" / "jupyter" / "kernels"
        elif self.report.os.name == "macos":
            kernels = PurePosixPath(str(home)) / "Library" / "Jupyter" / "kernels"
        else:
            kernels = PurePosixPath(str(home)) / ".local" / "share" / "jupyter" / "kernels"
        label = "nightly" if rel.nightly else version
        plan.steps.append(
            Step(
                name="Register the Jupyter kernel",
                argv=[
                    env_python,
                    "-m",
                    "ipykernel",
                    "install",
                    "--user",
                    "--name",
                    name,
                    "--display-name",
                    f"PyTorch {label} ({build.backend})",
                ],
                kind="kernel",
                description=f"Makes the environment selectable in Jupyter as “PyTorch {label} ({build.backend})”.",
                creates=str(kernels / name),
            )
        )

    def _verify_step(
        self, plan: Plan, env_python: str, family: list[str],
        expect_torch: str | None = None, expect_from: str | None = None,
    ) -> None:
        names = [str(canonicalize_name(Requirement(s).name)) for s in family]
        require = [n for n in names if n in ("torchvision", "torchaudio")]
        plan.steps.append(
            Step(
                name="Verify",
                argv=verify.probe_argv(env_python, plan.expect, require, expect_torch=expect_torch,
                                       expect_from=expect_from),
                kind="verify",
                description=f"Imports torch in the new environment and runs a small computation on {plan.expect}.",
                timeout=600,
            )
        )

    def _sizes(self, plan: Plan, variant: str) -> None:
        plan.download_mib, plan.disk_mib = self.catalog.size_mib(variant)

    # -- conda ------------------------------------------------------------------------------------------

    def _conda_steps(self, plan: Plan, rel: Release, version: str, build: _Build, env: Path) -> None:
        conda = self.report.tools.conda
        assert conda is not None  # checked in plan()
        exe = conda.executable
        plan.env_python = self._env_python(env, conda=True)
        pkgs: list[str] = []
        family, others = self._packages(rel, version)
        cf = self.catalog.conda_forge.get("packages", {})
        kind = variant_kind(build.variant)
        for spec in family:
            req = Requirement(spec)
            pin = "".join(str(s) for s in req.specifier).replace("==", "=")
            name = canonicalize_name(req.name)
            if name == "torch":
                pkg = cf.get(
                    "cuda" if kind == "cuda" else "cpu" if build.backend == "cpu" else "auto", "pytorch"
                )
                pkgs.append(f"{pkg}{pin}")
            else:
                pkgs.append(f"{name}{pin}")
        if kind == "cuda":
            cuda = self.catalog.cuda_version(build.variant) or ""
            pkgs.append(f"cuda-version={cuda}")
            self.reasons.append(
                f"conda-forge's pytorch-gpu with cuda-version={cuda}: the CUDA {cuda} line chosen for your GPU and driver "
                "(conda-forge brings its own CUDA libraries; the retired 'pytorch' channel and cudatoolkit are not used)."
            )
        if self.choices.jupyter:
            others.append("ipykernel")
        pkgs += others
        plan.packages = pkgs
        flavor = conda.flavor
        channel = ["-c", "conda-forge", "--override-channels"]
        plan.steps.append(
            Step(
                name="Create the conda environment",
                argv=[exe, "create", "-y", "-p", str(env), f"python={plan.python}", *channel],
                kind="conda-create",
                description=f"Creates a conda environment with Python {plan.python} in {env} using {flavor}.",
                creates=str(env),
                progress="conda",
                retries=INSTALL_RETRIES,
            )
        )
        plan.steps.append(
            Step(
                name="Install PyTorch",
                argv=[exe, "install", "-y", "-p", str(env), *pkgs, *channel],
                kind="install",
                description=f"Installs {', '.join(pkgs)} from conda-forge.",
                progress="conda",
                retries=INSTALL_RETRIES,
            )
        )
        plan.torch_index = "conda-forge"
        self.reasons.append(f"conda via {flavor} ({exe}), conda-forge only.")
        if self.choices.jupyter:
            self._kernel_step(plan, rel, version, build, env, plan.env_python)
        self._verify_step(plan, plan.env_python, family)
        self._sizes(plan, build.variant)

    # -- source -----------------------------------------------------------------------------------------

    def _source_build(self, build: _Build) -> _Build:
        """A source build's backend is what the local toolkit can build, not a wheel variant."""
        tools, r = self.report.tools, self.report
        use_cuda = variant_kind(build.backend) == "cuda"
        use_rocm = variant_kind(build.backend) == "rocm"
        explicit = self.choices.backend != "auto"
        if use_cuda and tools.nvcc is None:
            if explicit:
                raise ChoiceError(
                    "A CUDA build from source needs the CUDA toolkit (nvcc), which was not found: install it "
                    "(12.6 or newer) or choose --backend cpu."
                )
            build.warnings.append(
                "No CUDA toolkit (nvcc) was found, so this source build is CPU-only: install the CUDA toolkit "
                "12.6+ and plan again to build with CUDA."
            )
            use_cuda = False
        if use_rocm and tools.hipcc is None:
            if explicit:
                raise ChoiceError(
                    "A ROCm build from source needs ROCm (hipcc), which was not found: install ROCm."
                )
            build.warnings.append("ROCm (hipcc) was not found, so this source build is CPU-only.")
            use_rocm = False
        if use_cuda:
            nv = version_tuple(tools.nvcc.version if tools.nvcc else None) or (12, 6)
            build.backend = f"cu{nv[0]}{nv[1] if len(nv) > 1 else 0}"
        elif use_rocm:
            rv = version_tuple(r.rocm_version) or (0, 0)
            build.backend = f"rocm{rv[0]}.{rv[1] if len(rv) > 1 else 0}"
        elif build.backend != "mps":
            build.backend = "cpu"
        build.variant = build.backend
        return build

    def _source_steps(self, plan: Plan, rel: Release, version: str, build: _Build, env: Path) -> None:
        r, tools = self.report, self.report.tools
        missing = _missing_build_tools(tools)
        if missing:
            raise ChoiceError(f"Building from source needs {' and '.join(missing)}: {_tools_hint(r.os.name)}")
        # The backend of a source build is what the local toolkit can build, not a wheel variant.
        use_cuda = variant_kind(plan.backend) == "cuda"
        use_rocm = variant_kind(plan.backend) == "rocm"
        env_python = self._env_python(env)
        plan.env_python = env_python
        checkout = str(Path(env) / "src" / "pytorch")
        uv = self.choices.engine == "uv"
        for name, tool in (
            ("git", tools.git),
            ("compiler", tools.compiler),
            ("cmake", tools.cmake),
            ("ninja", tools.ninja),
            ("nvcc", tools.nvcc if use_cuda else None),
        ):
            if tool is None:
                continue
            plan.steps.append(
                Step(
                    name=f"Check {name}",
                    argv=[tool.executable, "--version"],
                    kind="check",
                    description=f"Checks that {name} ({tool.executable}) runs.",
                    timeout=60,
                )
            )
        base = plan.python_executable or plan.python
        plan.steps.append(
            Step(
                name="Create the environment",
                argv=[self.uv, "venv", "--allow-existing", "--seed", "--python", base, str(env)]
                if uv
                else [base, "-m", "venv", str(env)],
                kind="venv",
                description=f"Creates the Python {plan.python} environment the build installs into (with pip).",
                creates=str(env),
                progress="uv" if uv else None,
            )
        )
        branch = [] if rel.nightly else ["--branch", f"v{version}"]
        plan.steps.append(
            Step(
                name="Download the PyTorch source",
                argv=[
                    tools.git.executable if tools.git else "git",
                    "clone",
                    "--recursive",
                    # git reports progress only to a terminal; the runner reads a pipe.
                    "--progress",
                    *branch,
                    "--depth",
                    "1",
                    "--shallow-submodules",
                    self.source_repo,
                    checkout,
                ],
                kind="clone",
                description=f"Clones PyTorch {version} with its submodules (about 1.5 GB) into {checkout}.",
                creates=checkout,
                progress="git",
                retries=INSTALL_RETRIES,
            )
        )
        requirements = str(Path(checkout) / "requirements.txt")
        extra = [t for t, tool in (("cmake", tools.cmake), ("ninja", tools.ninja)) if tool is None]
        installer = (
            [self.uv, "pip", "install", "--python", env_python]
            if uv
            else [env_python, "-m", "pip", "install"]
        )
        plan.steps.append(
            Step(
                name="Install the build dependencies",
                argv=[*installer, *self._net_args(uv), "-r", requirements, *extra],
                kind="install",
                description="Installs what the build needs (from the checkout's requirements.txt)"
                + (f", plus {' and '.join(extra)}." if extra else "."),
                cwd=checkout,
                progress="uv" if uv else "pip",
                retries=INSTALL_RETRIES,
            )
        )
        cores = r.cpu.threads or r.cpu.cores or 1
        ram_gib = (r.resources.ram_mib or 4096) / 1024
        jobs = max(1, min(cores, int(ram_gib // 2.5)))
        build_env = {
            "USE_CUDA": "1" if use_cuda else "0",
            "USE_ROCM": "1" if use_rocm else "0",
            "MAX_JOBS": str(jobs),
            "CMAKE_PREFIX_PATH": str(env),
            "BUILD_TEST": "0",
        }
        if use_cuda:
            ccs = sorted({g.compute_capability for g in r.gpus_of("nvidia") if g.compute_capability}, key=_cc)
            if ccs:
                build_env["TORCH_CUDA_ARCH_LIST"] = ";".join(ccs)
                self.reasons.append(
                    f"TORCH_CUDA_ARCH_LIST={';'.join(ccs)}: kernels only for this machine's GPUs (a faster build)."
                )
        if use_rocm:
            gfx = sorted({g.gfx_arch for g in r.gpus_of("amd") if g.gfx_arch})
            if gfx:
                build_env["PYTORCH_ROCM_ARCH"] = ";".join(gfx)
        self.reasons.append(
            f"MAX_JOBS={jobs}: {cores} CPU threads, limited to one compile job per 2.5 GB of the "
            f"{ram_gib:.0f} GB RAM so the build does not run out of memory."
        )
        plan.steps.append(
            Step(
                name="Build and install PyTorch",
                argv=[env_python, "-m", "pip", "install", "--no-build-isolation", "-v", "."],
                env=build_env,
                cwd=checkout,
                kind="build",
                description="Compiles PyTorch (1–3 hours) and installs it into the environment.",
                progress="ninja",
            )
        )
        plan.packages = [f"torch=={version}" if not rel.nightly else "torch"]
        plan.torch_index = self.source_repo
        self.reasons.append(
            f"Build from source: PyTorch {version} from {self.source_repo}"
            + (" with CUDA" if use_cuda else " with ROCm" if use_rocm else " for the CPU")
            + "."
        )
        self._verify_step(plan, env_python, ["torch"])
        src = self.catalog.sizes.get("source", {"download": 1500, "disk": 15360})
        plan.download_mib, plan.disk_mib = int(src["download"]), int(src["disk"])
        free = r.resources.free_mib("env")
        if free is not None and free < SOURCE_MIN_FREE_MIB:
            self.warnings.append(
                f"Only {free / 1024:.1f} GB are free where the environment goes; a source build needs at least 15 GB."
            )

    # -- preflight ----------------------------------------------------------------------------------------

    def _preflight(self, plan: Plan, rel: Release, build: _Build) -> None:
        r = self.report
        if r.os.arch == "x86_64" and r.cpu.avx2 is False:
            self.warnings.append(
                "This CPU has no AVX2: PyTorch's x86 wheels run slowly on it and may stop with “Illegal instruction”."
            )
        env_free = r.resources.free_mib("env")
        if plan.disk_mib and env_free is not None and env_free < plan.disk_mib and plan.method != "source":
            self.warnings.append(
                f"Only {env_free / 1024:.1f} GB are free where the environment goes; the {plan.backend} build needs "
                f"about {plan.disk_mib / 1024:.0f} GB."
            )
        for purpose in ("temp", "cache"):
            free = r.resources.free_mib(purpose)
            if plan.download_mib and free is not None and free < plan.download_mib:
                self.warnings.append(
                    f"Only {free / 1024:.1f} GB are free in the {purpose} folder; the download is about "
                    f"{plan.download_mib / 1024:.1f} GB (the installer moves {purpose} files to the environment's drive)."
                )
        if self.windows:
            if r.tools.long_paths_enabled is False:
                self.warnings.append(
                    f"Windows long paths are off: installs can fail with [WinError 206] in deep folders. Enable "
                    f"LongPathsEnabled (needs admin) or keep the environment path short ({len(plan.env)} characters now)."
                )
            vc = version_tuple(r.tools.vc_runtime)
            if not vc:
                self.warnings.append(
                    "The Microsoft Visual C++ 2015–2022 runtime (x64) was not found: torch will fail to import with "
                    "[WinError 126]. Install Microsoft's vc_redist.x64.exe (https://aka.ms/vs/17/release/vc_redist.x64.exe)."
                )
            elif vc < version_tuple(MIN_VC_RUNTIME):
                self.warnings.append(
                    f"The Visual C++ runtime is {r.tools.vc_runtime}; recent PyTorch needs {MIN_VC_RUNTIME} or newer "
                    "(else “DLL load failed”): update it from https://aka.ms/vs/17/release/vc_redist.x64.exe."
                )
        if self.platform == "macos-x86_64":
            self.warnings.append(
                "Intel Mac: PyTorch 2.2.2 (Python ≤ 3.12, CPU only) is the last release for it; newer PyTorch "
                "needs an Apple Silicon Mac."
            )
        if self.platform == "windows-arm64":
            self.reasons.append("Windows on Arm: PyTorch publishes CPU builds for Python 3.11–3.13 only.")
        if r.os.rosetta:
            self.warnings.append(
                "This process runs under Rosetta 2 (x86_64 on Apple Silicon): use a native arm64 Python for PyTorch."
            )


def _prefer_verified(rel: Release, variants: list[str]) -> list[str]:
    """Newest first, but a variant whose existence is unconfirmed (cu129 of 2.13) after the confirmed ones."""
    return sorted(variants, key=lambda v: rel.is_unverified(f"variants.{v}") is not None)


def _missing_build_tools(tools: Tools) -> list[str]:
    """What a source build cannot start without, as the user would name it."""
    return [name for name, tool in (("git", tools.git), ("a C/C++ compiler", tools.compiler)) if tool is None]


def _tools_hint(os_name: str) -> str:
    if os_name == "windows":
        return "install Git for Windows and Visual Studio Build Tools with the “Desktop development with C++” workload."
    if os_name == "macos":
        return "run `xcode-select --install` (it brings git and clang)."
    return "install git and a compiler (e.g. `sudo apt install git build-essential` or `sudo dnf install git gcc-c++`)."


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


# -- public API -----------------------------------------------------------------------------------------


def make_plan(
    report: SystemReport,
    choices: Choices,
    catalog: Catalog,
    *,
    uv: str = "uv",
    source_repo: str = DEFAULT_SOURCE_REPO,
) -> Plan:
    """Plan an install for the machine `report` describes. Raises ChoiceError (one sentence) when it cannot.

    `uv` is the uv executable the steps run (the CLI passes the bundled one); `source_repo` is the
    git repository a source build clones (tests point it at a local repository).
    """
    return _Planner(report, choices, catalog, uv, source_repo).plan()


def method_options(report: SystemReport) -> list[MethodOption]:
    """The three install methods for the GUI's method page, with why each is (not) available."""
    tools = report.tools
    conda = tools.conda
    pip = MethodOption(
        "pip",
        True,
        True,
        "Recommended: an isolated virtual environment with PyTorch's official wheels, installed by uv in a few "
        "minutes; Torch Setup fetches a suitable Python if none is installed.",
    )
    if conda:
        conda_opt = MethodOption(
            "conda",
            True,
            False,
            f"A conda environment from conda-forge using {conda.flavor} ({conda.executable}); conda-forge's "
            "PyTorch can lag the newest release and has no ROCm or XPU builds.",
        )
    else:
        conda_opt = MethodOption(
            "conda",
            False,
            False,
            f"Needs conda, mamba or micromamba, and none was found: install Miniforge ({MINIFORGE_URL}) to use it.",
        )
    missing = _missing_build_tools(tools)
    if missing:
        hint = _tools_hint(report.os.name)
        source = MethodOption("source", False, False, f"Building needs {' and '.join(missing)}: {hint}")
    else:
        source = MethodOption(
            "source",
            True,
            False,
            "Compiles PyTorch on this machine: takes 1–3 hours, needs about 15 GB free, git, a C++ compiler, "
            "cmake and ninja (and the CUDA toolkit for a GPU build). For custom builds only.",
        )
    return [pip, conda_opt, source]
