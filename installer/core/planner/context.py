"""What every planning rule reads (the machine, the request, the catalog) and what it adds to (reasons,
warnings, decisions). One PlanContext per make_plan call; rules are functions over it (docs/ARCHITECTURE.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from installer.core.catalog import Catalog, WheelFacts, platform_key
from installer.core.plan import Choices, Decision
from installer.core.report import SystemReport

DEFAULT_SOURCE_REPO = "https://github.com/pytorch/pytorch"
TORCH_FAMILY = ("torch", "torchvision", "torchaudio")
SOURCE_MIN_FREE_MIB = 15 * 1024
INSTALL_RETRIES = 2
MINIFORGE_URL = "https://conda-forge.org/download/"
# In a plan for another machine, the tools Torch Setup brings are named by role, resolved on the target.
ROLE_UV = "{uv}"
ROLE_PROBE = "{verify_probe}"


@dataclass
class PlanContext:
    report: SystemReport
    choices: Choices
    catalog: Catalog
    uv: str = "uv"
    source_repo: str = DEFAULT_SOURCE_REPO
    reasons: list[str] = field(default_factory=list)  # notes: reasons that are not a Decision
    warnings: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    folder: str | None = None  # a local wheel folder given as --torch-source
    local_wheels: list[tuple[str, WheelFacts]] = field(default_factory=list)  # (file name, facts): torch
    # torchvision/torchaudio wheels of a folder source, by name: the whole family comes from the folder
    family_wheels: dict[str, list[tuple[str, WheelFacts]]] = field(default_factory=dict)
    # A plan for another machine (`plan --system FILE`): the target's paths, Torch Setup's tools by role.
    elsewhere: bool = False
    trial: bool = False  # planning an alternative before it is offered (installer/core/planner/suggest.py)

    @property
    def platform(self) -> str:
        return platform_key(self.report.os)

    @property
    def windows(self) -> bool:
        return self.report.os.name == "windows"
