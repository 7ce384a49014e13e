"""Who sent the interchanges in some bytes: the ISA05:ISA06 of every interchange the
reader finds, read by the very reader the pipeline answers with, so that whatever the
pipeline would take as an interchange is named here, wherever it lies in the bytes
(after leading junk, after another interchange, in odd delimiters).

A channel that knows who is speaking (an API key, a mailbox, a partner's folder) refuses
the whole input when one of its interchanges names another sender: nothing of it is
answered or recorded. Bytes outside any interchange name no sender and act for no one
(the pipeline answers them with a TA1 to an unknown partner), so they do not count.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import BinaryIO

from edi278.x12.reader import read_interchanges
from edi278.x12.segment import Segment


def sender_of(isa: Segment) -> str:
    """ISA05:ISA06 unpadded, as the intake names an interchange's sender (and keys its
    cases, control numbers and partner by it)."""
    return f"{isa.value(5).strip()}:{isa.value(6).strip()}"


def senders(source: BinaryIO) -> list[str]:
    """The sender of every interchange in `source`, in order, one per interchange."""
    return [
        sender_of(interchange.isa)
        for interchange in read_interchanges(source)
        if interchange.header is not None
    ]


def strangers(source: BinaryIO, allowed: Collection[str]) -> list[str]:
    """The senders in `source` that are not `allowed`, each once, in order of appearance:
    empty when every interchange is from one of the allowed senders. An ISA too broken
    to name a sender names a sender no one is allowed to be (":", or its odd fields), so
    it is a stranger too."""
    found: dict[str, None] = {}
    for sender in senders(source):
        if sender not in allowed:
            found[sender] = None
    return list(found)
