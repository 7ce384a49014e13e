"""Gathering what the engine may know about one request: the subscriber's family and
their coverage with the plans that give it, the providers the request names, the
certifications it refers to, and the family's cases on file."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from functools import cache
from itertools import count

from sqlalchemy import (
    BindParameter,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Row,
    ScalarSelect,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
)

from edi278.decide.engine import decide
from edi278.decide.facts import Facts, Member, Plan, PriorCase, Provider, Span
from edi278.decide.outcome import Decider, EventDecision, Outcome, Tracking
from edi278.decide.policy import Policy
from edi278.decide.request import Asked, asked_in, dates_of
from edi278.model import Action, Transaction
from edi278.store.batches import slices
from edi278.store.cases import STATUS
from edi278.store.database import reading
from edi278.store.tables import (
    case_providers,
    cases,
    decisions,
    eligibility_spans,
    members,
    network_spans,
    plans,
    providers,
    reference_authorizations,
    service_lines,
)

# The newest of a family's cases around an event's dates looked at for a duplicate: a
# family with more such cases than this is not a family, it is a load test.
NEAREST_CASES = 50


class StoreDecider:
    """The engine bound to the store: facts read here, the decision made purely."""

    def __init__(self, engine: Engine, policy: Policy) -> None:
        self.engine = engine
        self.policy = policy

    def __call__(
        self, request: Transaction, tracking: Tracking, now: datetime
    ) -> list[EventDecision]:
        asked = asked_in(request)
        envelope = request.envelope
        sender = f"{envelope.sender_qualifier}:{envelope.sender_id}" if envelope else None
        with reading(self.engine).begin() as connection:
            facts = facts_about(connection, asked, sender)
        return decide(request, facts, self.policy, now, tracking, asked)

    def bound_to(
        self,
        requests: list[Transaction],
        connection: Connection,
        sender: str | None = None,
        interchange: int | None = None,
    ) -> Decider:
        """A decider for these requests (an interchange's, from `sender`), their facts
        read at once on `connection`: one round of queries for the batch rather than one
        per request. `interchange`: the one they came in, stored a batch at a time (see
        `facts_about`)."""
        # Read once: the facts gathered, the engine and the duplicate check all need it.
        read_once = {id(request): (request, asked_in(request)) for request in requests}
        asked = [a for _, each in read_once.values() for a in each]
        read = facts_about(connection, asked, sender, interchange)
        # Each request sees its own families and their cases, not the whole batch's: an
        # interchange of a hundred thousand members is decided in linear time.
        families: dict[str, list[Member]] = defaultdict(list)
        for member in read.members.values():
            families[member.subscriber_id].append(member)
        on_file: dict[str, list[PriorCase]] = defaultdict(list)  # by member_id
        for prior in read.member_cases:
            on_file[prior.member_id].append(prior)
        # Decided earlier in the batch (a duplicate all the same), by member and service:
        # a member with hundreds of requests in one interchange is not read hundreds of
        # times over. Numbered, to be seen in the order they were decided.
        decided_here: dict[tuple[str, Service], list[tuple[int, PriorCase]]] = defaultdict(list)
        numbering = count()
        cancelled_here: set[str] = set()  # certifications cancelled by an earlier request

        def facts_of(events: list[Asked]) -> Facts:
            """The facts an event can reach: its subscriber's family, their cases (on
            file and decided earlier in the batch), and the rest as read."""
            ids: set[str] = set()
            for event in events:
                found = read.members.get(event.subscriber.id)
                if found is not None:
                    ids |= {found.subscriber_id, found.member_id}
            members = {m.member_id: m for i in sorted(ids) for m in families.get(i, ())}
            services = {service for event in events for service in _services(event)}
            here = {
                order: prior
                for i in ids
                for service in services
                for order, prior in decided_here.get((i, service), ())
            }
            cases = tuple(
                _cancelled_if(prior, cancelled_here) if cancelled_here else prior
                for prior in (
                    *(prior for i in sorted(ids) for prior in on_file.get(i, ())),
                    *(here[order] for order in sorted(here)),
                )
            )
            return replace(read, members=members, member_cases=cases)

        def decide_with_facts(
            request: Transaction, tracking: Tracking, now: datetime
        ) -> list[EventDecision]:
            known, events = read_once.get(id(request), (None, []))
            if known is not request:  # not one of the batch
                events = asked_in(request)
            decisions = decide(request, facts_of(events), self.policy, now, tracking, events)
            for event, decision in zip(events, decisions, strict=True):
                for prior in _as_prior(event, decision):
                    order = next(numbering)
                    for service in _services(prior):
                        decided_here[(prior.member_id, service)].append((order, prior))
                cancelled_here.update(_cancelled_by(decision))
            return decisions

        return decide_with_facts


# What the duplicate rule calls the same service: a shared procedure code or, between
# requests without procedures, the same service type (decide/engine.py, _same_request).
Service = tuple[str, str]


def _services(case: Asked | PriorCase) -> list[Service]:
    if case.procedures:
        return [("procedure", code) for code in case.procedures]
    kind = case.review.service_type if isinstance(case, Asked) else case.service_type
    return [("service type", kind)]


def _cancelled_by(decision: EventDecision) -> list[str]:
    """The certification a cancellation (HCR01 C) names, if this is one."""
    outcome = decision.outcome
    cancels = outcome.action == Action.CANCELLED and outcome.certification_number
    return [outcome.certification_number] if cancels else []


def _cancelled_if(prior: PriorCase, numbers: set[str]) -> PriorCase:
    if prior.certification_number in numbers and not prior.cancelled:
        return replace(prior, cancelled=True)
    return prior


def _as_prior(asked: Asked, decision: EventDecision) -> list[PriorCase]:
    """An event just decided, as the duplicate rule sees cases on file."""
    outcome = decision.outcome
    if outcome.validation is not None or not asked.subscriber.id:
        return []
    return [
        PriorCase(
            outcome.administrative_reference,
            asked.subscriber.id,
            asked.patient.first,
            outcome.certification_number,
            outcome.action,
            asked.facility_npis,
            asked.procedures,
            asked.review.service_type,
            asked.start,
            asked.end,
            expires=_expiry(outcome),
        )
    ]


def _expiry(outcome: Outcome) -> date | None:
    """The last day a certification just made is valid (its DTP 036), if it has one."""
    period = next((p for p in outcome.periods if p.qualifier == "036"), None)
    return dates_of(period)[0] if period is not None else None


def facts_for(
    connection: Connection, requests: Sequence[Transaction], sender: str | None = None
) -> Facts:
    asked = [a for request in requests for a in asked_in(request)]
    return facts_about(connection, asked, sender)


def facts_about(
    connection: Connection,
    asked: Sequence[Asked],
    sender: str | None = None,
    interchange: int | None = None,
) -> Facts:
    """What the engine may know about these events (an interchange's, or one request's,
    from `sender`: cases on file are marked as its own or another's; None, all its own).
    A certification issued for `interchange` itself, the one the events came in (stored
    a batch at a time), is not one they can name: its sender has not been told it, and
    an interchange decided whole issues its numbers only once every request is decided."""
    subscribers = {a.subscriber.id for a in asked if a.subscriber.id}
    npis = {n for a in asked for n in (a.requester_npi, *a.servicing_npis) if n}
    numbers = {a.previous_certification for a in asked if a.previous_certification}
    family, covering = _members(connection, subscribers)
    return Facts(
        members=family,
        plans=covering,
        providers=_providers(connection, npis),
        certifications=_certified(connection, numbers, sender, interchange),
        member_cases=(
            *_family_cases(connection, asked, sender),
            *(
                prior
                for some in slices(subscribers)
                for prior in _issued_before(connection, _FAMILY_ISSUED_BEFORE, subscribers=some)
            ),
        ),
    )


def _expanding(name: str) -> BindParameter:
    return bindparam(name, expanding=True)


# The statements are built once: building one costs more than running it.
_PCP = providers.alias("pcp")
# A family with its coverage, and a provider with its network, each in one statement:
# a row per span (one with nulls for a member or provider without any), in span order.
_FAMILY = (
    select(
        members,
        eligibility_spans.c.id.label("span_id"),
        eligibility_spans.c.plan_id.label("span_plan"),
        eligibility_spans.c.start_date,
        eligibility_spans.c.end_date,
        plans.c.plan_id.label("covered_by"),
        plans.c.product_type,
        plans.c.medical_management,
        plans.c.referral_required,
        plans.c.out_of_network_benefit,
        _PCP.c.group_npi.label("pcp_group_npi"),
    )
    .select_from(
        members.outerjoin(eligibility_spans, eligibility_spans.c.member_id == members.c.member_id)
        .outerjoin(plans, plans.c.plan_id == eligibility_spans.c.plan_id)
        .outerjoin(_PCP, _PCP.c.npi == members.c.pcp_npi)
    )
    .where(members.c.subscriber_id.in_(_expanding("subscribers")))
    .order_by(members.c.member_id, eligibility_spans.c.id)
)
_NETWORKS = (
    select(
        providers.c.npi,
        providers.c.name,
        network_spans.c.status,
        network_spans.c.start_date,
        network_spans.c.end_date,
    )
    .select_from(providers.outerjoin(network_spans, network_spans.c.npi == providers.c.npi))
    .where(providers.c.npi.in_(_expanding("npis")))
    .order_by(providers.c.npi, network_spans.c.id)
)
# Between the values one column gathers: no accepted element holds a control character.
_APART = "\x1f"


def _latest_event_decision(column: Column, *conditions: ColumnElement[bool]) -> ScalarSelect:
    return (
        select(column)
        .where(
            decisions.c.case_id == cases.c.id, decisions.c.service_line_id.is_(None), *conditions
        )
        .order_by(decisions.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _gathered(column: Column, *conditions: ColumnElement[bool]) -> ScalarSelect:
    return select(func.aggregate_strings(column, _APART)).where(*conditions).scalar_subquery()


_CERTIFIED = (decisions.c.certification_number.is_not(None), decisions.c.certification_number != "")
# What a PriorCase holds, in one statement: not the whole case (its request text, its
# clocks), and its latest decision, facilities and procedures gathered beside it rather
# than asked for in three more.
_PRIOR_CASE = select(
    cases.c.id,
    cases.c.administrative_reference,
    cases.c.sender,
    cases.c.member_id,
    cases.c.patient_first_name,
    cases.c.service_type,
    cases.c.event_start,
    cases.c.event_end,
    _latest_event_decision(decisions.c.action).label("action"),
    cases.c.status,
    _latest_event_decision(decisions.c.certification_number, *_CERTIFIED).label(
        "certification_number"
    ),
    _latest_event_decision(decisions.c.expires, *_CERTIFIED).label("expires"),
    _gathered(
        case_providers.c.npi, case_providers.c.case_id == cases.c.id, case_providers.c.role == "FA"
    ).label("facilities"),
    _gathered(
        service_lines.c.procedure,
        service_lines.c.case_id == cases.c.id,
        service_lines.c.procedure.is_not(None),
        service_lines.c.procedure != "",
    ).label("procedures"),
).order_by(cases.c.id.desc())
# How many events' windows one statement asks about; more are asked in turns.
WINDOWS_PER_STATEMENT = 16


@cache
def _family_cases_meeting(dated: int, undated: int) -> Select:
    """The newest cases that could duplicate one of `dated` events with dates (`first`,
    `last`) or `undated` events without: filed under the event's subscriber, with dates
    that meet the event's, or with none. A dated event's terms (for a case with an end
    and for an open-ended one) are range searches of ix_cases_member_dates, so cases that
    ended before the event began are never read; an undated event's reads the
    subscriber's cases for the few without dates."""
    terms = []
    for n in range(dated):
        first: BindParameter[date] = bindparam(f"first{n}")
        last: BindParameter[date] = bindparam(f"last{n}")
        member = cases.c.member_id == bindparam(f"subscriber{n}")
        starts_in_time = cases.c.event_start <= last
        terms.append(and_(member, cases.c.event_end >= first, starts_in_time))
        open_ended = cases.c.event_end.is_(None)
        terms.append(and_(member, open_ended, cases.c.event_start >= first, starts_in_time))
    for n in range(dated, dated + undated):
        terms.append(
            and_(cases.c.member_id == bindparam(f"subscriber{n}"), cases.c.event_start.is_(None))
        )
    return _PRIOR_CASE.where(or_(*terms)).limit(bindparam("limit"))


_CERTIFIED_CASES = _PRIOR_CASE.where(
    cases.c.id.in_(
        select(decisions.c.case_id).where(
            decisions.c.certification_number.in_(_expanding("numbers"))
        )
    )
)
_CERTIFIED_CASES_OUTSIDE = _CERTIFIED_CASES.where(
    cases.c.interchange_id != bindparam("interchange")
)


def _family_cases(
    connection: Connection, asked: Sequence[Asked], sender: str | None
) -> Iterable[PriorCase]:
    """The newest of the family's cases that could be a duplicate of one of the events:
    their dates meet the event's, as the engine's duplicate rule wants."""
    windows = sorted(
        {(a.subscriber.id, a.start, a.end or a.start) for a in asked if a.subscriber.id},
        key=lambda w: (w[1] is None, w[0], w[1] or date.min),  # the dated first
    )
    found: list[PriorCase] = []
    for at in range(0, len(windows), WINDOWS_PER_STATEMENT):
        turn = windows[at : at + WINDOWS_PER_STATEMENT]
        dated = sum(1 for _, first, _ in turn if first is not None)
        wanted: dict[str, object] = {"limit": NEAREST_CASES * len(turn)}
        for n, (subscriber, first, last) in enumerate(turn):
            wanted |= {f"subscriber{n}": subscriber, f"first{n}": first, f"last{n}": last}
        query = _family_cases_meeting(dated, len(turn) - dated)
        found.extend(_cases(connection, query, sender, **wanted))
    return found


def _members(
    connection: Connection, subscribers: set[str]
) -> tuple[dict[str, Member], dict[str, Plan]]:
    """The subscribers' families with their eligibility, and the plans that cover them
    (the only plans a rule can reach: through a member's eligibility on a day)."""
    if not subscribers:
        return {}, {}
    found: dict[str, Row] = {}
    spans: dict[str, list[Span]] = defaultdict(list)
    covering: dict[str, Plan] = {}
    rows = (  # a family's rows all come in its subscriber's slice
        row
        for some in slices(subscribers)
        for row in connection.execute(_FAMILY, {"subscribers": some})
    )
    for row in rows:
        found.setdefault(row.member_id, row)
        if row.span_id is None:  # no eligibility on file
            continue
        spans[row.member_id].append(Span(row.span_plan, row.start_date, row.end_date))
        if row.covered_by is not None and row.covered_by not in covering:
            covering[row.covered_by] = Plan(
                row.covered_by,
                row.product_type,
                row.medical_management,
                row.referral_required,
                row.out_of_network_benefit,
            )
    family = {
        member_id: Member(
            member_id,
            row.subscriber_id,
            row.last_name,
            row.first_name,
            row.birth_date,
            row.plan_id,
            row.pcp_npi,
            row.medicare_primary,
            row.medicare_product,
            tuple(spans[member_id]),
            row.medicare_exhausted_from,
            row.pcp_group_npi,
        )
        for member_id, row in found.items()
    }
    return family, covering


def _providers(connection: Connection, npis: set[str]) -> dict[str, Provider]:
    if not npis:
        return {}
    names: dict[str, str] = {}
    spans: dict[str, list[Span]] = defaultdict(list)
    rows = (row for some in slices(npis) for row in connection.execute(_NETWORKS, {"npis": some}))
    for row in rows:
        names.setdefault(row.npi, row.name)
        if row.status is not None:  # None: no network span on file
            spans[row.npi].append(Span(row.status, row.start_date, row.end_date))
    return {npi: Provider(npi, name, tuple(spans[npi])) for npi, name in names.items()}


def _certified(
    connection: Connection, numbers: set[str], sender: str | None, interchange: int | None = None
) -> dict[str, PriorCase]:
    """The certifications these numbers name: issued here (before `interchange`, when
    given), else by the plan's previous system (loaded as reference data), each as a
    case on file."""
    if not numbers:
        return {}
    found = {}
    query, outside = _CERTIFIED_CASES, {}
    if interchange is not None:
        query, outside = _CERTIFIED_CASES_OUTSIDE, {"interchange": interchange}
    for some in slices(numbers):
        for prior in _cases(connection, query, sender, numbers=some, **outside):
            if prior.certification_number in numbers:
                found[prior.certification_number] = prior
    for some in slices(numbers - set(found)):  # the rest: from the previous system, if any
        issued = _issued_before(connection, _ISSUED_BEFORE, numbers=some)
        found |= {prior.certification_number: prior for prior in issued}
    return found


# An authorization from before, and whether a cancellation here (UM02 3) named it since.
_ISSUED_BEFORE_ALL = select(
    reference_authorizations,
    members.c.subscriber_id,
    members.c.first_name,
    exists()
    .where(
        decisions.c.certification_number == reference_authorizations.c.number,
        decisions.c.action == Action.CANCELLED.value,
    )
    .label("cancelled_here"),
).select_from(
    reference_authorizations.join(
        members, members.c.member_id == reference_authorizations.c.member_id
    )
)
_ISSUED_BEFORE = _ISSUED_BEFORE_ALL.where(
    reference_authorizations.c.number.in_(_expanding("numbers"))
)
# A family's, for the duplicate rule: a family has few, read whole.
_FAMILY_ISSUED_BEFORE = _ISSUED_BEFORE_ALL.where(
    members.c.subscriber_id.in_(_expanding("subscribers"))
)
# A loaded authorization's status, as the latest decision of a case on file says it.
_ISSUED_AS = {"certified": Action.CERTIFIED_IN_TOTAL, "modified": Action.MODIFIED,
              "cancelled": Action.CANCELLED}  # fmt: skip


def _issued_before(connection: Connection, query: Select, **parameters: object) -> list[PriorCase]:
    """Authorizations from before edi278, as the cases on file our own would be: filed
    under the subscriber, with the patient's name, the number as it was issued;
    cancelled when the previous system says so or a cancellation here named it."""
    if not all(parameters.values()):
        return []
    return [
        PriorCase(
            administrative_reference="",
            member_id=row.subscriber_id,
            patient_first_name=row.first_name,
            certification_number=row.number,
            action=_ISSUED_AS[row.status],
            facility_npis=(row.facility_npi,) if row.facility_npi else (),
            procedures=tuple(row.procedures.split()),
            service_type=row.service_type,
            start=row.start_date,
            end=row.end_date,
            cancelled=row.status == "cancelled" or bool(row.cancelled_here),
            expires=row.end_date,
        )
        for row in connection.execute(query, parameters)
    ]


def _cases(
    connection: Connection, query: Select, sender: str | None, **parameters: object
) -> list[PriorCase]:
    return [
        PriorCase(
            row.administrative_reference,
            row.member_id or "",
            row.patient_first_name,
            row.certification_number or "",
            row.action or "",
            _apart(row.facilities),
            tuple(procedure.split(":")[-1] for procedure in _apart(row.procedures)),
            row.service_type or "",
            row.event_start,
            row.event_end,
            cancelled=row.status == STATUS[Action.CANCELLED],
            expires=row.expires,
            own=sender is None or row.sender == sender,
        )
        for row in connection.execute(query, parameters)
    ]


def _apart(gathered: str | None) -> tuple[str, ...]:
    return tuple(sorted(gathered.split(_APART))) if gathered else ()
