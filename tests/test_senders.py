"""edi278.x12.senders: every interchange's sender, as the pipeline reads interchanges."""

from __future__ import annotations

import io

from edi278.x12.senders import senders, strangers
from edi278.x12.tokenizer import CHUNK_SIZE
from tests.conftest import interchange


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
