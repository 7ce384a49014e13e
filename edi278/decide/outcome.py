"""What a decision is: an outcome per event and per service line, with the numbers it
gives out, the clocks it runs on and the trace of how it was reached. The determination
engine makes them, respond.py writes them, the store keeps them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from edi278.model import Delivery, Period, RequestValidation, Transaction


@dataclass(frozen=True, slots=True)
class Step:
    """One rule that fired, and the facts it read (codes and dates, never PHI)."""

    rule: str
    finding: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "finding": self.finding}


@dataclass(frozen=True, slots=True)
class Clocks:
    """When the case must be answered (reference sections 6 and 8.6), all UTC."""

    urgency: str  # expedited | standard
    regulatory_due_at: datetime
    core_info_request_due_at: datetime
    internal_pend_due_at: datetime | None = None  # only while pended
    closeout_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What was decided for one event or one service line."""

    action: str  # HCR01, Action
    certification_number: str = ""  # HCR02, for certified outcomes
    reason: str = ""  # HCR03, code source 886
    administrative_reference: str = ""  # REF NT
    message: str = ""  # MSG
    periods: tuple[Period, ...] = ()  # DTP 102 issued, 007 effective, 036 expires
    validation: RequestValidation | None = None  # AAA instead of a decision
    validation_loop: str = ""  # where the AAA goes when not at this level: 2010B/C/D
    quantity: Delivery | None = None  # HSD as certified, in place of the request's
    documents: tuple[str, ...] = ()  # LOINC codes asked for (HI LOI), for a pend
    due_at: datetime | None = None  # when a pended review is to be decided
    trace: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class EventDecision:
    outcome: Outcome
    lines: tuple[Outcome, ...] = ()  # per service line, in order; lines past the end: none
    clocks: Clocks | None = None


@dataclass(frozen=True, slots=True)
class Tracking:
    """The numbers a decision may give out for one request: the administrative reference
    (REF NT) each event was issued on receipt, and fresh certification numbers (HCR02)
    for what is certified."""

    references: Sequence[str]  # one per event, in order
    certification: Callable[[], str]


# The engine bound to its facts: decides every event (and its lines) of a request, now.
Decider = Callable[[Transaction, Tracking, datetime], list[EventDecision]]


@dataclass(slots=True)
class Trace:
    """Steps gathered while deciding one event."""

    steps: list[Step] = field(default_factory=list)

    def add(self, rule: str, finding: str) -> None:
        self.steps.append(Step(rule, finding))
