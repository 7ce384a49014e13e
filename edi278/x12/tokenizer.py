"""Bytes to segments, streaming: a binary file object in, a flat stream of tokens out.

Each interchange announces its own delimiters, so they are read again at every ISA.
Bytes are decoded as Latin-1: one byte is one character, nothing is ever undecodable,
writing back gives the same bytes, and a character offset is a byte offset.
Memory is bounded by the chunk size plus the longest segment, never by the file.

Tokens come in batches (`batches`), a stretch of the window at a time: the bulk of an
interchange is split on its terminator at once and its segments built in one loop, kept
unsplit, with no call per segment. `tokenize` flattens the batches.
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
SPLIT_AHEAD = 8192  # characters split at once when read piece by piece

# The envelope segments: a reader taking segments in bulk stops at these to look.
ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_LOOK_AT = ENVELOPE_IDS | {""}  # "": an empty piece between two terminators, or an empty ID


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

# Tokens in file order, and the indices of those a reader taking segments in bulk must
# look at one by one: every token that is not a Segment, and the envelope segments.
Batch = tuple[list[Token], list[int]]


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

    def skip_whitespace(self, also: str = "") -> None:
        skipped = WHITESPACE + also
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in skipped:
                pos += 1
            self.pos = pos
            if pos < len(text) or not self.more():
                return


def tokenize(source: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[Token]:
    for tokens, _ in batches(source, chunk_size):
        yield from tokens


def batches(source: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[Batch]:
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
            yield [_junk_until_isa(window, "data outside an interchange (no ISA)", skip=0)], [0]
            continue
        try:
            header = _header(window, window.pos, counter, byte_order_mark)
        except DelimiterError as error:
            yield [_junk_until_isa(window, str(error), skip=3, code=error.code)], [0]
            continue
        byte_order_mark = False
        yield [header], [0]
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
) -> Iterator[Batch]:
    """The segments after an ISA, in batches, up to where the generic ISA detection must
    take over: after the IEA, before the next ISA (its IEA missing), at end of file.

    What the window holds up to its last terminator is read in bulk when it is plain:
    no "ISA" in it, no segment beginning with whitespace but for the line break the ISA
    announced. Anything else is read piece by piece, as carefully as ever."""
    terminator = delimiters.segment
    bulk = terminator not in WHITESPACE
    while True:
        window.skip_whitespace()
        text, pos = window.text, window.pos
        if pos >= len(text):
            return
        last = text.rfind(terminator, pos)
        if last < 0:  # no complete segment held
            if len(text) - pos > MAX_SEGMENT_LENGTH:
                counter[0] += 1
                yield [_skip_oversize(window, terminator, counter[0])], [0]
                continue
            if window.more():
                continue
            last = len(text)  # end of file: what is left is one unterminated segment
        end, tried = last, False
        if bulk:
            isa = text.find("ISA", pos, last)  # an ISA, or data that merely holds the letters
            if isa >= 0:
                end = text.rfind(terminator, pos, isa)
            if pos < end < len(text) and end - pos <= MAX_SEGMENT_LENGTH:
                read = _bulk(window, end, delimiters, counter)
                if read is not None:
                    yield read[:2]
                    if read[2]:
                        break
                    continue
                tried = True  # not plain: the same stretch, ISA-free, piece by piece
            elif isa >= 0:  # the piece that holds it, alone
                end = text.find(terminator, isa)
                end = last if end < 0 else end
        if end - pos > SPLIT_AHEAD and not tried:  # bounded: the rest may be another ISA's
            bounded = text.rfind(terminator, pos, pos + SPLIT_AHEAD)
            if bounded < pos:
                bounded = text.find(terminator, pos + SPLIT_AHEAD, end)
            end = end if bounded < 0 else bounded
        tokens: list[Token] = []
        stops: list[int] = []
        ended = _careful(window, end, delimiters, counter, tokens, stops)
        if tokens:
            yield tokens, stops
        if ended == "IEA":
            break
        if ended == "ISA":
            return
    # After an IEA only empty segments may come before the generic path takes over.
    window.skip_whitespace(terminator)


def _bulk(
    window: _Window, end: int, delimiters: Delimiters, counter: list[int]
) -> tuple[list[Token], list[int], bool] | None:
    """The segments from the window's position up to the terminator at `end`, split at
    once; None, having read nothing, when that stretch is not plain. The last item says
    whether an IEA ended the batch."""
    terminator, line_break, pos = delimiters.segment, delimiters.line_break, window.pos
    separator = terminator + line_break
    text = window.text[pos:end]
    pieces = text.split(separator)
    if not _plain(text, len(pieces) - 1, terminator, line_break):
        return None
    step = len(separator)
    element = delimiters.element
    number, offset = counter[0], window.base + pos
    tokens: list[Token] = []
    stops: list[int] = []
    append, stop, new = tokens.append, stops.append, segments.Unsplit
    iea = False
    for piece in pieces:
        id = piece.partition(element)[0]
        if id in _LOOK_AT:
            if not piece:  # two terminators in a row: nothing between
                offset += step
                continue
            stop(len(tokens))
            iea = id == "IEA"
        # segments.unsplit, inline: a call per segment would cost a fifth of the read.
        number += 1
        segment = new()
        segment.id = id
        segment._raw = piece
        segment._delimiters = delimiters
        segment.file_segment = number
        segment.offset = offset
        append(segment)
        offset += len(piece) + step
        if iea:
            break
    counter[0] = number
    window.pos = min(offset - window.base, end + 1)
    return tokens, stops, iea


def _plain(text: str, separators: int, terminator: str, line_break: str) -> bool:
    """Whether a stretch split into `separators` + 1 pieces on the terminator and line
    break needs nothing more: every terminator followed by the line break, and no piece
    beginning with whitespace. Counted and searched for a character at a time where
    that settles it, the quicker scans."""
    if line_break and text.count(terminator) != separators:
        return False
    separator = terminator + line_break
    for space in WHITESPACE:
        expected = line_break.count(space) * separators
        if expected:  # all of them in the line breaks, or the careful way
            if text.count(space) != expected:
                return False
        elif space in text and separator + space in text:
            return False
    return True


def _careful(
    window: _Window,
    last: int,
    delimiters: Delimiters,
    counter: list[int],
    tokens: list[Token],
    stops: list[int],
) -> str:
    """The pieces from the window's position up to `last`, one by one: whitespace before
    each, a carriage return before a newline terminator, oversize segments, an ISA in
    place of the IEA. Returns "IEA" after an IEA, "ISA" with the window left at an ISA
    for the generic path, "" otherwise, the window left after the last piece read."""
    terminator, text, pos = delimiters.segment, window.text, window.pos
    strip_carriage_return = terminator == "\n"
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
            counter[0] += 1
            stops.append(len(tokens))
            tokens.append(Oversize(stripped[:3], counter[0], window.base + start, len(piece)))
            continue
        if stripped.startswith("ISA") and _is_separator_like(stripped[3:4]):
            window.pos = start  # a new interchange, in place of the IEA or after it
            return "ISA"
        counter[0] += 1
        segment = segments.parse(stripped, delimiters, counter[0], window.base + start)
        if segment.id in ENVELOPE_IDS:
            stops.append(len(tokens))
        tokens.append(segment)
        if segment.id == "IEA":
            window.pos = min(cursor, len(text))
            return "IEA"
    window.pos = min(cursor, len(text))
    return ""


def _is_separator_like(char: str) -> bool:
    return len(char) == 1 and not char.isalnum() and char not in WHITESPACE


def _junk_until_isa(window: _Window, reason: str, skip: int, code: str = "022") -> Junk:
    """Skip to the next "ISA" that could open an interchange, reporting what was skipped."""
    start = window.offset
    window.pos += skip
    while True:
        index = window.text.find("ISA", window.pos)
        while index >= 0:
            if _is_separator_like(window.text[index + 3 : index + 4]):
                window.pos = index
                return Junk(start, window.offset - start, reason, code)
            index = window.text.find("ISA", index + 1)
        # keep two characters: an "ISA" may straddle the chunk boundary
        window.pos = max(window.pos, len(window.text) - 3)
        if not window.more():
            window.pos = len(window.text)
            return Junk(start, window.offset - start, reason, code)


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
