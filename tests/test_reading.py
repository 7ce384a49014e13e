"""The tokenizer and envelope reader on the shapes real files take."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from edi278.x12.reader import read_interchanges
from edi278.x12.segment import Segment
from edi278.x12.tokenizer import Header, Junk, tokenize
from tests.conftest import (
    REQUEST_BODY,
    group,
    interchange,
    report_of,
    reports_of,
    transaction,
)


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


# --- the bulk read: stretches split at once, segments kept unsplit ------------------------


def rotating() -> str:
    """Four interchanges, each with its own delimiters and line breaks, as batch files
    from different senders come concatenated."""
    return "".join(
        [
            interchange(control=1),  # * : ^ ~ and a newline
            with_delimiters(interchange(control=2), "|", ">", "!", "~", ""),
            with_delimiters(interchange(control=3), "!", ">", "^", "~", "\r\n"),
            with_delimiters(interchange(control=4), "*", ":", "^", "\n", ""),
        ]
    )


def positioned(text: str, chunk_size: int) -> list[tuple]:
    """Each token with its place: Segment equality leaves positions out."""
    found = []
    for token in tokenize(io.BytesIO(text.encode("latin-1")), chunk_size=chunk_size):
        segment = token.segment if isinstance(token, Header) else token
        found.append((token, segment.file_segment, segment.offset))
    return found


def test_rotating_delimiters_read_alike_at_every_chunk_boundary():
    """Every chunk size puts a boundary somewhere new: inside an ID, between a terminator
    and its CR LF, between the CR and the LF, inside the next ISA."""
    text = rotating()
    whole = positioned(text, 1 << 16)
    for chunk_size in [*range(1, 140), 1000, 4096]:
        assert positioned(text, chunk_size) == whole, chunk_size
    shape = [(str(n).zfill(9), [("1", [13])]) for n in (1, 2, 3, 4)]
    for chunk_size in (1, 7, 106, 1 << 16):
        assert structure_in_chunks(text, chunk_size) == shape


def structure_in_chunks(text: str, chunk_size: int) -> list:
    shape = []
    for item in read_interchanges(io.BytesIO(text.encode("latin-1")), chunk_size=chunk_size):
        groups = [
            (grp.control_number, [len(t.segments) for t in grp.transactions]) for grp in item.groups
        ]
        shape.append((item.control_number, groups))
    return shape


def test_each_segment_is_split_by_its_own_interchange_and_located_in_the_file():
    text = rotating()
    tokens = list(tokenize(io.BytesIO(text.encode("latin-1")), chunk_size=64))
    element = "*"
    for number, token in enumerate(tokens, start=1):
        if isinstance(token, Header):
            element = token.delimiters.element
            token = token.segment
        assert token.file_segment == number
        written = text[token.offset :].split(element, 1)[0]
        assert written == token.id  # the offset is where the segment's ID begins
    him = [t for t in tokens if isinstance(t, Segment) and t.id == "HI"]
    assert [hi.element(1) for hi in him] == [(("ABK", "M5416"),)] * 4
    assert [um.value(4) for um in tokens if isinstance(um, Segment) and um.id == "UM"] == ["22"] * 4


def test_a_crlf_cut_from_its_terminator_by_the_chunk_boundary():
    text = with_delimiters(interchange(), "*", ":", "^", "~", "\r\n")
    data = text.encode()
    after_gs = data.index(b"~\r\nST*") + 1  # a chunk ends just after the terminator
    for chunk_size in (after_gs, after_gs + 1, after_gs + 2):
        tokens = positioned(text, chunk_size)
        assert [t for t, *_ in tokens] == [t for t, *_ in positioned(text, 1 << 16)]
        st = next(place for t, *place in tokens if isinstance(t, Segment) and t.id == "ST")
        assert st == [3, after_gs + 2]


def test_letters_isa_inside_a_segment_are_data():
    body = ["NM1*IL*1*LISA*ISAAC****MI*ISA123", *REQUEST_BODY[1:]]
    text = interchange(groups=[group(sets=[transaction(body=body)])])
    assert structure(text) == [("000000001", [("1", [13])])]
    nm1 = next(s for s in segments_in(text) if s.id == "NM1")
    assert (nm1.value(3), nm1.value(4), nm1.value(9)) == ("LISA", "ISAAC", "ISA123")
    assert report_of(text).all_faults() == []


def segments_in(text: str) -> list[Segment]:
    return [t for t in tokenize(io.BytesIO(text.encode("latin-1"))) if isinstance(t, Segment)]


def test_empty_segments_and_blank_lines_are_skipped_wherever_they_are():
    clean = interchange()
    for messy in (
        clean.replace("HL*2*", "~HL*2*"),  # two terminators in a row
        clean.replace("~\nHL*3*", "~\n\n  \t~\nHL*3*"),  # a blank segment
        clean.replace("~\n", "~").replace("~", "~\n", 1),  # only the ISA's line break
        clean.replace("~\n", "~\r\n", 1).replace("~\nGE*", "~\r\n GE*"),  # mixed
    ):
        for chunk_size in (1, 5, 64, 1 << 16):
            read = [(segment_of(t), *place) for t, *place in positioned(messy, chunk_size)]
            assert [s for s, *_ in read] == [segment_of(t) for t, *_ in positioned(clean, 99)]
            assert [number for _, number, _ in read] == list(range(1, len(read) + 1))
            for segment, _, offset in read:
                assert messy[offset:].startswith(segment.id + "*")


def segment_of(token) -> Segment:
    return token.segment if isinstance(token, Header) else token


def test_junk_after_an_iea_read_in_the_same_stretch():
    text = interchange(control=1) + "GARBAGE*1~MORE~" + interchange(control=2)
    for chunk_size in (3, 64, 1 << 16):
        tokens = list(tokenize(io.BytesIO(text.encode()), chunk_size=chunk_size))
        junk = [t for t in tokens if isinstance(t, Junk)]
        assert [(j.offset, j.length) for j in junk] == [(len(interchange()), 15)]
        assert sum(isinstance(t, Header) for t in tokens) == 2


def test_a_transaction_set_read_across_many_batches(monkeypatch):
    from edi278.x12 import reader

    body = [f"MSG*LINE {n}" for n in range(300)]
    text = interchange(groups=[group(sets=[transaction(body=body), transaction(2)])])
    for chunk_size in (1, 50, 1 << 16):
        assert structure_in_chunks(text, chunk_size) == [("000000001", [("1", [302, 13])])]
    monkeypatch.setattr(reader, "MAX_TRANSACTION_SEGMENTS", 100)
    for chunk_size in (1, 50, 1 << 16):
        kept = structure_in_chunks(text, chunk_size)[0][1][0][1]
        assert kept == [101, 13]  # ST and 99 more kept, then the SE


@pytest.mark.parametrize(
    "text",
    [
        "DTP*472*D8*20261201",
        "HI*ABK:M5416^ABF:E669*X",
        "UM*HS*I*1**11:B",
        "CRC*ZZ*Y*^",
        "IEA",  # no element separator at all
        "NM1*IL*1*DOE*JANE****",  # empty elements at the end
        "*NO*ID",
    ],
)
def test_a_segment_kept_unsplit_reads_as_the_parsed_one(text):
    from edi278.x12.delimiters import DEFAULT, Delimiters
    from edi278.x12.segment import parse, unsplit

    other = Delimiters("|", "!", ">", "~")
    for probe in (
        lambda s: s.elements,
        lambda s: s.simple,
        len,
        lambda s: [s.value(p) for p in range(0, 12)],
        lambda s: [s.component(p, c) for p in range(1, 5) for c in (1, 2, 3)],
        lambda s: s.texts(),
        lambda s: s.texts(other),
        lambda s: s.values(),
        repr,
    ):
        parsed = parse(text, DEFAULT, 7, 70)
        kept = unsplit(text.split("*", 1)[0], text, DEFAULT, 7, 70)
        assert kept.id == parsed.id and (kept.file_segment, kept.offset) == (7, 70)
        assert probe(kept) == probe(parsed)  # asked first, before anything split it
        assert kept == parsed and parsed == kept


def test_the_bulk_loop_builds_segments_as_unsplit_does():
    """The tokenizer fills an unsplit segment's slots inline; it must fill the same."""
    from edi278.x12.delimiters import DEFAULT
    from edi278.x12.segment import Segment, unsplit

    def filled(segment: Segment) -> set[str]:
        return {name for name in Segment.__slots__ if hasattr(segment, name)}

    read = segments_in(interchange())
    bulk = [s for s in read if type(s) is not Segment]
    assert len(bulk) >= 10
    assert {frozenset(filled(s)) for s in bulk} == {
        frozenset(filled(unsplit("DTP", "DTP*472", DEFAULT, 1, 0)))
    }


def test_an_isa_holding_the_terminator_reads_alike_first_or_after_another():
    """The ISA's extent comes from its 16 element separators, wherever it stands: a
    terminator character inside it does not cut it short after an earlier interchange
    either."""
    odd = interchange(control=2).replace("UMO12345 ", "UM~O12345", 1)
    alone = [segment_of(t) for t in tokenize(io.BytesIO(odd.encode()))]
    after = [segment_of(t) for t in tokenize(io.BytesIO((interchange() + odd).encode()))]
    assert after[-len(alone) :] == alone
    assert alone[0].value(8) == "UM~O12345      "


def test_the_segment_reader_imports_alone_and_the_public_names_on_first_use():
    """Reading segments must not pay for loading the guide, the model and the engine
    (about 200 ms, a tenth of reading 100,000 requests); the package's names still work."""
    script = (
        "import sys, edi278.x12.reader\n"
        "heavy = [m for m in ('edi278.pipeline', 'edi278.ig', 'edi278.model')\n"
        "         if m in sys.modules]\n"
        "from edi278 import Guide, examine, read_interchanges, acknowledge, Acknowledgements\n"
        "import edi278\n"
        "print(heavy, Guide.__module__, examine.__module__, edi278.read_interchanges.__module__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "edi278.ig", "edi278.pipeline", "edi278.x12.reader"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        import edi278

        edi278.nothing  # noqa: B018
