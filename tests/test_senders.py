"""edi278.x12.senders: every interchange's sender, as the pipeline reads interchanges."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from edi278.x12.senders import senders, strangers
from edi278.x12.tokenizer import CHUNK_SIZE
from tests.conftest import interchange, reports_of


def test_every_interchange_is_named_wherever_it_lies():
    own, other = interchange(control=1), interchange(control=2, sender="OTHER")
    # The other's ISA across the reader's first chunk boundary, after whitespace and junk.
    head = "\xef\xbb\xbfjunk" + own
    data = (head + "\t" * (CHUNK_SIZE - len(head) - 2) + other + "tail junk").encode("latin-1")
    assert senders(io.BytesIO(data)) == ["ZZ:SUBMITTER01", "ZZ:OTHER"]
    assert strangers(io.BytesIO(data), {"ZZ:SUBMITTER01"}) == ["ZZ:OTHER"]
    assert strangers(io.BytesIO(data), {"ZZ:SUBMITTER01", "ZZ:OTHER"}) == []


def test_bytes_outside_any_interchange_name_no_one():
    assert senders(io.BytesIO(b"nothing like X12 ~ isa*lower*case~")) == []
    assert strangers(io.BytesIO(b""), {"ZZ:SUBMITTER01"}) == []


def test_an_interchange_whose_iea_is_missing_does_not_hide_the_next():
    own = interchange(control=1)
    cut = own[: own.rindex("IEA")]
    other = interchange(control=2, sender="OTHER", e="|")
    assert senders(io.BytesIO((cut + other).encode())) == ["ZZ:SUBMITTER01", "ZZ:OTHER"]


PIECES = [
    interchange(control=1),
    interchange(control=2, sender="OTHER"),
    interchange(control=3, sender="THIRD", e="|", c=">", r="^"),
    interchange(control=4, sender="OTHER")[:-30],  # its IEA cut off
    "\t",
    "\xef\xbb\xbf",
    "\r\n",
    "junk ISA",
    "isa*",
    "ISA*00*short~",
    "~",
    "\x00",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=6))
def test_the_senders_are_those_of_every_interchange_the_pipeline_answers(pieces):
    """Whatever bytes surround them: the interchanges named are exactly those the
    pipeline would answer under an ISA, so none escapes the check."""
    data = "".join(pieces).encode("latin-1")
    answered = [
        f"{r.header.segment.value(5).strip()}:{r.header.segment.value(6).strip()}"
        for r in reports_of(data)
        if r.header is not None
    ]
    assert senders(io.BytesIO(data)) == answered
