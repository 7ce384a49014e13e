"""The model -> a 278 transaction set (ST .. SE), the mirror image of `edi278.reader`.

HL numbers are given depth first from 1, each HL naming its parent and saying whether
children follow; SE counts the segments."""

from __future__ import annotations

from edi278.model import Level, Transaction, segment_of
from edi278.x12 import envelope as x12_envelope
from edi278.x12.delimiters import DEFAULT
from edi278.x12.envelope import Party
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


def write_interchange(transactions: list[Transaction]) -> list[Segment]:
    """Transaction sets in the envelopes they carry: one interchange per run of
    transaction sets with the same envelope and guide."""
    segments: list[Segment] = []
    run: list[Transaction] = []
    for transaction in [*transactions, None]:
        if run and (
            transaction is None
            or transaction.envelope != run[0].envelope
            or transaction.convention != run[0].convention  # a group holds one guide
        ):
            segments += _enclose(run)
            run = []
        if transaction is not None:
            if transaction.envelope is None:
                raise ValueError("a transaction set needs its envelope to be written out")
            run.append(transaction)
    return segments


def _enclose(run: list[Transaction]) -> list[Segment]:
    envelope = run[0].envelope
    assert envelope is not None
    sender = Party(envelope.sender_qualifier, envelope.sender_id)
    receiver = Party(envelope.receiver_qualifier, envelope.receiver_id)
    isa = x12_envelope.isa(
        sender,
        receiver,
        envelope.interchange_control_number,
        envelope.interchange_date,
        envelope.interchange_time,
        envelope.usage,
        DEFAULT,
    )
    gs = x12_envelope.gs(
        "HI",
        envelope.application_sender,
        envelope.application_receiver,
        envelope.group_control_number,
        envelope.group_date,
        envelope.group_time,
        run[0].convention,
    )
    body = [segment for transaction in run for segment in write_transaction(transaction)]
    return [
        isa, gs, *body,
        x12_envelope.group_trailer(len(run), int(envelope.group_control_number)),
        x12_envelope.interchange_trailer(1, int(envelope.interchange_control_number)),
    ]  # fmt: skip
