"""A request and its decisions -> the 278 response (reference sections 4.7 and 8.5).

The response names the same parties (2000A-2000D, identifying records only), echoes
every trace the requester sent with TRN01 = 2, echoes UM at each answered level, and
carries at each answered level either a decision (HCR, with REF NT, certification dates
and a message as the decision says) or a validation note (AAA), never both. A 2000F
comes back only for a service line the request had and the decision answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from edi278.decide.outcome import EventDecision, Outcome
from edi278.model import (
    Decision,
    Delivery,
    Diagnoses,
    Generic,
    Header,
    HierarchicalLevel,
    Level,
    Message,
    Party,
    Purpose,
    Record,
    Reference,
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


def _places(*segment_ids: str) -> dict[str, int]:
    return {segment_id: place for place, segment_id in enumerate(segment_ids)}


# Segment order at the event and the service level of a response (the X217 map).
EVENT_ORDER = _places("TRN", "AAA", "UM", "HCR", "REF", "DTP", "HI", "HSD", "CL1", "CR1", "CR2",
                      "CR5", "CR6", "PWK", "MSG")  # fmt: skip
SERVICE_ORDER = _places("TRN", "AAA", "UM", "HCR", "REF", "DTP", "HI", "SV1", "SV2", "SV3", "TOO",
                        "HSD", "PWK", "MSG")  # fmt: skip
NOT_ECHOED = frozenset({"CRC"})  # conditions indicators have no place in a response


def respond(request: Transaction, decisions: Sequence[EventDecision], now: datetime) -> Transaction:
    header = Header(
        "0007",
        Purpose.RESPONSE,
        request.header.submitter_reference,
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
    )
    decided = dict(zip(map(id, request.events), decisions, strict=False))
    return Transaction(
        request.control_number, request.convention, header, _answer(request.root, decided)
    )


def _answer(level: Level, decided: dict[int, EventDecision]) -> Level:
    """A level answered: its parties (with the AAA of any event below that faults
    them), and below it the events decided. An event whose fault lies above it was not
    processed and does not come back (reference 4.1)."""
    notes = _party_notes(level, decided)
    answer = Level(
        level=level.level,
        parties=[echo_party(p, notes.get(p.loop_id, ())) for p in level.parties
                 if p.loop_id in ECHOED_PARTY_RECORDS],
    )  # fmt: skip
    for child in level.children:
        if child.level != HierarchicalLevel.EVENT:
            answer.children.append(_answer(child, decided))
            continue
        decision = decided.get(id(child))
        if decision is not None and not decision.outcome.validation_loop:
            answer.children.append(answer_event(child, decision))
    return answer


def _party_notes(level: Level, decided: dict[int, EventDecision]) -> dict[str, list[Record]]:
    """AAA records for this level's name loops, from the events below it (once each)."""
    own = {party.loop_id for party in level.parties}
    notes: dict[str, list[Record]] = {}
    for event in [level, *level.descendants()]:
        decision = decided.get(id(event))
        if decision is None or decision.outcome.validation_loop not in own:
            continue
        found = notes.setdefault(decision.outcome.validation_loop, [])
        validation = decision.outcome.validation
        if validation is not None and validation not in found:
            found.append(validation)
    return notes


def echo_party(party: Party, notes: Sequence[Record] = ()) -> Party:
    loop_id, kept = ECHOED_PARTY_RECORDS[party.loop_id]
    records = [r for r in party.records if record_segment_id(r) in kept]
    # The AAA follows the NM1 and its REF/N3/N4 and precedes PRV/DMG/INS (reference 4.1).
    at = next((i for i, r in enumerate(records) if record_segment_id(r) in ("PRV", "DMG", "INS")),
              len(records))  # fmt: skip
    return Party([*records[:at], *notes, *records[at:]], loop_id=loop_id)


def answer_event(event: Level, decision: EventDecision) -> Level:
    answer = Level(
        records=_decided(event, decision.outcome, EVENT_ORDER),
        level=event.level,
        parties=[echo_party(p) for p in event.parties if p.loop_id in ECHOED_PARTY_RECORDS],
    )
    for line, outcome in zip(event.children, decision.lines, strict=False):
        answer.children.append(
            Level(
                records=_decided(line, outcome, SERVICE_ORDER),
                level=line.level,
                parties=[echo_party(p) for p in line.parties if p.loop_id in ECHOED_PARTY_RECORDS],
            )
        )
    return answer


def _decided(level: Level, outcome: Outcome, order: dict[str, int]) -> list[Record]:
    records: list[Record] = []
    for record in level.records:
        if isinstance(record, Trace):
            records.append(replace(record, trace_type="2"))  # referenced: their trace
        elif isinstance(record, Delivery) and outcome.quantity is not None:
            continue  # the certified quantity replaces the one asked for
        elif isinstance(record, Diagnoses) and outcome.documents:
            continue  # at a service level, HI asks for documents (LOINC)
        elif (
            isinstance(record, Reference)
            and record.qualifier == "NT"
            and (outcome.administrative_reference)
        ):
            continue  # one REF NT in a response: ours (theirs named an earlier case)
        elif record_segment_id(record) not in NOT_ECHOED:
            records.append(record)
    if outcome.validation is not None:
        records.append(outcome.validation)
    else:
        records.append(Decision(outcome.action, outcome.certification_number, outcome.reason))
        if outcome.administrative_reference:
            records.append(Reference("NT", outcome.administrative_reference))
        records.extend(outcome.periods)
        if outcome.quantity is not None:
            records.append(outcome.quantity)
        if outcome.documents:
            records.append(Diagnoses(tuple(("LOI", code) for code in outcome.documents)))
        if outcome.message:
            records = [r for r in records if not isinstance(r, Message)]
            records.append(Message(plain_text(outcome.message)))
    return sorted(records, key=lambda r: order.get(record_segment_id(r), len(order)))


def plain_text(text: str) -> str:
    """Free text safe under any partner's delimiters: letters, digits, spaces and
    everyday punctuation; anything else (a separator such as : * ~ ^ |) becomes a space."""
    return " ".join(re.sub(r"[^A-Za-z0-9 .,;'()/&-]", " ", text).split())


def record_segment_id(record: Record) -> str:
    return (record.segment_id or record.SEGMENT) if isinstance(record, Generic) else record.SEGMENT
