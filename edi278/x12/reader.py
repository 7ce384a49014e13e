"""Tokens to envelopes, streaming: interchanges -> functional groups -> transaction sets.

Interchanges and groups are read lazily from one shared token stream, so a file of any
size is held one transaction set (and one batch of tokens) at a time. Iterate
`interchange.groups` and `group.transactions` in order; the trailer (IEA, GE) and the
structural faults of a level are known once its children have been read. A level the
caller leaves half-read is skipped to its end before the next one starts.

This module records what the structure *is* (a missing SE, a segment between groups);
`checks` judges what the envelope segments *say* (counts, control numbers, versions).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TypeGuard, cast

from edi278.x12.faults import Fault, ik3, ik5, ta1
from edi278.x12.segment import Segment
from edi278.x12.tokenizer import CHUNK_SIZE, Batch, Header, Junk, Oversize, Token, batches

# A 278 is a few dozen segments and a few kilobytes; anything near these is an attack or
# a broken file, and holding it would break the memory bound. Counting goes on, keeping
# segments stops (the SE is still kept, for the trailer checks).
MAX_TRANSACTION_SEGMENTS = 100_000
MAX_TRANSACTION_BYTES = 8 << 20


@dataclass(slots=True)
class TransactionSet:
    header: Segment  # ST
    segments: list[Segment]  # ST .. SE inclusive, as far as they were kept
    trailer: Segment | None = None  # SE
    faults: list[Fault] = field(default_factory=list)
    count: int = 0  # segments received, ST and SE included
    truncated: bool = False  # too large: segments past the limit were counted, not kept

    @property
    def control_number(self) -> str:
        return self.header.value(2)

    @property
    def identifier(self) -> str:
        return self.header.value(1)


class _Cursor:
    """The token stream, a batch at a time: one token (`peek`, `take`) or a run of plain
    segments (`run`) at once."""

    def __init__(self, batches: Iterable[Batch]) -> None:
        self._batches = iter(batches)
        self._tokens: list[Token] = []
        self._stops: list[int] = []  # where the batch holds more than plain segments
        self._index = 0
        self._stop = 0  # into _stops: the first stop not behind _index

    def peek(self) -> Token | None:
        while self._index >= len(self._tokens):
            batch = next(self._batches, None)
            if batch is None:
                return None
            self._tokens, self._stops = batch
            self._index = self._stop = 0
        return self._tokens[self._index]

    def take(self) -> Token | None:
        token = self.peek()
        self._index += token is not None
        return token

    def skip(self) -> None:
        """Move past the token just peeked at."""
        self._index += 1

    def run(self) -> tuple[list[Segment], Token | None]:
        """The plain segments (no envelope segment, nothing but segments) from here up
        to the next token that is not one, and the token after them, not taken (None at
        the end). The run is empty when that token is the next."""
        token = self.peek()
        if token is None:
            return [], None
        tokens, stops, index, stop = self._tokens, self._stops, self._index, self._stop
        while stop < len(stops) and stops[stop] < index:
            stop += 1
        self._stop = stop
        if stop < len(stops):
            end = stops[stop]
            if end == index:
                return [], token
            self._index = end
            return cast(list[Segment], tokens[index:end]), tokens[end]  # no stop: segments
        self._index = len(tokens)
        return cast(list[Segment], tokens[index:]), self.peek()


def _is(token: Token | None, *ids: str) -> TypeGuard[Segment]:
    return isinstance(token, Segment) and token.id in ids


def _ends_interchange(token: Token | None) -> bool:
    return token is None or isinstance(token, Header | Junk) or _is(token, "IEA")


ENVELOPE_SEGMENTS = frozenset({"ST", "GS", "GE", "IEA"})  # those that end a set, SE apart


class Group:
    def __init__(self, header: Segment, cursor: _Cursor, interchange: Interchange) -> None:
        self.header = header  # GS
        self.trailer: Segment | None = None  # GE
        self.faults: list[Fault] = []
        self.count = 0  # transaction sets received
        self._cursor = cursor
        self._interchange = interchange
        self.transactions: Iterator[TransactionSet] = self._read()

    @property
    def control_number(self) -> str:
        return self.header.value(6)

    @property
    def functional_identifier(self) -> str:
        return self.header.value(1)

    @property
    def version(self) -> str:
        return self.header.value(8)

    def _read(self) -> Iterator[TransactionSet]:
        cursor = self._cursor
        while True:
            token = cursor.peek()
            if isinstance(token, Segment):  # asked once a set: the tests are spelled out
                if token.id == "ST":
                    cursor.skip()
                    self.count += 1
                    yield _read_transaction(token, cursor)
                    continue
                if token.id == "GE":
                    cursor.skip()
                    self.trailer = token
                    return
                if token.id in ("GS", "IEA"):
                    return  # GE missing: judged by checks
            elif token is None or isinstance(token, Header | Junk):
                return  # GE missing: judged by checks
            cursor.skip()
            self._interchange.faults.append(_stray(token, "between transaction sets"))

    def drain(self) -> None:
        for _ in self.transactions:
            pass


class Interchange:
    def __init__(self, header: Header | None, cursor: _Cursor, junk: Junk | None = None) -> None:
        self.header = header
        self.junk = junk  # set, with header None, for bytes outside any interchange
        self.trailer: Segment | None = None  # IEA
        self.faults: list[Fault] = []
        self.count = 0  # functional groups received
        self.ta1_count = 0  # TA1 segments received: interchange acknowledgements to us
        self._cursor = cursor
        self.groups: Iterator[Group] = self._read() if header else iter(())

    @property
    def isa(self) -> Segment:
        assert self.header is not None
        return self.header.segment

    @property
    def control_number(self) -> str:
        return self.isa.value(13) if self.header else ""

    def _read(self) -> Iterator[Group]:
        cursor = self._cursor
        while True:
            token = cursor.peek()
            if _is(token, "IEA"):
                cursor.take()
                self.trailer = token
                return
            if _ends_interchange(token):
                return  # IEA missing: judged by checks
            cursor.take()
            if _is(token, "GS"):
                self.count += 1
                group = Group(token, cursor, self)
                yield group
                group.drain()
            elif _is(token, "ST"):
                self.faults.append(_stray(token, "outside a functional group"))
                _read_transaction(token, cursor)
            elif _is(token, "TA1") and self.count == 0:  # its place: after ISA, before GS
                self.ta1_count += 1
            else:
                self.faults.append(_stray(token, "between functional groups"))

    def drain(self) -> None:
        for group in self.groups:
            group.drain()

    def span(self) -> tuple[int, int | None]:
        """Where this interchange lies in the file: from its ISA (or its junk) to where
        the next one starts, None meaning the end of the file. Drains it first."""
        if self.junk is not None:
            return self.junk.offset, self.junk.offset + self.junk.length
        assert self.header is not None
        self.drain()
        following = self._cursor.peek()
        return self.header.segment.offset, None if following is None else _offset(following)


def _offset(token: Token) -> int:
    return token.segment.offset if isinstance(token, Header) else token.offset


def _stray(token: Token | None, where: str) -> Fault:
    if isinstance(token, Oversize):
        return ta1(
            "024",
            f"an oversize segment ({token.length} bytes) {where}",
            file_segment=token.file_segment,
            offset=token.offset,
        )
    assert isinstance(token, Segment)
    return ta1(
        "024",
        f"segment {token.id[:3]!r} {where}",
        segment_id=token.id[:3],
        file_segment=token.file_segment,
        offset=token.offset,
    )


def _read_transaction(header: Segment, cursor: _Cursor) -> TransactionSet:
    transaction = TransactionSet(header, [header], count=1)
    kept = transaction.segments
    while True:
        # The body in runs of plain segments, kept whole while within the limits; then
        # the token a run stops at, one by one.
        run, token = cursor.run()
        if run:
            count = transaction.count + len(run)
            if transaction.truncated:
                transaction.count = count
            elif (
                count <= MAX_TRANSACTION_SEGMENTS
                and run[-1].offset - header.offset <= MAX_TRANSACTION_BYTES
            ):
                kept += run
                transaction.count = count
            else:
                for segment in run:
                    _add(transaction, segment)
        if isinstance(token, Segment):
            if token.id == "SE" and not transaction.truncated:  # the usual end, inline
                if (
                    transaction.count < MAX_TRANSACTION_SEGMENTS
                    and token.offset - header.offset <= MAX_TRANSACTION_BYTES
                ):
                    cursor.skip()
                    transaction.count += 1
                    kept.append(token)
                    transaction.trailer = token
                    return transaction
            elif token.id in ENVELOPE_SEGMENTS:
                break
        elif token is None or isinstance(token, Header | Junk):
            break
        cursor.skip()
        if _add(transaction, token):
            return transaction
    transaction.faults.append(
        ik5(
            "2",
            "transaction set trailer (SE) missing",
            segment_id="ST",
            file_segment=header.file_segment,
            offset=header.offset,
        )
    )
    return transaction


def _add(transaction: TransactionSet, token: Segment | Oversize) -> bool:
    """One more token of a transaction set, kept if within the limits; whether it was
    the SE."""
    transaction.count += 1
    if isinstance(token, Oversize):
        transaction.faults.append(
            ik3(
                "8",
                f"segment is {token.length} bytes, beyond any valid segment",
                segment_id=token.segment_id,
                segment_position=transaction.count,
                file_segment=token.file_segment,
                offset=token.offset,
            )
        )
        token = Segment(token.segment_id, (), token.file_segment, token.offset)
    if not transaction.truncated:
        size = token.offset - transaction.header.offset
        if transaction.count > MAX_TRANSACTION_SEGMENTS or size > MAX_TRANSACTION_BYTES:
            transaction.truncated = True
            transaction.faults.append(
                ik5(
                    "5",
                    f"transaction set is larger than {MAX_TRANSACTION_SEGMENTS} segments "
                    f"or {MAX_TRANSACTION_BYTES >> 20} MiB; the rest was counted, not kept",
                    segment_id=token.id,
                    file_segment=token.file_segment,
                    offset=token.offset,
                )
            )
    if not transaction.truncated or token.id == "SE":
        transaction.segments.append(token)
    if token.id == "SE":
        transaction.trailer = token
        return True
    return False


def read_interchanges(source: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[Interchange]:
    """Interchanges from a binary file object, lazily, read `chunk_size` bytes at a time.

    Bytes outside any interchange come as an Interchange whose header is None and whose
    `junk` says where they were."""
    return _interchanges(_Cursor(batches(source, chunk_size)))


def interchanges_from(tokens: Iterable[Token]) -> Iterator[Interchange]:
    return _interchanges(_Cursor(([token], [0]) for token in tokens))


def _interchanges(cursor: _Cursor) -> Iterator[Interchange]:
    while True:
        token = cursor.take()
        if token is None:
            return
        if isinstance(token, Header):
            interchange = Interchange(token, cursor)
        elif isinstance(token, Junk):
            interchange = Interchange(None, cursor, junk=token)
        else:  # the tokenizer turns anything before an ISA into junk
            raise AssertionError(f"unexpected token {token!r}")
        yield interchange
        interchange.drain()
