"""Write the demo reference data beside this script: plans, providers, networks, members,
eligibility and the authorizations a previous system issued, as the six CSV files that
`edi278 reference load` takes (format: README.md).

Determinations need to know who is covered, by which plan, and which providers are in network.
This data is fictitious, holds every member and provider of the X12 files in samples/inbox/
plus the scenario rows named in README.md, and comes from a fixed seed: a rerun writes
identical files. Standard library only.

    python samples/reference/make_demo_data.py
"""

import csv
import random
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 278
AS_OF = date(2026, 1, 1)  # ages (Medicare at 65) are taken on this day, never today
SUBSCRIBERS = 170  # generated ones, besides the sample and scenario rows
ADULT_BIRTHS = (date(1950, 1, 1), date(2004, 12, 31))  # generated subscribers, commercial
MEDICARE_BIRTHS = (date(1936, 1, 1), date(1952, 12, 31))  # 65 before any coverage starts

IP, IPOP = "inpatient", "inpatient-outpatient"
IN, OUT_OF = "in-network", "out-of-network"
INDIVIDUAL, FACILITY = "individual", "facility"
FAMILY_MEDICINE, INTERNAL_MEDICINE = "207Q00000X", "207R00000X"


@dataclass(frozen=True)
class Plan:
    plan_id: str
    name: str
    product_type: str
    medical_management: str
    referral_required: bool
    out_of_network_benefit: bool


@dataclass(frozen=True)
class Provider:
    npi: str
    name: str
    kind: str
    taxonomy: str
    cost_tier: int
    group_npi: str = ""  # the group practice the provider belongs to


@dataclass(frozen=True)
class NetworkSpan:
    npi: str
    status: str
    start_date: date
    end_date: date | None = None


@dataclass(frozen=True)
class Member:
    member_id: str
    subscriber_id: str
    relationship: str
    last_name: str
    first_name: str
    birth_date: date
    gender: str
    plan_id: str
    pcp_npi: str = ""
    medicare_primary: bool = False
    medicare_product: str = ""
    medicare_exhausted_from: date | None = None
    coordination_notes: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""


@dataclass(frozen=True)
class Coverage:
    member_id: str
    plan_id: str
    start_date: date
    end_date: date | None = None


@dataclass(frozen=True)
class Authorization:
    """A certification issued by the plan's previous system, its number as issued."""

    number: str
    member_id: str
    service_type: str
    procedures: str
    facility_npi: str
    start_date: date
    end_date: date
    quantity: int | None
    unit: str
    status: str


@dataclass(frozen=True)
class Person:
    relationship: str
    last_name: str
    first_name: str
    birth_date: date
    gender: str


PLANS = (
    Plan("PPO01", "Acme Choice PPO", "PPO", IPOP, False, True),
    Plan("PPO02", "Acme Essential PPO", "PPO", IP, False, True),
    Plan("OAP01", "Acme Open Access Plus", "OAP", IPOP, False, True),
    Plan("OAP02", "Acme Open Access Plus Value", "OAP", IP, False, True),
    Plan("HMO01", "Acme HMO Select", "HMO", IPOP, True, False),
    Plan("HMO02", "Acme HMO Basic", "HMO", IP, True, False),
    Plan("EPO01", "Acme EPO", "EPO", IPOP, True, False),
    Plan("EPO02", "Acme EPO Saver", "EPO", IP, True, False),
    Plan("IFP01", "Acme Individual and Family", "IFP", IPOP, True, False),
    Plan("MCR01", "Acme Medicare Advantage", "MEDICARE", IPOP, False, True),
)
PLAN = {plan.plan_id: plan for plan in PLANS}
PLAN_WEIGHTS = {"PPO01": 20, "PPO02": 8, "OAP01": 12, "OAP02": 6, "HMO01": 14, "HMO02": 6}
PLAN_WEIGHTS |= {"EPO01": 8, "EPO02": 4, "IFP01": 8, "MCR01": 14}
PREVIOUS_PLAN = {"PPO01": "PPO02", "PPO02": "PPO01", "OAP01": "OAP02", "HMO01": "HMO02"}
PREVIOUS_PLAN |= {"EPO01": "EPO02"}  # a plan change keeps the member ID's letter
ID_LETTER = {"PPO": "W", "OAP": "W", "HMO": "H", "EPO": "E", "IFP": "I", "MEDICARE": "M"}

# NUCC taxonomy code -> how many generated individuals have it
SPECIALTIES = {
    FAMILY_MEDICINE: 12,
    INTERNAL_MEDICINE: 8,
    "207X00000X": 5,  # orthopaedic surgery
    "2085R0202X": 5,  # diagnostic radiology
    "207RC0000X": 5,  # cardiovascular disease
    "2084N0400X": 4,  # neurology
    "207V00000X": 5,  # obstetrics and gynecology
    "208000000X": 5,  # pediatrics
    "207RG0100X": 4,  # gastroenterology
    "208600000X": 4,  # surgery
    "207RN0300X": 3,  # nephrology
    "207Y00000X": 3,  # otolaryngology
    "207RH0003X": 3,  # hematology and oncology
    "2084P0800X": 3,  # psychiatry
    "208100000X": 2,  # physical medicine and rehabilitation
    "207L00000X": 2,  # anesthesiology
}
# NUCC taxonomy code -> (name endings, how many generated facilities have it)
FACILITY_TYPES = {
    "282N00000X": (("HOSPITAL", "MEDICAL CENTER"), 7),  # general acute care hospital
    "261QR0200X": (("IMAGING", "RADIOLOGY CENTER"), 6),  # radiology clinic
    "261QE0700X": (("DIALYSIS CENTER", "KIDNEY CENTER"), 5),  # end-stage renal disease
    "261QA1903X": (("SURGERY CENTER", "AMBULATORY SURGERY"), 5),  # ambulatory surgical
    "283X00000X": (("REHABILITATION HOSPITAL",), 2),
    "314000000X": (("NURSING AND REHABILITATION",), 2),  # skilled nursing facility
}
PLACES = (
    "ALDER CREEK", "ASPEN GROVE", "BAYVIEW", "BIRCHWOOD", "BROOKSIDE", "CEDAR VALLEY",
    "CLEARWATER", "COPPER HILL", "CRESTVIEW", "EASTGATE", "FAIRVIEW", "FERNDALE", "GLENMOOR",
    "GREEN MEADOW", "HIGHLAND PARK", "IRONWOOD", "JUNIPER", "KINGSBRIDGE", "LAUREL HEIGHTS",
    "MAPLE RIDGE", "MEADOWBROOK", "MILL CREEK", "OAKHAVEN", "ORCHARD HILL", "PRAIRIE VIEW",
    "QUARRY HILL", "SILVER LAKE", "STONEBRIDGE", "SUMMIT", "WESTBROOK", "WILLOW BEND",
)  # fmt: skip
LAST_NAMES = (
    "ABBOTT", "ADEYEMI", "ALVAREZ", "BAKER", "BENNETT", "BISHOP", "CALDWELL", "CARDENAS",
    "CHEN", "COLLINS", "DALTON", "DIAZ", "ELLIS", "FARRELL", "FISCHER", "FLORES", "FOSTER",
    "GALLAGHER", "GRANT", "HALE", "HASSAN", "HAYES", "HOLLAND", "HUANG", "IBARRA", "JENSEN",
    "KAPOOR", "KELLER", "KIM", "KOWALSKI", "LARSEN", "LINDGREN", "LOPEZ", "MADDOX", "MARSH",
    "MENDEZ", "MORRIS", "NAKAMURA", "NGUYEN", "NOLAN", "NOVAK", "OSBORNE", "OWUSU", "PATEL",
    "PERRY", "PETROV", "PRICE", "QUINN", "RAMIREZ", "REYES", "RIOS", "SANTOS", "SHAW",
    "SINGH", "SULLIVAN", "TANAKA", "THORNTON", "TRAN", "UNDERWOOD", "VALDEZ", "WALSH",
    "WEBER", "WHEELER", "YATES", "YOUNG", "ZIMMERMAN",
)  # fmt: skip
FIRST_NAMES = {
    "M": (
        "AARON", "ADAM", "ANDRE", "BENJAMIN", "CALEB", "CARLOS", "DANIEL", "DAVID", "ELI",
        "ETHAN", "FELIX", "GABRIEL", "HENRY", "ISAAC", "JAMAL", "JAVIER", "KENJI", "LEO",
        "LUCAS", "MARCUS", "MATEO", "NATHAN", "OMAR", "OSCAR", "PAUL", "RAJ", "RYAN",
        "SAMUEL", "THEO", "VICTOR", "WESLEY", "XAVIER",
    ),
    "F": (
        "ABIGAIL", "ALICE", "AMARA", "ANA", "BEATRICE", "CHLOE", "CLARA", "DIANA", "ELENA",
        "ELLA", "FIONA", "GRACE", "HANNAH", "IRIS", "ISLA", "JULIA", "KAVYA", "LAURA", "LEAH",
        "LILY", "MAYA", "MEI", "NADIA", "NORA", "OLIVIA", "PRIYA", "RUTH", "SOFIA", "TARA",
        "VERA", "ZOE",
    ),
}  # fmt: skip
NOTES = (
    "other commercial coverage primary until 2025-03-31",
    "other group coverage primary (birthday rule)",
    "COBRA continuation coverage",
    "no-fault auto coverage primary for accident-related services",
    "Medicaid secondary",
    "prior coverage ended 2024-12-31; this plan primary",
)

# Mailing addresses (fictitious streets in real towns of the plan's area): (city, state, ZIP).
TOWNS = (
    ("HARTFORD", "CT", "06103"), ("NEW HAVEN", "CT", "06511"), ("STAMFORD", "CT", "06901"),
    ("BRIDGEPORT", "CT", "06604"), ("WATERBURY", "CT", "06702"), ("NORWALK", "CT", "06851"),
    ("SPRINGFIELD", "MA", "01103"), ("WORCESTER", "MA", "01608"), ("PROVIDENCE", "RI", "02903"),
    ("ALBANY", "NY", "12207"), ("WHITE PLAINS", "NY", "10601"), ("NEWARK", "NJ", "07102"),
)  # fmt: skip
STREETS = (
    "ASH", "BEECH", "CHESTNUT", "DOGWOOD", "ELM", "HAWTHORN", "HICKORY", "LINDEN", "MAPLE",
    "OAK", "PINE", "SPRUCE", "SYCAMORE", "WALNUT", "WILLOW", "CHURCH", "HIGH", "MILL", "RIVER",
    "SCHOOL", "UNION", "WATER",
)  # fmt: skip
STREET_KINDS = ("ST", "AVE", "RD", "LN", "DR", "CT", "PL", "WAY")

GARDNER_GROUP = "1900000054"  # ELMWOOD FAMILY MEDICINE GROUP, a scenario provider below
# The providers of the X12 samples, NPIs as sent (not all have a valid check digit).
SAMPLE_PROVIDERS = (
    Provider("1234567893", "RIVERSIDE ORTHOPEDICS", FACILITY, "207X00000X", 2),
    Provider("1528067142", "LAKESIDE IMAGING", FACILITY, "261QR0200X", 1),
    Provider("1987654321", "GENERAL HOSPITAL", FACILITY, "282N00000X", 2),
    Provider("1112223334", "SMITH ROBERT", INDIVIDUAL, "207X00000X", 2),
    Provider("1245319599", "GARDNER ALEX", INDIVIDUAL, FAMILY_MEDICINE, 1, GARDNER_GROUP),
    Provider("1679576722", "WATTS DANA", INDIVIDUAL, "207RC0000X", 2),
)
# Scenario providers: (first 9 NPI digits, name, kind, taxonomy, cost tier, network history)
SCENARIO_PROVIDERS = (
    ("190000001", "KESSLER IAN", INDIVIDUAL, "207X00000X", 3, ((OUT_OF, date(2015, 1, 1)),)),
    ("190000002", "NORTHGATE OPEN MRI", FACILITY, "261QR0200X", 3, ((OUT_OF, date(2016, 1, 1)),)),
    (
        "190000003", "HARBOR VIEW SURGERY CENTER", FACILITY, "261QA1903X", 1,
        ((OUT_OF, date(2019, 1, 1), date(2024, 12, 31)), (IN, date(2025, 1, 1))),
    ),
    (
        "190000004", "PINECREST MEDICAL CENTER", FACILITY, "282N00000X", 3,
        ((IN, date(2016, 1, 1), date(2025, 6, 30)), (OUT_OF, date(2025, 7, 1))),
    ),
    # The group practice GARDNER ALEX belongs to: it sends referrals in his name.
    ("190000005", "ELMWOOD FAMILY MEDICINE GROUP", FACILITY, "193400000X", 1, ((IN, date(2015, 1, 1)),)),
)  # fmt: skip


def fixed(member_id: str, name: str, born: str, gender: str, plan_id: str, **more: Any) -> Member:
    """A hand-written member: subscriber unless `more` says otherwise."""
    last_name, first_name = name.split(", ")
    more = {"subscriber_id": member_id, "relationship": "subscriber"} | more
    birth = date.fromisoformat(born)
    return Member(
        member_id,
        last_name=last_name,
        first_name=first_name,
        birth_date=birth,
        gender=gender,
        plan_id=plan_id,
        **more,
    )


# The members of the X12 samples, then the scenario members of README.md.
DEPENDENT_OF_JOHN = {"subscriber_id": "W555000111", "relationship": "child"}
FIXED_MEMBERS = (
    fixed("W123456789", "DOE, JANE", "1960-04-15", "F", "PPO01"),
    fixed("W555000111", "DOE, JOHN", "1978-09-22", "M", "OAP01"),
    fixed("W55500011101", "DOE, EMMA", "2012-03-04", "F", "OAP01", **DEPENDENT_OF_JOHN),
    fixed("H998877665", "ROE, SAM", "1985-11-02", "M", "HMO01", pcp_npi="1245319599"),
    fixed("W900000001", "QUILL, MARA", "1979-06-14", "F", "PPO01"),
    fixed("M900000002", "ASHBY, HAROLD", "1949-08-09", "M", "MCR01",
          medicare_primary=True, medicare_product="risk"),
    fixed("W900000003", "LINDQVIST, ROSA", "1957-02-20", "F", "PPO01",
          medicare_primary=True, medicare_product="original"),
    fixed("W900000004", "BRENNER, TESS", "1988-10-03", "F", "PPO02"),
    fixed("W900000005", "OKAFOR, DEV", "1975-01-30", "M", "OAP01"),
    fixed("W900000006", "VANCE, NOOR", "1990-05-05", "F", "PPO01", coordination_notes=NOTES[0]),
    fixed("H900000007", "FINCH, OWEN", "1982-12-01", "M", "HMO01", pcp_npi="1245319599"),
    # The demo inbox's own members (samples/inbox/), none of them in a numbered sample, so
    # that none of its requests is a business duplicate of one.
    fixed("W900000008", "PARK, LENA", "1983-07-19", "F", "OAP01"),
    fixed("W90000000801", "PARK, MILO", "2014-06-09", "M", "OAP01",
          subscriber_id="W900000008", relationship="child"),
    fixed("W900000009", "HOLT, GRETA", "1958-03-27", "F", "PPO01"),
    fixed("H900000010", "MORENO, TOMAS", "1979-10-12", "M", "HMO01", pcp_npi="1245319599"),
    fixed("H900000011", "IRVING, BEA", "1991-02-14", "F", "HMO01", pcp_npi="1245319599"),
    fixed("W900000012", "CHO, DANIEL", "1969-08-30", "M", "PPO01"),
    # Scenario members of issue 23's samples (41-44).
    fixed("H900000013", "LARKIN, JUDE", "1987-04-11", "M", "HMO01", pcp_npi="1245319599"),
    fixed("H900000014", "MERCER, IVY", "1993-09-23", "F", "HMO01", pcp_npi="1245319599"),
    fixed("W900000015", "PRUITT, ELLIS", "1961-12-05", "M", "PPO01"),
    fixed("W900000016", "HALVORSEN, INGRID", "1955-07-14", "F", "PPO01",
          medicare_primary=True, medicare_product="original",
          medicare_exhausted_from=date(2026, 10, 1)),
)  # fmt: skip
FIXED_COVERAGE = (
    Coverage("W123456789", "PPO01", date(2019, 1, 1)),
    Coverage("W555000111", "OAP01", date(2020, 1, 1)),
    Coverage("W55500011101", "OAP01", date(2020, 1, 1)),
    Coverage("H998877665", "HMO01", date(2021, 1, 1)),
    Coverage("W900000001", "PPO01", date(2019, 3, 1), date(2024, 6, 30)),
    Coverage("M900000002", "MCR01", date(2018, 1, 1)),
    Coverage("W900000003", "PPO01", date(2018, 1, 1)),
    Coverage("W900000004", "PPO02", date(2021, 1, 1)),
    Coverage("W900000005", "OAP02", date(2019, 1, 1), date(2024, 12, 31)),
    Coverage("W900000005", "OAP01", date(2025, 1, 1)),
    Coverage("W900000006", "PPO01", date(2022, 4, 1)),
    Coverage("H900000007", "HMO01", date(2018, 1, 1), date(2022, 12, 31)),
    Coverage("H900000007", "HMO01", date(2024, 7, 1)),
    Coverage("W900000008", "OAP01", date(2020, 1, 1)),
    Coverage("W90000000801", "OAP01", date(2020, 1, 1)),
    Coverage("W900000009", "PPO01", date(2019, 1, 1)),
    Coverage("H900000010", "HMO01", date(2021, 1, 1)),
    Coverage("H900000011", "HMO01", date(2022, 1, 1)),
    Coverage("W900000012", "PPO01", date(2020, 1, 1)),
    Coverage("H900000013", "HMO01", date(2022, 1, 1)),
    Coverage("H900000014", "HMO01", date(2023, 1, 1)),
    Coverage("W900000015", "PPO01", date(2017, 1, 1)),
    Coverage("W900000016", "PPO01", date(2020, 1, 1)),
)
# Certifications the previous system issued, in its own number format: PRUITT ELLIS's hip
# replacement admission, extended in sample 44; and one it cancelled.
AUTHORIZATIONS = (
    Authorization("UM-2026-004417", "W900000015", "48", "27130", "1987654321",
                  date(2026, 11, 18), date(2026, 11, 21), 3, "days", "certified"),
    Authorization("UM-2026-003981", "W900000015", "62", "73721", "1528067142",
                  date(2026, 9, 1), date(2026, 10, 30), 1, "units", "cancelled"),
)  # fmt: skip


# --- dates and identifiers ----------------------------------------------------------------


def random_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def month_start(rng: random.Random, first_year: int, last_year: int) -> date:
    return date(rng.randint(first_year, last_year), rng.randint(1, 12), 1)


def month_end(rng: random.Random, first_year: int, last_year: int) -> date:
    start = month_start(rng, first_year, last_year)
    return (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)


def age(birth: date) -> int:
    return AS_OF.year - birth.year - ((AS_OF.month, AS_OF.day) < (birth.month, birth.day))


def npi_check_digit(first_nine: str) -> str:
    """The NPI check digit: Luhn over the card-issuer prefix 80840 and the first nine digits."""
    total = 0
    for position, digit in enumerate(reversed("80840" + first_nine)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str(-total % 10)


def new_npi(rng: random.Random, used: set[str]) -> str:
    while True:
        first_nine = rng.choice("12") + f"{rng.randrange(10**8):08d}"
        npi = first_nine + npi_check_digit(first_nine)
        if npi not in used:
            used.add(npi)
            return npi


def new_member_id(rng: random.Random, letter: str, used: set[str]) -> str:
    while True:
        member_id = f"{letter}{rng.randrange(10**8, 10**9)}"
        if member_id not in used:
            used.add(member_id)
            return member_id


# --- providers and networks ---------------------------------------------------------------


def individual_names(rng: random.Random, count: int) -> list[str]:
    taken = {provider.name for provider in SAMPLE_PROVIDERS} | {s[1] for s in SCENARIO_PROVIDERS}
    names: list[str] = []
    while len(names) < count:
        gender = rng.choice("MF")
        name = f"{rng.choice(LAST_NAMES)} {rng.choice(FIRST_NAMES[gender])}"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def generated_providers(rng: random.Random, used: set[str]) -> list[Provider]:
    taxonomies = [code for code, count in SPECIALTIES.items() for _ in range(count)]
    providers = [
        Provider(new_npi(rng, used), name, INDIVIDUAL, taxonomy, rng.choice((1, 1, 2, 2, 3)))
        for name, taxonomy in zip(individual_names(rng, len(taxonomies)), taxonomies, strict=True)
    ]
    places = iter(rng.sample(PLACES, sum(count for _, count in FACILITY_TYPES.values())))
    for taxonomy, (endings, count) in FACILITY_TYPES.items():
        for _ in range(count):
            name = f"{next(places)} {rng.choice(endings)}"
            providers.append(
                Provider(new_npi(rng, used), name, FACILITY, taxonomy, rng.randint(1, 3))
            )
    return providers


def network_history(rng: random.Random, npi: str) -> list[NetworkSpan]:
    """Mostly one open in-network span; a few out of network, joined, left or lapsed."""
    start = month_start(rng, 2010, 2022)
    pattern = rng.choices(("in", "out", "joined", "left", "lapsed"), weights=(80, 6, 6, 5, 3))[0]
    if pattern == "joined":
        return [
            NetworkSpan(npi, OUT_OF, start, date(2024, 12, 31)),
            NetworkSpan(npi, IN, date(2025, 1, 1)),
        ]
    if pattern == "left":
        return [
            NetworkSpan(npi, IN, start, date(2025, 6, 30)),
            NetworkSpan(npi, OUT_OF, date(2025, 7, 1)),
        ]
    if pattern == "lapsed":
        return [NetworkSpan(npi, IN, start, month_end(rng, 2023, 2024))]
    return [NetworkSpan(npi, OUT_OF if pattern == "out" else IN, start)]


def make_providers(rng: random.Random) -> tuple[list[Provider], list[NetworkSpan]]:
    providers = list(SAMPLE_PROVIDERS)
    spans = [NetworkSpan(provider.npi, IN, date(2015, 1, 1)) for provider in SAMPLE_PROVIDERS]
    for first_nine, name, kind, taxonomy, tier, history in SCENARIO_PROVIDERS:
        npi = first_nine + npi_check_digit(first_nine)
        providers.append(Provider(npi, name, kind, taxonomy, tier))
        spans += [NetworkSpan(npi, *span) for span in history]
    used = {provider.npi for provider in providers}
    for provider in generated_providers(rng, used):
        providers.append(provider)
        spans += network_history(rng, provider.npi)
    return providers, spans


def primary_care(
    providers: Sequence[Provider], spans: Sequence[NetworkSpan], taxonomies: Sequence[str]
) -> list[str]:
    """NPIs of individuals with one of these taxonomies who are in network with no end date."""
    open_in = {span.npi for span in spans if span.status == IN and span.end_date is None}
    return [
        provider.npi
        for provider in providers
        if provider.kind == INDIVIDUAL
        and provider.taxonomy in taxonomies
        and provider.npi in open_in
    ]


# --- members and eligibility --------------------------------------------------------------

History = list[tuple[str, date, date | None]]  # (plan_id, start, end or None), in date order


def coverage_history(rng: random.Random, plan_id: str) -> History:
    """Mostly one open span; some terminated, changed plan on January 1, or left and came back."""
    kind = rng.choices(("open", "ended", "changed", "gap"), weights=(78, 9, 8, 5))[0]
    if kind == "ended":
        start = month_start(rng, 2018, 2023)
        return [(plan_id, start, month_end(rng, start.year + 1, 2025))]
    if kind == "changed" and plan_id in PREVIOUS_PLAN:
        start = month_start(rng, 2018, 2023)
        year = rng.randint(start.year, 2024)
        return [
            (PREVIOUS_PLAN[plan_id], start, date(year, 12, 31)),
            (plan_id, date(year + 1, 1, 1), None),
        ]
    if kind == "gap":
        start = month_start(rng, 2018, 2021)
        end = month_end(rng, start.year + 1, 2022)
        return [(plan_id, start, end), (plan_id, month_start(rng, end.year + 1, 2025), None)]
    return [(plan_id, month_start(rng, 2018, 2025), None)]


def person(rng: random.Random, relationship: str, last_name: str, birth: date) -> Person:
    gender = rng.choices("MFU", weights=(49, 49, 2))[0]
    first_name = rng.choice(FIRST_NAMES[gender if gender != "U" else rng.choice("MF")])
    return Person(relationship, last_name, first_name, birth, gender)


def dependents(rng: random.Random, subscriber: Person) -> list[Person]:
    born = subscriber.birth_date
    people = []
    if rng.random() < 0.3:
        last_name = subscriber.last_name if rng.random() < 0.8 else rng.choice(LAST_NAMES)
        spouse_birth = min(born + timedelta(days=rng.randint(-2200, 2200)), date(2006, 12, 31))
        people.append(person(rng, "spouse", last_name, spouse_birth))
    first, last = date(max(born.year + 18, 2000), 1, 1), date(min(born.year + 45, 2024), 12, 31)
    children = rng.choices((0, 1, 2, 3), weights=(65, 18, 12, 5))[0] if first < last else 0
    for _ in range(children):
        people.append(person(rng, "child", subscriber.last_name, random_day(rng, first, last)))
    if rng.random() < 0.04 and first < last:
        people.append(person(rng, "other", rng.choice(LAST_NAMES), random_day(rng, first, last)))
    return people


def covered_from_birth(history: History, birth: date) -> History:
    return [
        (plan, max(start, birth), end) for plan, start, end in history if not end or end >= birth
    ]


def medicare(rng: random.Random, plan: Plan, birth: date) -> tuple[bool, str]:
    if plan.product_type == "MEDICARE":
        return True, "risk"
    if age(birth) >= 65 and rng.random() < 0.4:
        return True, "original"
    return False, ""


def member_row(
    rng: random.Random, who: Person, ids: tuple[str, str], plan: Plan, pcp: str
) -> Member:
    medicare_primary, product = medicare(rng, plan, who.birth_date)
    has_pcp = plan.referral_required or rng.random() < 0.5
    note = rng.choice(NOTES) if not medicare_primary and rng.random() < 0.03 else ""
    return Member(
        *ids, who.relationship, who.last_name, who.first_name, who.birth_date, who.gender,
        plan.plan_id, pcp if has_pcp else "", medicare_primary, product, coordination_notes=note,
    )  # fmt: skip


def make_family(
    rng: random.Random, used: set[str], pcps: Sequence[str], family_doctors: Sequence[str]
) -> tuple[list[Member], list[Coverage]]:
    """A subscriber and dependents (none on Medicare), all covered by the same plan history."""
    plan = PLAN[rng.choices(list(PLAN_WEIGHTS), weights=list(PLAN_WEIGHTS.values()))[0]]
    on_medicare = plan.product_type == "MEDICARE"
    born = random_day(rng, *(MEDICARE_BIRTHS if on_medicare else ADULT_BIRTHS))
    subscriber = person(rng, "subscriber", rng.choice(LAST_NAMES), born)
    history = coverage_history(rng, plan.plan_id)
    people = [subscriber] + ([] if on_medicare else dependents(rng, subscriber))
    people = [who for who in people if covered_from_birth(history, who.birth_date)]
    has_children = any(who.relationship == "child" for who in people)
    pcp = rng.choice(family_doctors if has_children else pcps)
    subscriber_id = new_member_id(rng, ID_LETTER[plan.product_type], used)
    members, coverage = [], []
    for number, who in enumerate(people):
        member_id = f"{subscriber_id}{number:02d}" if number else subscriber_id
        members.append(member_row(rng, who, (member_id, subscriber_id), PLAN[history[-1][0]], pcp))
        coverage += [
            Coverage(member_id, *span) for span in covered_from_birth(history, who.birth_date)
        ]
    return members, coverage


def make_members(
    rng: random.Random, providers: Sequence[Provider], spans: Sequence[NetworkSpan]
) -> tuple[list[Member], list[Coverage]]:
    pcps = primary_care(providers, spans, (FAMILY_MEDICINE, INTERNAL_MEDICINE))
    family_doctors = primary_care(providers, spans, (FAMILY_MEDICINE,))
    members, coverage = list(FIXED_MEMBERS), list(FIXED_COVERAGE)
    used = {member.member_id for member in members}
    for _ in range(SUBSCRIBERS):
        family, spans_of_family = make_family(rng, used, pcps, family_doctors)
        members += family
        coverage += spans_of_family
    return members, coverage


def with_address(member: Member) -> Member:
    """The member's mailing address: the subscriber's, shared by the family. Drawn from a
    generator of its own seeded by the subscriber ID, so adding addresses changed no other
    value of the data."""
    rng = random.Random(f"{SEED}:address:{member.subscriber_id}")
    city, state, zip_code = rng.choice(TOWNS)
    line1 = f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"
    line2 = f"APT {rng.randint(1, 40)}{rng.choice('ABCD')}" if rng.random() < 0.25 else ""
    return replace(
        member, address_line1=line1, address_line2=line2, city=city, state=state, zip=zip_code
    )


# --- output -------------------------------------------------------------------------------


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(name: str, rows: Sequence[Any]) -> None:
    with (HERE / name).open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(field.name for field in fields(rows[0]))
        writer.writerows([cell(value) for value in astuple(row)] for row in rows)


def main() -> None:
    rng = random.Random(SEED)
    providers, networks = make_providers(rng)
    members, eligibility = make_members(rng, providers, networks)
    members = [with_address(member) for member in members]
    tables = {"plans": PLANS, "providers": providers, "networks": networks}
    tables |= {"members": members, "eligibility": eligibility, "authorizations": AUTHORIZATIONS}
    for name, rows in tables.items():
        write_csv(f"{name}.csv", rows)
    print(", ".join(f"{len(rows)} {name}" for name, rows in tables.items()), "->", HERE)


if __name__ == "__main__":
    main()
