"""Events the runner emits while it executes a Plan; the CLI prints them, the GUI shows them.

Each event is a small dataclass with a `type` tag; `to_json()` gives the one-line JSON objects that
`torch-setup install --json-events` writes for fleet tools. Events leave the process, so `to_json()` and
`redacted()` hide URL credentials in every string they carry; the runner emits only redacted events.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from installer.core.redact import redact_json

_E = TypeVar("_E", bound="Event")


@dataclass
class Event:
    type: ClassVar[str] = "event"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = redact_json({"type": self.type, **dataclasses.asdict(self)})
        return data

    def redacted(self: _E) -> _E:
        """The same event with every string field (nested lists and dicts too) redacted."""
        changes = {f.name: redact_json(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return dataclasses.replace(self, **changes)


@dataclass
class PlanStarted(Event):
    type: ClassVar[str] = "plan-started"
    steps: list[str]  # step names, in order
    log_path: str


@dataclass
class StepStarted(Event):
    type: ClassVar[str] = "step-started"
    index: int
    name: str
    argv: list[str]  # credentials redacted


@dataclass
class OutputLine(Event):
    type: ClassVar[str] = "output"
    index: int
    text: str  # one line, no trailing newline; a carriage-return progress line arrives as its own line
    stream: str = "stdout"  # "stdout" | "stderr"


@dataclass
class Progress(Event):
    type: ClassVar[str] = "progress"
    index: int
    fraction: float | None  # 0..1 within the step; None when only the text is known
    text: str  # "torch 412/2310 MB", "[1234/5678] Building CXX object ..."
    overall: float | None = None  # 0..1 over the whole plan


@dataclass
class StepFinished(Event):
    type: ClassVar[str] = "step-finished"
    index: int
    name: str
    ok: bool
    seconds: float
    returncode: int | None = None


@dataclass
class Diagnosis:
    category: str  # one of DESIGN.md's categories
    summary: str  # one line: what went wrong
    fix: str  # one concrete thing to do
    evidence: str | None = None  # the line that matched
    # For the wizard: the fix in terms of its own controls (`fix` names CLI flags), and which control
    # applies it ("torch-source", "python", "location"); None where the wizard has nothing better.
    gui_fix: str | None = None
    action: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = redact_json(dataclasses.asdict(self))
        # The CLI's JSON keeps its documented shape; the wizard's extras appear only when there are some.
        for key in ("gui_fix", "action"):
            if data[key] is None:
                del data[key]
        return data


@dataclass
class PlanFinished(Event):
    type: ClassVar[str] = "plan-finished"
    ok: bool
    seconds: float
    cancelled: bool = False
    failed_step: str | None = None
    message: str = ""  # one sentence for the user
    diagnoses: list[dict[str, Any]] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)  # what rollback removed
    log_path: str = ""
