"""What the rules may know beyond the request: the reference data (members, plans,
providers) and the cases already on file, as plain values gathered by the shell."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Span:
    value: str  # the plan, or the network status, during the span
    start: date
    end: date | None  # none: open-ended

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def on(spans: tuple[Span, ...], day: date) -> str | None:
    return next((span.value for span in spans if span.covers(day)), None)


@dataclass(frozen=True, slots=True)
class Plan:
    plan_id: str
    product_type: str
    medical_management: str  # inpatient | inpatient-outpatient
    referral_required: bool
    out_of_network_benefit: bool

    @property
    def manages_outpatient(self) -> bool:
        return self.medical_management == "inpatient-outpatient"


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    subscriber_id: str
    last_name: str
    first_name: str
    birth_date: date
    plan_id: str
    pcp_npi: str | None
    medicare_primary: bool
    medicare_product: str
    eligibility: tuple[Span, ...]
    medicare_exhausted_from: date | None = None  # from then the plan pays first
    pcp_group_npi: str | None = None  # the group practice of the PCP

    def medicare_pays_first(self, day: date) -> bool:
        exhausted = self.medicare_exhausted_from
        return self.medicare_primary and (exhausted is None or day < exhausted)


@dataclass(frozen=True, slots=True)
class Provider:
    npi: str
    name: str
    network: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class PriorCase:
    """A case on file: what a cancel, extension, revision or duplicate refers to."""

    administrative_reference: str
    member_id: str
    patient_first_name: str
    certification_number: str  # the latest, "" when none
    action: str  # the latest event decision
    facility_npis: tuple[str, ...]
    procedures: tuple[str, ...]
    service_type: str
    start: date | None
    end: date | None
    cancelled: bool = False  # its certification was cancelled since (UM02 3)
    expires: date | None = None  # the last day of its latest certification (DTP 036)
    # Filed by the sender of the request being decided. Another partner's case is never
    # named to this one, nor can its certification be extended, revised or cancelled.
    own: bool = True


@dataclass(frozen=True, slots=True)
class Facts:
    members: dict[str, Member] = field(default_factory=dict)  # the subscriber's family
    plans: dict[str, Plan] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)
    certifications: dict[str, PriorCase] = field(default_factory=dict)  # by HCR02
    member_cases: tuple[PriorCase, ...] = ()  # the subscriber's family's cases
