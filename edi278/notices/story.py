"""A case told in words: who asked what for whom, where and when, what was decided, by
whom and why. Built from what the store keeps (review.py reads it); read by the letters,
`review show` and `review list`, so nobody reads raw X12. Pure: rows in, words out."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from edi278.decide.policy import Policy
from edi278.notices.words import (
    ACTIONS,
    CERTIFICATION_TYPES,
    DIAGNOSIS_KINDS,
    PROCEDURE_KINDS,
    PROVIDER_ROLES,
    QUANTITIES,
    REQUEST_CATEGORIES,
    SERVICE_TYPES,
    date_span,
    local_iso,
    local_minute,
    quantity_in_words,
    reason_in_words,
    reason_named,
    service_in_words,
)

# Statuses still waiting for a decision: only these have a due time to show.
OPEN_STATUSES = frozenset({"pended", "open"})


@dataclass(frozen=True, slots=True)
class Provider:
    role: str  # in words: "facility", "requesting provider"
    name: str
    npi: str


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str
    kind: str  # the code list in words: "CPT/HCPCS", "revenue code"
    label: str  # the policy's category for it, "" when none names it
    quantity: str  # "1 units"
    dates: str
    service: str  # the line's service type in words, "" when it has none

    @property
    def words(self) -> str:
        return f"{self.kind} {self.code}" + (f": {self.label}" if self.label else "")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    code: str
    kind: str  # "principal diagnosis (ICD-10-CM)"

    @property
    def words(self) -> str:
        return f"{self.code}, {self.kind}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One decision on the event, oldest first."""

    action: str
    action_words: str
    reason: str
    reason_words: str
    decided_by: str
    decided_at: str  # in the plan's zone, with its abbreviation
    certification_number: str
    message: str
    criteria: str
    trace: tuple[str, ...]  # "rule: finding", the rules that fired


@dataclass(frozen=True, slots=True)
class CaseStory:
    reference: str
    status: str
    member_id: str
    member_name: str
    member_address: tuple[str, ...]  # lines under the name; () when not on file
    patient_name: str
    patient_is_dependent: bool
    requester: Provider
    providers: tuple[Provider, ...]  # the facility and servicing providers
    category: str  # UM01 in words
    certification_type: str  # UM02 in words
    service_type: str  # UM03 as sent
    service: str  # UM03 in words
    urgency: str
    start: date | None
    end: date | None
    requested: str  # HSD in words: "3 days"
    procedures: tuple[Procedure, ...]
    diagnoses: tuple[Diagnosis, ...]
    received_at: str
    due_at: str  # "" for a closed case
    pend_reason: str  # "0V requires medical review" while pended
    history: tuple[Entry, ...] = field(default=())
    json_times: dict[str, str | None] = field(default_factory=dict)

    @property
    def dates(self) -> str:
        return date_span(self.start, self.end)

    @property
    def long_dates(self) -> str:
        return date_span(self.start, self.end, long=True)

    @property
    def facilities(self) -> str:
        """The facility and servicing providers by name, for a sentence."""
        return ", ".join(p.name for p in self.providers)

    @property
    def procedure_codes(self) -> str:
        return ", ".join(p.code for p in self.procedures)

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document.pop("json_times")
        document |= self.json_times
        for name in ("start", "end"):
            value = document[name]
            document[name] = value.isoformat() if value else None
        for procedure, coded in zip(document["procedures"], self.procedures, strict=True):
            procedure["words"] = coded.words
        for diagnosis, diagnosed in zip(document["diagnoses"], self.diagnoses, strict=True):
            diagnosis["words"] = diagnosed.words
        document["dates"] = self.dates
        return document


def category_label(code: str, kind: str, policy: Policy) -> str:
    """The policy's category for a procedure or revenue code ("high-tech radiology (MRI,
    CT, PET)"), "" when none names it."""
    for category in policy.categories:
        codes = category.when.revenue_codes if kind == "NU" else category.when.procedures
        if codes.match(code):
            return category.label
    return ""


def tell(
    case: dict[str, Any],
    lines: list[dict[str, Any]],
    providers: list[dict[str, Any]],
    history: list[dict[str, Any]],
    diagnoses: list[tuple[str, str]],
    requested: tuple[str, str] | None,
    address: tuple[str, ...],
    policy: Policy,
) -> CaseStory:
    """The case in words. `lines` and `history` are rows of service_lines and of the
    event's decisions (oldest first), `providers` of case_providers, `diagnoses`
    (qualifier, code) pairs as sent, `requested` the event's HSD (quantity, its
    qualifier), `address` the member's address lines."""
    zone = ZoneInfo(policy.payer.time_zone)
    status = case["status"]
    due = case.get("internal_pend_due_at") or case.get("regulatory_due_at")
    open_case = status in OPEN_STATUSES
    requester = next((p for p in providers if p["loop_id"] == "2010B"), None)
    latest = history[-1] if history else None
    return CaseStory(
        reference=case["administrative_reference"],
        status=status,
        member_id=case.get("member_id") or "",
        member_name=_name(case["member_first_name"], case["member_last_name"]),
        member_address=address,
        patient_name=_name(case["patient_first_name"], case["patient_last_name"]),
        patient_is_dependent=bool(case["patient_is_dependent"]),
        requester=Provider(
            "requesting provider",
            requester["name"] if requester else case.get("requester_name") or "",
            (requester["npi"] if requester else case.get("requester_npi")) or "",
        ),
        providers=tuple(
            Provider(PROVIDER_ROLES.get(p["role"], "provider"), p["name"], p["npi"] or "")
            for p in providers
            if p["loop_id"] != "2010B"
        ),
        category=REQUEST_CATEGORIES.get(case["category"], case["category"]),
        certification_type=CERTIFICATION_TYPES.get(
            case["certification_type"], case["certification_type"]
        ),
        service_type=case.get("service_type") or "",
        service=service_in_words(case.get("service_type"), case["category"]),
        urgency="urgent (expedited)" if case["urgency"] == "expedited" else "standard",
        start=_day(case.get("event_start")),
        end=_day(case.get("event_end")),
        requested=_requested(requested, lines),
        procedures=tuple(_procedure(line, policy) for line in lines if line.get("procedure")),
        diagnoses=tuple(
            Diagnosis(code, DIAGNOSIS_KINDS.get(kind, "diagnosis")) for kind, code in diagnoses
        ),
        received_at=local_minute(case["received_at"], zone),
        due_at=local_minute(due, zone) if open_case else "",
        pend_reason=reason_named(latest["reason"]) if latest and status == "pended" else "",
        history=tuple(_entry(row, zone) for row in history),
        json_times={
            "received_at": local_iso(case["received_at"], zone),
            "due_at": local_iso(due, zone) if open_case else None,
        },
    )


def _name(first: str, last: str) -> str:
    return " ".join(part for part in (first, last) if part)


def _day(value: date | str | None) -> date | None:
    if not value:
        return None
    return value if isinstance(value, date) else date.fromisoformat(value)


def _procedure(line: dict[str, Any], policy: Policy) -> Procedure:
    kind, _, code = str(line["procedure"]).rpartition(":")
    return Procedure(
        code=code,
        kind=PROCEDURE_KINDS.get(kind, "procedure"),
        label=category_label(code, kind, policy),
        quantity=quantity_in_words(line.get("quantity"), line.get("unit")),
        dates=date_span(_day(line.get("start_date")), _day(line.get("end_date")))
        if line.get("start_date")
        else "",
        service=SERVICE_TYPES.get(line.get("service_type") or "", ""),
    )


def _requested(event: tuple[str, str] | None, lines: list[dict[str, Any]]) -> str:
    """Days, visits or units asked: the event's HSD, else its lines' quantities."""
    if event and event[0]:
        return quantity_in_words(*event)
    asked = [quantity_in_words(line.get("quantity"), line.get("unit")) for line in lines]
    return ", ".join(text for text in asked if text)


def _entry(row: dict[str, Any], zone: ZoneInfo) -> Entry:
    steps = json.loads(row["trace"]) if row.get("trace") else []
    quantity = row.get("quantity") or ""
    unit, _, count = quantity.partition(":")
    shown_quantity = f" ({count} {QUANTITIES.get(unit, unit)})" if count else ""
    return Entry(
        action=row["action"],
        action_words=ACTIONS.get(row["action"], row["action"] or "not accepted") + shown_quantity,
        reason=row["reason"],
        reason_words=reason_in_words(row["reason"]),
        decided_by=row["decided_by"],
        decided_at=local_minute(row["decided_at"], zone),
        certification_number=row.get("certification_number") or "",
        message=row.get("message") or "",
        criteria=row.get("criteria") or "",
        trace=tuple(f"{step['rule']}: {step['finding']}" for step in steps),
    )


def as_plain(value: Any) -> Any:
    """JSON-ready: dates and datetimes as ISO text."""
    return value.isoformat() if isinstance(value, date | datetime) else value
