"""Cases: one per patient event (2000E) taken, with its parties, service lines and every
decision made on it; and the decision stored for a request seen before.

A case is keyed, as reference section 8.4 says, by (sender, BHT03, TRN02, TRN03): the
same key again gets the stored decision, not a new case.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Row, Table, bindparam, func, select, update

from edi278.decide.clocks import BusinessCalendar, clocks_for, urgency_of
from edi278.decide.outcome import Clocks, EventDecision, Outcome
from edi278.decide.policy import default_policy
from edi278.decide.request import (
    EventInContext,
    dates_of,
    event_dates,
    name_of,
    person_of,
)
from edi278.model import (
    CERTIFYING,
    Action,
    Delivery,
    InstitutionalService,
    Level,
    Name,
    Period,
    ProfessionalService,
    RequestValidation,
    Transaction,
)
from edi278.store.batches import slices
from edi278.store.tables import case_providers, cases, decisions, service_lines

CaseKey = tuple[str, str, str | None, str | None]  # sender, BHT03, TRN02, TRN03

STATUS = {
    Action.CERTIFIED_IN_TOTAL: "certified",
    Action.CERTIFIED_PARTIAL: "partly certified",
    Action.NOT_CERTIFIED: "not certified",
    Action.PENDED: "pended",
    Action.MODIFIED: "modified",
    Action.CANCELLED: "cancelled",
    Action.CONTACT_PAYER: "contact payer",
    Action.NO_ACTION_REQUIRED: "not required",
}
# Name loops whose NPI a provider may look a case up by.
PROVIDER_LOOPS = ("2010B", "2010EA", "2010FA")


def case_key(sender: str, request: Transaction, event: Level) -> CaseKey:
    traces = event.traces
    ours = next((t for t in traces if t.trace_type == "1"), traces[0] if traces else None)
    return (
        sender,
        request.header.submitter_reference,
        ours.reference if ours else None,
        ours.originator if ours else None,
    )


def status_of(outcome: Outcome) -> str:
    if outcome.validation is not None:
        return "not accepted"
    return STATUS.get(Action(outcome.action), outcome.action) if outcome.action else "open"


@dataclass(frozen=True, slots=True)
class NewCase:
    """An event taken and decided, ready to be written."""

    key: CaseKey
    request: Transaction
    context: EventInContext
    administrative_reference: str
    decision: EventDecision
    request_text: str | None = None  # the request as an interchange of its own


def insert_cases(
    connection: Connection,
    new: list[NewCase],
    interchange_id: int,
    received_at: datetime,
    decided_by: str,
) -> list[int]:
    """Write the cases of one interchange, with their parties, service lines and
    decisions, in a handful of statements however many there are. Returns their ids."""
    if not new:
        return []
    rows = [_case_row(case, interchange_id, received_at) for case in new]
    by_reference = _insert_keyed(connection, cases, rows, "administrative_reference")
    case_ids = [by_reference[(case.administrative_reference,)] for case in new]
    pairs = list(zip(case_ids, new, strict=True))
    providers = [row for case_id, case in pairs for row in _providers(case_id, case)]
    if providers:
        connection.execute(case_providers.insert(), providers)
    lines = [
        _line_row(case_id, number, line)
        for case_id, case in pairs
        for number, line in enumerate(case.context.event.children, start=1)
    ]
    line_ids = _insert_keyed(connection, service_lines, lines, "case_id", "line_number")
    rows = []
    for case_id, case in pairs:
        count = len(case.context.event.children)
        ids = [line_ids[(case_id, number)] for number in range(1, count + 1)]
        rows += _decision_rows(case_id, ids, case.decision, received_at, decided_by)
    connection.execute(decisions.insert(), rows)
    return case_ids


def _insert_keyed(
    connection: Connection, table: Table, rows: list[dict], *key: str
) -> dict[tuple, int]:
    """Insert the rows in one batch and return their new ids by their unique `key`.
    (Asking for the ids in the order of the rows instead makes SQLite insert them one
    by one.)"""
    if not rows:
        return {}
    statement = _insert_returning(table, key)
    return {tuple(found): row_id for row_id, *found in connection.execute(statement, rows)}


@cache  # one per table: built once, since building one costs about as much as running it
def _insert_returning(table: Table, key: tuple[str, ...]) -> Insert:
    return table.insert().returning(table.c.id, *(table.c[name] for name in key))


def _case_row(case: NewCase, interchange_id: int, received_at: datetime) -> dict[str, object]:
    event, review = case.context.event, case.context.event.review
    outcome = case.decision.outcome
    clocks = case.decision.clocks or _default_clocks(case, received_at)
    member = person_of(case.context.subscriber)
    patient = person_of(case.context.dependent) if case.context.dependent else member
    requester = name_of(case.context.requester)
    start, end = event_dates(event)
    return {
        "interchange_id": interchange_id,
        "sender": case.key[0],
        "transaction_control_number": case.request.control_number,
        "submitter_reference": case.key[1],
        "trace_number": case.key[2],
        "trace_originator": case.key[3],
        "requester_npi": requester.id or None,
        "requester_name": _display(requester),
        "member_id": member.id or None,
        "member_last_name": member.last,
        "member_first_name": member.first,
        "member_birth_date": member.birth_date,
        "patient_last_name": patient.last,
        "patient_first_name": patient.first,
        "patient_birth_date": patient.birth_date,
        "patient_is_dependent": case.context.dependent is not None,
        "category": review.category if review else "",
        "certification_type": review.certification_type if review else "",
        "service_type": (review.service_type or None) if review else None,
        "level_of_service": (review.level_of_service or None) if review else None,
        "urgency": clocks.urgency,
        "event_start": start,
        "event_end": end,
        "administrative_reference": case.administrative_reference,
        "status": status_of(outcome),
        "received_at": received_at,
        "regulatory_due_at": clocks.regulatory_due_at,
        "internal_pend_due_at": clocks.internal_pend_due_at,
        "core_info_request_due_at": clocks.core_info_request_due_at,
        "closeout_at": clocks.closeout_at,
        "request": case.request_text,
    }


def _default_clocks(case: NewCase, received_at: datetime) -> Clocks:
    """For a decision made without the engine's clocks: the default policy's."""
    policy = default_policy()
    pended = case.decision.outcome.action == Action.PENDED
    urgency = urgency_of(case.context.event.review)
    return clocks_for(received_at, urgency, pended, policy, BusinessCalendar.of(policy))


def _providers(case_id: int, case: NewCase) -> list[dict[str, object]]:
    event = case.context.event
    return [
        {
            "case_id": case_id,
            "loop_id": party.loop_id,
            "role": name.entity,
            "npi": name.id or None,
            "name": _display(name),
        }
        for level in (case.context.requester, event, *event.children)
        for party in level.parties
        if party.loop_id in PROVIDER_LOOPS and (name := party.name)
    ]


def _line_row(case_id: int, number: int, line: Level) -> dict[str, object]:
    start, end = dates_of(line.period("472"))
    service = line.first(ProfessionalService) or line.first(InstitutionalService)
    review = line.review
    return {
        "case_id": case_id,
        "line_number": number,
        "trace_number": line.traces[0].reference if line.traces else None,
        "procedure": _procedure(service),
        "service_type": (review.service_type or None) if review else None,
        "quantity": (service.quantity or None) if service else None,
        "unit": (service.unit or None) if service else None,
        "start_date": start,
        "end_date": end,
    }


def cancel_certified(connection: Connection, number: str, cancelled_by: int) -> list[int]:
    """The cases that certified `number`, cancelled by the case `cancelled_by` (a UM02 3
    request): their status becomes cancelled, their decisions stay as they were made.
    Returns the ids of the cases whose status changed."""
    certified = select(decisions.c.case_id).where(
        decisions.c.certification_number == number,
        decisions.c.action.in_(sorted(CERTIFYING)),
        decisions.c.case_id != cancelled_by,
    )
    cancelled = STATUS[Action.CANCELLED]
    changed = list(
        connection.scalars(
            select(cases.c.id).where(cases.c.id.in_(certified), cases.c.status != cancelled)
        )
    )
    if changed:
        connection.execute(update(cases).where(cases.c.id.in_(changed)).values(status=cancelled))
    return changed


def close_stay(
    connection: Connection, sender: str, member_id: str, admitted: date, discharged: date
) -> list[int]:
    """The sender's open admission cases of a member admitted on `admitted`: their stay
    ends on `discharged` (an X216 notice of discharge), which closes its day count.
    Returns the ids of the cases whose stay was closed."""
    admissions = select(cases.c.id).where(
        cases.c.member_id == member_id,  # ix_cases_member_dates
        cases.c.sender == sender,
        cases.c.category == "AR",
        cases.c.event_start == admitted,
    )
    closed = list(connection.scalars(admissions))
    if closed:
        connection.execute(update(cases).where(cases.c.id.in_(closed)).values(event_end=discharged))
    return closed


def record_decision(
    connection: Connection,
    case_id: int,
    line_ids: list[int],
    decision: EventDecision,
    decided_at: datetime,
    decided_by: str,
    criteria: str | None = None,
) -> None:
    """A new decision row for the event and one per line it answers: history grows, it
    is never rewritten. `criteria`: what a reviewer's decision rests on, on the event's."""
    rows = _decision_rows(case_id, line_ids, decision, decided_at, decided_by)
    for row in rows:  # one set of keys for every row of the insert
        row["criteria"] = criteria if row["service_line_id"] is None else None
    connection.execute(decisions.insert(), rows)


def _decision_rows(
    case_id: int, line_ids: list[int], decision: EventDecision, at: datetime, by: str
) -> list[dict[str, object]]:
    rows = [_decision_row(case_id, None, decision.outcome, at, by)]
    rows += [
        _decision_row(case_id, line_id, outcome, at, by)
        for line_id, outcome in zip(line_ids, decision.lines, strict=False)
    ]
    return rows


def _decision_row(
    case_id: int, line_id: int | None, outcome: Outcome, at: datetime, by: str
) -> dict[str, object]:
    periods = {p.qualifier: dates_of(p)[0] for p in outcome.periods}
    validation = outcome.validation
    quantity = outcome.quantity
    return {
        "case_id": case_id,
        "service_line_id": line_id,
        "action": outcome.action if validation is None else "",
        "reason": outcome.reason if validation is None else validation.reason,
        "certification_number": outcome.certification_number or None,
        "administrative_reference": outcome.administrative_reference or None,
        "message": outcome.message,
        "issued": periods.get("102"),
        "effective": periods.get("007"),
        "expires": periods.get("036"),
        "decided_at": at,
        "decided_by": f"{by}:{outcome.trace[-1].rule}" if outcome.trace else by,
        "validation_loop": (outcome.validation_loop or "2000E") if validation else None,
        "follow_up": validation.follow_up if validation else None,
        "quantity": f"{quantity.quantity_qualifier}:{quantity.quantity}" if quantity else None,
        "documents": ",".join(outcome.documents) or None,
        "due_at": outcome.due_at,
        "trace": json.dumps([step.as_dict() for step in outcome.trace]) if outcome.trace else None,
    }


# Built once: building a statement costs more than running it.
# The cases of these senders and BHT03s, the exact keys picked out by the caller. A row-value
# IN over the four key columns would be exact, but SQLite answers it by scanning the whole
# key index: a cost that grows with every case ever stored. The two leading columns of the
# same unique index are a search in either database.
_CASES_BY_KEY = select(
    cases.c.id,
    cases.c.sender,
    cases.c.submitter_reference,
    cases.c.trace_number,
    cases.c.trace_originator,
    cases.c.administrative_reference,
).where(
    cases.c.sender.in_(bindparam("senders", expanding=True)),
    cases.c.submitter_reference.in_(bindparam("references", expanding=True)),
)
_DECISIONS_OF = (
    select(decisions, service_lines.c.line_number)
    .outerjoin(service_lines, decisions.c.service_line_id == service_lines.c.id)
    .where(decisions.c.case_id.in_(bindparam("ids", expanding=True)))
    .order_by(decisions.c.id)
)


def stored_decisions(
    connection: Connection, keys: Iterable[CaseKey]
) -> dict[CaseKey, tuple[str, EventDecision]]:
    """For each key already a case: its administrative reference and its latest
    decision, as it would be answered again."""
    wanted = {key for key in keys if key[2] is not None}  # no TRN, no key
    if not wanted:
        return {}
    senders = list({k[0] for k in wanted})
    by_case: dict[int, tuple[CaseKey, Row]] = {}
    for references in slices({k[1] for k in wanted}):
        rows = connection.execute(_CASES_BY_KEY, {"senders": senders, "references": references})
        for row in rows:
            key = _key_of(row)
            if key is not None and key in wanted:
                by_case[row.id] = (key, row)
    latest = latest_decisions(connection, list(by_case))
    return {
        key: (row.administrative_reference, latest[case_id])
        for case_id, (key, row) in by_case.items()
    }


_UNKEYED_CASES_OF = (
    select(cases.c.id, cases.c.administrative_reference)
    .where(
        cases.c.interchange_id == bindparam("interchange"),
        cases.c.trace_number.is_(None),
        cases.c.id > bindparam("after"),
    )
    .order_by(cases.c.id)
    .limit(bindparam("limit"))
)
UNKEYED_PAGE = 500  # cases of events without a trace number read at a time
_CASES_OF = (
    select(func.count())
    .select_from(cases)
    .where(cases.c.interchange_id == bindparam("interchange"))
)


def cases_of_interchange(connection: Connection, interchange_id: int) -> int:
    """How many cases an interchange made."""
    return connection.execute(_CASES_OF, {"interchange": interchange_id}).scalar_one()


def unkeyed_decisions(
    connection: Connection, interchange_id: int, after: int = 0, limit: int = UNKEYED_PAGE
) -> list[tuple[int, str, EventDecision]]:
    """The cases an interchange made of events without a trace number (no key to find
    them by), in the order of its events, `limit` of them after case `after`: their ids,
    references and latest decisions."""
    rows = connection.execute(
        _UNKEYED_CASES_OF, {"interchange": interchange_id, "after": after, "limit": limit}
    ).all()
    latest = latest_decisions(connection, [row.id for row in rows])
    return [(row.id, row.administrative_reference, latest[row.id]) for row in rows]


def latest_decisions(connection: Connection, case_ids: list[int]) -> dict[int, EventDecision]:
    """Each case's latest decision on the event and on each of its lines."""
    if not case_ids:
        return {}
    latest: dict[int, dict[int | None, Outcome]] = {case_id: {} for case_id in case_ids}
    line_numbers: dict[int, int] = {}
    for ids in slices(case_ids):  # a case's decisions all come in its slice, in order
        for row in connection.execute(_DECISIONS_OF, {"ids": ids}):
            latest[row.case_id][row.service_line_id] = outcome_of(row)
            if row.service_line_id is not None:
                line_numbers[row.service_line_id] = row.line_number
    found = {}
    for case_id, outcomes in latest.items():
        lines = sorted((k for k in outcomes if k is not None), key=line_numbers.__getitem__)
        found[case_id] = EventDecision(outcomes[None], tuple(outcomes[k] for k in lines))
    return found


def _key_of(row: Row) -> CaseKey | None:
    """A stored case's key; None when a part is NULL, which SQL equality never matches."""
    key = (row.sender, row.submitter_reference, row.trace_number, row.trace_originator)
    return None if None in key else key


def outcome_of(row: Row[Any]) -> Outcome:
    periods = tuple(
        Period(qualifier, "D8", value.strftime("%Y%m%d"))
        for qualifier, value in (
            ("102", row.issued),
            ("007", row.effective),
            ("036", row.expires),
        )
        if value is not None
    )
    loop = row.validation_loop
    validation = RequestValidation("N", "", row.reason, row.follow_up) if loop else None
    quantity = None
    if row.quantity:
        qualifier, amount = row.quantity.split(":", 1)
        quantity = Delivery(qualifier, amount)
    return Outcome(
        row.action,
        certification_number=row.certification_number or "",
        reason="" if validation else row.reason,
        administrative_reference=row.administrative_reference or "",
        message=row.message,
        periods=periods,
        validation=validation,
        validation_loop="" if loop in (None, "2000E") else loop,
        quantity=quantity,
        documents=tuple(filter(None, (row.documents or "").split(","))),
        due_at=row.due_at,
    )


# --- reading people, names and dates out of the model ----------------------------------


def _display(name: Name) -> str:
    return ", ".join(part for part in (name.last_or_organization, name.first) if part)


def _procedure(service: ProfessionalService | InstitutionalService | None) -> str | None:
    if service is None or not service.procedure:
        return None
    return ":".join(service.procedure[:2])
