"""An X216 notification -> the request the decision core reads, and the X216
acknowledgment (the core: no I/O).

A facility tells the plan of an admission, an emergency admission, a discharge, the
start of dialysis or a maternity stay (policy-sources: emergency admissions "must be
reported within one business day", dialysis two business days before the first
treatment). In an X216 the 2000A level is the notification's source (the facility) and
2000B its receiver (the plan): the other way round from a request for review. Read
with the parties in the places a request has them, a notification goes through the same
policy as a request: the member is checked, the timing judged (a late notice noted),
and a case made that the review queue and an X215 inquiry see. What goes back is a
receipt: the notification's parties as they came, and per event its traces, the
payer's reference number (REF NT), a note when the notice was late, or the AAA that
says why it could not be taken. Choices are in schemas/README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from edi278.decide.outcome import EventDecision
from edi278.model import (
    CERTIFYING,
    NOTIFICATION_GUIDE,
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
    ReviewInformation,
    Trace,
    Transaction,
)
from edi278.respond import plain_text, record_segment_id

# BHT02 of a notification: 14 advance notification, 22 information copy, CN completion.
NOTIFICATION_PURPOSES = frozenset({"14", "22", "CN"})
DISCHARGE = "096"  # DTP01 of a discharge date
# What an acknowledgment's 2000E keeps, in the X216 map's order.
EVENT_ORDER = {segment: place for place, segment in enumerate(("TRN", "AAA", "UM", "HCR", "REF",
                                                                "DTP", "MSG"))}  # fmt: skip
# Where an AAA the core puts at a request's name loop goes in the acknowledgment: the
# request's requester (2010B) is the notification's source (2000A); its UMO (2010A) the
# receiver (2010B); the subscriber's and dependent's at their levels (2000C, 2000D).
PARTY_LEVELS = {"2010B": "20", "2010A": "21", "2010C": "22", "2010D": "23"}
# An acknowledgment is a receipt: a notice pended for review or needing no action goes
# back without a decision. A decision made on it later (`review decide`: the case's
# stored notice answered again) certifies, denies or cancels, and carries its HCR.
ANSWERED_WITH_HCR = CERTIFYING | {Action.NOT_CERTIFIED, Action.CANCELLED}


def is_notification(transaction: Transaction) -> bool:
    return (
        transaction.convention == NOTIFICATION_GUIDE
        and transaction.header.purpose in NOTIFICATION_PURPOSES
    )


def as_request(notification: Transaction) -> Transaction:
    """The notification with its parties where a request for review has them: the
    receiver as the UMO (2000A), the source as the requester (2000B; of a source named
    twice, the original one, named last), the subscriber and what is below as sent (the
    very levels: a decision on an event of the one is a decision on the other). The
    notification rides along (`notice`) for its acknowledgment."""
    source = notification.root
    receiver = next((c for c in source.children if c.level == HierarchicalLevel.REQUESTER), None)
    below = receiver.children if receiver is not None else []
    named = [p for p in source.parties if p.loop_id == "2010A"]
    requester = [replace(named[-1], loop_id="2010B")] if named else []
    umo = [replace(p, loop_id="2010A") for p in (receiver.parties if receiver else [])]
    root = Level(
        level=HierarchicalLevel.UMO,
        parties=umo,
        children=[Level(level=HierarchicalLevel.REQUESTER, parties=requester, children=below)],
    )
    return Transaction(
        notification.control_number,
        notification.convention,
        replace(notification.header, purpose=Purpose.REQUEST),
        root,
        notification.envelope,
        notice=notification,
    )


def is_discharge(event: Level) -> bool:
    return event.period(DISCHARGE) is not None


def acknowledge_notification(
    notification: Transaction, decisions: Sequence[EventDecision], now: datetime
) -> Transaction:
    """The X216 acknowledgment (BHT02 11): every level as the notification named it,
    the source still at 2000A; per event its traces as referenced (TRN01 2), UM, the
    payer's reference number (REF NT), its dates and a note; or the AAA at the loop
    that could not be taken (at a party's level; the event is then not answered)."""
    decided = dict(zip(map(id, notification.events), decisions, strict=False))
    notes: dict[str, list[Record]] = {}
    for decision in decisions:
        loop = decision.outcome.validation_loop
        validation = decision.outcome.validation
        if validation is not None and loop in PARTY_LEVELS:
            found = notes.setdefault(PARTY_LEVELS[loop], [])
            if validation not in found:
                found.append(validation)
    header = Header(
        "0007",
        Purpose.RESPONSE,
        notification.header.submitter_reference,
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
    )
    return Transaction(
        notification.control_number,
        notification.convention,
        header,
        _acknowledged(notification.root, decided, notes),
    )


def _acknowledged(
    level: Level, decided: dict[int, EventDecision], notes: dict[str, list[Record]]
) -> Level:
    own = [r for r in level.records if isinstance(r, Trace)]
    answer = Level(
        records=[*(replace(t, trace_type="2") for t in own), *notes.get(level.level, [])],
        level=level.level,
        parties=[_named(p) for p in level.parties],
    )
    for child in level.children:
        if child.level != HierarchicalLevel.EVENT:
            answer.children.append(_acknowledged(child, decided, notes))
            continue
        decision = decided.get(id(child))
        if decision is not None and decision.outcome.validation_loop in ("", "2000E"):
            answer.children.append(_received(child, decision))
    return answer


def _named(party: Party) -> Party:
    """A name loop as the acknowledgment echoes it: who it is, not how to reach them."""
    return Party([r for r in party.records if record_segment_id(r) in ("NM1", "REF")],
                 loop_id=party.loop_id)  # fmt: skip


def _received(event: Level, decision: EventDecision) -> Level:
    outcome = decision.outcome
    records: list[Record] = [replace(t, trace_type="2") for t in event.traces]
    records += [r for r in event.records if isinstance(r, ReviewInformation | Period)]
    if outcome.validation is not None:
        records.append(outcome.validation)
    else:
        if outcome.action in ANSWERED_WITH_HCR:  # a reviewer's certification or denial
            records.append(Decision(outcome.action, outcome.certification_number, outcome.reason))
        if outcome.administrative_reference:  # the payer's reference: the receipt number
            records.append(Reference("NT", outcome.administrative_reference))
        if outcome.message:
            records.append(Message(plain_text(outcome.message)))
    return Level(
        records=sorted(records, key=lambda r: EVENT_ORDER.get(record_segment_id(r), 99)),
        level=HierarchicalLevel.EVENT,
    )
