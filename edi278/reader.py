"""A validated 278 transaction set -> the model (`edi278.writer` is its mirror image).

Segments after an HL belong to that level until its first NM1; each NM1 opens a name
loop that takes what follows until the next NM1 or HL. The HL numbers themselves are not
kept: the writer numbers the tree again, as a valid transaction set numbers it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from edi278.model import (
    Envelope,
    Header,
    HierarchicalLevel,
    Level,
    Party,
    Purpose,
    Transaction,
    record_of,
)
from edi278.x12.reader import TransactionSet, read_interchanges
from edi278.x12.segment import Segment

# NM101 codes that tell the event's and the service's name loops apart (the X217 map).
TRANSPORT = frozenset({"45", "FS", "ND", "PW", "R3"})
OTHER_UMO = frozenset({"00", "CA", "GG"})
CONTACT = frozenset({"L5"})
NAME_LOOPS = {"20": "2010A", "21": "2010B", "22": "2010C", "23": "2010D"}


class NotA278(ValueError):
    pass


def party_loop(level: str, entity: str, response: bool) -> str:
    """The guide's ID for a name loop, from its level, its NM101 and the direction."""
    if level == HierarchicalLevel.EVENT:
        if entity in TRANSPORT:
            return "2010EC" if response else "2010EB"
        if entity in OTHER_UMO:
            return "2010EC"
        return "2010EB" if entity in CONTACT else "2010EA"
    if level == HierarchicalLevel.SERVICE:
        return "2010FB" if entity in CONTACT else "2010FA"
    return NAME_LOOPS.get(level, "")


def read_transaction(segments: list[Segment]) -> Transaction:
    """One transaction set (ST .. SE) that passed guide validation, as the model."""
    if len(segments) < 4 or segments[0].id != "ST" or segments[1].id != "BHT":
        raise NotA278("a 278 transaction set starts ST, BHT")
    header = record_of(segments[1])
    assert isinstance(header, Header)
    response = header.purpose == Purpose.RESPONSE
    levels: dict[str, Level] = {}
    root: Level | None = None
    level: Level | None = None
    party: Party | None = None
    for segment in segments[2:-1]:
        if segment.id == "HL":
            level, party = Level(level=segment.value(3)), None
            parent = levels.get(segment.value(2))
            if parent is None:
                if root is not None:
                    raise NotA278(f"HL {segment.value(1)} names no earlier level")
                root = level
            else:
                parent.children.append(level)
            levels[segment.value(1)] = level
        elif level is None:
            raise NotA278(f"{segment.id} before the first HL")
        elif segment.id == "NM1":
            party = Party(loop_id=party_loop(level.level, segment.value(1), response))
            party.records.append(record_of(segment))
            level.parties.append(party)
        else:
            (party or level).records.append(record_of(segment))
    if root is None:
        raise NotA278("no HL levels")
    return Transaction(segments[0].value(2), segments[0].value(3), header, root)


def envelope_of(isa: Segment, gs: Segment) -> Envelope:
    return Envelope(
        isa.value(5),
        isa.value(6).strip(),
        isa.value(7),
        isa.value(8).strip(),
        isa.value(13),
        isa.value(9),
        isa.value(10),
        isa.value(15),
        gs.value(2),
        gs.value(3),
        gs.value(6),
        gs.value(4),
        gs.value(5),
    )


def transaction_sets(source: BinaryIO) -> Iterator[tuple[Envelope, TransactionSet]]:
    """Every transaction set in a file with the envelope it came in, streaming."""
    for interchange in read_interchanges(source):
        for group in interchange.groups:
            envelope = envelope_of(interchange.isa, group.header)
            for transaction in group.transactions:
                yield envelope, transaction


def read_requests(source: BinaryIO) -> Iterator[Transaction]:
    """Every 278 transaction set in a file with its envelope, one at a time (streaming);
    for files already validated, as `edi278 process` does before it reads them."""
    for envelope, transaction in transaction_sets(source):
        if transaction.identifier == "278" and transaction.trailer is not None:
            read = read_transaction(transaction.segments)
            read.envelope = envelope
            yield read
