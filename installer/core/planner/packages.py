"""The requested packages, split into the torch family (versions matched to torch) and the rest."""

from __future__ import annotations

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from installer.core.catalog import Release
from installer.core.plan import ChoiceError
from installer.core.planner.context import TORCH_FAMILY, PlanContext
from installer.core.planner.facts import hardware


def packages(ctx: PlanContext, rel: Release, version: str) -> tuple[list[str], list[str]]:
    """(torch family specs, other specs)."""
    family: dict[str, str] = {}
    others: list[str] = []
    nightly = version == "nightly"
    for spec in ctx.choices.packages:
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
            ctx.warnings.append(
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
                    ctx.warnings.append(
                        f"torchvision {tv} for torch {version} is assumed, not confirmed."
                    )
            else:
                specs.append("torchvision")
                ctx.warnings.append(
                    f"The torchvision version matching torch {version} is unknown; the installer picks one."
                )
        else:
            ta = rel.torchaudio_for(version)
            if ta and ta.split(".")[:2] != version.split(".")[:2]:
                specs.append(f"torchaudio=={ta}")
                ctx.warnings.append(
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
                ctx.warnings.append(
                    f"No torchaudio release matches torch {version}; torchaudio is left out."
                )
    pin = None if nightly else hardware().numpy_pin(rel.series)
    if pin and not any(canonicalize_name(Requirement(o).name) == "numpy" for o in others):
        spec, why = pin
        others.append(spec)
        ctx.reasons.append(f"{spec}: torch {rel.series} {why}.")
    return specs, others
