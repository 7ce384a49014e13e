"""The 278 as objects: records (one per segment, fields named for what they hold) in
loops (levels, parties), kept in the order they came.

A loop keeps its records in order and answers typed questions about them, so nothing a
transaction carries is lost (`write(read(x))` gives back its segments) and the engine
asks `event.review.certification_type`, not `um02`. Codes keep their X12 values; the
closed code lists of the reference are enums. Every segment of the X217 guide has a
record; one the model does not know, or one with more elements than its record names
(a repeated element, say), is kept whole as a `Generic` record.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import ClassVar, TypeVar

from edi278.x12.segment import EMPTY_ELEMENT, Element, Segment

Composite = tuple[str, ...]


class RequestCategory(enum.StrEnum):  # UM01
    ADMISSION_REVIEW = "AR"
    HEALTH_SERVICES_REVIEW = "HS"
    INDIVIDUAL = "IN"
    SPECIALTY_CARE_REVIEW = "SC"


class CertificationType(enum.StrEnum):  # UM02
    INITIAL = "I"
    APPEAL_IMMEDIATE = "1"
    APPEAL_STANDARD = "2"
    CANCEL = "3"
    EXTENSION = "4"
    RENEWAL = "R"
    REVISED = "S"


class LevelOfService(enum.StrEnum):  # UM06; absent means routine
    EMERGENCY = "03"
    ELECTIVE = "E"
    URGENT = "U"


class Action(enum.StrEnum):  # HCR01
    CERTIFIED_IN_TOTAL = "A1"
    CERTIFIED_PARTIAL = "A2"
    NOT_CERTIFIED = "A3"
    PENDED = "A4"
    MODIFIED = "A6"
    CANCELLED = "C"
    CONTACT_PAYER = "CT"
    NO_ACTION_REQUIRED = "NA"


# The actions that issue a certification (a number the requester may cite later).
CERTIFYING = frozenset({Action.CERTIFIED_IN_TOTAL, Action.CERTIFIED_PARTIAL, Action.MODIFIED})


class HierarchicalLevel(enum.StrEnum):  # HL03
    UMO = "20"
    REQUESTER = "21"
    SUBSCRIBER = "22"
    DEPENDENT = "23"
    EVENT = "EV"
    SERVICE = "SS"


INQUIRY_GUIDE = "005010X215"
NOTIFICATION_GUIDE = "005010X216"


class Purpose(enum.StrEnum):  # BHT02
    REQUEST = "13"
    RESPONSE = "11"
    INQUIRY = "28"  # X215: a question about reviews asked before


@dataclass(slots=True)
class Record:
    """One segment; its fields, in order, are the segment's elements. A `Composite`
    field holds components; a last field of `tuple[Composite, ...]` takes every
    remaining element as a composite (HI01-HI12)."""

    SEGMENT: ClassVar[str] = ""


@dataclass(slots=True)
class Header(Record):  # BHT
    SEGMENT: ClassVar[str] = "BHT"
    structure: str = ""
    purpose: str = ""
    submitter_reference: str = ""
    date: str = ""
    time: str = ""
    transaction_type: str = ""


@dataclass(slots=True)
class Name(Record):  # NM1
    SEGMENT: ClassVar[str] = "NM1"
    entity: str = ""
    entity_type: str = ""
    last_or_organization: str = ""
    first: str = ""
    middle: str = ""
    prefix: str = ""
    suffix: str = ""
    id_qualifier: str = ""
    id: str = ""
    relationship: str = ""
    entity_relationship: str = ""
    entity_identifier: str = ""


@dataclass(slots=True)
class Reference(Record):  # REF
    SEGMENT: ClassVar[str] = "REF"
    qualifier: str = ""
    value: str = ""
    description: str = ""
    identifiers: Composite = ()


@dataclass(slots=True)
class Street(Record):  # N3
    SEGMENT: ClassVar[str] = "N3"
    line1: str = ""
    line2: str = ""


@dataclass(slots=True)
class Locality(Record):  # N4
    SEGMENT: ClassVar[str] = "N4"
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    location_qualifier: str = ""
    location: str = ""
    country_subdivision: str = ""


@dataclass(slots=True)
class Contact(Record):  # PER
    SEGMENT: ClassVar[str] = "PER"
    function: str = ""
    name: str = ""
    number_qualifier1: str = ""
    number1: str = ""
    number_qualifier2: str = ""
    number2: str = ""
    number_qualifier3: str = ""
    number3: str = ""
    inquiry_reference: str = ""


@dataclass(slots=True)
class ProviderInformation(Record):  # PRV
    SEGMENT: ClassVar[str] = "PRV"
    role: str = ""
    id_qualifier: str = ""
    taxonomy: str = ""
    state: str = ""
    specialty: Composite = ()
    organization: str = ""


@dataclass(slots=True)
class Demographics(Record):  # DMG
    SEGMENT: ClassVar[str] = "DMG"
    date_format: str = ""
    birth_date: str = ""
    gender: str = ""
    marital_status: str = ""
    race_or_ethnicity: Composite = ()
    citizenship: str = ""
    country: str = ""
    verification_basis: str = ""
    quantity: str = ""
    code_list_qualifier: str = ""
    industry_code: str = ""


@dataclass(slots=True)
class Relationship(Record):  # INS
    SEGMENT: ClassVar[str] = "INS"
    insured: str = ""
    relationship: str = ""
    maintenance_type: str = ""
    maintenance_reason: str = ""
    benefit_status: str = ""
    medicare_status: str = ""
    cobra_event: str = ""
    employment_status: str = ""
    student_status: str = ""
    handicap: str = ""
    death_date_format: str = ""
    death_date: str = ""
    confidentiality: str = ""
    city_state_code: str = ""
    country: str = ""
    claim_number: str = ""
    birth_sequence: str = ""


@dataclass(slots=True)
class RequestValidation(Record):  # AAA
    SEGMENT: ClassVar[str] = "AAA"
    valid: str = ""
    agency: str = ""
    reason: str = ""
    follow_up: str = ""


@dataclass(slots=True)
class Trace(Record):  # TRN
    SEGMENT: ClassVar[str] = "TRN"
    trace_type: str = ""
    reference: str = ""
    originator: str = ""
    division: str = ""


@dataclass(slots=True)
class ReviewInformation(Record):  # UM
    SEGMENT: ClassVar[str] = "UM"
    category: str = ""
    certification_type: str = ""
    service_type: str = ""
    facility: Composite = ()
    related_causes: Composite = ()
    level_of_service: str = ""
    condition: str = ""
    prognosis: str = ""
    release_of_information: str = ""
    delay_reason: str = ""


@dataclass(slots=True)
class Decision(Record):  # HCR
    SEGMENT: ClassVar[str] = "HCR"
    action: str = ""
    certification_number: str = ""
    reason: str = ""
    second_opinion: str = ""


@dataclass(slots=True)
class Period(Record):  # DTP
    SEGMENT: ClassVar[str] = "DTP"
    qualifier: str = ""
    format: str = ""
    value: str = ""


@dataclass(slots=True)
class Diagnoses(Record):  # HI
    SEGMENT: ClassVar[str] = "HI"
    codes: tuple[Composite, ...] = ()


@dataclass(slots=True)
class Delivery(Record):  # HSD
    SEGMENT: ClassVar[str] = "HSD"
    quantity_qualifier: str = ""
    quantity: str = ""
    unit: str = ""
    sample_modulus: str = ""
    period_qualifier: str = ""
    period_count: str = ""
    delivery_frequency: str = ""
    delivery_time: str = ""


@dataclass(slots=True)
class Message(Record):  # MSG
    SEGMENT: ClassVar[str] = "MSG"
    text: str = ""
    printer_carriage_control: str = ""
    number: str = ""


@dataclass(slots=True)
class Attachment(Record):  # PWK
    SEGMENT: ClassVar[str] = "PWK"
    report_type: str = ""
    transmission: str = ""
    copies: str = ""
    entity_identifier: str = ""
    id_qualifier: str = ""
    id_qualifier_text: str = ""
    id: str = ""
    description: str = ""
    actions: str = ""


@dataclass(slots=True)
class InstitutionalCodes(Record):  # CL1
    SEGMENT: ClassVar[str] = "CL1"
    admission_type: str = ""
    admission_source: str = ""
    patient_status: str = ""
    nursing_home_status: str = ""


@dataclass(slots=True)
class ProfessionalService(Record):  # SV1
    SEGMENT: ClassVar[str] = "SV1"
    procedure: Composite = ()
    charge: str = ""
    unit: str = ""
    quantity: str = ""
    place_of_service: str = ""
    service_type: str = ""
    diagnosis_pointers: Composite = ()
    dental_charge: str = ""
    emergency_indicator: str = ""
    multiple_procedure: str = ""
    epsdt_indicator: str = ""
    family_planning: str = ""
    review_code: str = ""
    national_or_local: str = ""
    assigned_by: str = ""
    copay_status: str = ""
    health_care_shortage_area: str = ""
    reference_id: str = ""
    postal_code: str = ""
    care_level: str = ""
    nursing_home_level: str = ""


@dataclass(slots=True)
class InstitutionalService(Record):  # SV2
    SEGMENT: ClassVar[str] = "SV2"
    revenue_code: str = ""
    procedure: Composite = ()
    charge: str = ""
    unit: str = ""
    quantity: str = ""
    unit_rate: str = ""
    noncovered_charge: str = ""
    coverage_indicator: str = ""
    nursing_home_status: str = ""
    care_level: str = ""


@dataclass(slots=True)
class ConditionsIndicator(Record):  # CRC
    SEGMENT: ClassVar[str] = "CRC"
    category: str = ""
    certification_condition: str = ""
    condition1: str = ""
    condition2: str = ""
    condition3: str = ""
    condition4: str = ""
    condition5: str = ""


@dataclass(slots=True)
class AmbulanceTransport(Record):  # CR1
    SEGMENT: ClassVar[str] = "CR1"
    weight_unit: str = ""
    patient_weight: str = ""
    transport_code: str = ""
    transport_reason: str = ""
    distance_unit: str = ""
    distance: str = ""
    address1: str = ""
    address2: str = ""
    round_trip_purpose: str = ""
    stretcher_purpose: str = ""


@dataclass(slots=True)
class SpinalManipulation(Record):  # CR2
    SEGMENT: ClassVar[str] = "CR2"
    treatment_series_number: str = ""
    treatment_count: str = ""
    subluxation_level1: str = ""
    subluxation_level2: str = ""
    period_unit: str = ""
    treatment_period_count: str = ""
    monthly_treatment_count: str = ""
    condition_nature: str = ""
    complication_indicator: str = ""
    condition_description1: str = ""
    condition_description2: str = ""
    xray_available: str = ""


@dataclass(slots=True)
class HomeOxygenTherapy(Record):  # CR5
    SEGMENT: ClassVar[str] = "CR5"
    certification_type: str = ""
    quantity: str = ""
    equipment_type1: str = ""
    equipment_type2: str = ""
    equipment_reason: str = ""
    flow_rate: str = ""
    daily_use_count: str = ""
    use_period_hours: str = ""
    therapist_order: str = ""
    arterial_blood_gas: str = ""
    oxygen_saturation: str = ""
    test_condition: str = ""
    test_findings1: str = ""
    test_findings2: str = ""
    test_findings3: str = ""
    portable_flow_rate: str = ""
    delivery_system: str = ""
    equipment_type3: str = ""


@dataclass(slots=True)
class HomeHealthCare(Record):  # CR6
    SEGMENT: ClassVar[str] = "CR6"
    prognosis: str = ""
    start_of_care: str = ""
    period_format: str = ""
    certification_period: str = ""
    diagnosis_date: str = ""
    skilled_nursing_facility: str = ""
    medicare_coverage: str = ""
    certification_type: str = ""
    surgery_date: str = ""
    procedure_qualifier: str = ""
    surgical_procedure: str = ""
    physician_order_date: str = ""
    last_visit_date: str = ""
    physician_contact_date: str = ""
    admission_period_format: str = ""
    last_admission_period: str = ""
    patient_location: str = ""


@dataclass(slots=True)
class DentalService(Record):  # SV3
    SEGMENT: ClassVar[str] = "SV3"
    procedure: Composite = ()
    charge: str = ""
    facility_code: str = ""
    oral_cavity: Composite = ()
    prosthesis: str = ""
    procedure_count: str = ""


@dataclass(slots=True)
class ToothInformation(Record):  # TOO
    SEGMENT: ClassVar[str] = "TOO"
    code_list_qualifier: str = ""
    tooth: str = ""
    surfaces: Composite = ()


@dataclass(slots=True)
class Generic(Record):
    """A segment kept as sent: its ID and its elements (repetitions of components)."""

    segment_id: str = ""
    elements: tuple[Element, ...] = ()


RECORDS: dict[str, type[Record]] = {
    cls.SEGMENT: cls
    for cls in (
        Header,
        Name,
        Reference,
        Street,
        Locality,
        Contact,
        ProviderInformation,
        Demographics,
        Relationship,
        RequestValidation,
        Trace,
        ReviewInformation,
        Decision,
        Period,
        Diagnoses,
        Delivery,
        Message,
        Attachment,
        InstitutionalCodes,
        ProfessionalService,
        InstitutionalService,
        ConditionsIndicator,
        AmbulanceTransport,
        SpinalManipulation,
        HomeOxygenTherapy,
        HomeHealthCare,
        DentalService,
        ToothInformation,
    )
}


def record_of(segment: Segment) -> Record:
    """The record for a segment, or a Generic one where a record would lose something."""
    kind = RECORDS.get(segment.id)
    elements = segment.elements
    if kind is None:
        return Generic(segment.id, elements)
    shapes = shapes_of(kind)
    if len(elements) > len(shapes) and shapes[-1][1] != "rest":
        return Generic(segment.id, elements)
    # Fields past the last element sent keep their defaults: "" and (), as if sent empty.
    values: list[object] = []
    for position, ((_, shape), element) in enumerate(zip(shapes, elements, strict=False)):
        if shape == "rest":
            values.append(tuple(each[0] for each in elements[position:]))
            break
        if len(element) > 1 or (shape == "str" and len(element[0]) > 1):
            return Generic(segment.id, elements)  # repeated, or composite where simple
        if shape == "composite":
            values.append(() if element == EMPTY_ELEMENT else element[0])
        else:
            values.append(element[0][0])
    return kind(*values)


def segment_of(record: Record) -> Segment:
    if isinstance(record, Generic):
        return Segment(record.segment_id, record.elements)
    values: list[str | tuple[str, ...]] = []
    for name, shape in shapes_of(type(record)):
        value = getattr(record, name)
        if shape == "rest":
            values.extend(value)
        else:
            values.append(value or "")  # an absent composite is an empty element
    return Segment.of(record.SEGMENT, *values)


_SHAPES: dict[type[Record], tuple[tuple[str, str], ...]] = {}


def shapes_of(kind: type[Record]) -> tuple[tuple[str, str], ...]:
    """(field name, shape) of each field of a record, in element order: read once per
    kind, since every segment read or written asks."""
    shapes = _SHAPES.get(kind)
    if shapes is None:
        shapes = _SHAPES[kind] = tuple(
            (item.name, shape_of(kind, item.name)) for item in fields(kind)
        )
    return shapes


def shape_of(kind: type[Record], name: str) -> str:
    annotation = str(kind.__annotations__.get(name, "str"))
    if annotation == "Composite":
        return "composite"
    if annotation.startswith("tuple[Composite"):
        return "rest"
    return "str"


R = TypeVar("R", bound=Record)


@dataclass(slots=True)
class Loop:
    """Records in the order they came, with typed questions about them."""

    records: list[Record] = field(default_factory=list)

    def first(self, kind: type[R]) -> R | None:
        return next((r for r in self.records if isinstance(r, kind)), None)

    def all(self, kind: type[R]) -> list[R]:
        return [r for r in self.records if isinstance(r, kind)]


@dataclass(slots=True)
class Party(Loop):
    """A name loop (2010A ... 2010FB): an NM1 and what follows it."""

    loop_id: str = ""

    @property
    def name(self) -> Name:
        found = self.first(Name)
        assert found is not None, "a party loop starts with its NM1"
        return found


@dataclass(slots=True)
class Level(Loop):
    """An HL level: its own records, its name loops, and the levels below it."""

    level: str = ""  # HierarchicalLevel
    parties: list[Party] = field(default_factory=list)
    children: list[Level] = field(default_factory=list)

    @property
    def traces(self) -> list[Trace]:
        return self.all(Trace)

    @property
    def review(self) -> ReviewInformation | None:
        return self.first(ReviewInformation)

    @property
    def decision(self) -> Decision | None:
        return self.first(Decision)

    def period(self, qualifier: str) -> Period | None:
        return next((p for p in self.all(Period) if p.qualifier == qualifier), None)

    def descendants(self) -> list[Level]:
        found: list[Level] = []
        for child in self.children:
            found += [child, *child.descendants()]
        return found


@dataclass(slots=True)
class Envelope:
    """Who sent a transaction set to whom, under which control numbers (ISA and GS)."""

    sender_qualifier: str = "ZZ"  # ISA05
    sender_id: str = ""  # ISA06, unpadded
    receiver_qualifier: str = "ZZ"  # ISA07
    receiver_id: str = ""  # ISA08, unpadded
    interchange_control_number: str = ""  # ISA13
    interchange_date: str = ""  # ISA09 YYMMDD
    interchange_time: str = ""  # ISA10 HHMM
    usage: str = "P"  # ISA15: P production, T test
    application_sender: str = ""  # GS02
    application_receiver: str = ""  # GS03
    group_control_number: str = ""  # GS06
    group_date: str = ""  # GS04 CCYYMMDD
    group_time: str = ""  # GS05


@dataclass(slots=True)
class Transaction:
    """One 278 transaction set: its header and the tree of levels under the UMO."""

    control_number: str  # ST02
    convention: str  # ST03
    header: Header
    root: Level  # 2000A, with 2000B, 2000C, 2000D, 2000E and 2000F below
    envelope: Envelope | None = None
    # An X216 notification read as a request (edi278.notify.as_request): the notification
    # as it came, which its acknowledgment answers.
    notice: Transaction | None = None

    @property
    def is_response(self) -> bool:
        return self.header.purpose == Purpose.RESPONSE

    @property
    def is_inquiry(self) -> bool:
        """An X215 inquiry: a question about reviews asked before, not a new one."""
        return self.convention == INQUIRY_GUIDE and self.header.purpose == Purpose.INQUIRY

    def levels(self, level: str) -> list[Level]:
        return [each for each in [self.root, *self.root.descendants()] if each.level == level]

    @property
    def events(self) -> list[Level]:
        return self.levels(HierarchicalLevel.EVENT)
