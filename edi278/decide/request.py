"""What a request asks, read off the model for the rules: per event, who, for what
service, with which codes, on which dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from edi278.model import (
    Delivery,
    Demographics,
    Diagnoses,
    HierarchicalLevel,
    InstitutionalCodes,
    InstitutionalService,
    Level,
    Name,
    Party,
    Period,
    ProfessionalService,
    Reference,
    ReviewInformation,
    Transaction,
)
from edi278.x12.values import is_digits

# NM101 roles of the providers who render or host the service (2010EA, 2010FA).
SERVICING_ROLES = frozenset({"SJ", "FA", "71", "72", "73", "77", "AAJ", "DD", "DK", "DN"})
REFERRING = "DN"  # the referring provider: for a referral, the PCP who refers


@dataclass(frozen=True, slots=True)
class EventInContext:
    """A patient event with the levels above it: who asked, for whom."""

    requester: Level
    subscriber: Level
    dependent: Level | None
    event: Level


def events_in_context(request: Transaction) -> list[EventInContext]:
    """The request's events, in the order of `request.events`, with their parents."""
    found: list[EventInContext] = []

    def walk(level: Level, above: dict[str, Level]) -> None:
        for child in level.children:
            if child.level == HierarchicalLevel.EVENT:
                found.append(
                    EventInContext(
                        above[HierarchicalLevel.REQUESTER],
                        above[HierarchicalLevel.SUBSCRIBER],
                        above.get(HierarchicalLevel.DEPENDENT),
                        child,
                    )
                )
            else:
                walk(child, {**above, child.level: child})

    walk(request.root, {request.root.level: request.root})
    return found


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    last: str
    first: str
    birth_date: date | None


@dataclass(frozen=True, slots=True)
class ServiceLine:
    procedure: str  # the code alone (HC:72148 -> 72148)
    revenue_code: str
    service_type: str
    quantity: str
    unit: str
    start: date | None


@dataclass(frozen=True, slots=True)
class Asked:
    """One event as the rules read it."""

    review: ReviewInformation
    requester_npi: str
    subscriber: Person
    dependent: Person | None
    diagnoses: tuple[str, ...]  # codes without qualifiers, principal first
    lines: tuple[ServiceLine, ...]
    start: date | None
    end: date | None
    requested: Delivery | None  # HSD
    admission_type: str  # CL101
    admission_source: str  # CL102
    previous_certification: str  # REF BB
    previous_reference: str  # REF NT
    servicing_npis: tuple[str, ...]
    facility_npis: tuple[str, ...]  # NM1*FA
    referring_npis: tuple[str, ...]  # NM1*DN, of the event and its lines
    # Read off the lines once: every category of the policy is matched against them.
    procedures: tuple[str, ...]  # the lines' procedure codes
    revenue_codes: tuple[str, ...]  # the lines' revenue codes
    service_types: tuple[str, ...]  # UM03 of the event, then of its lines
    discharged: date | None = None  # DTP 096: an X216 notice of discharge

    @property
    def patient(self) -> Person:
        return self.dependent or self.subscriber

    @property
    def place_of_service(self) -> str:
        facility = self.review.facility
        return facility[0] if facility and len(facility) > 1 and facility[1] == "B" else ""

    @property
    def requested_days(self) -> int | None:
        asked = self.requested
        if asked and asked.quantity_qualifier == "DY" and is_digits(asked.quantity):
            return int(asked.quantity)
        return None


def asked_of(context: EventInContext) -> Asked:
    event = context.event
    review = event.review or ReviewInformation()
    start, end = event_dates(event)
    codes = event.first(InstitutionalCodes)
    references = {r.qualifier: r.value for r in event.all(Reference)}
    lines = tuple(_line(line) for line in event.children)
    named = [
        party.name for level in (event, *event.children) for party in level.parties if party.name.id
    ]
    servicing = tuple(name.id for name in named if name.entity in SERVICING_ROLES)
    return Asked(
        review=review,
        requester_npi=name_of(context.requester).id,
        subscriber=person_of(context.subscriber),
        dependent=person_of(context.dependent) if context.dependent else None,
        diagnoses=tuple(
            composite[1].replace(".", "").upper()
            for record in event.all(Diagnoses)
            for composite in record.codes
            if len(composite) > 1 and composite[1]
        ),
        lines=lines,
        start=start,
        end=end,
        requested=event.first(Delivery),
        admission_type=codes.admission_type if codes else "",
        admission_source=codes.admission_source if codes else "",
        previous_certification=references.get("BB", ""),
        previous_reference=references.get("NT", ""),
        servicing_npis=servicing,
        facility_npis=tuple(
            party.name.id for party in event.parties if party.name.entity == "FA" and party.name.id
        ),
        referring_npis=tuple(name.id for name in named if name.entity == REFERRING),
        procedures=tuple(line.procedure for line in lines if line.procedure),
        revenue_codes=tuple(line.revenue_code for line in lines if line.revenue_code),
        service_types=tuple(
            kind for kind in (review.service_type, *(line.service_type for line in lines)) if kind
        ),
        discharged=dates_of(event.period("096"))[0],
    )


def asked_in(request: Transaction) -> list[Asked]:
    """What each event of a request asks, in the order of `request.events`."""
    return [asked_of(context) for context in events_in_context(request)]


def person_of(level: Level) -> Person:
    party: Party | None = level.parties[0] if level.parties else None
    name = party.name if party else Name()
    demographics = party.first(Demographics) if party else None
    born = parse_date(demographics.birth_date) if demographics else None
    return Person(name.id, name.last_or_organization, name.first, born)


def name_of(level: Level) -> Name:
    """The NM1 of a level's first name loop (requester, subscriber, dependent)."""
    return level.parties[0].name if level.parties else Name()


def procedure_of(line: Level) -> str:
    """A service line's procedure code without its qualifier (HC:72148 -> 72148)."""
    service = line.first(ProfessionalService) or line.first(InstitutionalService)
    procedure = service.procedure if service else ()
    return procedure[1].upper() if len(procedure) > 1 else ""


def _line(line: Level) -> ServiceLine:
    service = line.first(ProfessionalService) or line.first(InstitutionalService)
    review = line.review
    start, _ = dates_of(line.period("472"))
    return ServiceLine(
        procedure=procedure_of(line),
        revenue_code=service.revenue_code if isinstance(service, InstitutionalService) else "",
        service_type=review.service_type if review else "",
        quantity=service.quantity if service else "",
        unit=service.unit if service else "",
        start=start,
    )


def event_dates(event: Level) -> tuple[date | None, date | None]:
    """The admission or event dates, else the span of the service lines' dates."""
    for qualifier in ("435", "AAH", "472"):
        if found := event.period(qualifier):
            return dates_of(found)
    spans = [dates_of(line.period("472")) for line in event.children]
    starts = [start for start, _ in spans if start]
    ends = [end for _, end in spans if end]
    return min(starts, default=None), max(ends, default=None)


def dates_of(period: Period | None) -> tuple[date | None, date | None]:
    if period is None:
        return None, None
    if period.format == "RD8" and "-" in period.value:
        first, last = period.value.split("-", 1)
        return parse_date(first), parse_date(last)
    day = parse_date(period.value)
    return day, day


@lru_cache(maxsize=4096)  # strptime is slow, and a batch names the same few dates again and again
def parse_date(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None
