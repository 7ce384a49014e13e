"""Reading and writing are mirror images: read -> write gives back the same bytes, for any
delimiter set and any content that does not contain the delimiters."""

from __future__ import annotations

import io
import string

from hypothesis import given
from hypothesis import strategies as st

from edi278.x12 import segment as segments
from edi278.x12.delimiters import Delimiters
from edi278.x12.reader import read_interchanges
from edi278.x12.segment import Segment
from edi278.x12.tokenizer import Header, Junk, Oversize, Token, tokenize
from edi278.x12.writer import encode, write
from tests.conftest import interchange as interchange_text
from tests.conftest import isa

SEPARATORS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
ENVELOPE_IDS = {"ISA", "IEA", "GS", "GE", "ST", "SE"}


@st.composite
def delimiter_sets(draw, line_breaks=("", "\n", "\r\n")) -> Delimiters:
    element, repetition, component = draw(
        st.lists(st.sampled_from(SEPARATORS), min_size=3, max_size=3, unique=True)
    )
    terminator = draw(
        st.sampled_from([c for c in SEPARATORS + "\n" if c not in (element, repetition, component)])
    )
    line_break = "" if terminator == "\n" else draw(st.sampled_from(line_breaks))
    return Delimiters(element, repetition, component, terminator, line_break)


def data_text(reserved: str):
    alphabet = "".join(
        c for c in string.ascii_letters + string.digits + " " + SEPARATORS if c not in reserved
    )
    return st.text(alphabet, max_size=8)


@st.composite
def segments_with(draw, reserved: str) -> Segment:
    """A segment whose content avoids the `reserved` delimiter characters."""
    tail = st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=2)
    segment_id = draw(
        st.builds(str.__add__, st.sampled_from(string.ascii_uppercase), tail).filter(
            lambda i: i not in ENVELOPE_IDS
        )
    )
    repetition = st.lists(data_text(reserved), min_size=1, max_size=3).map(tuple)
    element = st.lists(repetition, min_size=1, max_size=2).map(tuple)
    elements = draw(st.lists(element, min_size=0, max_size=6))
    return Segment(segment_id, tuple(elements))


@st.composite
def delimited_segments(draw, also_reserved: str = ""):
    delimiters = draw(delimiter_sets())
    reserved = delimiters.characters() + also_reserved
    return delimiters, draw(st.lists(segments_with(reserved), min_size=1, max_size=6))


@given(delimited_segments())
def test_a_segment_reads_back_as_written(case):
    delimiters, written = case
    for segment in written:
        text = segments.serialize(segment, delimiters)
        assert segments.parse(text, delimiters) == segment


def envelope(delimiters: Delimiters, body: list[Segment]) -> str:
    d = delimiters
    header = isa(e=d.element, r=d.repetition, c=d.component) + d.segment + d.line_break
    rest = [
        Segment.of(
            "GS", "HI", "SUBMITTER01", "UMO12345", "20261120", "0930", "1", "X", "005010X217"
        ),
        Segment.of("ST", "278", "0001", "005010X217"),
        *body,
        Segment.of("SE", str(len(body) + 2), "0001"),
        Segment.of("GE", "1", "1"),
        Segment.of("IEA", "1", "000000001"),
    ]
    return header + write(rest, delimiters)


@given(delimited_segments(), st.integers(min_value=1, max_value=64))
def test_an_interchange_reads_and_writes_back_to_the_same_bytes(case, chunk_size):
    delimiters, body = case
    original = envelope(delimiters, body)
    tokens = list(tokenize(io.BytesIO(encode(original)), chunk_size=chunk_size))
    (header, *rest) = tokens
    assert header.delimiters == delimiters
    assert write([header.segment, *rest], delimiters) == original

    bodies, trailers = [], []
    for interchange in read_interchanges(io.BytesIO(encode(original))):
        for group in interchange.groups:  # the levels are read lazily, so nested
            bodies.extend(transaction.segments[1:-1] for transaction in group.transactions)
        trailers.append(interchange.trailer)
    assert bodies == [body]
    assert [t.values() for t in trailers] == [["1", "000000001"]]


@given(st.data())
def test_writing_with_another_delimiter_set_keeps_the_content(data):
    other = data.draw(delimiter_sets(line_breaks=("",)))
    delimiters, body = data.draw(delimited_segments(also_reserved=other.characters()))
    text = envelope(delimiters, body)
    header, *rest = list(tokenize(io.BytesIO(encode(text))))
    rewritten = write([header.segment, *rest], other)
    header2, *rest2 = list(tokenize(io.BytesIO(encode(rewritten))))
    assert header2.delimiters == other
    assert rest2 == rest


VALID = (interchange_text(control=1) + interchange_text(control=2)).encode("latin-1")


@st.composite
def spliced(draw) -> bytes:
    """Two valid interchanges with a stretch replaced by random bytes."""
    at = draw(st.integers(0, len(VALID)))
    cut = draw(st.integers(0, 60))
    return VALID[:at] + draw(st.binary(max_size=60)) + VALID[at + cut :]


def start_of(token: Token) -> int:
    return token.segment.offset if isinstance(token, Header) else token.offset


@given(st.one_of(st.binary(max_size=400), spliced()))
def test_any_bytes_are_tokenized_without_an_exception(data):
    """Into tokens in file order, each where the input holds it: offsets strictly
    increase and stay inside the input, a segment's ID is at its offset, and junk and
    oversize tokens cover bytes of the input without overlapping what follows."""
    tokens = list(tokenize(io.BytesIO(data), chunk_size=7))
    text = data.decode("latin-1")
    starts = [start_of(token) for token in tokens]
    assert starts == sorted(set(starts)), "offsets strictly increase"
    end = 0  # where the last junk or oversize token ended
    for token, start in zip(tokens, starts, strict=True):
        assert end <= start < len(data), token
        if isinstance(token, Junk | Oversize):
            assert token.length >= 1 and start + token.length <= len(data), token
            end = start + token.length
        else:
            segment = token.segment if isinstance(token, Header) else token
            assert text.startswith(segment.id, start), token
