"""The inquiry (X215) and notification (X216) guides, mapped as far as public sources
support them (docs/research/x215-x216.md): a well-formed example of each direction walks
through its map clean, and each map still rejects what it should. The envelope checks
take X215 (tests/test_envelope_faults.py) and not yet X216; here the guide is called
directly."""

from __future__ import annotations

import io

import pytest

from edi278.ig import Guide
from edi278.x12.faults import Fault
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


def guide_findings(guide: str, body: str) -> list[Fault]:
    found = []
    for item in read_interchanges(io.BytesIO(envelope(guide, body).encode())):
        for group in item.groups:
            for transaction in group.transactions:
                found += GUIDE.validate(item.isa, group.header, transaction.segments)
    return found


def guide_faults(guide: str, body: str) -> list[str]:
    return [f"{f.ack_code()} {f.segment_id}" for f in guide_findings(guide, body)]


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


# --- X215: inquiries shaped as the public builders send them, and responses ----------

UMO = "HL*1**20*1~\nNM1*X3*2*ACME HEALTH PLAN*****PI*12345~\n"
REQUESTER = "HL*2*1*21*1~\nNM1*1P*2*GENERAL HOSPITAL*****XX*1234567893~\n"
SUBSCRIBER = "NM1*IL*1*DOE*JANE****MI*W123456789~\nDMG*D8*19800115*F~\n"
SERVICE_PROVIDER = "NM1*SJ*1*SMITH*JOHN****XX*1234567893~\n"


def inquiry(
    event: str, *, top: str = UMO + REQUESTER, subscriber: str = SUBSCRIBER, bht: str = "28"
) -> str:
    return f"BHT*0007*{bht}*INQ2*20250301*1200~\n{top}HL*3*2*22*1~\n{subscriber}{event}"


def response(levels: str, *, bht: str = "11", subscriber: str = SUBSCRIBER + "INS*Y*18~\n") -> str:
    children = "1" if levels else "0"
    return (
        f"BHT*0007*{bht}*INQ2*20250301*1201*RD~\n{UMO}{REQUESTER}HL*3*2*22*{children}~\n"
        f"TRN*2*SUBTRC0001*9876543210~\n{subscriber}{levels}"
    )


APPROVED = (
    "HL*4*3*EV*0~\nTRN*2*EVTTRC0001*9876543210~\nTRN*1*UMOTRC0001*9123456789~\n"
    "UM*SC**3*11:B~\nHCR*A1*AUTH0001~\nREF*NT*CASE778899~\nDTP*AAH*RD8*20250301-20250331~\n"
    "DTP*102*D8*20250305~\nDTP*036*D8*20250331~\nDTP*007*D8*20250301~\nHSD*VS*1~\n"
    "MSG*CERTIFIED AS REQUESTED~\n" + SERVICE_PROVIDER
)

# name -> (body, the findings: "IK304 <code> <segment>" / "IK403 <code> <segment>")
X215_SETS: dict[str, tuple[str, list[str]]] = {
    "inquiry by certification number, no UM (AET-X215)": (
        inquiry("HL*4*3*EV*0~\nREF*BB*AUTH556677~\n" + SERVICE_PROVIDER),
        [],
    ),
    "inquiry by administrative reference number (GW-X215)": (
        inquiry(
            "HL*4*3*EV*0~\nUM*AR*I*18*12:B~\nREF*NT*8075762301~\n"
            "DTP*AAH*RD8*20250301-20250331~\n" + SERVICE_PROVIDER
        ),
        [],
    ),
    "inquiry by trace number, from a facility (Optum-INQ requester FA)": (
        inquiry(
            "HL*4*3*EV*0~\nTRN*1*EVTTRC0001*9876543210~\n",
            top=UMO + "HL*2*1*21*1~\nNM1*FA*2*GENERAL HOSPITAL*****XX*1234567893~\n",
        ),
        [],
    ),
    "inquiry by member, requester and date window": (
        inquiry(
            "HL*4*3*EV*0~\nDTP*AAH*RD8*20250101-20250331~\n" + SERVICE_PROVIDER,
            top=UMO
            + (
                "HL*2*1*21*1~\nNM1*1P*1*JONES*MARY****XX*1234567893~\nN3*100 MAIN ST~\n"
                "N4*SPRINGFIELD*IL*62701~\nPER*IC*FRONT DESK*TE*2175550100~\n"
            ),
        ),
        [],
    ),
    "inquiry for a dependent named without an ID": (
        inquiry(
            "HL*4*3*23*1~\nNM1*QC*1*DOE*TIMMY~\nDMG*D8*20150610*M~\n"
            "HL*5*4*EV*0~\nUM*AR*I*18*12:B~\nREF*NT*8075762301~\n" + SERVICE_PROVIDER
        ),
        [],
    ),
    "inquiry about particular services": (
        inquiry(
            "HL*4*3*EV*1~\nREF*BB*AUTH556677~\nDTP*AAH*RD8*20250301-20250331~\n"
            "HL*5*4*SS*0~\nTRN*1*SVCTRC0001*9876543210~\nREF*NT*LINE01~\nDTP*472*D8*20250310~\n"
            "SV1*HC:97110*120*UN*4~\n"
            "HL*6*4*SS*0~\nTRN*1*SVCTRC0002*9876543210~\nREF*BB*AUTH556678~\n"
            "SV2*0420*HC:97111*73.42*UN*1~\n"
        ),
        [],
    ),
    "inquiry with BHT02 13, a request for review's purpose": (
        inquiry("HL*4*3*EV*0~\nREF*BB*AUTH556677~\n", bht="13"),
        ["IK304 8 BHT", "IK403 7 BHT"],
    ),
    "inquiry without the subscriber's name": (
        inquiry("HL*4*3*EV*0~\nREF*BB*AUTH556677~\n", subscriber="DMG*D8*19800115*F~\n"),
        ["IK304 7 DMG", "IK304 3 NM1"],
    ),
    "inquiry with a date window that ends before it starts": (
        inquiry("HL*4*3*EV*0~\nDTP*AAH*RD8*20250331-20250301~\n"),
        ["IK304 8 DTP", "IK403 8 DTP"],
    ),
    "inquiry with an unknown service provider role": (
        inquiry("HL*4*3*EV*0~\nREF*BB*AUTH556677~\nNM1*ZZ*1*SMITH*JOHN****XX*1234567893~\n"),
        ["IK304 8 NM1", "IK403 7 NM1"],
    ),
    "inquiry without an event": (
        inquiry("").replace("HL*3*2*22*1", "HL*3*2*22*0"),
        ["IK403 7 HL", "IK304 3 HL"],  # HL04 0: an inquiry's subscriber has children
    ),
    "inquiry with two events": (
        inquiry("HL*4*3*EV*0~\nREF*BB*AUTH556677~\nHL*5*3*EV*0~\nREF*BB*AUTH556678~\n"),
        ["IK304 4 HL"],
    ),
    "response with BHT02 49 (JSON-X215R)": (response(APPROVED, bht="49"), []),
    "response with two reviews found, one with service lines": (
        response(
            APPROVED.replace("HL*4*3*EV*0", "HL*4*3*EV*1")
            + "HL*5*4*SS*0~\nTRN*1*SVCTRC0001*9123456789~\nHCR*A1*AUTH0002~\n"
            "DTP*472*D8*20250310~\nDTP*102*D8*20250305~\nDTP*036*D8*20250331~\n"
            "SV2*300*HC:97111*73.42*UN*1~\n"
            "HL*6*3*EV*0~\nTRN*1*UMOTRC0002*9123456789~\nHCR*A3*AUTH0003~\n"
            "REF*NT*CASE778900~\nMSG*NOT CERTIFIED~\n"
        ),
        [],
    ),
    "response: no review has that certification number": (
        response("HL*4*3*EV*0~\nTRN*2*EVTTRC0001*9876543210~\nAAA*N**AA*C~\nREF*BB*AUTH9~\n"),
        [],
    ),
    "response: the subscriber is not found": (
        response("", subscriber=SUBSCRIBER.replace("DMG", "AAA*N**75*C~\nDMG")),
        [],
    ),
    "response: the requester's data is wrong": (
        response(APPROVED.replace("HCR*A1*AUTH0001~\n", "")).replace(
            "XX*1234567893~\nHL*3", "XX*1234567893~\nAAA*N**33*C~\nHL*3"
        ),
        [],
    ),
    "response with a decision beside a note": (
        response(APPROVED.replace("UM*SC", "AAA*N**15*C~\nUM*SC")),
        ["IK304 I9 HCR"],
    ),
    "response with an event answered with neither": (
        response(APPROVED.replace("HCR*A1*AUTH0001~\n", "")),
        [],  # X217 holds this to I6; an inquiry's answer may say so in MSG alone
    ),
}


@pytest.mark.parametrize("name", list(X215_SETS))
def test_an_x215_set_gets_the_findings_pinned_for_it(name):
    body, findings = X215_SETS[name]
    assert guide_faults("X215", body) == findings


def test_bht02_13_is_not_an_inquiry_purpose_any_more():
    """Only bogus public code sends 13 in an X215 inquiry (research 6): the element is
    named, with the codes the guide takes."""
    body, _ = X215_SETS["inquiry with BHT02 13, a request for review's purpose"]
    found = guide_findings("X215", body)
    assert [(f.ack_code(), f.element, f.bad_value) for f in found] == [
        ("IK304 8", None, None),
        ("IK403 7", 2, "13"),
    ]
    assert "28 request; 11, 49 response" in found[0].message


def test_an_inquiry_without_an_event_is_missing_its_2000e():
    body, _ = X215_SETS["inquiry without an event"]
    found = guide_findings("X215", body)
    missing = [f for f in found if f.ack_code() == "IK304 3"]
    assert [(f.segment_id, f.loop_id) for f in missing] == [("HL", "2000E")]


# --- X216: notifications shaped as GW-X216 sends them, and acknowledgments -----------

SOURCE = (
    "HL*1**20*1~\nNM1*FA*2*GENERAL HOSPITAL*****XX*1234567893~\n"
    "PER*IC*ADMITTING*TE*2175550100*EX*204~\n"
)
RECEIVER = "HL*2*1*21*1~\nNM1*PR*2*ACME HEALTH PLAN*****PI*87726~\n"
MEMBER = "NM1*IL*1*DOE*JANE****MI*W123456789~\nREF*6P*GRP100~\nDMG*D8*19800115*U~\n"
FACILITY = (
    "NM1*FA*2*GENERAL HOSPITAL*****XX*1234567893~\nPER*IC*UR DEPT*TE*2175550101~\n"
    "NM1*71*1*SMITH*JOHN****XX*1234567893~\nPER*IC*DR SMITH*TE*2175550102~\n"
)


def notice(event: str, *, bht: str = "CN", source: str = SOURCE, member: str = MEMBER) -> str:
    return (
        f"BHT*0007*{bht}*NOA2*20250302*1439*RD~\n{source}{RECEIVER}HL*3*2*22*1~\n"
        f"{member}HL*4*3*EV*{'1' if '*SS*' in event else '0'}~\nTRN*1*NOA0002*1234567890~\n{event}"
    )


def acknowledgment(event: str, *, top: str = SOURCE, subscriber_level: str = "") -> str:
    children = "1" if event else "0"
    return (
        f"BHT*0007*11*NOA2*20250302*1440~\n{top}{RECEIVER}HL*3*2*22*{children}~\n"
        f"{subscriber_level}{MEMBER}{event}"
    )


ADMISSION = (
    "UM*AR*I*30*11:A**03~\nDTP*435*D8*20250302~\nHI*ABF:J189~\nCL1*9~\n"
    "MSG*ADMITTED THROUGH THE EMERGENCY DEPARTMENT~\n" + FACILITY
)

X216_SETS: dict[str, tuple[str, list[str]]] = {
    "notice of admission (GW-X216)": (
        notice(
            ADMISSION + "HL*5*4*SS*0~\nTRN*1*SVC0002*1234567890~\nUM*HS*I*30*11:A~\n"
            "DTP*472*D8*20250302~\nSV2**HC:99223~\n"
        ),
        [],
    ),
    "notice of an emergency admission": (
        notice("UM*AR*I*30*11:A**U~\nDTP*435*D8*20250302~\nHI*ABK:S72001A~\nCL1*1*7~\n" + FACILITY),
        [],
    ),
    "notice of discharge": (
        notice(
            "UM*AR*I*30*11:A~\nDTP*435*D8*20250302~\nDTP*096*D8*20250306~\nCL1*1**01~\n" + FACILITY
        ),
        [],
    ),
    "advance notice of a dialysis start": (
        notice(
            "UM*HS*I*76*65:B~\nDTP*AAH*D8*20250310~\n"
            "NM1*FA*2*KIDNEY CENTER*****XX*1234567893~\n"
            "HL*5*4*SS*0~\nTRN*1*SVC0003*1234567890~\nUM*HS*I*76*65:B~\nDTP*472*D8*20250310~\n"
            "SV1*HC:90935*250*UN*1~\n",
            bht="14",
        ),
        [],
    ),
    "notice of a maternity admission": (
        notice(
            "UM*AR*I*69*21:B~\nDTP*ABC*D8*20250310~\nDTP*435*D8*20250308~\nHI*ABK:O80~\n" + FACILITY
        ),
        [],
    ),
    "information copy of a certification": (
        notice(
            "UM*AR*I*30*21:B~\nHCR*A1*AUTH556677~\nDTP*435*D8*20250302~\n"
            "DTP*102*D8*20250301~\nDTP*036*D8*20250331~\n",
            bht="22",
            source="HL*1**20*1~\nNM1*X3*2*ACME HEALTH PLAN*****PI*87726~\n",
        ),
        [],
    ),
    "notice sent by a delegate for the hospital (2010A twice)": (
        notice(
            ADMISSION,
            source="HL*1**20*1~\nNM1*2B*2*DELEGATED REVIEW CO*****PI*55555~\n"
            "NM1*FA*2*GENERAL HOSPITAL*****XX*1234567893~\n",
        ),
        [],
    ),
    "notice naming three sources": (
        notice(
            ADMISSION,
            source="HL*1**20*1~\nNM1*2B*2*DELEGATED REVIEW CO*****PI*55555~\n"
            "NM1*FA*2*GENERAL HOSPITAL*****XX*1234567893~\n"
            "NM1*FA*2*ANOTHER HOSPITAL*****XX*1234567893~\n",
        ),
        ["IK304 4 NM1"],  # 2010A repeats twice (Stedi-B1/B2)
    ),
    "notice with BHT02 28, an inquiry's purpose": (
        notice(ADMISSION, bht="28"),
        ["IK304 8 BHT", "IK403 7 BHT"],
    ),
    "notice with four trace numbers at the event": (
        notice(
            "TRN*2*NOA0001*1234567890~\nTRN*1*NOA0003*1234567890~\nTRN*1*NOA0004*1234567890~\n"
            + ADMISSION
        ),
        ["IK304 5 TRN"],  # at most 3 (RFI2474)
    ),
    "notice with an admission date that is not one": (
        notice(ADMISSION.replace("DTP*435*D8*20250302", "DTP*435*D8*20250230")),
        ["IK304 8 DTP", "IK403 8 DTP"],
    ),
    "notice with a service type the guide does not list": (
        notice(ADMISSION.replace("UM*AR*I*30*", "UM*AR*I*ZZ*")),
        ["IK403 7 UM"],
    ),
    "notice without UM": (
        notice(ADMISSION.replace("UM*AR*I*30*11:A**03~\n", "")),
        ["IK304 3 UM"],
    ),
    "acknowledgment with a receipt number": (
        acknowledgment(
            "HL*4*3*EV*0~\nTRN*2*NOA0002*1234567890~\nTRN*1*RCPT0002*9123456789~\n"
            "UM*AR*I*30*11:A~\nREF*NT*RCPT20250302B~\nDTP*435*D8*20250302~\n"
        ),
        [],
    ),
    "acknowledgment: a notification type not supported": (
        acknowledgment("HL*4*3*EV*0~\nTRN*2*NOA0002*1234567890~\nAAA*N**33*N~\nUM*AR*I*30*11:A~\n"),
        [],
    ),
    "acknowledgment: the subscriber is not found": (
        acknowledgment("", subscriber_level="TRN*2*SUB0002*1234567890~\nAAA*N**75*C~\n"),
        [],
    ),
    "acknowledgment: the source is not one the receiver takes": (
        acknowledgment(
            "",
            top="HL*1**20*1~\nAAA*N**33*N~\nNM1*FA*2*GENERAL HOSPITAL*****XX*1234567893~\n",
        ),
        [],
    ),
}


@pytest.mark.parametrize("name", list(X216_SETS))
def test_an_x216_set_gets_the_findings_pinned_for_it(name):
    body, findings = X216_SETS[name]
    assert guide_faults("X216", body) == findings


def test_an_acknowledgment_keeps_the_notifier_as_its_source():
    """X216's acknowledgment does not swap the parties as X217's response does
    (Stedi-B2): the facility that notified stays at 2000A, the payer at 2000B."""
    body, _ = X216_SETS["acknowledgment with a receipt number"]
    assert body.index("NM1*FA") < body.index("NM1*PR")
    assert guide_faults("X216", body) == []
