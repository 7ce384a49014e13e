"""Tokens to envelopes, streaming: interchanges -> functional groups -> transaction sets.

Interchanges and groups are read lazily from one shared token stream, so a file of any
size is held one transaction set at a time. Iterate `interchange.groups` and
`group.transactions` in order; the trailer (IEA, GE) and the structural faults of a level
are known once its children have been read. A level the caller leaves half-read is
skipped to its end before the next one starts.

This module records what the structure *is* (a missing SE, a segment between groups);
`checks` judges what the envelope segments *say* (counts, control numbers, versions).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from edi278.x12.faults import Fault, ik3, ik5, ta1
from edi278.x12.segment import Segment
from edi278.x12.tokenizer import Header, Junk, Oversize, Token, tokenize

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
    def __init__(self, tokens: Iterable[Token]) -> None:
        self._tokens = iter(tokens)
        self._next: Token | None = None
        self._has_next = False

    def peek(self) -> Token | None:
        if not self._has_next:
            self._next = next(self._tokens, None)
            self._has_next = True
        return self._next

    def take(self) -> Token | None:
        token = self.peek()
        self._has_next = False
        return token


def _is(token: Token | None, *ids: str) -> bool:
    return isinstance(token, Segment) and token.id in ids


def _ends_interchange(token: Token | None) -> bool:
    return token is None or isinstance(token, Header | Junk) or _is(token, "IEA")


ENVELOPE_SEGMENTS = frozenset({"ST", "GS", "GE", "IEA"})


def _ends_transaction(token: Token | None) -> bool:
    """Whether the token lies past a transaction set read so far: an envelope segment or
    the end of the interchange (asked of every segment read)."""
    if isinstance(token, Segment):
        return token.id in ENVELOPE_SEGMENTS
    return token is None or isinstance(token, Header | Junk)


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
            if _is(token, "GE"):
                self.trailer = cursor.take()  # type: ignore[assignment]
                return
            if _ends_interchange(token) or _is(token, "GS"):
                return  # GE missing: judged by checks
            cursor.take()
            if _is(token, "ST"):
                self.count += 1
                yield _read_transaction(token, cursor)  # type: ignore[arg-type]
            else:
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
                self.trailer = cursor.take()  # type: ignore[assignment]
                return
            if _ends_interchange(token):
                return  # IEA missing: judged by checks
            cursor.take()
            if _is(token, "GS"):
                self.count += 1
                group = Group(token, cursor, self)  # type: ignore[arg-type]
                yield group
                group.drain()
            elif _is(token, "ST"):
                self.faults.append(_stray(token, "outside a functional group"))
                _read_transaction(token, cursor)  # type: ignore[arg-type]
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
    while True:
        token = cursor.peek()
        if _ends_transaction(token):
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
        cursor.take()
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
        assert isinstance(token, Segment)
        if not transaction.truncated:
            size = token.offset - header.offset
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
            return transaction


def read_interchanges(source: BinaryIO) -> Iterator[Interchange]:
    """Interchanges from a binary file object, lazily.

    Bytes outside any interchange come as an Interchange whose header is None and whose
    `junk` says where they were."""
    return interchanges_from(tokenize(source))


def interchanges_from(tokens: Iterable[Token]) -> Iterator[Interchange]:
    cursor = _Cursor(tokens)
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
