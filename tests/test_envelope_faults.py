"""One case per envelope fault, each pinned to the exact TA1 or 999 codes it must draw."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from edi278.x12.segment import Segment
from edi278.x12.tokenizer import tokenize
from tests.conftest import answer, group, interchange, isa, report_of, reports_of, transaction
from tests.test_guide_other import EXAMPLES


def segments_of(text: str | None) -> list[Segment]:
    assert text is not None
    return [t for t in tokenize(io.BytesIO(text.encode("latin-1"))) if isinstance(t, Segment)]


def ta1_of(data: str | bytes) -> list[str]:
    answers = answer(data)
    (ta1,) = [s for s in segments_of(answers.ta1) if s.id == "TA1"]
    return ta1.values()


def ak9_of(data: str) -> list[list[str]]:
    return [s.values() for s in segments_of(answer(data).functional) if s.id == "AK9"]


def ik5_of(data: str) -> list[list[str]]:
    return [s.values() for s in segments_of(answer(data).functional) if s.id == "IK5"]


def replace_isa_field(position: int, value: str) -> str:
    fields = isa().split("*")
    fields[position] = value
    return interchange().replace(isa(), "*".join(fields))


# --- TA1: the interchange -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(b"", "023", id="empty file"),
        pytest.param(b"  \r\n\n", "023", id="whitespace only"),
        pytest.param(bytes(range(256)) * 4, "022", id="binary garbage"),
        pytest.param("\n".join(transaction()), "022", id="transaction set without envelope"),
        pytest.param("ISA0000" + "x" * 200, "026", id="alphanumeric element separator"),
        pytest.param(isa()[:60], "023", id="file ends inside the ISA"),
        pytest.param(replace_isa_field(1, "99"), "010", id="ISA01 invalid"),
        pytest.param(replace_isa_field(2, "SECRET    "), "011", id="ISA02 not blank for 00"),
        pytest.param(replace_isa_field(3, "77"), "012", id="ISA03 invalid"),
        pytest.param(replace_isa_field(5, "XX"), "005", id="ISA05 qualifier"),
        pytest.param(
            replace_isa_field(6, "SUBMITTER01"),
            "006",
            id="ISA06 not padded: ISA of the wrong width",
        ),
        pytest.param(replace_isa_field(7, "X"), "007", id="ISA07 width"),
        pytest.param(replace_isa_field(8, " " * 15), "008", id="ISA08 blank"),
        pytest.param(replace_isa_field(9, "261340"), "014", id="ISA09 invalid date"),
        pytest.param(replace_isa_field(10, "2561"), "015", id="ISA10 invalid time"),
        pytest.param(replace_isa_field(12, "00401"), "003", id="ISA12 version 4010 not supported"),
        pytest.param(replace_isa_field(12, "5010A"), "017", id="ISA12 not a version"),
        pytest.param(replace_isa_field(13, "00000000A"), "018", id="ISA13 not numeric"),
        pytest.param(replace_isa_field(14, "2"), "019", id="ISA14 invalid"),
        pytest.param(replace_isa_field(15, "X"), "020", id="ISA15 invalid"),
        pytest.param(replace_isa_field(16, "A~"), "027", id="ISA16 alphanumeric"),
        pytest.param(interchange().replace(":~", ":A", 1), "004", id="terminator alphanumeric"),
        pytest.param(interchange().split("IEA")[0], "023", id="truncated: no IEA"),
        pytest.param(interchange().replace("IEA*1*", "IEA*2*"), "021", id="IEA01 group count"),
        pytest.param(
            interchange(groups=[["REF*XX*1"], group()]),
            "024",
            id="segment between functional groups",
        ),
        pytest.param(
            interchange(groups=[transaction()]),
            "024",
            id="transaction set outside a functional group",
        ),
        pytest.param(
            interchange().replace("*X*005010X217~", "*005010X217~", 1),
            "024",
            id="GS with seven elements",
        ),
        pytest.param(
            interchange().replace("*20261120*0930*1*X", "*20261340*0930*1*X"),
            "024",
            id="GS04 invalid date",
        ),
        # One character as two delimiters: the elements cannot be read with certainty.
        pytest.param(interchange(r=":"), "026", id="ISA11 repetition separator is ISA16"),
        pytest.param(interchange(r="~"), "026", id="ISA11 is the segment terminator"),
        pytest.param(interchange(c="*"), "027", id="ISA16 is the element separator"),
        pytest.param(interchange(c="~"), "027", id="ISA16 is the segment terminator"),
    ],
)
def test_envelope_fault_rejects_the_interchange_with_its_ta1_code(data, code):
    control, date, time, ack_code, note = ta1_of(data)
    assert (ack_code, note) == ("R", code)
    assert all(value.isdigit() for value in (control, date, time))  # a valid TA1 whatever came
    assert (len(control), len(date), len(time)) == (9, 6, 4)
    assert answer(data).functional is None  # a rejected interchange gets no 999


def test_a_4010_isa11_is_its_standards_identifier_not_a_delimiter():
    # Before 00402 ISA11 is "U", whatever the delimiters: no collision to find there,
    # and the TA1 goes back in 4010 for the version alone.
    data = interchange(r="U", version="00401")
    assert ta1_of(data)[3:] == ["R", "003"]
    assert "*U*00401*" in (answer(data).ta1 or "")


def test_ta1_echoes_the_interchange_it_answers():
    assert ta1_of(replace_isa_field(12, "00401")) == ["000000001", "261120", "0930", "R", "003"]


VERSION_4010 = Path(__file__).parents[1] / "samples" / "broken" / "version-4010.x12"


def test_a_4010_interchange_gets_its_ta1_in_a_4010_envelope():
    """ISA12 00401 as received, and ISA11 the 4010 standards identifier U (not a
    repetition separator); the rest of the envelope is addressed back as usual."""
    ta1_text = answer(VERSION_4010.read_bytes()).ta1
    assert ta1_text == (
        "ISA*00*          *00*          *ZZ*UMO12345       *ZZ*SUBMITTER01    *261122*0930"
        "*U*00401*000000001*0*T*:~\n"
        "TA1*000000105*261120*0930*R*003~\n"
        "IEA*0*000000001~\n"
    )


def test_a_4010_ta1_is_written_in_the_senders_own_delimiters():
    data = interchange(version="00401", r="U", e="|", c=">").replace("*", "|")
    ta1_text = answer(data).ta1
    assert ta1_text is not None
    isa_line, ta1_line, iea_line, _ = ta1_text.split("~\n")
    assert isa_line.split("|")[11:] == ["U", "00401", "000000001", "0", "T", ">"]
    assert ta1_line == "TA1|000000001|261120|0930|R|003"
    assert iea_line == "IEA|0|000000001"


@pytest.mark.parametrize("version", ["00501", "00601", "5010A"])
def test_a_ta1_for_any_other_version_comes_in_a_00501_envelope(version):
    """Only envelopes we know how to write are echoed: 00501 with its repetition
    separator otherwise."""
    ta1_text = answer(interchange(version=version, ack="1")).ta1
    assert ta1_text is not None
    assert ta1_text.split("~")[0].split("*")[11:13] == ["^", "00501"]


def test_isa_of_the_wrong_width_says_which_field_and_how_long():
    answers = answer(replace_isa_field(6, "SUBMITTER01"))
    fault = report_of(replace_isa_field(6, "SUBMITTER01")).faults[0]
    assert fault.code == "006" and fault.element == 6
    assert "ISA06" in fault.message and "11 characters, expected 15" in fault.message
    assert "102 characters, expected 106" in fault.message
    assert answers.ta1 is not None


def test_iea02_mismatch_is_noted_but_the_interchange_is_taken():
    data = interchange().replace("IEA*1*000000001", "IEA*1*000000002")
    assert ta1_of(data)[3:] == ["E", "001"]
    assert ak9_of(data) == [["A", "1", "1", "1"]]


def test_repeated_interchange_control_number_is_rejected():
    data = interchange() + interchange()
    first, second = reports_of(data)
    assert first.accepted and not first.faults
    assert [(f.code, f.fatal) for f in second.faults] == [("025", True)]


def test_acknowledgment_requested_gets_a_ta1_accepting():
    assert ta1_of(interchange(ack="1")) == ["000000001", "261120", "0930", "A", "000"]


def test_no_ta1_when_none_is_requested_and_all_is_well():
    answers = answer(interchange())
    assert answers.ta1 is None and answers.functional is not None


# --- 999 AK9: the functional group ----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "ak9"),
    [
        pytest.param(
            interchange(groups=[group(functional="HC")]),
            ["R", "1", "1", "0", "1"],
            id="GS01 HC is not a 278 group",
        ),
        pytest.param(
            interchange(groups=[group(version="004010X094A1")]),
            ["R", "1", "1", "0", "2"],
            id="GS08 4010 version",
        ),
        pytest.param(
            interchange(groups=[group(version="005010X222A1")]),
            ["R", "1", "1", "0", "2"],
            id="GS08 another guide",
        ),
        pytest.param(
            interchange().replace("*0930*1*X*", "*0930*A1*X*").replace("GE*1*1", "GE*1*A1"),
            ["R", "1", "1", "0", "6"],
            id="GS06 not numeric",
        ),
        pytest.param(
            interchange().replace("GE*1*1~\n", ""), ["R", "1", "1", "0", "3"], id="GE missing"
        ),
        pytest.param(
            interchange().replace("GE*1*1", "GE*1*2"),
            ["R", "1", "1", "0", "4"],
            id="GE02 does not match GS06",
        ),
        pytest.param(
            interchange().replace("GE*1*1", "GE*3*1"),
            ["R", "3", "1", "0", "5"],
            id="GE01 transaction set count",
        ),
    ],
)
def test_group_fault_rejects_the_group_with_its_ak9_code(data, ak9):
    assert ak9_of(data) == [ak9]
    assert ik5_of(data) == []  # a rejected group's transaction sets are not reported one by one


def test_repeated_group_control_number_rejects_the_second_group():
    data = interchange(groups=[group(1), group(1)])
    assert ak9_of(data) == [["A", "1", "1", "1"], ["R", "1", "1", "0", "19"]]


def segments_in(body: str) -> list[str]:
    return [s for s in body.replace("\n", "").split("~") if s]


def test_inquiry_and_notification_groups_are_taken_and_another_guide_is_not():
    """GS08 005010X215 and 005010X216 pass the envelope checks and their sets their
    maps; a guide of the 278 family we do not answer (the 4010 X094) is refused with
    AK905 2."""
    _, inquiry = EXAMPLES["X215 inquiry"]
    sets = [transaction(body=segments_in(inquiry), convention="005010X215")]
    data = interchange(groups=[group(sets=sets, version="005010X215")])
    assert ak9_of(data) == [["A", "1", "1", "1"]]
    assert ik5_of(data) == [["A"]]

    _, notice = EXAMPLES["X216 completion notice"]
    sets = [transaction(body=segments_in(notice), convention="005010X216")]
    data = interchange(groups=[group(sets=sets, version="005010X216")])
    assert ak9_of(data) == [["A", "1", "1", "1"]]

    sets = [transaction(body=segments_in(notice), convention="004010X094A1")]
    data = interchange(groups=[group(sets=sets, version="004010X094A1")])
    assert ak9_of(data) == [["R", "1", "1", "0", "2"]]


# --- 999 IK5: the transaction set -----------------------------------------------------


@pytest.mark.parametrize(
    ("sets", "ik5"),
    [
        pytest.param(
            [["ST*837*0001*005010X217", "BHT*0019*00*1*20261120*0930", "SE*3*0001"]],
            ["R", "1"],
            id="ST01 837 not supported",
        ),
        pytest.param([transaction()[:-1]], ["R", "2"], id="SE missing"),
        pytest.param([[*transaction()[:-1], "SE*13*0002"]], ["R", "3"], id="SE02 mismatch"),
        pytest.param([transaction(count_adjust=-1)], ["R", "4"], id="SE01 one short"),
        pytest.param(
            [[s.replace("0001", "01") for s in transaction()]], ["R", "7"], id="ST02 too short"
        ),
        pytest.param([transaction(convention="005010X216")], ["R", "19"], id="ST03 vs GS08"),
        pytest.param(
            [[s.replace("M5416", "M54\x0116") for s in transaction()]],
            ["R", "5"],
            id="control character in an element",
        ),
        pytest.param(
            [[s.replace("HI*", "H@*") for s in transaction()]],
            ["R", "5"],
            id="unrecognized segment ID",
        ),
    ],
)
def test_transaction_fault_rejects_the_set_with_its_ik5_code(sets, ik5):
    data = interchange(groups=[group(sets=sets)])
    assert ik5_of(data) == [ik5]
    assert ak9_of(data)[0][0] == "R"


def test_repeated_transaction_control_number_rejects_the_second_set():
    data = interchange(groups=[group(sets=[transaction(1), transaction(1)])])
    assert ik5_of(data) == [["A"], ["R", "23"]]
    assert ak9_of(data) == [["P", "2", "2", "1"]]


def test_element_fault_is_located_by_ik3_and_ik4():
    sets = [[s.replace("M5416", "M54\x0116") for s in transaction()]]
    segments = segments_of(answer(interchange(groups=[group(sets=sets)])).functional)
    ik3 = next(s for s in segments if s.id == "IK3")
    ik4 = next(s for s in segments if s.id == "IK4")
    assert ik3.values() == ["HI", "12", "", "8"]  # HI is the 12th segment counting ST as 1
    # element 1, component 2; the copy of the bad data leaves out what cannot be sent
    assert ik4.values() == ["1:2", "", "6", "M5416"]


def test_unrecognized_segment_id_is_named_safely():
    sets = [[s.replace("HI*", "H@*") for s in transaction()]]
    segments = segments_of(answer(interchange(groups=[group(sets=sets)])).functional)
    # "H@" is not an ID an IK301 may carry; a placeholder stands in for it
    assert next(s for s in segments if s.id == "IK3").values() == ["ZZZ", "12", "", "1"]


def test_nothing_wrong_means_everything_accepted():
    data = interchange(groups=[group(sets=[transaction(1), transaction(2)])])
    assert ik5_of(data) == [["A"], ["A"]]
    assert ak9_of(data) == [["A", "2", "2", "2"]]
