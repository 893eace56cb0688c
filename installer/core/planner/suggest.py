"""Alternatives offered in refusals and warnings are planned first: only one that plans on the same
machine is offered ("choose --torch 2.13" is said only if `--torch 2.13` gives a plan here)."""

from __future__ import annotations

import dataclasses
from typing import Any

from installer.core.plan import ChoiceError, Plan
from installer.core.planner.context import PlanContext


def trial(ctx: PlanContext, **changes: Any) -> Plan | None:
    """The plan these changed choices give on the same machine, or None when they are refused.

    A trial plans with `trial=True`: its own refusals and warnings offer nothing further (no recursion),
    which cannot change whether it plans, only what its messages would suggest.
    """
    from installer.core.planner import plan_with

    choices = dataclasses.replace(ctx.choices, **changes)
    try:
        return plan_with(PlanContext(ctx.report, choices, ctx.catalog, uv=ctx.uv, source_repo=ctx.source_repo,
                                     elsewhere=ctx.elsewhere, trial=True))
    except ChoiceError:
        return None


def offer(ctx: PlanContext, text: str, **changes: Any) -> str | None:
    """`text` ("choose --torch 2.6") if those changes plan here; None otherwise. Inside a trial, `text`."""
    if ctx.trial:
        return text
    return text if trial(ctx, **changes) is not None else None


def either(ctx: PlanContext, options: list[tuple[str, dict[str, Any]]], otherwise: str = "") -> str:
    """The offers that plan here joined by "or" ("choose --torch 2.6 or --method pip"), else `otherwise`."""
    offered = [text for text, changes in options if offer(ctx, text, **changes) is not None]
    if not offered:
        return otherwise
    return " or ".join(offered)


def build_that_fits(ctx: PlanContext, series: str, variant: str) -> bool:
    """Does `--torch series --backend variant` plan here AND run on this machine (no "cannot use" warning)?"""
    if ctx.trial:
        return True
    plan = trial(ctx, torch=series, backend=variant)
    return plan is not None and plan.backend == variant and not any("cannot use" in w for w in plan.warnings)
