"""Clinical review: the pended cases by due time, and a reviewer's final decision,
recorded (a new decision row, audited), answered with a 278 response, and for a denial
explained in a member letter and a provider notice."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from edi278.decide.clocks import BusinessCalendar
from edi278.decide.outcome import EventDecision, Outcome
from edi278.decide.policy import Policy
from edi278.decide.request import events_in_context
from edi278.decide.tracking import Kind, TrackingNumberError, parse_number
from edi278.ig import Guide
from edi278.model import Action, Delivery, Period
from edi278.notices import Notice, render
from edi278.pipeline import acknowledge, examine
from edi278.respond import plain_text
from edi278.store.audit import audit
from edi278.store.cases import (
    STATUS,
    case_key,
    record_decision,
    status_of,
    stored_decisions,
)
from edi278.store.numbers import (
    DatabaseControlNumbers,
    assign_tracking_numbers,
    issue_tracking_numbers,
)
from edi278.store.tables import case_providers, cases, decisions, service_lines

FINAL_ACTIONS = ("A1", "A2", "A3", "A6")
CERTIFYING = ("A1", "A2", "A6")
# HCR03 (code source 886) as the X217 response map allows them.
REASON_CODES = frozenset(
    [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "0A",
        "0B",
        "0C",
        "0D",
        "0E",
        "0F",
        "0G",
        "0H",
        "0J",
        "0K",
        "0L",
        "0M",
        "0N",
        "0P",
        "0Q",
        "0R",
        "0S",
        "0T",
        "0U",
        "0V",
        "0W",
        "0X",
        "0Y",
        "0Z",
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "18",
        "19",
        "20",
        "21",
        "22",
        "23",
        "24",
        "25",
        "26",
        "27",
        "28",
        "29",
    ]
)


class ReviewError(ValueError):
    """A review that cannot be recorded; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Review:
    action: str
    reason: str
    note: str
    reviewer: str
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class Reviewed:
    reference: str
    certification_number: str
    response: str  # the 278 response interchange
    notices: dict[str, str]  # file suffix -> document, for a denial


def pended_cases(connection: Connection, now: datetime) -> list[dict[str, Any]]:
    """Cases whose latest event decision is a pend, soonest due first. A case's status is
    kept with its latest event decision (on receipt and on review), so the queue is an
    index search, not a read of every decision ever made."""
    rows = connection.execute(_PENDED).all()
    found = []
    for row in rows:
        due = row.internal_pend_due_at or row.regulatory_due_at
        found.append({**row._asdict(), "due_at": due, "overdue": due < now})
    return sorted(found, key=lambda case: case["due_at"])


_PENDED = select(cases).where(cases.c.status == STATUS[Action.PENDED])


def decide_case(
    engine: Engine, reference: str, review: Review, policy: Policy, now: datetime
) -> Reviewed:
    _check(review)
    with engine.begin() as connection:
        case = _pended_case(connection, reference)
    number = ""
    if review.action in CERTIFYING:
        number = issue_tracking_numbers(engine, Kind.CERTIFICATION, 1, now)[0]
    outcome = _outcome(case, review, number, policy, now)
    response = _response(engine, case, outcome, BusinessCalendar.of(policy).local(now))
    with engine.begin() as connection:
        line_ids = list(
            connection.scalars(
                select(service_lines.c.id)
                .where(service_lines.c.case_id == case.id)
                .order_by(service_lines.c.line_number)
            )
        )
        lines = tuple(replace(outcome, message="") for _ in line_ids)
        record_decision(
            connection, case.id, line_ids, EventDecision(outcome, lines), now,
            f"reviewer:{review.reviewer}",
        )  # fmt: skip
        connection.execute(
            update(cases)
            .where(cases.c.id == case.id)
            .values(status=status_of(outcome), internal_pend_due_at=None)
        )
        if number:
            assign_tracking_numbers(connection, {number: case.id})
        audit(
            connection, now, f"reviewer:{review.reviewer}", "reviewed", "case", case.id,
            f"action={review.action} reason={review.reason} quantity={review.quantity or ''}",
            case_id=case.id, interchange_id=case.interchange_id,
        )  # fmt: skip
        provider = _requester(connection, case.id)
    notices = _notices(case, review, provider, policy, now) if review.action == "A3" else {}
    return Reviewed(case.administrative_reference, number, response, notices)


def _check(review: Review) -> None:
    if review.action not in FINAL_ACTIONS:
        raise ReviewError(f"--action must be one of {', '.join(FINAL_ACTIONS)}")
    if review.reason and review.reason not in REASON_CODES:
        raise ReviewError(f"--reason {review.reason!r} is not an HCR03 code (code source 886)")
    if review.action != "A1" and not review.reason:
        raise ReviewError(f"a decision {review.action} needs a --reason (HCR03)")
    if review.action in ("A2", "A6") and review.quantity is None:
        raise ReviewError(f"a decision {review.action} needs the --quantity certified")
    if not review.note.strip():
        raise ReviewError("--note is required: say what the decision rests on")
    if not review.reviewer.strip():
        raise ReviewError("--reviewer is required")


def _pended_case(connection: Connection, reference: str) -> Any:
    try:
        number = parse_number(reference).text
    except TrackingNumberError as error:
        raise ReviewError(str(error)) from None
    case = connection.execute(
        select(cases).where(cases.c.administrative_reference == number)
    ).first()
    if case is None:
        raise ReviewError(f"no case has the reference {number}")
    latest = connection.execute(
        select(decisions.c.action)
        .where(decisions.c.case_id == case.id, decisions.c.service_line_id.is_(None))
        .order_by(decisions.c.id.desc())
    ).first()
    if latest is None or latest.action != Action.PENDED:
        state = latest.action if latest and latest.action else "not a review"
        raise ReviewError(f"case {number} is not pended (its decision is {state})")
    if not case.request:
        raise ReviewError(f"case {number} has no stored request to answer")
    return case


def _outcome(case: Any, review: Review, number: str, policy: Policy, now: datetime) -> Outcome:
    calendar = BusinessCalendar.of(policy)
    periods: tuple[Period, ...] = ()
    if number:
        start = case.event_start or calendar.local(now).date()
        expires = max(start + timedelta(days=policy.validity_days - 1), case.event_end or start)
        periods = tuple(
            Period(q, "D8", day.strftime("%Y%m%d"))
            for q, day in (("102", calendar.local(now).date()), ("007", start), ("036", expires))
        )
    quantity = None
    if review.quantity is not None:
        quantity = Delivery("DY" if case.category == "AR" else "VS", str(review.quantity))
    return Outcome(
        review.action,
        certification_number=number,
        reason=review.reason,
        administrative_reference=case.administrative_reference,
        message=plain_text(review.note)[:264],
        periods=periods,
        quantity=quantity,
    )


def _response(engine: Engine, case: Any, outcome: Outcome, now: datetime) -> str:
    """The stored request answered again: this event with the reviewer's decision, any
    other event of the same request with its current one."""
    (report,) = list(examine(io.BytesIO(case.request.encode("latin-1")), Guide()))
    (request,) = [t.request for g in report.groups for t in g.transactions if t.request]
    keys = [case_key(case.sender, request, c.event) for c in events_in_context(request)]
    with engine.begin() as connection:
        current = stored_decisions(connection, keys)
    mine = (case.sender, case.submitter_reference, case.trace_number, case.trace_originator)

    def decide(_request: Any) -> list[EventDecision]:
        answered = []
        for key, context in zip(keys, events_in_context(request), strict=True):
            if key == mine:
                lines = tuple(replace(outcome, message="") for _ in context.event.children)
                answered.append(EventDecision(outcome, lines))
            elif key in current:
                answered.append(current[key][1])
            else:  # an event of the same request without a trace number: still pended
                answered.append(EventDecision(Outcome(Action.PENDED, reason="0V")))
        return answered

    answers = acknowledge(report, now, DatabaseControlNumbers(engine), decide)
    assert answers.responses is not None, "a stored request is always answerable"
    return answers.responses


def _requester(connection: Connection, case_id: int) -> Any:
    return connection.execute(
        select(case_providers.c.name, case_providers.c.npi).where(
            case_providers.c.case_id == case_id, case_providers.c.loop_id == "2010B"
        )
    ).first()


def _notices(case: Any, review: Review, provider: Any, policy: Policy, now: datetime) -> dict:
    calendar = BusinessCalendar.of(policy)
    dates = case.event_start.isoformat() if case.event_start else "dates not given"
    if case.event_end and case.event_end != case.event_start:
        dates += f" to {case.event_end.isoformat()}"
    return render(
        Notice(
            member_name=f"{case.patient_first_name} {case.patient_last_name}".strip(),
            member_id=case.member_id or "",
            patient_name=f"{case.patient_first_name} {case.patient_last_name}".strip(),
            provider_name=provider.name if provider else "your provider",
            provider_npi=(provider.npi or "") if provider else "",
            reference=case.administrative_reference,
            service=_service(case),
            dates=dates,
            reason_code=review.reason,
            reviewer=review.reviewer,
            note=plain_text(review.note),
            decided_on=calendar.local(now).strftime("%B %d, %Y"),
            payer_name=policy.payer.name,
            phone=policy.payer.phone,
            medical_director_phone=policy.payer.medical_director_phone,
            appeal_address=policy.payer.appeal_address,
        )
    )


def _service(case: Any) -> str:
    kinds = {"AR": "an admission", "HS": "health care services", "SC": "a specialist referral"}
    text = kinds.get(case.category, "a service")
    return f"{text} (service type {case.service_type})" if case.service_type else text
