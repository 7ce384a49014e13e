"""Referrals judged the way the plan writes them, the order of the rules pinned where one
could shadow another, and Medicare exhausted (issue 23). The engine is pure: requests,
facts and the clock are built here in memory."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from itertools import count

import pytest

from edi278.decide.engine import decide
from edi278.decide.facts import Facts, Member, Plan, Provider, Span
from edi278.decide.outcome import Tracking
from edi278.decide.policy import default_policy
from edi278.reader import read_transaction
from edi278.x12.delimiters import DEFAULT as DEFAULT_DELIMITERS
from edi278.x12.segment import parse

pytestmark = pytest.mark.dates

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday, 10:00 in New York
PCP, GROUP, OTHER_PCP, OTHER_GROUP = "1245319599", "1900000054", "1084358526", "1900000062"
SPECIALIST, OUT_SPECIALIST = "1679576722", "1900000013"  # in network, out of network
HOSPITAL, OUT_HOSPITAL, IMAGING = "1987654321", "1900000047", "1528067142"
CLINIC = "1234567893"
IN = (Span("in-network", date(2015, 1, 1), None),)
OUT = (Span("out-of-network", date(2015, 1, 1), None),)
PROVIDERS = {
    npi: Provider(npi, "PROVIDER", network)
    for npi, network in [
        (PCP, IN), (GROUP, IN), (OTHER_PCP, IN), (OTHER_GROUP, IN), (SPECIALIST, IN),
        (OUT_SPECIALIST, OUT), (HOSPITAL, IN), (OUT_HOSPITAL, OUT), (IMAGING, IN), (CLINIC, IN),
    ]
}  # fmt: skip
PLANS = {
    "HMO01": Plan("HMO01", "HMO", "inpatient-outpatient", True, False),
    "EPO09": Plan("EPO09", "EPO", "inpatient-outpatient", True, True),  # referrals, and OON pay
    "PPO01": Plan("PPO01", "PPO", "inpatient-outpatient", False, True),
    "PPO02": Plan("PPO02", "PPO", "inpatient", False, True),  # manages inpatient care only
}


def member(plan: str = "HMO01", **more) -> Member:
    base = Member("H1", "H1", "LARKIN", "JUDE", date(1987, 4, 11), plan, PCP, False, "",
                  (Span(plan, date(2022, 1, 1), None),), pcp_group_npi=GROUP)  # fmt: skip
    return replace(base, **more)


def facts(patient: Member) -> Facts:
    return Facts(members={"H1": patient}, plans=PLANS, providers=PROVIDERS)


def referral(requester: str, to: str, referring: str = "") -> list[str]:
    """A specialist referral (UM*SC, 3 visits), its referring provider named or not."""
    return [
        "HL*4*3*EV*0", "TRN*1*REF1*9SUBMIT001", "UM*SC*I*3*11:B", "HI*ABK:I10", "HSD*VS*3",
        *([f"NM1*DN*1*GARDNER*ALEX****XX*{referring}"] if referring else []),
        f"NM1*SJ*1*SPECIALIST*ONE****XX*{to}",
    ]  # fmt: skip


def decided(event: list[str], patient: Member, requester: str = CLINIC) -> tuple[str, str, str]:
    """(HCR01 or AAA03, HCR03 or the AAA's loop, the decision's trace) of one event."""
    segments = [
        "ST*278*0001*005010X217", "BHT*0007*13*T1*20261120*0930",
        "HL*1**20*1", "NM1*X3*2*ACME HEALTH PLAN*****PI*12345",
        "HL*2*1*21*1", f"NM1*1P*2*REQUESTER*****XX*{requester}",
        "HL*3*2*22*1", f"NM1*IL*1*{patient.last_name}*{patient.first_name}****MI*H1",
        f"DMG*D8*{patient.birth_date:%Y%m%d}*M", *event,
    ]  # fmt: skip
    segments.append(f"SE*{len(segments) + 1}*0001")
    request = read_transaction([parse(s, DEFAULT_DELIMITERS) for s in segments])
    numbers = count(1)
    tracking = Tracking(["R26000000015"], lambda: f"C{next(numbers)}")
    (decision,) = decide(request, facts(patient), default_policy(), NOW, tracking)
    outcome = decision.outcome
    trace = " | ".join(f"{step.rule}: {step.finding}" for step in outcome.trace)
    if outcome.validation is not None:
        return "AAA", f"{outcome.validation.reason} at {outcome.validation_loop or '2000E'}", trace
    return outcome.action, outcome.reason, trace


# --- referrals ------------------------------------------------------------------------------


def test_a_referral_from_the_pcp_group_or_naming_the_pcp_as_referring_is_the_pcps():
    """001: "A referral is when a Primary Care Provider (PCP) asks for a patient to see
    another doctor, usually a specialist." and "HMO, Individual and Family Plans (IFP),
    and EPO plans often require patients to choose a PCP and get a referral to see a
    specialist". Issue 23: recognise the PCP as the requester, the referring provider
    (NM1*DN), or the group the PCP belongs to."""
    patient = member()
    # The group practice asks, the PCP named as referring provider (sample 41).
    assert decided(referral(GROUP, SPECIALIST, PCP), patient, GROUP)[:2] == ("A1", "")
    # The group practice asks, nobody named as referring.
    assert decided(referral(GROUP, SPECIALIST), patient, GROUP)[:2] == ("A1", "")
    # Someone else sends it for the PCP, who is named as referring provider.
    assert decided(referral(CLINIC, SPECIALIST, PCP), patient, CLINIC)[:2] == ("A1", "")
    # The PCP asks, as before.
    assert decided(referral(PCP, SPECIALIST), patient, PCP)[:2] == ("A1", "")
    # Not the PCP, not the PCP's group, not naming the PCP: still refused at 2010B.
    assert decided(referral(OTHER_GROUP, SPECIALIST, OTHER_PCP), patient, OTHER_GROUP)[:2] == (
        "AAA",
        "49 at 2010B",
    )
    # A PCP with no group on file: a group asking is not recognised by guesswork.
    alone = member(pcp_group_npi=None)
    assert decided(referral(GROUP, SPECIALIST), alone, GROUP)[:2] == ("AAA", "49 at 2010B")


def test_a_referral_to_an_out_of_network_specialist_gets_the_plans_out_of_network_outcome():
    """Issue 23: "Network status applies to referrals as to any service: such a referral
    gets the plan's out-of-network outcome." 002: "Out-of-network services: You're
    responsible if you choose to see an out-of-network doctor and your plan covers
    out-of-network services." Without the benefit: A3 9, as sample 18; with it: reviewed,
    the member responsible, as sample 19."""
    action, reason, trace = decided(referral(PCP, OUT_SPECIALIST), member(), PCP)
    assert (action, reason) == ("A3", "9")
    assert "referral-from-pcp" in trace and "out-of-network" in trace
    with_benefit = member(plan="EPO09", eligibility=(Span("EPO09", date(2022, 1, 1), None),))
    action, reason, trace = decided(referral(PCP, OUT_SPECIALIST), with_benefit, PCP)
    assert (action, reason) == ("A4", "0V")
    assert "has an out-of-network benefit" in trace


# --- the order of the rules, where one could shadow another -------------------------------


def test_a_referral_is_first_checked_as_a_referral_then_for_the_network():
    """001: "OAP and PPO plans usually don't need referrals": on a PPO, a referral to an
    out-of-network specialist needs no referral (NA 0H; the network is for the care
    itself, asked for on its own). On an HMO, a referral not from the member's PCP is
    refused at 2010B (AAA 49) before its network is looked at: the request is not one
    the plan takes, whoever it names."""
    ppo = member(plan="PPO01", eligibility=(Span("PPO01", date(2022, 1, 1), None),))
    assert decided(referral(PCP, OUT_SPECIALIST), ppo, PCP)[:2] == ("NA", "0H")
    assert decided(referral(OTHER_PCP, OUT_SPECIALIST), member(), OTHER_PCP)[:2] == (
        "AAA",
        "49 at 2010B",
    )


def service(code: str, diagnosis: str, where: str, place: str = "22", role: str = "FA",
            level: str = "", service_type: str = "2") -> list[str]:  # fmt: skip
    return [
        "HL*4*3*EV*1", "TRN*1*EV1*9SUBMIT001", f"UM*HS*I*{service_type}*{place}:B**{level}",
        f"HI*ABK:{diagnosis}", f"NM1*{role}*2*WHERE*****XX*{where}",
        "HL*5*4*SS*0", "TRN*1*SV1*9SUBMIT001", "UM*HS*I", "DTP*472*D8*20261210",
        f"SV1*HC:{code}**UN*1",
    ]  # fmt: skip


def test_an_excluded_service_is_refused_as_excluded_even_out_of_network():
    """Policy categories: cosmetic procedures are "not a covered benefit: administrative
    denial (A3 19)". Excluded anywhere, the member is told so (A3 19), not that the
    provider is out of network (A3 9), which would suggest an in-network one be paid."""
    cosmetic = service("15847", "L905", OUT_HOSPITAL)
    assert decided(cosmetic, member())[:2] == ("A3", "19")
    assert decided(service("15847", "L905", HOSPITAL), member())[:2] == ("A3", "19")


def test_what_needs_no_precertification_is_said_so_whatever_the_network():
    """001: "Precertification is not required for emergency services. However, emergency
    services that result in an inpatient hospital admission must be reported within one
    business day of the admission". 003: none for high-tech radiology in the emergency
    room. 004: "Pre-certification of coverage when Medicare is primary is not required
    except in the following situations". These come before the network rule: an
    out-of-network emergency is never denied, and what needs no precertification is not
    refused for the network."""
    emergency = [
        "HL*4*3*EV*0", "TRN*1*EV1*9SUBMIT001", "UM*AR*I*48*21:A**03", "DTP*435*D8*20261119",
        "HI*ABK:I214", "HSD*DY*4", "CL1*1", f"NM1*FA*2*WHERE*****XX*{OUT_HOSPITAL}",
    ]  # fmt: skip
    assert decided(emergency, member())[:2] == ("A4", "0V")
    er_ct = service("70450", "S060X0A", OUT_HOSPITAL, place="23", service_type="62")
    assert decided(er_ct, member())[:2] == ("NA", "0H")
    on_medicare = member(plan="PPO01", eligibility=(Span("PPO01", date(2022, 1, 1), None),),
                         medicare_primary=True, medicare_product="original")  # fmt: skip
    mri = service("72148", "M5416", OUT_HOSPITAL, service_type="62")
    assert decided(mri, on_medicare)[:2] == ("NA", "0H")


def test_the_network_comes_before_delegation_and_before_certification_by_criteria():
    """002: "Out-of-network services: You're responsible if you choose to see an
    out-of-network doctor and your plan covers out-of-network services." Without that
    benefit the plan pays nothing out of network (A3 9, R10): neither forwarded to the
    behavioral health organisation nor certified because the criteria are met."""
    psychiatric = [
        "HL*4*3*EV*0", "TRN*1*EV1*9SUBMIT001", "UM*AR*I*A7*51:A", "DTP*435*D8*20261202",
        "HI*ABK:F322", "HSD*DY*5", f"NM1*FA*2*WHERE*****XX*{OUT_HOSPITAL}",
    ]  # fmt: skip
    assert decided(psychiatric, member())[:2] == ("A3", "9")
    lumbar_mri = service("72148", "M5416", OUT_HOSPITAL, service_type="62")  # meets criteria
    assert decided(lumbar_mri, member())[:2] == ("A3", "9")
    assert decided(service("72148", "M5416", IMAGING, service_type="62"), member())[:2] == (
        "A1",
        "",
    )


# --- Medicare primary, until its coverage is exhausted -------------------------------------


def test_medicare_exhausted_makes_the_plan_primary_from_that_day():
    """004: "Pre-certification of coverage when Medicare is primary is not required
    except in the following situations: ... Medicare coverage exhausted; when CIGNA
    becomes primary". The lumbar MRI of sample 13 (meets the criteria), on 2026-12-10."""
    on_medicare = member(plan="PPO01", eligibility=(Span("PPO01", date(2022, 1, 1), None),),
                         medicare_primary=True, medicare_product="original")  # fmt: skip
    mri = service("72148", "M5416", IMAGING, service_type="62")
    assert decided(mri, on_medicare)[:2] == ("NA", "0H")
    exhausted = replace(on_medicare, medicare_exhausted_from=date(2026, 10, 1))
    action, reason, trace = decided(mri, exhausted)
    assert (action, reason) == ("A1", "")
    assert "Medicare coverage exhausted from 2026-10-01" in trace
    not_yet = replace(on_medicare, medicare_exhausted_from=date(2026, 12, 11))  # the day after
    assert decided(mri, not_yet)[:2] == ("NA", "0H")
    on_the_day = replace(on_medicare, medicare_exhausted_from=date(2026, 12, 10))
    assert decided(mri, on_the_day)[:2] == ("A1", "")


def test_dialysis_is_notified_to_direct_to_a_participating_facility_so_after_the_network():
    """002, among the services needing precertification: "Dialysis (to direct to a
    participating facility)". 004: "pre-notification is required for all hemodialysis,
    peritoneal dialysis and home dialysis services". In network: notification (NA 18);
    out of network without the benefit: the plan's out-of-network outcome (A3 9); with
    it: notification, the member told they are responsible."""
    dialysis = service("90935", "N186", HOSPITAL, place="65", service_type="76")
    assert decided(dialysis, member())[:2] == ("NA", "18")
    out_of_network = service("90935", "N186", OUT_HOSPITAL, place="65", service_type="76")
    assert decided(out_of_network, member())[:2] == ("A3", "9")
    with_benefit = member(plan="PPO01", eligibility=(Span("PPO01", date(2022, 1, 1), None),))
    action, reason, trace = decided(out_of_network, with_benefit)
    assert (action, reason) == ("NA", "18") and "has an out-of-network benefit" in trace


def test_a_delivery_admitted_as_an_emergency_within_48_hours_needs_no_precertification():
    """004: "Pre-certification of maternity admissions with an anticipated stay of up to
    48 hours after vaginal delivery, or 96 hours after a Cesarean section, is not
    required." A delivery often comes in as an emergency admission (CL101 1): the
    maternity rule comes before the emergency rule, which would pend it for review."""
    delivery = [
        "HL*4*3*EV*0", "TRN*1*EV1*9SUBMIT001", "UM*AR*I*69*21:B**03", "DTP*435*D8*20261119",
        "HI*ABK:O80*ABF:Z370", "HSD*DY*2", "CL1*1", f"NM1*FA*2*WHERE*****XX*{HOSPITAL}",
    ]  # fmt: skip
    assert decided(delivery, member())[:2] == ("NA", "0H")
    longer = [s.replace("HSD*DY*2", "HSD*DY*4") for s in delivery]  # past 48 hours: reviewed
    assert decided(longer, member())[:2] == ("A4", "0V")


def test_dialysis_is_notified_on_a_plan_that_manages_inpatient_care_only():
    """004: "Effective 8/1/2011, pre-notification is required for all hemodialysis,
    peritoneal dialysis and home dialysis services for all CIGNA HealthCare plans
    regardless of medical management type." Not "outpatient care not managed" (NA 0H):
    a notification (NA 18)."""
    patient = member(plan="PPO02", eligibility=(Span("PPO02", date(2022, 1, 1), None),))
    dialysis = service("90935", "N186", HOSPITAL, place="65", service_type="76")
    assert decided(dialysis, patient)[:2] == ("NA", "18")
    knee_mri = service("73721", "M2341", IMAGING, service_type="62")
    assert decided(knee_mri, patient)[:2] == ("NA", "0H")  # other outpatient care: none
