"""An X215 inquiry -> what it asks, and the X215 response (the core: no I/O).

A provider asks about reviews it sent before (policy-sources 004: by tracking number,
member ID or name, with provider and date range). Each 2000E of the inquiry is one
question; it names a case by its certification number (REF BB), its administrative
reference (REF NT) or the trace number of the request (TRN), or else by the patient,
a provider on the case and a date range. The shell finds the cases the sender may see
and hands them back; this module answers each question with a 2000E per case found
(its current decision, as the case's own 278 response would carry it) or with one AAA.
Choices the public sources leave open are in schemas/README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from edi278.decide.outcome import EventDecision, Outcome
from edi278.decide.request import dates_of, events_in_context, person_of, procedure_of
from edi278.model import (
    CERTIFYING,
    Action,
    Header,
    HierarchicalLevel,
    Level,
    Name,
    Period,
    Purpose,
    Record,
    Reference,
    RequestValidation,
    Trace,
    Transaction,
)
from edi278.respond import (
    ECHOED_PARTY_RECORDS,
    EVENT_ORDER,
    answer_event,
    echo_party,
    record_segment_id,
)

# Cases answered at most per question, newest first: a provider who finds more narrows
# the question (dates, provider) rather than reading a response of hundreds of reviews.
MATCHES = 20
TRACES_AT_MOST = 3  # TRN per 2000E in the response (the X215 response map)
# AAA03 at 2000E when nothing is answered: NC no certification information found, AA an
# authorization number (REF BB) not found, CI the case found is not this patient's, 15
# the inquiry names no case and no patient. AAA04 C: correct and send again.
NOT_FOUND = "NC"
NUMBER_NOT_FOUND = "AA"
NOT_THIS_PATIENT = "CI"
NOTHING_TO_SEARCH_BY = "15"
# What a response's 2000E and 2000F keep of a case's answer (the X215 response map).
EVENT_RECORDS = frozenset({"TRN", "AAA", "UM", "HCR", "REF", "DTP", "HSD", "MSG"})
SERVICE_RECORDS = frozenset(
    {"TRN", "AAA", "UM", "HCR", "REF", "DTP", "SV1", "SV2", "SV3", "TOO", "HSD", "MSG"}
)
SEARCH_PERIODS = ("AAH", "435", "472")  # DTP at the inquiry's 2000E that bound the search


@dataclass(frozen=True, slots=True)
class Question:
    """What one 2000E of an inquiry asks. The identifiers (certification numbers,
    references, traces) name cases outright; without them the patient, the providers
    and the dates do."""

    certification_numbers: tuple[str, ...] = ()  # REF BB
    references: tuple[str, ...] = ()  # REF NT
    traces: tuple[tuple[str, str], ...] = ()  # TRN02, TRN03
    member_id: str = ""  # 2010C NM109
    patient: tuple[str, str, date | None] | None = None  # a dependent: last, first, born
    member_name: tuple[str, str, date | None] | None = None  # without a member ID
    providers: tuple[str, ...] = ()  # NPIs of 2010B, 2010EA, 2010FA
    start: date | None = None
    end: date | None = None
    procedures: tuple[str, ...] = ()  # codes of the 2000F services asked about

    @property
    def by_number(self) -> bool:
        return bool(self.certification_numbers or self.references)

    @property
    def searchable(self) -> bool:
        return bool(self.by_number or self.traces or self.member_id or self.member_name)


@dataclass(frozen=True, slots=True)
class FoundCase:
    """A case the sender may see, as the shell found it: the event it was asked as (its
    request's 2000E, name loops and service lines; None when the request was not kept),
    its current decision, and who it is for."""

    event: Level | None
    decision: EventDecision
    administrative_reference: str
    member_id: str
    review: Record | None = None  # the case's UM, when `event` is None
    case_id: int = 0
    cancelled: bool = False  # a later request cancelled its certification


def questions_of(inquiry: Transaction) -> list[Question]:
    """A question per 2000E, in order."""
    found = []
    for context in events_in_context(inquiry):
        event = context.event
        references = event.all(Reference)
        subscriber = person_of(context.subscriber)
        dependent = person_of(context.dependent) if context.dependent is not None else None
        providers = [_npi(party.name) for party in context.requester.parties]
        providers += [_npi(party.name) for party in event.parties]
        providers += [_npi(party.name) for line in event.children for party in line.parties]
        start, end = next(
            (dates_of(p) for q in SEARCH_PERIODS if (p := event.period(q))), (None, None)
        )
        found.append(
            Question(
                certification_numbers=_values(references, "BB"),
                references=_values(references, "NT"),
                traces=tuple(dict.fromkeys((t.reference, t.originator) for t in event.traces)),
                member_id=subscriber.id,
                patient=(
                    None
                    if dependent is None
                    else (dependent.last, dependent.first, dependent.birth_date)
                ),
                member_name=(
                    None
                    if subscriber.id or not subscriber.last
                    else (subscriber.last, subscriber.first, subscriber.birth_date)
                ),
                providers=tuple(dict.fromkeys(p for p in providers if p)),
                start=start,
                end=end,
                procedures=tuple(dict.fromkeys(filter(None, map(procedure_of, event.children)))),
            )
        )
    return found


def answer_inquiry(
    inquiry: Transaction, found: Sequence[Sequence[FoundCase]], now: datetime
) -> Transaction:
    """The X215 response: the inquiry's parties echoed, and for each of its events (in
    order, with `found` the cases found for its question) a 2000E per case, or one
    2000E with the AAA that says why none is answered."""
    questions = questions_of(inquiry)
    answers = dict(
        zip(
            map(id, inquiry.events),
            zip(questions, found, strict=True),
            strict=True,
        )
    )
    header = Header(
        "0007",
        Purpose.RESPONSE,
        inquiry.header.submitter_reference,
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
    )
    return Transaction(
        inquiry.control_number, inquiry.convention, header, _answer(inquiry.root, answers)
    )


def _answer(level: Level, answers: dict[int, tuple[Question, Sequence[FoundCase]]]) -> Level:
    answer = Level(
        level=level.level,
        parties=[echo_party(p) for p in level.parties if p.loop_id in ECHOED_PARTY_RECORDS],
    )
    for child in level.children:
        if child.level != HierarchicalLevel.EVENT:
            answer.children.append(_answer(child, answers))
            continue
        question, cases = answers[id(child)]
        answer.children += _answer_event_asked(child, question, cases)
    return answer


def _answer_event_asked(
    asked: Level, question: Question, cases: Sequence[FoundCase]
) -> list[Level]:
    theirs = [replace(t, trace_type="2") for t in asked.traces]
    mine = answered_cases(question, cases)
    if mine:
        return [_case_answer(case, theirs, question) for case in mine]
    if not question.searchable:
        reason = NOTHING_TO_SEARCH_BY
    elif cases:
        reason = NOT_THIS_PATIENT
    elif question.certification_numbers:
        reason = NUMBER_NOT_FOUND
    else:
        reason = NOT_FOUND
    echoed = [r for r in asked.records if isinstance(r, Reference | Period)]
    records: list[Record] = [*theirs[:TRACES_AT_MOST], RequestValidation("N", "", reason, "C")]
    return [
        Level(
            records=sorted([*records, *echoed], key=_place),
            level=HierarchicalLevel.EVENT,
            parties=[echo_party(p) for p in asked.parties if p.loop_id in ECHOED_PARTY_RECORDS],
        )
    ]


def _case_answer(case: FoundCase, theirs: list[Trace], question: Question) -> Level:
    """A case's 2000E as its own 278 response would carry it now, kept to what an
    inquiry response holds, led by the inquiry's traces; service lines narrowed to the
    services asked about, if any were."""
    if case.event is None:
        event = Level(records=[case.review] if case.review else [], level="EV")
    else:
        event = case.event
    answered = answer_event(event, _current(case))
    traces = list(dict.fromkeys(map(_trace_key, [*theirs, *answered.traces])))
    records = [r for r in answered.records if record_segment_id(r) in EVENT_RECORDS]
    records = [r for r in records if not isinstance(r, Trace)]
    if not any(isinstance(r, Reference) and r.qualifier == "NT" for r in records):
        records.append(Reference("NT", case.administrative_reference))
    records += [Trace(*key) for key in traces[:TRACES_AT_MOST]]
    lines = [
        replace(line, records=[r for r in line.records if record_segment_id(r) in SERVICE_RECORDS])
        for line in answered.children
        if not question.procedures or procedure_of(line) in question.procedures
    ]
    return Level(
        records=sorted(records, key=_place),
        level=HierarchicalLevel.EVENT,
        parties=answered.parties,
        children=lines,
    )


def answered_cases(question: Question, cases: Sequence[FoundCase]) -> list[FoundCase]:
    """The cases found that a question is answered with: those of the patient it names
    with a service it asks about, at most MATCHES."""
    return [c for c in cases if _same_patient(question, c) and _asks_about(question, c)][:MATCHES]


def _asks_about(question: Question, case: FoundCase) -> bool:
    """Whether a case has a service the question asks about (any, if it names none)."""
    if not question.procedures or case.event is None:
        return True
    return any(procedure_of(line) in question.procedures for line in case.event.children)


def _current(case: FoundCase) -> EventDecision:
    """The case's decision as it stands: a certification cancelled since (by a UM02 3
    request, which keeps the decision as made and marks the case) answers HCR01 C."""
    decision = case.decision
    if not case.cancelled:
        return decision

    def cancelled(outcome: Outcome) -> Outcome:
        certified = outcome.action in CERTIFYING and outcome.validation is None
        return replace(outcome, action=Action.CANCELLED, reason="") if certified else outcome

    return replace(
        decision, outcome=cancelled(decision.outcome), lines=tuple(map(cancelled, decision.lines))
    )


def _same_patient(question: Question, case: FoundCase) -> bool:
    """Whether a case found by a number is the patient the inquiry names: a member ID
    sent must be the case's (a number mistyped into another member's case is not
    answered with that member's case)."""
    return not question.member_id or not case.member_id or question.member_id == case.member_id


def _trace_key(trace: Trace) -> tuple[str, str, str, str]:
    return ("2", trace.reference, trace.originator, trace.division)


def _place(record: Record) -> int:
    return EVENT_ORDER.get(record_segment_id(record), len(EVENT_ORDER))


def _values(references: list[Reference], qualifier: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.value for r in references if r.qualifier == qualifier and r.value))


def _npi(name: Name) -> str:
    return name.id if name.id_qualifier == "XX" else ""
