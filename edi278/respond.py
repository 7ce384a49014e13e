"""A request and its decisions -> the 278 response (reference sections 4.7 and 8.5).

The response names the same parties (2000A-2000D, identifying records only), echoes
every trace the requester sent with TRN01 = 2, echoes UM at each answered level, and
carries at each answered level either a decision (HCR, with REF NT, certification dates
and a message as the decision says) or a validation note (AAA), never both. A 2000F
comes back only for a service line the request had and the decision answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from edi278.model import (
    Action,
    Decision,
    Header,
    HierarchicalLevel,
    Level,
    Message,
    Party,
    Period,
    Purpose,
    Record,
    Reference,
    RequestValidation,
    Trace,
    Transaction,
)

# Records each name loop keeps in the response, by the request's loop ID, and the loop
# they answer in (the request's transport loop 2010EB is the response's 2010EC; the
# other-UMO loop 2010EC has no place in a response).
ECHOED_PARTY_RECORDS = {
    "2010A": ("2010A", {"NM1"}),
    "2010B": ("2010B", {"NM1", "REF", "PRV"}),
    "2010C": ("2010C", {"NM1", "REF", "N3", "N4", "DMG", "INS"}),
    "2010D": ("2010D", {"NM1", "REF", "N3", "N4", "DMG", "INS"}),
    "2010EA": ("2010EA", {"NM1", "REF", "N3", "N4", "PER", "PRV"}),
    "2010EB": ("2010EC", {"NM1", "N3", "N4"}),
    "2010FA": ("2010FA", {"NM1", "REF", "N3", "N4", "PER", "PRV"}),
}
# Segment order at the event and the service level of a response (the X217 map).
EVENT_ORDER = ("TRN", "AAA", "UM", "HCR", "REF", "DTP", "HI", "HSD", "CL1", "CR1", "CR2",
               "CR5", "CR6", "PWK", "MSG")  # fmt: skip
SERVICE_ORDER = ("TRN", "AAA", "UM", "HCR", "REF", "DTP", "HI", "SV1", "SV2", "SV3", "TOO",
                 "HSD", "PWK", "MSG")  # fmt: skip
NOT_ECHOED = frozenset({"CRC"})  # conditions indicators have no place in a response


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


@dataclass(frozen=True, slots=True)
class EventDecision:
    outcome: Outcome
    lines: tuple[Outcome, ...] = ()  # per service line, in order; lines past the end: none


@dataclass(frozen=True, slots=True)
class Tracking:
    """The numbers a decision may give out for one request: the administrative reference
    (REF NT) each event was issued on receipt, and fresh certification numbers (HCR02)
    for what is certified."""

    references: Sequence[str]  # one per event, in order
    certification: Callable[[], str]


# A policy: decides every event (and its service lines) of one request.
Policy = Callable[[Transaction, Tracking], list[EventDecision]]


def pend_all_for_review(request: Transaction, tracking: Tracking) -> list[EventDecision]:
    """A PLACEHOLDER policy until the determination engine lands: every event and every
    service line is pended for clinical review (HCR A4, reason 0V) under the event's
    administrative reference number (REF NT)."""
    decisions = []
    for event, reference in zip(request.events, tracking.references, strict=True):
        pended = Outcome(Action.PENDED, reason="0V", administrative_reference=reference)
        decisions.append(EventDecision(pended, tuple(pended for _ in event.children)))
    return decisions


def respond(request: Transaction, decisions: Sequence[EventDecision], now: datetime) -> Transaction:
    header = Header(
        "0007",
        Purpose.RESPONSE,
        request.header.submitter_reference,
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
    )
    answered = iter(decisions)
    return Transaction(
        request.control_number, request.convention, header, _answer(request.root, answered)
    )


def _answer(level: Level, decisions: Iterator[EventDecision]) -> Level:
    answer = Level(
        level=level.level,
        parties=[_echo(p) for p in level.parties if p.loop_id in ECHOED_PARTY_RECORDS],
    )
    for child in level.children:
        if child.level == HierarchicalLevel.EVENT:
            decision = next(decisions, None)
            if decision is not None:
                answer.children.append(_answer_event(child, decision))
        else:
            answer.children.append(_answer(child, decisions))
    return answer


def _echo(party: Party) -> Party:
    loop_id, kept = ECHOED_PARTY_RECORDS[party.loop_id]
    return Party([r for r in party.records if _segment_id(r) in kept], loop_id=loop_id)


def _answer_event(event: Level, decision: EventDecision) -> Level:
    answer = Level(
        records=_decided(event, decision.outcome, EVENT_ORDER),
        level=event.level,
        parties=[_echo(p) for p in event.parties if p.loop_id in ECHOED_PARTY_RECORDS],
    )
    for line, outcome in zip(event.children, decision.lines, strict=False):
        answer.children.append(
            Level(
                records=_decided(line, outcome, SERVICE_ORDER),
                level=line.level,
                parties=[_echo(p) for p in line.parties if p.loop_id in ECHOED_PARTY_RECORDS],
            )
        )
    return answer


def _decided(level: Level, outcome: Outcome, order: tuple[str, ...]) -> list[Record]:
    records: list[Record] = []
    for record in level.records:
        if isinstance(record, Trace):
            records.append(replace(record, trace_type="2"))  # referenced: their trace
        elif _segment_id(record) not in NOT_ECHOED:
            records.append(record)
    if outcome.validation is not None:
        records.append(outcome.validation)
    else:
        records.append(Decision(outcome.action, outcome.certification_number, outcome.reason))
        if outcome.administrative_reference:
            records.append(Reference("NT", outcome.administrative_reference))
        records.extend(outcome.periods)
        if outcome.message:
            records = [r for r in records if not isinstance(r, Message)]
            records.append(Message(outcome.message))
    return sorted(
        records,
        key=lambda r: order.index(_segment_id(r)) if _segment_id(r) in order else len(order),
    )


def _segment_id(record: Record) -> str:
    return getattr(record, "segment_id", "") or record.SEGMENT
