"""The choices the wizard offers, with why each is (not) available: core decides, the GUI shows."""

from __future__ import annotations

from dataclasses import dataclass

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
