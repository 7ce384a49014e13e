"""The engine's promises over random requests, and a policy file that does not load
names where and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi278.decide.engine import decide
from edi278.decide.outcome import Tracking
from edi278.decide.policy import DEFAULT, PolicyError, default_policy, load_policy, policy_of
from edi278.model import Action
from edi278.reader import read_transaction
from edi278.store.database import open_database
from edi278.store.facts import facts_for
from edi278.store.reference import load_reference
from edi278.x12.delimiters import DEFAULT as DEFAULT_DELIMITERS
from edi278.x12.segment import parse

pytestmark = pytest.mark.dates

REFERENCE = Path(__file__).parents[1] / "samples" / "reference"
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CERTIFIED = {Action.CERTIFIED_IN_TOTAL, Action.CERTIFIED_PARTIAL, Action.MODIFIED}

MEMBERS = [  # (ID, last, first, birth date): some on file, one not, one terminated
    ("W123456789", "DOE", "JANE", "19600415"),
    ("W555000111", "DOE", "JOHN", "19780922"),
    ("H998877665", "ROE", "SAM", "19851102"),
    ("M900000002", "ASHBY", "HAROLD", "19490809"),
    ("W900000003", "LINDQVIST", "ROSA", "19570220"),
    ("W900000004", "BRENNER", "TESS", "19881003"),
    ("W900000001", "QUILL", "MARA", "19790614"),
    ("W000000000", "NOBODY", "NOAH", "19700101"),
]
PROVIDERS = ["1234567893", "1528067142", "1987654321", "1245319599", "1900000013",
             "1900000021", "1999999992"]  # fmt: skip
PROCEDURES = ["27447", "72148", "70553", "71250", "29881", "15847", "90935", "0275T", "99213",
              "92507", "J1745", "E0601", "50360", "93306", "77385", "L5301"]  # fmt: skip
DIAGNOSES = ["M1711", "M5416", "R51", "O80", "O82", "N186", "F322", "I214", "J069", "L905"]


@pytest.fixture(scope="module")
def facts_source(tmp_path_factory):
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('engine')}/facts.db")
    load_reference(engine, REFERENCE)
    yield engine
    engine.dispose()


@st.composite
def requests(draw):
    member = draw(st.sampled_from(MEMBERS))
    category = draw(st.sampled_from(["AR", "HS", "SC"]))
    kind = draw(st.sampled_from(["I"] * 6 + ["1", "2", "3", "4", "S", "R"]))
    service_type = draw(st.sampled_from(["48", "62", "2", "69", "70", "76", "A7", "AF", "3"]))
    place = draw(st.sampled_from(["21", "22", "23", "11", "65"]))
    level = draw(st.sampled_from(["", "E", "U", "03"]))
    start = NOW.date() + timedelta(days=draw(st.integers(-10, 90)))
    lines = draw(st.lists(st.sampled_from(PROCEDURES), max_size=3))
    diagnoses = draw(st.lists(st.sampled_from(DIAGNOSES), min_size=1, max_size=2))
    days = draw(st.integers(1, 8))
    requester, facility = draw(st.sampled_from(PROVIDERS)), draw(st.sampled_from(PROVIDERS))
    previous = draw(st.sampled_from(["", "C26000000015", "C26999999995"]))
    admission = draw(st.sampled_from(["1", "3"])) if category == "AR" else ""  # CL101
    segments = [
        "ST*278*0001*005010X217",
        "BHT*0007*13*PROP1*20261120*1000",
        "HL*1**20*1", "NM1*X3*2*ACME HEALTH PLAN*****PI*12345",
        "HL*2*1*21*1", f"NM1*1P*2*REQUESTER*****XX*{requester}",
        "HL*3*2*22*1", f"NM1*IL*1*{member[1]}*{member[2]}****MI*{member[0]}",
        f"DMG*D8*{member[3]}*U",
        f"HL*4*3*EV*{1 if lines else 0}", "TRN*1*PROP1*9SUBMIT001",
        f"UM*{category}*{kind}*{service_type}*{place}:B**{level}",
        *([f"REF*BB*{previous}"] if previous else []),
        f"DTP*435*D8*{start:%Y%m%d}" if category == "AR" else f"DTP*AAH*D8*{start:%Y%m%d}",
        "HI*" + "*".join(f"{'ABF' if i else 'ABK'}:{code}" for i, code in enumerate(diagnoses)),
        f"HSD*DY*{days}",
        *([f"CL1*{admission}"] if admission else []),
        f"NM1*FA*2*FACILITY*****XX*{facility}",
    ]  # fmt: skip
    for number, code in enumerate(lines, start=5):
        segments += [f"HL*{number}*4*SS*0", f"TRN*1*PROP1-{number}*9SUBMIT001", "UM*HS*I",
                     f"DTP*472*D8*{start:%Y%m%d}", f"SV1*HC:{code}**UN*1"]  # fmt: skip
    segments.append(f"SE*{len(segments) + 1}*0001")
    situation = Situation(member[0], category, kind, level, admission, facility, tuple(lines))
    return read_transaction([parse(s, DEFAULT_DELIMITERS) for s in segments]), situation


class Situation(NamedTuple):
    """What the test knows of a drawn request, to look up what the engine may answer."""

    member_id: str
    category: str  # UM01
    kind: str  # UM02
    level: str  # UM06
    admission: str  # CL101
    facility: str  # NM1*FA
    procedures: tuple[str, ...]


# What the engine may answer (HCR01, HCR03), written by hand from README "Determinations",
# the default policy and samples/reference; never read from the engine, so an engine that
# denies what needs a clinician fails here. Denials are administrative only, each where
# the request shows its reason.
NEEDS_NONE = {("NA", "0H"), ("NA", "18")}
TO_A_CLINICIAN = {("A4", "0V"), ("A4", "0U"), ("A4", "0B")}
CERTIFIED_BY_CRITERIA = {("A1", "")}
COSMETIC = {"15847"}  # policy category `cosmetic`, excluded: A3 19
OUT_OF_NETWORK = {"1900000013", "1900000021"}  # networks.csv
WITHOUT_OUT_OF_NETWORK_BENEFIT = {"H998877665"}  # on HMO01
# AAA03 at any loop: requester, member, birth date, dependent, eligibility, REF BB,
# transfer, referral not from the PCP.
REJECTIONS = {"51", "75", "71", "77", "95", "AA", "33", "49"}


def may_answer(situation: Situation) -> set[tuple[str, str]]:
    """Every (HCR01, HCR03) the engine may give the request; an AAA is always allowed."""
    if situation.kind in ("1", "2"):  # appeals: always a clinician
        return {("A4", "0V")}
    if situation.kind in ("3", "4", "S"):  # of a certification: none is on file here
        return set()
    out_of_network_without_benefit = (
        situation.facility in OUT_OF_NETWORK
        and situation.member_id in WITHOUT_OUT_OF_NETWORK_BENEFIT
    )
    if situation.category == "SC":  # referrals: none needed, from the PCP certified, unless
        # out of network (issue 23: network status applies to referrals as to any service)
        return {("NA", "0H"), ("A3", "9") if out_of_network_without_benefit else ("A1", "")}
    if situation.category == "AR" and (situation.level == "03" or situation.admission == "1"):
        return NEEDS_NONE | {("A4", "0V")}  # emergency admission: never a denial
    allowed = NEEDS_NONE | TO_A_CLINICIAN | CERTIFIED_BY_CRITERIA
    if COSMETIC & set(situation.procedures):
        allowed.add(("A3", "19"))
    if out_of_network_without_benefit:
        allowed.add(("A3", "9"))
    return allowed


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=requests())
def test_no_clinical_denial_every_pend_has_a_due_time_every_certification_a_number(
    facts_source, drawn
):
    request, situation = drawn
    with facts_source.connect() as connection:
        facts = facts_for(connection, [request])
    numbers = count(1)
    tracking = Tracking(["R26000000015"], lambda: f"C{next(numbers)}")
    (decision,) = decide(request, facts, default_policy(), NOW, tracking)
    allowed = may_answer(situation)
    for outcome in (decision.outcome, *decision.lines):
        if outcome.validation is not None:
            assert outcome.action == ""
            assert outcome.validation.reason in REJECTIONS, outcome.trace
        else:
            assert (outcome.action, outcome.reason) in allowed, (situation, decision.outcome.trace)
        if outcome.action == Action.PENDED:
            assert outcome.due_at is not None and outcome.due_at > NOW
            assert outcome.due_at <= decision.clocks.regulatory_due_at
        if outcome.action in CERTIFIED:
            assert outcome.certification_number
            assert {p.qualifier for p in outcome.periods} >= {"007", "036"}
    assert decision.outcome.trace, "every decision says why"
    assert decision.clocks is not None


def _broken(change) -> dict:
    from edi278.decide.policy import _Loader  # the policy's own reading of YAML

    document = yaml.load(DEFAULT.read_text(), Loader=_Loader)
    change(document)
    return document


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["categories"][2].update(setting="outside"),
         "categories[2].setting: 'outside' is not one of ['inpatient', 'outpatient']"),
        (lambda d: d["clocks"].pop("pend_review_hours"),
         "clocks: 'pend_review_hours' is a required property"),
        (lambda d: d["categories"][6]["when"]["procedures"][1].update(
            {"from": "70559", "to": "70450"}),
         "categories[6].when.procedures[1]: '70559'..'70450' is not a range of codes of one shape"),
        (lambda d: d["payer"].update(time_zone="Mars/Olympus_Mons"),
         "payer.time_zone: 'Mars/Olympus_Mons' is not a time zone"),
        (lambda d: d["calendar"]["plan_holidays"].append("2026-02-30"),
         "calendar.plan_holidays[5]: '2026-02-30' is not a date"),
        (lambda d: d["auto_certify"][0].update(colour="blue"),
         "auto_certify[0]: Additional properties are not allowed ('colour' was unexpected)"),
    ],
)  # fmt: skip
def test_a_policy_with_an_error_names_its_path(change, problem):
    with pytest.raises(PolicyError) as raised:
        policy_of(_broken(change), "policy.yaml")
    assert problem in raised.value.problems


def test_a_policy_that_is_not_yaml_names_the_line(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\ncategories: [\n  - id: x\n")
    with pytest.raises(PolicyError, match=r"not YAML at line \d+"):
        load_policy(path)


def test_the_default_policy_loads_and_encodes_the_payer_documents():
    policy = load_policy(DEFAULT)
    ids = {category.id for category in policy.categories}
    assert {"inpatient-admission", "observation-stay", "experimental", "cosmetic",
            "outpatient-surgery", "high-tech-radiology", "injectable-drugs",
            "durable-medical-equipment", "home-health", "dialysis", "prosthetics",
            "speech-therapy", "infertility", "diagnostic-cardiology",
            "radiation-therapy"} <= ids  # fmt: skip
    assert policy.lead_times.before_service_hours == 72
    assert (policy.vaginal.hours, policy.cesarean.hours) == (48, 96)
