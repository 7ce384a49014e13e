"""The inquiry (X215) and notification (X216) guides, mapped as far as the reference
supports them: a well-formed example of each direction walks through its map clean, and
each map still rejects what it should. The envelope checks take them once the issues
that answer them land; here the guide is called directly."""

from __future__ import annotations

import io

import pytest

from edi278.ig import Guide
from edi278.x12.reader import read_interchanges

GUIDE = Guide()


def envelope(guide: str, body: str, control: int = 101) -> str:
    return (
        "ISA*00*          *00*          *ZZ*GENHOSPSUBMIT  *ZZ*ACMEUMO        *250301*1200*^"
        f"*00501*{control:09d}*0*T*:~\n"
        f"GS*HI*GENHOSP*ACMEUMO*20250301*1200*{control}*X*005010{guide}~\n"
        f"ST*278*0001*005010{guide}~\n{body}"
        f"SE*{body.count('~') + 2}*0001~\nGE*1*{control}~\nIEA*1*{control:09d}~\n"
    )


PARTIES = """HL*1**20*1~
NM1*X3*2*ACME HEALTH PLAN*****PI*12345~
HL*2*1*21*1~
NM1*1P*2*GENERAL HOSPITAL*****XX*1234567893~
HL*3*2*22*1~
"""
NOTICE_PARTIES = """HL*1**20*1~
NM1*FA*2*GENERAL HOSPITAL*****XX*1234567893~
HL*2*1*21*1~
NM1*X3*2*ACME HEALTH PLAN*****PI*12345~
HL*3*2*22*1~
NM1*IL*1*DOE*JANE****MI*W123456789~
"""

EXAMPLES = {
    "X215 inquiry": (
        "X215",
        "BHT*0007*28*INQ1*20250301*1200~\n"
        + PARTIES
        + """TRN*1*SUBTRC0001*9876543210~
NM1*IL*1*DOE*JANE****MI*W123456789~
DMG*D8*19800115*F~
HL*4*3*EV*0~
TRN*1*EVTTRC0001*9876543210~
UM*HS*I*73*22:B~
REF*NT*CASE778899~
DTP*AAH*RD8*20250301-20250331~
NM1*SJ*1*SMITH*JOHN****XX*1234567893~
""",
    ),
    "X215 response": (
        "X215",
        "BHT*0007*11*INQ1*20250301*1201~\n"
        + PARTIES
        + """TRN*2*SUBTRC0001*9876543210~
NM1*IL*1*DOE*JANE****MI*W123456789~
DMG*D8*19800115*F~
INS*Y*18~
HL*4*3*EV*0~
TRN*2*EVTTRC0001*9876543210~
UM*HS*I*73*22:B~
HCR*A1*AUTH556677~
REF*NT*CASE778899~
DTP*AAH*RD8*20250301-20250331~
DTP*102*D8*20250305~
DTP*036*D8*20250331~
DTP*007*D8*20250301~
NM1*SJ*1*SMITH*JOHN****XX*1234567893~
""",
    ),
    "X216 completion notice": (
        "X216",
        "BHT*0007*CN*NOA1*20250302*0815~\n"
        + NOTICE_PARTIES
        + """DMG*D8*19800115*F~
HL*4*3*EV*0~
TRN*1*NOA0001*1234567890~
UM*AR**48*21:B~
REF*BB*AUTH556677~
DTP*435*D8*20250302~
CL1*2~
NM1*FA*2*GENERAL HOSPITAL*****XX*1234567893~
""",
    ),
    "X216 acknowledgment": (
        "X216",
        "BHT*0007*11*NOA1*20250302*0816~\n"
        + NOTICE_PARTIES
        + """HL*4*3*EV*0~
TRN*2*NOA0001*1234567890~
TRN*1*RCPT0001*9123456789~
UM*AR**48*21:B~
REF*NT*RCPT20250302A~
DTP*435*D8*20250302~
""",
    ),
}


def guide_faults(guide: str, body: str) -> list[str]:
    found = []
    for item in read_interchanges(io.BytesIO(envelope(guide, body).encode())):
        for group in item.groups:
            for transaction in group.transactions:
                found += [
                    f"{f.ack_code()} {f.segment_id}"
                    for f in GUIDE.validate(item.isa, group.header, transaction.segments)
                ]
    return found


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_a_well_formed_example_walks_through_its_map_clean(name):
    guide, body = EXAMPLES[name]
    assert guide_faults(guide, body) == []


def test_a_decision_in_an_inquiry_is_refused():
    guide, body = EXAMPLES["X215 inquiry"]
    assert guide_faults(guide, body.replace("REF*NT*", "HCR*A1*X~\nREF*NT*")) == ["IK304 I4 HCR"]


def test_a_validation_note_in_a_notification_is_refused():
    guide, body = EXAMPLES["X216 completion notice"]
    marked = body.replace("HL*4*3*EV*0~\n", "HL*4*3*EV*0~\nAAA*N**15*C~\n")
    assert guide_faults(guide, marked) == ["IK304 I4 AAA"]
