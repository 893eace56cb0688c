"""The choices the wizard offers, with why each is (not) available: core decides, the GUI shows."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from installer.core.catalog import Catalog, CatalogError, platform_key
from installer.core.plan import ChoiceError, Choices, Plan
from installer.core.planner.context import MINIFORGE_URL
from installer.core.planner.steps.source import missing_build_tools, tools_hint
from installer.core.report import SystemReport


@dataclass
class MethodOption:
    method: str  # "pip" | "conda" | "source"
    available: bool
    recommended: bool
    reason: str


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
    missing = missing_build_tools(tools)
    if missing:
        hint = tools_hint(report.os.name)
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


# -- the Python choice ----------------------------------------------------------------------------------

MANAGED = "managed"  # key prefix of a Python uv downloads: "managed:3.12"
MANAGED_CANDIDATES = ("3.13", "3.12", "3.11", "3.10")


@dataclass
class PythonOption:
    key: str  # stable id for a list widget: the interpreter's path, "managed:3.12", or "3.12" (conda)
    label: str  # what the user reads
    choice: str | None  # what goes into Choices.python; None = the planner's own pick (its reason stays "best fit")
    default: bool = False


@dataclass
class PythonOptions:
    options: list[PythonOption]
    left_out: list[str]  # "3.8.10 at /usr/bin/python3.8: <the planner's reason>", one per interpreter not offered
    supported: str  # "PyTorch 2.14.1 needs Python 3.10–3.14" (empty when the release is unknown)
    note: str  # a sentence to show beside the list ("" when nothing needs saying)


def python_options(report: SystemReport, choices: Choices, catalog: Catalog) -> PythonOptions:
    """The Pythons the wizard may offer for these choices: each one the planner accepts on this machine
    (tried with the same rules as make_plan), plus a managed Python where uv would download one."""
    from installer.core.planner import make_plan

    def plan(python: str | None) -> tuple[Plan | None, str]:
        try:
            return make_plan(report, dataclasses.replace(choices, python=python, env=None), catalog), ""
        except ChoiceError as exc:
            return None, str(exc)

    default_plan, _ = plan(None)
    default_exe = default_plan.python_executable if default_plan else None
    options: list[PythonOption] = []
    left_out: list[str] = []
    if choices.method == "conda":
        for version in MANAGED_CANDIDATES:
            if plan(version)[0] is not None:
                options.append(PythonOption(version, f"Python {version} (conda installs it into the environment)",
                                            version, default=bool(default_plan and default_plan.python == version)))
    else:
        seen: set[str] = set()
        for py in report.pythons:
            if py.executable in seen:
                continue
            seen.add(py.executable)
            if not py.usable:
                left_out.append(f"{py.version} at {py.executable}: {py.problem or 'not usable'}")
                continue
            found, why = plan(py.executable)
            if found is None:
                left_out.append(f"{py.version} at {py.executable}: {why}")
                continue
            is_default = py.executable == default_exe
            options.append(PythonOption(py.executable, f"Python {py.version}  ·  {py.executable}  ({py.source})",
                                        None if is_default else py.executable, default=is_default))
        managed = _managed_version(default_plan, plan)
        if managed is not None:
            options.append(PythonOption(f"{MANAGED}:{managed}", f"Let Torch Setup download a managed Python {managed}",
                                        managed,  # a managed pick is always named: uv must fetch that version
                                        default=bool(default_plan and default_exe is None)))
    note = ""
    if not options:
        note = "No Python fits this PyTorch."
    elif choices.method != "conda" and all(o.key.startswith(MANAGED) for o in options):
        note = ("None of the Pythons on this computer fits this PyTorch, so Torch Setup will download one just for "
                "this environment (it does not change the rest of the computer).")
    return PythonOptions(options, left_out, _supported(report, choices, catalog), note)


def _managed_version(default_plan: Plan | None, plan: Callable[[str | None], tuple[Plan | None, str]]) -> str | None:
    """The Python uv would download: the planner's own pick when it already needs one."""
    if default_plan is not None and default_plan.python_executable is None:
        return default_plan.python
    for version in MANAGED_CANDIDATES:
        found, _ = plan(version)
        if found is not None and found.python_executable is None:
            return version
    return None


def _supported(report: SystemReport, choices: Choices, catalog: Catalog) -> str:
    try:
        release = catalog.release(choices.torch)
    except CatalogError:
        return ""
    return f"PyTorch {release.version} needs Python {release.python_range(platform_key(report.os)).text()}"


# -- the rest of what the wizard offers -----------------------------------------------------------------


def backend_options(report: SystemReport, catalog: Catalog, torch: str) -> list[str]:
    """The builds PyTorch publishes of `torch` ("latest", "nightly", "2.13") for this machine's platform,
    preferred first; empty when the catalog does not know that version."""
    try:
        return list(catalog.variants(catalog.release(torch), platform_key(report.os)))
    except CatalogError:
        return []


def default_env_name(report: SystemReport, choices: Choices, catalog: Catalog) -> str:
    """The name the CLI gives a new environment for these choices: torch-<series>-<backend> (one default for
    CLI and wizard); "torch" when no plan can be made yet."""
    from installer.core.planner import make_plan

    try:
        plan = make_plan(report, dataclasses.replace(choices, env=None, env_name=None, python=None), catalog)
    except ChoiceError:
        return "torch"
    return PurePath(plan.env).name
