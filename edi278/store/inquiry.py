"""Looking cases up the ways the payer's providers do (policy-sources 004): by tracking
number, by member ID, or by name, the last two narrowed by provider and date range."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, func, or_, select

from edi278.decide.outcome import EventDecision
from edi278.decide.tracking import parse_number
from edi278.inquire import Question as InquiryQuestion
from edi278.store.cases import latest_decisions
from edi278.store.tables import case_providers, cases, decisions, service_lines, tracking_numbers

LIMIT = 500  # cases shown at most; narrow the question for more


@dataclass(frozen=True, slots=True)
class Question:
    tracking: str | None = None
    member_id: str | None = None
    name: tuple[str, str] | None = None  # last, first ("" matches any first name)
    provider: str | None = None  # NPI of the requester or any provider on the case
    start: date | None = None
    end: date | None = None


@dataclass(slots=True)
class CaseView:
    case: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # oldest first

    @property
    def current(self) -> dict[str, Any] | None:
        """The latest decision on the event itself."""
        event = [d for d in self.decisions if d["line_number"] is None]
        return event[-1] if event else None

    @property
    def certification_numbers(self) -> list[str]:
        numbers = (d["certification_number"] for d in self.decisions)
        return list(dict.fromkeys(n for n in numbers if n))

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.case,
            "certification_numbers": self.certification_numbers,
            "service_lines": self.lines,
            "decisions": self.decisions,
        }


class UnknownTrackingNumber(LookupError):
    pass


def find_cases(connection: Connection, question: Question) -> list[CaseView]:
    """Cases answering the question, newest first. A tracking number that fails its
    check digit raises TrackingNumberError; one never issued, UnknownTrackingNumber."""
    conditions = []
    if question.tracking is not None:
        number = parse_number(question.tracking).text
        issued = connection.execute(
            select(tracking_numbers.c.case_id).where(tracking_numbers.c.number == number)
        ).first()
        if issued is None:
            raise UnknownTrackingNumber(f"{number} passes its check digit but was never issued")
        certified = select(decisions.c.case_id).where(decisions.c.certification_number == number)
        conditions.append(
            or_(cases.c.administrative_reference == number, cases.c.id.in_(certified))
        )
    if question.member_id is not None:
        conditions.append(cases.c.member_id == question.member_id)
    if question.name is not None:
        conditions.append(_named(*question.name))
    if question.provider is not None:
        conditions.append(
            exists().where(
                case_providers.c.case_id == cases.c.id, case_providers.c.npi == question.provider
            )
        )
    if question.start is not None or question.end is not None:
        conditions.append(_during(question.start, question.end))
    rows = connection.execute(
        select(cases).where(and_(*conditions)).order_by(cases.c.id.desc()).limit(LIMIT)
    ).all()
    views = {row.id: CaseView(_plain(row._asdict())) for row in rows}
    if not views:
        return []
    for row in connection.execute(
        select(service_lines)
        .where(service_lines.c.case_id.in_(list(views)))
        .order_by(service_lines.c.case_id, service_lines.c.line_number)
    ):
        views[row.case_id].lines.append(_plain(row._asdict()))
    for row in connection.execute(
        select(decisions, service_lines.c.line_number)
        .outerjoin(service_lines, decisions.c.service_line_id == service_lines.c.id)
        .where(decisions.c.case_id.in_(list(views)))
        .order_by(decisions.c.id)
    ):
        views[row.case_id].decisions.append(_plain(row._asdict()))
    return list(views.values())


def _named(last: str, first: str) -> Any:
    def person(last_column: Any, first_column: Any) -> Any:
        matches = func.upper(last_column) == last.upper()
        if first:
            matches = and_(matches, func.upper(first_column) == first.upper())
        return matches

    return or_(
        person(cases.c.patient_last_name, cases.c.patient_first_name),
        person(cases.c.member_last_name, cases.c.member_first_name),
    )


def _during(start: date | None, end: date | None) -> Any:
    """The event's dates, or when no dates were sent, the day it was received."""
    start = start or date.min
    end = end or date.max
    received_from = datetime.combine(start, time(), UTC) if start != date.min else None
    received_to = (
        datetime.combine(end + timedelta(days=1), time(), UTC) if end != date.max else None
    )
    on_receipt: list[ColumnElement[bool]] = [cases.c.event_start.is_(None)]
    if received_from is not None:
        on_receipt.append(cases.c.received_at >= received_from)
    if received_to is not None:
        on_receipt.append(cases.c.received_at < received_to)
    return or_(
        and_(
            cases.c.event_start <= end,
            func.coalesce(cases.c.event_end, cases.c.event_start) >= start,
        ),
        and_(*on_receipt),
    )


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready: dates and times as ISO text."""
    return {
        key: value.isoformat() if isinstance(value, date | datetime) else value
        for key, value in values.items()
    }


# --- an X215 inquiry's question --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AskedCase:
    """A case an inquiry found: its row (as `cases_asked` selects it) and its latest
    decision on the event and each line."""

    row: Any
    decision: EventDecision


_ASKED_COLUMNS = (
    cases.c.id,
    cases.c.sender,
    cases.c.submitter_reference,
    cases.c.trace_number,
    cases.c.trace_originator,
    cases.c.member_id,
    cases.c.administrative_reference,
    cases.c.category,
    cases.c.certification_type,
    cases.c.service_type,
    cases.c.level_of_service,
    cases.c.status,
    cases.c.request,
)


def cases_asked(
    connection: Connection, sender: str, question: InquiryQuestion, limit: int
) -> list[AskedCase]:
    """The sender's cases an inquiry's question names, newest first, at most `limit`:
    those its numbers (certification numbers, administrative references) were issued
    for; else those its traces name; else, when no trace names one, those of its
    patient, narrowed by provider and dates. Never another sender's case."""
    mine = cases.c.sender == sender
    if question.by_number:
        # The cases first, by number, then the sender's among them: as one statement,
        # SQLite leads with the sender's index and reads every case of the sender.
        numbers = [*question.certification_numbers, *question.references]
        issued = connection.scalars(
            select(tracking_numbers.c.case_id).where(
                tracking_numbers.c.number.in_(numbers), tracking_numbers.c.case_id.is_not(None)
            )
        ).all()
        if not issued:
            return []
        return _asked(connection, and_(mine, cases.c.id.in_(sorted(set(issued)))), limit)
    if question.traces:
        traced = or_(
            *(
                and_(cases.c.trace_number == number, cases.c.trace_originator == originator)
                for number, originator in question.traces
            )
        )
        found = _asked(connection, and_(mine, traced), limit)
        if found:
            return found
    conditions: list[ColumnElement[bool]] = [mine]
    if question.member_id:
        conditions.append(cases.c.member_id == question.member_id)
    elif question.member_name is not None:
        last, first, born = question.member_name
        # As sent or in capitals (X12 names are mostly capitals): an index search, where
        # comparing upper() of the column would read every case of the sender.
        conditions += [
            cases.c.member_last_name.in_({last, last.upper()}),
            cases.c.member_first_name.in_({first, first.upper()}),
        ]
        if born is not None:
            conditions.append(cases.c.member_birth_date == born)
    else:
        return []
    if question.patient is not None:  # a dependent: the case must be about them
        last, first, born = question.patient
        conditions += [
            cases.c.patient_is_dependent,
            func.upper(cases.c.patient_last_name) == last.upper(),
        ]
        if first:
            conditions.append(func.upper(cases.c.patient_first_name) == first.upper())
        if born is not None:
            conditions.append(cases.c.patient_birth_date == born)
    if question.providers:
        conditions.append(
            exists().where(
                case_providers.c.case_id == cases.c.id,
                case_providers.c.npi.in_(list(question.providers)),
            )
        )
    if question.start is not None or question.end is not None:
        conditions.append(_during(question.start, question.end))
    return _asked(connection, and_(*conditions), limit)


def _asked(connection: Connection, where: ColumnElement[bool], limit: int) -> list[AskedCase]:
    rows = connection.execute(
        select(*_ASKED_COLUMNS).where(where).order_by(cases.c.id.desc()).limit(limit)
    ).all()
    latest = latest_decisions(connection, [row.id for row in rows])
    return [AskedCase(row, latest[row.id]) for row in rows if row.id in latest]
