"""Decisions as values, and the one place they become sentences (Plan.reasons).

Rules call `decide(ctx, topic, value, why)`; make_plan renders every Decision, then the notes (reasons
that are not a choice: "numpy<2: …", "MAX_JOBS=…"), into plan.reasons. Code that needs to know what
was chosen (the wizard, tests) reads plan.decision(topic), never the prose. See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from installer.core.plan import Decision
from installer.core.planner.context import PlanContext

TOPICS = ("target", "method", "release", "python", "backend", "source", "env")
# Topics that become a line under "Why": the method and the folder are already the plan's headline.
SPOKEN = ("target", "release", "python", "backend", "source")

# How the value reads as the subject of its sentence when a rule gives no label.
_SUBJECT = {"release": "torch {value}", "python": "Python {value}", "env": "Environment {value}"}


def decide(ctx: PlanContext, topic: str, value: str, why: str, label: str = "") -> Decision:
    """Record (or replace) the decision on `topic`: a later rule may refine an earlier one (a source build
    turns the wheel backend into what the local toolkit builds)."""
    decision = Decision(topic, value, why, label)
    ctx.decisions = [d for d in ctx.decisions if d.topic != topic] + [decision]
    return decision


def render(decision: Decision) -> str:
    """'torch 2.13.0: the newest release.' — the sentence a person reads for one decision."""
    subject = decision.label or _SUBJECT.get(decision.topic, "{value}").format(value=decision.value)
    why = decision.why.strip()
    return f"{subject}: {why}" if why.endswith((".", "?", "!")) else f"{subject}: {why}."


def reasons(decisions: list[Decision], notes: list[str]) -> list[str]:
    """Plan.reasons: the spoken decisions in TOPICS order, then the notes, without repeats."""
    ordered = sorted((d for d in decisions if d.topic in SPOKEN), key=lambda d: TOPICS.index(d.topic) if d.topic in TOPICS else len(TOPICS))
    out: list[str] = []
    for line in [render(d) for d in ordered] + notes:
        if line not in out:
            out.append(line)
    return out
