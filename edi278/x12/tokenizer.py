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

    def find(self, needle: str, limit: int) -> int:
        """Index of needle at or after pos, reading more as needed; -1 at end of file
        or when more than `limit` characters would have to be held."""
        searched = self.pos
        while True:
            index = self.text.find(needle, searched)
            if index >= 0:
                return index
            held = len(self.text) - self.pos
            if held > limit or not self.more():
                return -1
            searched = self.pos + max(0, held - len(needle) + 1)  # more() may have moved pos


def tokenize(source: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[Token]:
    window = _Window(source, chunk_size)
    file_segment = 0
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
        start = window.pos
        if window.text.startswith("ISA", start):
            try:
                delimiters, end, faults = detect(window.text, start)
            except DelimiterError as error:
                yield from _junk_until_isa(window, str(error), skip=3, code=error.code)
                continue
            file_segment += 1
            isa = segments.parse(
                window.text[start : end - 1], delimiters, file_segment, window.base + start
            )
            window.pos = end
            yield Header(isa, delimiters, tuple(faults), byte_order_mark)
            byte_order_mark = False
        else:
            yield from _junk_until_isa(window, "data outside an interchange (no ISA)", skip=0)
            continue

        # Inside an interchange: segments up to and including the IEA.
        terminator = delimiters.segment
        strip_carriage_return = terminator == "\n"
        while True:
            index = window.find(terminator, MAX_SEGMENT_LENGTH)
            if (index if index >= 0 else len(window.text)) - window.pos > MAX_SEGMENT_LENGTH:
                file_segment += 1
                yield _skip_oversize(window, terminator, file_segment)
                continue
            if index < 0:
                piece = window.text[window.pos :]
                next_pos = len(window.text)
            else:
                piece = window.text[window.pos : index]
                next_pos = index + 1
            stripped = piece.lstrip(WHITESPACE)
            if strip_carriage_return and stripped.endswith("\r"):
                stripped = stripped[:-1]
            if not stripped:
                window.pos = next_pos
                if index < 0:
                    return
                continue
            segment_start = window.pos + len(piece) - len(piece.lstrip(WHITESPACE))
            if stripped.startswith("ISA") and _is_separator_like(stripped[3:4]):
                # A new interchange before this one's IEA: read its own delimiters.
                window.pos = segment_start
                break
            file_segment += 1
            segment = segments.parse(
                stripped, delimiters, file_segment, window.base + segment_start
            )
            window.pos = next_pos
            yield segment
            if index < 0:
                return
            if segment.id == "IEA":
                break


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
