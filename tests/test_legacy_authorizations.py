"""Authorizations the plan's previous system issued (samples/reference/authorizations.csv)
are honoured as certifications issued here (issue 23), through the store: an extension,
revision, cancellation or appeal that quotes one in REF BB, and a new request for what
one already certifies."""

from __future__ import annotations

import io
from itertools import count

import pytest

from edi278.decide.outcome import Tracking
from edi278.decide.policy import default_policy
from edi278.ig import Guide
from edi278.intake import Fingerprint, Intake
from edi278.pipeline import examine
from edi278.reader import read_transaction
from edi278.store.facts import StoreDecider
from edi278.x12.delimiters import DEFAULT as DEFAULT_DELIMITERS
from edi278.x12.segment import parse
from tests.conftest import NOW

pytestmark = pytest.mark.dates

HIP = "UM-2026-004417"  # certified: admission 2026-11-18 to 2026-11-21, GENERAL HOSPITAL
KNEE_MRI = "UM-2026-003981"  # cancelled in the previous system
GENERAL_HOSPITAL, PINECREST = "1987654321", "1900000047"


def admission(kind: str, number: str, facility: str = GENERAL_HOSPITAL,
              member: tuple[str, str, str, str] = ("PRUITT", "ELLIS", "W900000015", "19611205"),
              procedure: str = "", day: str = "20261118") -> list[str]:  # fmt: skip
    """Sample 43's request with UM02 `kind`, REF BB `number` (none if empty)."""
    last, first, member_id, born = member
    segments = [
        "ST*278*0001*005010X217", "BHT*0007*13*LEGACY1*20261120*0930",
        "HL*1**20*1", "NM1*X3*2*ACME HEALTH PLAN*****PI*12345",
        "HL*2*1*21*1", f"NM1*1P*2*GENERAL HOSPITAL*****XX*{GENERAL_HOSPITAL}",
        "HL*3*2*22*1", f"NM1*IL*1*{last}*{first}****MI*{member_id}", f"DMG*D8*{born}*M",
        f"HL*4*3*EV*{1 if procedure else 0}", "TRN*1*LEGACY1EV*9SUBMIT001",
        f"UM*AR*{kind}*48*21:B**E", *([f"REF*BB*{number}"] if number else []),
        f"DTP*435*D8*{day}", "HI*ABK:M1612", "HSD*DY*2", "CL1*3",
        f"NM1*FA*2*HOSPITAL*****XX*{facility}",
    ]  # fmt: skip
    if procedure:
        segments += ["HL*5*4*SS*0", "TRN*1*LEGACY1SV*9SUBMIT001", "UM*HS*I",
                     f"DTP*472*D8*{day}", f"SV1*HC:{procedure}**UN*1"]  # fmt: skip
    segments.append(f"SE*{len(segments) + 1}*0001")
    return segments


def answer(stocked, segments: list[str]) -> tuple[str, str, str]:
    """(HCR01, HCR02, HCR03), or ("AAA", AAA03, "") for a request refused."""
    request = read_transaction([parse(s, DEFAULT_DELIMITERS) for s in segments])
    numbers = count(1)
    tracking = Tracking(["R26000000015"], lambda: f"C2600000{next(numbers):04d}")
    (decision,) = StoreDecider(stocked, default_policy())(request, tracking, NOW)
    outcome = decision.outcome
    if outcome.validation is not None:
        return "AAA", outcome.validation.reason, ""
    return outcome.action, outcome.certification_number, outcome.reason


def test_a_loaded_authorization_is_extended_revised_cancelled_and_appealed_as_one_of_ours(
    stocked,
):
    """Issue 23: "Extensions, revisions, cancels, appeals and discharge notices quote those
    numbers in REF*BB. ... honour them exactly as certifications issued here. Numbers in a
    foreign format are kept as they are." 004: "Transfer to another inpatient facility
    requires a separate approval and pre-certification number." """
    assert answer(stocked, admission("4", HIP)) == ("A4", "", "0V")  # extension: reviewed
    assert answer(stocked, admission("S", HIP)) == ("A4", "", "0V")  # revision, same facility
    assert answer(stocked, admission("S", HIP, PINECREST)) == ("AAA", "33", "")  # a transfer
    assert answer(stocked, admission("3", HIP)) == ("C", HIP, "")  # cancelled, number as issued
    assert answer(stocked, admission("1", HIP))[0] == "A4"  # an appeal, as ever
    # Another member quoting it: not a certification of this patient.
    other = ("DOE", "JANE", "W123456789", "19600415")
    assert answer(stocked, admission("4", HIP, member=other)) == ("AAA", "AA", "")


def through_intake(stocked, segments: list[str], number: int) -> list[str]:
    """The request as received in its own interchange (BHT03 and TRN02 of its own), and
    the HCR and AAA segments of the 278 the intake answers."""
    control = f"{number:09d}"
    body = [s.replace("LEGACY1", f"LEGACY{number}") for s in segments]
    text = "~".join([
        f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{'SUBMITTER01':15}*ZZ*{'UMO12345':15}*261120*0930"
        f"*^*00501*{control}*0*T*:",
        f"GS*HI*SUBMITTER01*UMO12345*20261120*0930*{number}*X*005010X217", *body,
        f"GE*1*{number}", f"IEA*1*{control}",
    ]) + "~"  # fmt: skip
    data = text.encode()
    (report,) = examine(io.BytesIO(data), Guide())
    start, end = report.span
    taken = Intake(stocked).answer(report, Fingerprint.of_bytes(data[start:end]), "t.x12", NOW)
    response = taken.acknowledgements.responses
    return [s for s in response.replace("\n", "").split("~") if s.startswith(("HCR", "AAA"))]


def test_a_new_request_for_what_a_loaded_authorization_certifies_is_a_duplicate(stocked):
    """Policy `duplicates: deny`: "the same member, service and dates already asked: A3 0Q",
    for a certification from the previous system as for one issued here; one cancelled
    there, or cancelled here since, stands in nobody's way."""
    hip_again = admission("I", "", procedure="27130")
    assert through_intake(stocked, hip_again, 901) == ["HCR*A3**0Q"] * 2
    knee_mri_again = admission("I", "", procedure="73721", day="20261001")  # cancelled there
    assert "0Q" not in through_intake(stocked, knee_mri_again, 902)[0]
    assert through_intake(stocked, admission("3", HIP), 903) == [f"HCR*C*{HIP}"]
    assert "0Q" not in through_intake(stocked, hip_again, 904)[0]  # cancelled here since
