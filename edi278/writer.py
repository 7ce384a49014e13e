"""The model -> a 278 transaction set (ST .. SE), the mirror image of `edi278.reader`.

HL numbers are given depth first from 1, each HL naming its parent and saying whether
children follow; SE counts the segments."""

from __future__ import annotations

from edi278.model import Level, Transaction, segment_of
from edi278.x12.segment import Segment


def write_transaction(transaction: Transaction) -> list[Segment]:
    body: list[Segment] = [segment_of(transaction.header)]
    counter = [0]

    def level(each: Level, parent: str) -> None:
        counter[0] += 1
        number = str(counter[0])
        body.append(Segment.of("HL", number, parent, each.level, "1" if each.children else "0"))
        body.extend(segment_of(record) for record in each.records)
        for party in each.parties:
            body.extend(segment_of(record) for record in party.records)
        for child in each.children:
            level(child, number)

    level(transaction.root, "")
    header = Segment.of("ST", "278", transaction.control_number, transaction.convention)
    trailer = Segment.of("SE", str(len(body) + 2), transaction.control_number)
    return [header, *body, trailer]
