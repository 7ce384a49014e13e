"""Clinical review: the pended cases by due time, and a reviewer's final decision,
recorded (a new decision row, audited), answered with a 278 response, and for a denial
explained in a member letter and a provider notice."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, select, update

from edi278.decide.clocks import BusinessCalendar
from edi278.decide.outcome import EventDecision, Outcome
from edi278.decide.policy import Policy
from edi278.decide.request import events_in_context
from edi278.decide.tracking import Kind, TrackingNumberError, parse_number
from edi278.ig import Guide
from edi278.model import Action, Delivery, Diagnoses, Period
from edi278.notices import Notice, render
from edi278.notices.story import CaseStory, tell
from edi278.notices.words import REASONS, reason_in_words
from edi278.pipeline import acknowledge, examine
from edi278.reader import read_requests
from edi278.respond import plain_text
from edi278.spool import text_of
from edi278.store.audit import audit
from edi278.store.cases import (
    STATUS,
    case_key,
    record_decision,
    status_of,
    stored_decisions,
)
from edi278.store.deliveries import Recorded, Routes, route_for
from edi278.store.deliveries import record as record_delivery
from edi278.store.numbers import (
    DatabaseControlNumbers,
    assign_tracking_numbers,
    issue_tracking_numbers,
)
from edi278.store.tables import case_providers, cases, decisions, members, service_lines
from edi278.store.users import User, find_user

FINAL_ACTIONS = ("A1", "A2", "A3", "A6")
CERTIFYING = ("A1", "A2", "A6")
# HCR03 (code source 886) as the X217 response map allows them; the ones a final
# decision may give are those with use "decision" (notices/words.py).
REASON_CODES = frozenset(REASONS)
REVIEWING_ROLES = ("nurse", "medical-director")
# A denial is an adverse determination on clinical grounds: a physician's call.
DENYING_ROLES = ("medical-director",)


class ReviewError(ValueError):
    """A review that cannot be recorded; the message says why and what to do. Raised as
    it is: the case is not there, or not pended (nothing wrong with how it was asked)."""


class ReviewUsageError(ReviewError):
    """The decision as asked is malformed: a missing or wrong option (a command's bad
    usage, an API's 422)."""


class ReviewRefused(ReviewError):
    """The reviewer may not make this decision: unknown, disabled, or without the role."""


@dataclass(frozen=True, slots=True)
class Review:
    action: str
    reason: str
    note: str
    reviewer: str  # a user's name (edi278 user add)
    quantity: int | None = None
    criteria: str = ""  # what the decision rests on, e.g. a guideline; required for A3


@dataclass(frozen=True, slots=True)
class Reviewed:
    reference: str
    certification_number: str
    response: str  # the 278 response interchange
    notices: dict[str, str]  # file suffix -> document, for a denial
    delivery: Recorded | None = None  # the response on its way to the requester


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
    engine: Engine,
    reference: str,
    review: Review,
    policy: Policy,
    now: datetime,
    routes: Routes | None = None,
) -> Reviewed:
    """Record the decision and, in its transaction, the delivery of its 278 back the way
    the request came (store/deliveries.py); `routes` says what the caller knows of where
    that is besides the partner's settings. Sending it is the caller's (or `edi278
    deliveries run`'s): nothing is sent here."""
    _check(review)
    with engine.begin() as connection:
        case = _pended_case(connection, reference)
        reviewer = authorize(connection, review.reviewer, review.action)
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
            f"reviewer:{reviewer.name}", criteria=review.criteria.strip() or None,
        )  # fmt: skip
        connection.execute(
            update(cases)
            .where(cases.c.id == case.id)
            .values(status=status_of(outcome), internal_pend_due_at=None)
        )
        if number:
            assign_tracking_numbers(connection, {number: case.id})
        audit(
            connection, now, f"reviewer:{reviewer.name}", "reviewed", "case", case.id,
            f"action={review.action} reason={review.reason} quantity={review.quantity or ''}",
            case_id=case.id, interchange_id=case.interchange_id,
        )  # fmt: skip
        delivery = _record_delivery(connection, case, response, routes or Routes(), now)
        story = case_story(connection, case._asdict(), policy) if review.action == "A3" else None
    notices = {}
    if story is not None:
        notices = _notices(story, review, reviewer, policy, now)
    return Reviewed(case.administrative_reference, number, response, notices, delivery)


def _record_delivery(
    connection: Connection, case: Any, response: str, routes: Routes, now: datetime
) -> Recorded:
    """The delivery of the decision just recorded (the case's latest event decision)."""
    decision_id = connection.execute(
        select(func.max(decisions.c.id)).where(
            decisions.c.case_id == case.id, decisions.c.service_line_id.is_(None)
        )
    ).scalar_one()
    return record_delivery(
        connection,
        decision_id=decision_id,
        case_id=case.id,
        reference=case.administrative_reference,
        content=response,
        route=route_for(connection, case.interchange_id, case.sender, routes),
        now=now,
    )


def _check(review: Review) -> None:
    if review.action not in FINAL_ACTIONS:
        raise ReviewUsageError(f"--action must be one of {', '.join(FINAL_ACTIONS)}")
    if review.reason and review.reason not in REASON_CODES:
        raise ReviewUsageError(
            f"--reason {review.reason!r} is not an HCR03 code (code source 886): "
            "see `edi278 review decide --help` for the codes"
        )
    reason = REASONS.get(review.reason)
    if reason is not None and reason.use != "decision":
        kind = {"pend": "a pend reason: it says what a review waits for"}.get(
            reason.use, f"a {reason.use} code"
        )
        raise ReviewUsageError(
            f"--reason {review.reason} ({reason.name.lower()}) is {kind}, not the reason for "
            f"a final decision {review.action}: give the reason it was decided (e.g. 0F not "
            "medically necessary; the list is in --help)"
        )
    if review.action != "A1" and not review.reason:
        raise ReviewUsageError(f"a decision {review.action} needs a --reason (HCR03)")
    if review.action in ("A2", "A6") and review.quantity is None:
        raise ReviewUsageError(f"a decision {review.action} needs the --quantity certified")
    if not review.note.strip():
        raise ReviewUsageError("--note is required: say what the decision rests on")
    if review.action == "A3" and not review.criteria.strip():
        raise ReviewUsageError(
            "a denial needs --criteria: the criteria it rests on (the guideline and its "
            "section), which the letters quote"
        )
    if not review.reviewer.strip():
        raise ReviewUsageError("--reviewer is required")


def authorize(connection: Connection, name: str, action: str) -> User:
    """The user who decides: active, a nurse or a medical director, and for a denial a
    medical director. The one place the rule lives: the command and the API call it."""
    user = find_user(connection, name)
    if user is None:
        raise ReviewRefused(
            f"no user is named {name.strip()}: reviewers are added with "
            "`edi278 user add --role nurse|medical-director`"
        )
    if not user.active:
        raise ReviewRefused(f"user {user.name} is disabled and cannot decide cases")
    if user.role not in REVIEWING_ROLES:
        raise ReviewRefused(
            f"user {user.name} is {user.role}: only a nurse or a medical director decides cases"
        )
    if action == "A3" and user.role not in DENYING_ROLES:
        raise ReviewRefused(
            f"user {user.name} is a {user.role}: only a medical director may deny (A3); "
            "nothing was recorded, pass the case to a medical director"
        )
    return user


def _reference_number(reference: str) -> str:
    try:
        return parse_number(reference).text
    except TrackingNumberError as error:
        raise ReviewUsageError(str(error)) from None


def find_case(connection: Connection, reference: str) -> Any:
    """The case with this reference (R...), any status."""
    number = _reference_number(reference)
    case = connection.execute(
        select(cases).where(cases.c.administrative_reference == number)
    ).first()
    if case is None:
        raise ReviewError(f"no case has the reference {number}")
    return case


def _pended_case(connection: Connection, reference: str) -> Any:
    case = find_case(connection, reference)
    number = case.administrative_reference
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
    return text_of(answers.responses)


def case_story(connection: Connection, case: dict[str, Any], policy: Policy) -> CaseStory:
    """The case (a row of cases, as a dict) in words, from everything kept with it."""
    case_id = case["id"]

    def rows(query: Select[Any]) -> list[dict[str, Any]]:
        return [row._asdict() for row in connection.execute(query)]

    lines = rows(
        select(service_lines)
        .where(service_lines.c.case_id == case_id)
        .order_by(service_lines.c.line_number)
    )
    providers = rows(
        select(case_providers)
        .where(case_providers.c.case_id == case_id)
        .order_by(case_providers.c.id)
    )
    history = rows(
        select(decisions)
        .where(decisions.c.case_id == case_id, decisions.c.service_line_id.is_(None))
        .order_by(decisions.c.id)
    )
    member = None
    if case.get("member_id"):
        member = connection.execute(
            select(members).where(members.c.member_id == case["member_id"])
        ).first()
    diagnoses, requested = _asked(case)
    return tell(case, lines, providers, history, diagnoses, requested, _address(member), policy)


def _asked(case: dict[str, Any]) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """The diagnoses (qualifier, code) and the HSD quantity of the case's event, read off
    the stored request: they are not kept in columns of their own."""
    if not case.get("request"):
        return [], None
    mine = (case["sender"], case["submitter_reference"], case["trace_number"],
            case["trace_originator"])  # fmt: skip
    for request in read_requests(io.BytesIO(case["request"].encode("latin-1"))):
        for context in events_in_context(request):
            if case_key(case["sender"], request, context.event) != mine:
                continue
            event = context.event
            diagnoses = [
                (composite[0], composite[1])
                for record in event.all(Diagnoses)
                for composite in record.codes
                if len(composite) > 1 and composite[1]
            ]
            asked = event.first(Delivery)
            requested = (asked.quantity, asked.quantity_qualifier) if asked else None
            return diagnoses, requested
    return [], None


def _address(member: Any) -> tuple[str, ...]:
    if member is None or not member.address_line1:
        return ()
    lines = [member.address_line1, member.address_line2 or ""]
    lines.append(f"{member.city}, {member.state} {member.zip}")
    return tuple(line for line in lines if line)


def _notices(
    story: CaseStory, review: Review, reviewer: User, policy: Policy, now: datetime
) -> dict[str, str]:
    decided_on = BusinessCalendar.of(policy).local(now).date()
    return render(
        Notice(
            story=story,
            action=review.action,
            reason_code=review.reason,
            reason_name=REASONS[review.reason].name,
            reason_words=reason_in_words(review.reason),
            note=review.note.strip(),
            criteria=review.criteria.strip(),
            reviewer=reviewer.name,
            reviewer_role=reviewer.role.replace("-", " "),
            decided_on=decided_on,
            appeal_by=decided_on + timedelta(days=policy.appeals.member_days),
            payer=policy.payer,
            appeals=policy.appeals,
        )
    )
