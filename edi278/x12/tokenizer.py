"""Bytes to segments, streaming: a binary file object in, a flat stream of tokens out.

Each interchange announces its own delimiters, so they are read again at every ISA.
Bytes are decoded as Latin-1: one byte is one character, nothing is ever undecodable,
writing back gives the same bytes, and a character offset is a byte offset.
Memory is bounded by the chunk size plus the longest segment, never by the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from edi278.x12 import segment as segments
from edi278.x12.delimiters import WHITESPACE, DelimiterError, Delimiters, detect
from edi278.x12.faults import Fault
from edi278.x12.segment import Segment

BOM = "\xef\xbb\xbf"  # the UTF-8 byte-order mark, read as Latin-1
CHUNK_SIZE = 1 << 16
MAX_SEGMENT_LENGTH = 1 << 20  # far beyond any real segment; guards memory against a lost terminator
SPLIT_AHEAD = 8192  # characters split on the terminator at once
ISA_SEARCH_LIMIT = 4096  # how far to look for the ISA's 16 separators


@dataclass(frozen=True, slots=True)
class Header:
    """An ISA: the segment, the delimiters it announces and the faults in them."""

    segment: Segment
    delimiters: Delimiters
    faults: tuple[Fault, ...] = ()
    byte_order_mark: bool = False


@dataclass(frozen=True, slots=True)
class Junk:
    """Bytes that are not inside any interchange: before the first ISA, between an IEA
    and the next ISA, or an ISA whose delimiters cannot be read."""

    offset: int
    length: int
    reason: str
    code: str = "022"  # TA105: invalid control structure, unless the ISA says more


@dataclass(frozen=True, slots=True)
class Oversize:
    """A segment longer than MAX_SEGMENT_LENGTH: its head is kept, the rest skipped."""

    segment_id: str
    file_segment: int
    offset: int
    length: int


Token = Header | Segment | Junk | Oversize


class _Window:
    """A sliding window over the decoded stream."""

    def __init__(self, source: BinaryIO, chunk_size: int) -> None:
        self.source = source
        self.chunk_size = chunk_size
        self.text = ""
        self.pos = 0  # index into text
        self.base = 0  # file offset of text[0]
        self.eof = False

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def more(self) -> bool:
        """Read one more chunk; False at end of file."""
        if self.eof:
            return False
        chunk = self.source.read(self.chunk_size)
        if not chunk:
            self.eof = True
            return False
        if self.pos:
            self.text = self.text[self.pos :]
            self.base += self.pos
            self.pos = 0
        self.text += chunk.decode("latin-1")
        return True

    def ensure(self, count: int) -> bool:
        """Make `count` characters available from pos, if the file has them."""
        while len(self.text) - self.pos < count:
            if not self.more():
                return False
        return True

    def skip_whitespace(self) -> None:
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in WHITESPACE:
                pos += 1
            self.pos = pos
            if pos < len(text) or not self.more():
                return


def tokenize(source: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[Token]:
    window = _Window(source, chunk_size)
    counter = [0]  # segments so far, shared with the interchange reader below
    window.ensure(3)
    byte_order_mark = window.text.startswith(BOM)
    if byte_order_mark:
        window.pos = len(BOM)
    while True:
        # Between interchanges: expect an ISA.
        window.skip_whitespace()
        if not window.ensure(1):
            return
        window.ensure(ISA_SEARCH_LIMIT)
        if not window.text.startswith("ISA", window.pos):
            yield from _junk_until_isa(window, "data outside an interchange (no ISA)", skip=0)
            continue
        try:
            header = _header(window, window.pos, counter, byte_order_mark)
        except DelimiterError as error:
            yield from _junk_until_isa(window, str(error), skip=3, code=error.code)
            continue
        byte_order_mark = False
        yield header
        yield from _interchange_segments(window, header.delimiters, counter)


def _header(window: _Window, start: int, counter: list[int], byte_order_mark: bool) -> Header:
    """Read the ISA at `start` in the window and move past it."""
    delimiters, end, faults = detect(window.text, start)
    counter[0] += 1
    isa = segments.parse(window.text[start : end - 1], delimiters, counter[0], window.base + start)
    window.pos = end
    return Header(isa, delimiters, tuple(faults), byte_order_mark)


def _interchange_segments(
    window: _Window, delimiters: Delimiters, counter: list[int]
) -> Iterator[Token]:
    """Segments up to the IEA, then on through any following interchanges that use the
    same delimiters. Returns where the generic ISA detection must take over: after an
    IEA, before an ISA with other delimiters, before junk, at end of file.

    The window is split on the terminator in bulk, one chunk at a time; positions are
    kept by adding up the lengths of the pieces."""
    terminator = delimiters.segment
    strip_carriage_return = terminator == "\n"
    parse = segments.parse
    after_iea = False
    while True:
        text, pos = window.text, window.pos
        # Split a bounded stretch at a time: an interchange with other delimiters sends
        # the rest back to be split again, which must not cost a whole chunk each time.
        last = text.rfind(terminator, pos, pos + SPLIT_AHEAD)
        if last < 0:
            last = text.find(terminator, pos + SPLIT_AHEAD)
        if last < 0:  # no complete segment held
            if len(text) - pos > MAX_SEGMENT_LENGTH:
                counter[0] += 1
                yield _skip_oversize(window, terminator, counter[0])
                continue
            if window.more():
                continue
            last = len(text)  # end of file: what is left is one unterminated segment
        cursor = pos
        for piece in text[pos:last].split(terminator):
            piece_start = cursor
            cursor += len(piece) + 1
            stripped = piece.lstrip(WHITESPACE)
            if not stripped:
                continue
            start = piece_start + len(piece) - len(stripped)
            if strip_carriage_return and stripped[-1] == "\r":
                stripped = stripped[:-1]
            if len(piece) > MAX_SEGMENT_LENGTH:
                window.pos = min(cursor, len(text))
                counter[0] += 1
                yield Oversize(stripped[:3], counter[0], window.base + start, len(piece))
                continue
            if stripped.startswith("ISA") and _is_separator_like(stripped[3:4]):
                # A new interchange, after an IEA or in place of one. Its delimiters are
                # read afresh; while they match ours, the bulk split goes on.
                if cursor >= last or not _same_delimiters(text, start, delimiters):
                    window.pos = start
                    return
                window.pos = start
                header = _header(window, start, counter, False)
                window.pos = cursor
                yield header
                after_iea = False
                continue
            if after_iea:  # anything but an ISA after an IEA is for the generic path
                window.pos = start
                return
            counter[0] += 1
            window.pos = min(cursor, len(text))
            segment = parse(stripped, delimiters, counter[0], window.base + start)
            yield segment
            after_iea = segment.id == "IEA"
        window.pos = min(cursor, len(text))
        if last == len(text) and window.eof:
            return


def _same_delimiters(text: str, start: int, delimiters: Delimiters) -> bool:
    try:
        found, _, faults = detect(text, start)
    except DelimiterError:
        return False
    return found == delimiters and not faults


def _is_separator_like(char: str) -> bool:
    return len(char) == 1 and not char.isalnum() and char not in WHITESPACE


def _junk_until_isa(window: _Window, reason: str, skip: int, code: str = "022") -> Iterator[Junk]:
    """Skip to the next "ISA" that could open an interchange, reporting what was skipped."""
    start = window.offset
    window.pos += skip
    while True:
        index = window.text.find("ISA", window.pos)
        while index >= 0:
            if _is_separator_like(window.text[index + 3 : index + 4]):
                window.pos = index
                yield Junk(start, window.offset - start, reason, code)
                return
            index = window.text.find("ISA", index + 1)
        # keep two characters: an "ISA" may straddle the chunk boundary
        window.pos = max(window.pos, len(window.text) - 3)
        if not window.more():
            window.pos = len(window.text)
            yield Junk(start, window.offset - start, reason, code)
            return


def _skip_oversize(window: _Window, terminator: str, file_segment: int) -> Oversize:
    start = window.offset
    head = window.text[window.pos : window.pos + 3]
    while True:
        index = window.text.find(terminator, window.pos)
        if index >= 0:
            window.pos = index + 1
            break
        window.pos = len(window.text)
        if not window.more():
            break
    return Oversize(head, file_segment, start, window.offset - start)
