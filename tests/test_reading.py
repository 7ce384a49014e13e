"""The tokenizer and envelope reader on the shapes real files take."""

from __future__ import annotations

import io

import pytest

from edi278.x12.reader import read_interchanges
from edi278.x12.segment import Segment
from edi278.x12.tokenizer import Header, Junk, tokenize
from tests.conftest import group, interchange, report_of, reports_of, transaction


def structure(data: str | bytes) -> list[tuple[str, list[tuple[str, list[int]]]]]:
    """(ISA13, [(GS06, [segments per transaction set])]) for each interchange."""
    data = data.encode("latin-1") if isinstance(data, str) else data
    shape = []
    for item in read_interchanges(io.BytesIO(data)):
        groups = []
        for grp in item.groups:
            groups.append((grp.control_number, [len(t.segments) for t in grp.transactions]))
        shape.append((item.control_number, groups))
    return shape


def with_delimiters(
    text: str, element: str, component: str, repetition: str, terminator: str, line_break: str
) -> str:
    """Re-delimit a test interchange written with * : ^ ~ and a newline per segment."""
    table = str.maketrans({"*": element, ":": component, "^": repetition, "~": terminator})
    return text.replace("~\n", "~").translate(table).replace(terminator, terminator + line_break)


@pytest.mark.parametrize(
    ("element", "component", "repetition", "terminator", "line_break"),
    [
        ("*", ":", "^", "~", ""),
        ("*", ":", "^", "~", "\r\n"),  # CRLF after every terminator
        ("|", ">", "!", "~", ""),
        ("!", ">", "^", "|", "\n"),
        ("*", ":", "^", "\n", ""),  # newline as the terminator
    ],
)
def test_unusual_delimiters_and_line_breaks_are_read_alike(
    element, component, repetition, terminator, line_break
):
    text = with_delimiters(interchange(), element, component, repetition, terminator, line_break)
    assert structure(text) == [("000000001", [("1", [13])])]
    report = report_of(text)
    assert report.accepted and report.all_faults() == []
    header = next(iter(tokenize(io.BytesIO(text.encode()))))
    assert (
        header.delimiters.element,
        header.delimiters.component,
        header.delimiters.repetition,
        header.delimiters.segment,
    ) == (element, component, repetition, terminator)


def test_crlf_newline_terminator_keeps_no_carriage_return_in_the_data():
    text = interchange().replace("~\n", "\r\n").replace(":\r\n", ":\n", 1)
    segments = [t for t in tokenize(io.BytesIO(text.encode())) if isinstance(t, Segment)]
    assert segments[-1].values() == ["1", "000000001"]
    assert report_of(text).all_faults() == []


def test_a_utf8_byte_order_mark_before_the_isa_is_tolerated_and_noted():
    data = b"\xef\xbb\xbf" + interchange().encode()
    header = next(iter(tokenize(io.BytesIO(data))))
    assert isinstance(header, Header) and header.byte_order_mark
    assert header.segment.offset == 3
    assert report_of(data).all_faults() == []


def test_whitespace_indentation_between_segments_is_tolerated():
    text = interchange().replace("~\n", "~\n    ")
    assert structure(text) == [("000000001", [("1", [13])])]


def test_two_interchanges_with_their_own_delimiters_in_one_file():
    first = interchange(control=1)
    second = with_delimiters(interchange(control=2), "|", ">", "!", "\n", "")
    assert structure(first + second) == [("000000001", [("1", [13])]), ("000000002", [("1", [13])])]
    assert all(report.accepted for report in reports_of(first + second))


def test_two_groups_in_one_interchange():
    text = interchange(groups=[group(1), group(2, sets=[transaction(1), transaction(2)])])
    assert structure(text) == [("000000001", [("1", [13]), ("2", [13, 13])])]


def test_positions_locate_each_segment_by_index_and_byte_offset():
    text = interchange()
    segments = [
        t.segment if isinstance(t, Header) else t for t in tokenize(io.BytesIO(text.encode()))
    ]
    for number, segment in enumerate(segments, start=1):
        assert segment.file_segment == number
        assert text[segment.offset :].startswith(segment.id + "*")


def test_segments_split_across_chunk_boundaries_read_the_same():
    text = interchange(groups=[group(sets=[transaction(n) for n in range(1, 6)])])
    whole = list(tokenize(io.BytesIO(text.encode())))
    for chunk_size in (1, 2, 3, 5, 17, 106, 107):
        assert list(tokenize(io.BytesIO(text.encode()), chunk_size=chunk_size)) == whole


def test_elements_components_and_repetitions():
    text = interchange(groups=[group(sets=[transaction(body=["HI*ABK:M5416^ABF:E669*X"])])])
    segments = [t for t in tokenize(io.BytesIO(text.encode())) if isinstance(t, Segment)]
    hi = next(s for s in segments if s.id == "HI")
    assert hi.element(1) == (("ABK", "M5416"), ("ABF", "E669"))
    assert hi.value(1) == "ABK" and hi.component(1, 2) == "M5416" and hi.value(2) == "X"
    assert hi.value(9) == "" and hi.component(2, 3) == ""


@pytest.mark.parametrize(
    ("text", "simple"),
    [
        ("UM*HS*I*1**11:B", False),  # a composite
        ("HI*ABK:M5416^ABF:E669", False),  # repetitions
        ("CRC*ZZ*Y*^", False),  # an empty repetition is still one
        ("DTP*472*D8*20261201", True),
        ("NM1*IL*1*DOE*JANE****MI*W123456789", True),
    ],
)
def test_a_segment_knows_from_its_text_whether_any_element_is_split(text, simple):
    """The fast path (`simple`) must give the very elements the full split gives."""
    from edi278.x12.delimiters import DEFAULT
    from edi278.x12.segment import parse

    read = parse(text, DEFAULT)
    built = Segment(read.id, read.elements)
    assert read.simple is simple and built.simple is simple
    assert read.elements == built.elements
    assert [read.value(p) for p in range(1, 12)] == [built.value(p) for p in range(1, 12)]


def test_bytes_after_the_last_interchange_are_reported_as_junk():
    data = interchange().encode() + b"\x00\x01garbage"
    tokens = list(tokenize(io.BytesIO(data)))
    assert isinstance(tokens[-1], Junk) and tokens[-1].offset == len(interchange())
    first, junk = reports_of(data)
    assert first.accepted and not junk.accepted and junk.faults[0].code == "022"


def test_a_new_isa_before_the_iea_closes_the_truncated_interchange():
    truncated = interchange().split("GE*")[0]
    reports = reports_of(truncated + interchange(control=2))
    assert [r.note_code for r in reports] == ["023", "000"]
    assert reports[1].accepted


def test_a_lost_terminator_does_not_hold_the_whole_file_in_memory(monkeypatch):
    from edi278.x12 import tokenizer

    monkeypatch.setattr(tokenizer, "MAX_SEGMENT_LENGTH", 1000)
    text = interchange().replace("HI*ABK:M5416", "HI*" + "A" * 5000)
    report = report_of(text)
    (transaction_report,) = report.groups[0].transactions
    assert [f.code for f in transaction_report.faults][:1] == ["8"]
    assert not transaction_report.accepted


@pytest.mark.parametrize(
    ("limit", "value"), [("MAX_TRANSACTION_SEGMENTS", 20), ("MAX_TRANSACTION_BYTES", 1000)]
)
def test_an_oversized_transaction_set_is_counted_not_kept(monkeypatch, limit, value):
    from edi278.x12 import reader

    monkeypatch.setattr(reader, limit, value)
    body = [f"MSG*LINE {n}" for n in range(200)]
    text = interchange(groups=[group(sets=[transaction(body=body), transaction(2)])])
    kept, counted, trailers = [], [], []
    for item in read_interchanges(io.BytesIO(text.encode())):
        for grp in item.groups:
            for t in grp.transactions:
                kept.append(len(t.segments))
                counted.append(t.count)
                trailers.append(t.trailer is not None)
    assert counted == [202, 13] and trailers == [True, True]
    assert kept[0] < 80 and kept[1] == 13  # the SE is kept; the next set is whole
    big, normal = report_of(text).groups[0].transactions
    assert big.trailer_codes() == ["5"] and normal.accepted  # SE01 202 still checks out


def test_repeats_are_caught_within_a_bounded_window(monkeypatch):
    from edi278 import pipeline

    monkeypatch.setattr(pipeline, "REPEAT_WINDOW", 2)
    data = "".join(interchange(control=n) for n in (1, 2, 1, 3, 4, 1))
    assert [r.note_code for r in reports_of(data)] == ["000", "000", "025", "000", "000", "000"]


def test_the_same_text_read_with_other_separators_splits_by_its_own():
    """Splits are remembered by text and separators: a text seen before with ':' as its
    component separator is not split by ':' where '>' separates components."""
    from edi278.x12.delimiters import Delimiters
    from edi278.x12.segment import parse

    colon = parse("UM*AR*I*48*21:B>1**E", Delimiters("*", "^", ":", "~"))
    angle = parse("UM*AR*I*48*21:B>1**E", Delimiters("*", "!", ">", "~"))
    assert colon.element(4) == (("21", "B>1"),)
    assert angle.element(4) == (("21:B", "1"),)
    assert parse("UM*AR*I*48*21:B>1**E", Delimiters("*", "^", ":", "~")).elements == (
        colon.elements
    )
