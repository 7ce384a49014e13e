"""Guide-level validation: one hand-made fault per rule, each pinned to the exact 999
notes (IK3/IK4/IK5) it must draw, read from the 999 we send."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi278.ig import SCHEMAS, Guide
from edi278.pipeline import acknowledge, examine
from edi278.x12.control import MemoryControlNumbers
from edi278.x12.segment import Segment
from edi278.x12.tokenizer import tokenize
from tests.conftest import NOW, group, interchange, transaction

GUIDE = Guide()

REQUEST = [
    "BHT*0007*13*REQ1*20261120*0930",
    "HL*1**20*1",
    "NM1*X3*2*ACME HEALTH PLAN*****PI*12345",
    "HL*2*1*21*1",
    "NM1*1P*2*RIVERSIDE ORTHOPEDICS*****XX*1234567893",
    "HL*3*2*22*1",
    "NM1*IL*1*DOE*JANE****MI*W123456789",
    "DMG*D8*19600415*F",
    "HL*4*3*EV*1",
    "TRN*1*PE1*9SUBMIT001",
    "UM*AR*I*48*21:B**E",
    "DTP*435*D8*20261210",
    "HI*ABK:M1711",
    "HSD*DY*3",
    "NM1*FA*2*GENERAL HOSPITAL*****XX*1987654321",
    "HL*5*4*SS*0",
    "TRN*1*SVC1*9SUBMIT001",
    "UM*HS*I",
    "DTP*472*D8*20261210",
    "SV1*HC:27447**UN*1",
]
RESPONSE = [
    "BHT*0007*11*REQ1*20261120*0931",
    *REQUEST[1:9],
    "TRN*2*PE1*9SUBMIT001",
    "UM*AR*I*48*21:B**E",
    "HCR*A1*CERT1",
    "DTP*435*D8*20261210",
    "HSD*DY*3",
    "NM1*FA*2*GENERAL HOSPITAL*****XX*1987654321",
    "HL*5*4*SS*0",
    "TRN*2*SVC1*9SUBMIT001",
    "UM*HS*I",
    "HCR*A1*CERT1",
    "DTP*472*D8*20261210",
    "SV1*HC:27447**UN*1",
]


def notes_for(body: list[str], guide: Guide = GUIDE) -> list[str]:
    """The 999 lines about the one transaction set: IK3, IK4 and IK5, as sent."""
    data = interchange(groups=[group(sets=[transaction(body=body)])])
    (report,) = list(examine(io.BytesIO(data.encode()), guide))
    text = acknowledge(report, NOW, MemoryControlNumbers()).functional
    assert text is not None
    segments = [t for t in tokenize(io.BytesIO(text.encode())) if isinstance(t, Segment)]
    return [
        "*".join([s.id, *(":".join(rep) for e in s.elements for rep in e)])
        for s in segments
        if s.id in ("IK3", "IK4", "IK5")
    ]


def change(body: list[str], old: str, new: str) -> list[str]:
    assert any(old in line for line in body), old
    return [line.replace(old, new, 1) if old in line else line for line in body]


def insert(body: list[str], before: str, *lines: str) -> list[str]:
    index = next(i for i, line in enumerate(body) if line.startswith(before))
    return [*body[:index], *lines, *body[index:]]


def remove(body: list[str], start: str) -> list[str]:
    index = next(i for i, line in enumerate(body) if line.startswith(start))
    return [*body[:index], *body[index + 1 :]]


def test_the_base_request_and_response_are_valid():
    assert notes_for(REQUEST) == ["IK5*A"]
    assert notes_for(RESPONSE) == ["IK5*A"]


@pytest.mark.parametrize("engine", ["compiled", "pyx12"])
def test_a_warmed_guide_has_every_map_of_both_directions_in_hand(tmp_path, engine):
    """What a server does before its first request: after warm() the map files are not
    read again, so a request and a response validate with them gone."""
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    guide = Guide(schemas, engine=engine)
    guide.warm()
    for path in schemas.glob("*.xml"):
        path.unlink()
    assert notes_for(REQUEST, guide) == ["IK5*A"]
    assert notes_for(RESPONSE, guide) == ["IK5*A"]
    assert notes_for(change(REQUEST, "UM*AR*I", "UM*XX*I"), guide)[-1] == "IK5*R*5"


# name: (transaction set body, the 999 notes it must draw). Positions count ST as 1.
CASES: dict[str, tuple[list[str], list[str]]] = {
    "UM01 code not in the guide": (
        change(REQUEST, "UM*AR*I", "UM*XX*I"),
        ["IK3*UM*12**8", "IK4*1*1525*7*XX", "IK5*R*5"],
    ),
    "UM02 code not in the guide": (
        change(REQUEST, "UM*AR*I", "UM*AR*Z"),
        ["IK3*UM*12**8", "IK4*2*1322*7*Z", "IK5*R*5"],
    ),
    "UM03 service type not in the guide": (
        change(REQUEST, "UM*AR*I*48", "UM*AR*I*Q9"),
        ["IK3*UM*12**8", "IK4*3*1365*7*Q9", "IK5*R*5"],
    ),
    "UM04-2 facility qualifier not in the guide": (
        change(REQUEST, "21:B", "21:C"),
        ["IK3*UM*12**8", "IK4*4:2*1332*7*C", "IK5*R*5"],
    ),
    "UM06 code not in the guide": (
        change(REQUEST, "21:B**E", "21:B**Q"),
        ["IK3*UM*12**8", "IK4*6*1338*7*Q", "IK5*R*5"],
    ),
    "UM06 missing on an immediate appeal": (
        change(REQUEST, "UM*AR*I*48*21:B**E", "UM*AR*1*48*21:B"),
        ["IK3*UM*12**8", "IK4*6*1338*I9", "IK5*R*5"],
    ),
    "UM missing from the event": (
        remove(REQUEST, "UM*AR"),
        ["IK3*UM*12**3", "IK5*R*5"],
    ),
    "unrecognized segment": (
        insert(REQUEST, "UM*AR", "ZZZ*1"),
        ["IK3*ZZZ*12**1", "IK5*R*5"],
    ),
    "segment out of order": (
        insert(remove(REQUEST, "TRN*1*PE1"), "DTP*435", "TRN*1*PE1*9SUBMIT001"),
        ["IK3*TRN*12**7", "IK5*R*5"],
    ),
    "TRN02 too long": (
        change(REQUEST, "TRN*1*PE1*", "TRN*1*" + "P" * 51 + "*"),
        [
            "IK3*TRN*11**8",
            "IK4*2*127*5*PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP",
            "IK5*R*5",
        ],
    ),
    "TRN01 not a request trace type": (
        change(REQUEST, "TRN*1*PE1", "TRN*2*PE1"),
        ["IK3*TRN*11**8", "IK4*1*481*7*2", "IK5*R*5"],
    ),
    "TRN03 of an unknown kind": (
        change(REQUEST, "TRN*1*PE1*9SUBMIT001", "TRN*1*PE1*XSUBMIT001"),
        ["IK3*TRN*11**8", "IK4*3*509*I12*XSUBMIT001", "IK5*R*5"],
    ),
    "three TRNs where two are allowed": (
        insert(REQUEST, "UM*AR", "TRN*1*PE2*9SUBMIT001", "TRN*1*PE3*9SUBMIT001"),
        ["IK3*TRN*13**5", "IK5*R*5"],
    ),
    "too many components in UM04": (
        change(REQUEST, "21:B**E", "21:B:1:2:3**E"),
        ["IK3*UM*12**8", "IK4*4**13", "IK5*R*5"],
    ),
    "event date that is not a date": (
        change(REQUEST, "DTP*435*D8*20261210", "DTP*435*D8*20261310"),
        ["IK3*DTP*13**8", "IK4*3*1251*8*20261310", "IK5*R*5"],
    ),
    "date range that ends before it starts": (
        change(REQUEST, "DTP*472*D8*20261210", "DTP*472*RD8*20261231-20261201"),
        ["IK3*DTP*20**8", "IK4*3*1251*8*20261231-20261201", "IK5*R*5"],
    ),
    "DTP qualifier not in the guide": (
        change(REQUEST, "DTP*435*D8", "DTP*999*D8"),
        ["IK3*DTP*13**8", "IK4*1*374*7*999", "IK5*R*5"],
    ),
    "birth date that is not a date": (
        change(REQUEST, "DMG*D8*19600415", "DMG*D8*19600432"),
        ["IK3*DMG*9**8", "IK4*2*1251*8*19600432", "IK5*R*5"],
    ),
    "DMG03 gender not in the guide": (
        change(REQUEST, "DMG*D8*19600415*F", "DMG*D8*19600415*Q"),
        ["IK3*DMG*9**8", "IK4*3*1068*7*Q", "IK5*R*5"],
    ),
    "HL01 out of sequence": (
        change(REQUEST, "HL*5*4*SS*0", "HL*7*4*SS*0"),
        ["IK3*HL*17**8", "IK4*1*628*I12*7", "IK5*R*5"],
    ),
    "HL02 pointing at the wrong level": (
        change(REQUEST, "HL*4*3*EV*1", "HL*4*2*EV*1"),
        ["IK3*HL*7**8", "IK4*4*736*I12*1", "IK3*HL*10**8", "IK4*2*734*I12*2", "IK5*R*5"],
    ),
    "HL04 says no children but one follows": (
        change(REQUEST, "HL*4*3*EV*1", "HL*4*3*EV*0"),
        ["IK3*HL*10**8", "IK4*4*736*I12*0", "IK5*R*5"],
    ),
    "HL03 level code not in the guide": (
        change(REQUEST, "HL*5*4*SS*0", "HL*5*4*QQ*0"),
        ["IK3*HL*17**8", "IK4*3*735*7*QQ", "IK5*R*5"],
    ),
    "no patient event": (
        REQUEST[:8],
        ["IK3*HL*7**8", "IK4*4*736*I12*1", "IK3*HL*10**3", "IK5*R*5"],
    ),
    "two patient events in one request": (
        [*REQUEST[:14], "HL*5*3*EV*0", "TRN*1*PE2*9SUBMIT001", "UM*HS*I"],
        ["IK3*HL*10**8", "IK4*4*736*I12*1", "IK3*HL*16**4", "IK5*R*5"],
    ),
    "NM101 of the UMO not in the guide": (
        change(REQUEST, "NM1*X3*", "NM1*QQ*"),
        ["IK3*NM1*4**8", "IK4*1*98*7*QQ", "IK5*R*5"],
    ),
    "NM102 missing": (
        change(REQUEST, "NM1*X3*2*", "NM1*X3**"),
        ["IK3*NM1*4**8", "IK4*2*1065*1", "IK5*R*5"],
    ),
    "NM108 qualifier not in the guide": (
        change(REQUEST, "*PI*12345", "*ZZ*12345"),
        ["IK3*NM1*4**8", "IK4*8*66*7*ZZ", "IK5*R*5"],
    ),
    "not-used element present (NM106)": (
        change(REQUEST, "NM1*X3*2*ACME HEALTH PLAN*****PI", "NM1*X3*2*ACME HEALTH PLAN***DR**PI"),
        ["IK3*NM1*4**8", "IK4*6*1038*I10", "IK5*R*5"],
    ),
    "subscriber name missing": (
        remove(REQUEST, "NM1*IL"),
        ["IK3*DMG*8**7", "IK3*NM1*9**3", "IK5*R*5"],
    ),
    "HI qualifier not in the guide": (
        change(REQUEST, "HI*ABK:M1711", "HI*XXX:M1711"),
        ["IK3*HI*14**8", "IK4*1:1*1270*7*XXX", "IK5*R*5"],
    ),
    "HSD01 qualifier not in the guide": (
        change(REQUEST, "HSD*DY*3", "HSD*QQ*3"),
        ["IK3*HSD*15**8", "IK4*1*673*7*QQ", "IK5*R*5"],
    ),
    "BHT02 neither request nor response": (
        change(REQUEST, "BHT*0007*13", "BHT*0007*22"),
        ["IK3*BHT*2**8", "IK4*2*353*7*22", "IK5*R*5"],
    ),
    "BHT04 not a date": (
        change(REQUEST, "*REQ1*20261120", "*REQ1*20261320"),
        ["IK3*BHT*2**8", "IK4*4*373*8*20261320", "IK5*R*5"],
    ),
    "BHT05 not a time": (
        change(REQUEST, "*20261120*0930", "*20261120*2599"),
        ["IK3*BHT*2**8", "IK4*5*337*9*2599", "IK5*R*5"],
    ),
    "SV101-1 product qualifier not in the guide": (
        change(REQUEST, "SV1*HC:27447", "SV1*QQ:27447"),
        ["IK3*SV1*21**8", "IK4*1:1*235*7*QQ", "IK5*R*5"],
    ),
    "a request posing as a response: HCR in a request": (
        insert(REQUEST, "DTP*435", "HCR*A1*CERT1"),
        ["IK3*HCR*13**I4", "IK5*R*5"],
    ),
    "HCR01 action code not in the guide": (
        change(
            RESPONSE,
            "HCR*A1*CERT1",
            "HCR*A9*CERT1",
        ),
        ["IK3*HCR*13**8", "IK4*1*306*7*A9", "IK3*HCR*20**8", "IK4*1*306*7*A9", "IK5*R*5"],
    ),
    "HCR beside AAA at the event": (
        insert(RESPONSE, "UM*AR", "AAA*N**15*C"),
        ["IK3*HCR*14**I9", "IK5*R*5"],
    ),
    "neither HCR nor AAA at the event": (
        remove(RESPONSE, "HCR*A1"),
        ["IK3*HCR*10**I6", "IK5*R*5"],
    ),
    "AAA03 reason not in the guide": (
        insert(remove(RESPONSE, "HCR*A1"), "UM*AR", "AAA*N**ZZ*C"),
        ["IK3*AAA*12**8", "IK4*3*901*7*ZZ", "IK5*R*5"],
    ),
    "AAA in a request": (
        insert(REQUEST, "UM*AR", "AAA*N**15*C"),
        ["IK3*AAA*12**I4", "IK5*R*5"],
    ),
    "requester name repeated beyond its maximum": (
        insert(REQUEST, "HL*3", "PER*IC*A*TE*5555551212", "PER*IC*B*TE*5555551212"),
        ["IK3*PER*8**5", "IK5*R*5"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_guide_fault_draws_its_exact_999_notes(name):
    body, expected = CASES[name]
    assert notes_for(body) == expected


def acknowledgements_of(data: str) -> list[str]:
    reports = list(examine(io.BytesIO(data.encode("latin-1")), GUIDE))
    answers = [acknowledge(report, NOW, MemoryControlNumbers()) for report in reports]
    return [a.functional for a in answers if a.functional]


def faults_in_999(text: str) -> list[str]:
    """Our 999, read back and walked through pyx12's own 999 (X231A1) map."""
    from importlib.resources import files

    from edi278.ig import bridge
    from edi278.x12.reader import read_interchanges

    ack_map = bridge.load_map(Path(str(files("pyx12") / "map" / "999.5010X231.A1.xml")))
    found = []
    for item in read_interchanges(io.BytesIO(text.encode("latin-1"))):
        for grp in item.groups:
            for transaction_set in grp.transactions:
                faults, _ = bridge.validate(ack_map, item.isa, grp.header, transaction_set.segments)
                found += [f"{f.ack_code()} {f.message}" for f in faults]
    return found


@pytest.mark.parametrize("name", list(CASES))
def test_every_999_we_send_is_valid_against_pyx12s_999_map(name):
    body, _ = CASES[name]
    (text,) = acknowledgements_of(interchange(groups=[group(sets=[transaction(body=body)])]))
    assert faults_in_999(text) == []


def test_the_999s_for_the_samples_and_the_corpus_are_valid_too(corpus):
    sources = [*(Path(__file__).parents[1] / "samples" / "inbox").iterdir(), *corpus.iterdir()]
    checked = 0
    for path in sources:
        for text in acknowledgements_of(path.read_bytes().decode("latin-1")):
            assert faults_in_999(text) == [], path.name
            checked += 1
    assert checked >= 15


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("UM02 code not in the guide", ("UM", 12, "2000E", 2)),
        ("birth date that is not a date", ("DMG", 9, "2010C", 2)),
        ("NM108 qualifier not in the guide", ("NM1", 4, "2010A", 8)),
        ("date range that ends before it starts", ("DTP", 20, "2000F", 3)),
    ],
)
def test_our_reports_name_the_loop_the_999_cannot_carry(name, where):
    """IK303 holds four characters; validate and --json name the whole loop ID."""
    body, _ = CASES[name]
    data = interchange(groups=[group(sets=[transaction(body=body)])])
    (report,) = list(examine(io.BytesIO(data.encode()), GUIDE))
    (element,) = [f for f in report.all_faults() if f.level == "element"]
    assert (element.segment_id, element.segment_position, element.loop_id, element.element) == where


SEGMENT_IDS = ["HL", "NM1", "UM", "HCR", "AAA", "TRN", "DTP", "HI", "SV1", "REF", "PER", "ZZ"]


@st.composite
def hostile_bodies(draw):
    """The request with some segments replaced by arbitrary ones: known and unknown IDs,
    too many elements, components and repetitions, odd characters."""
    body = list(draw(st.sampled_from([REQUEST, RESPONSE])))
    text = st.text(alphabet="AZ09 .-:^", max_size=12)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        elements = draw(st.lists(text, max_size=14))
        segment = "*".join([draw(st.sampled_from(SEGMENT_IDS)), *elements])
        index = draw(st.integers(min_value=1, max_value=len(body) - 1))
        if draw(st.booleans()):
            body[index] = segment
        else:
            body.insert(index, segment)
    return body


@settings(max_examples=60, deadline=None)
@given(hostile_bodies())
def test_hostile_transaction_sets_are_answered_never_raised(body):
    """Whatever pyx12 makes of it, the set is answered: a 999 line per set, never a crash."""
    notes = notes_for(body)
    assert notes[-1].startswith("IK5*")


def test_a_crash_inside_pyx12_becomes_a_rejection_with_the_reason(monkeypatch):
    from edi278.ig import bridge

    def crash(*_):
        raise IndexError("list index out of range")

    monkeypatch.setattr(bridge, "_walk", crash)
    reference = Guide(engine="pyx12")
    assert notes_for(REQUEST, reference) == ["IK5*R*5"]
    data = interchange(groups=[group(sets=[transaction(body=REQUEST)])])
    (report,) = list(examine(io.BytesIO(data.encode()), reference))
    (fault,) = report.all_faults()
    assert "could not read this transaction set (IndexError)" in fault.message
