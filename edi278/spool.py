"""Answer text too large to hold: written in pieces, kept in memory up to a limit, then in
a temporary file, and read back in pieces.

The 278 responses to one interchange of a million requests run to a gigabyte; they are
written as they are made and never held whole. Small answers stay plain strings: the
helpers here take either.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

# Characters held in memory before the spool moves to a temporary file.
IN_MEMORY = 1 << 20
PIECE = 1 << 20  # characters per piece read back


class Spool:
    """Append-only text. X12 text is Latin-1, one byte a character: the file holds the
    characters as bytes, so that lengths and offsets are the same in both."""

    __slots__ = ("_file", "_held", "_held_size", "_size")

    def __init__(self) -> None:
        self._held: list[str] = []
        self._held_size = 0
        self._size = 0
        self._file: IO[bytes] | None = None

    def write(self, text: str) -> None:
        if not text:
            return
        self._size += len(text)
        if self._file is None:
            self._held.append(text)
            self._held_size += len(text)
            if self._held_size <= IN_MEMORY:
                return
            self._file = tempfile.TemporaryFile(prefix="edi278-answer-")  # noqa: SIM115
            text = "".join(self._held)
            self._held, self._held_size = [], 0
        self._file.seek(0, 2)  # a reader left elsewhere: writes go on at the end
        self._file.write(text.encode("latin-1"))

    def __len__(self) -> int:
        return self._size

    def pieces(self, size: int = PIECE) -> Iterator[str]:
        """The text from the start, in pieces of at most `size` characters (held text in
        the pieces it was written). Each call starts again from the beginning."""
        if self._file is None:
            yield from self._held
            return
        self._file.flush()
        position = 0
        while position < self._size:
            self._file.seek(position)
            chunk = self._file.read(min(size, self._size - position))
            if not chunk:
                return
            position += len(chunk)
            yield chunk.decode("latin-1")

    def text(self) -> str:
        """The whole text: for answers known to be small, and for tests."""
        return "".join(self.pieces())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._held, self._held_size = [], 0

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


AnswerText = str | Spool  # an answer's text: whole, or spooled


def pieces_of(text: AnswerText, size: int = PIECE) -> Iterator[str]:
    """The text in pieces, whether whole or spooled."""
    if isinstance(text, Spool):
        yield from text.pieces(size)
    else:
        for start in range(0, len(text), size):
            yield text[start : start + size]


def text_of(text: AnswerText) -> str:
    """The whole text: only where the answer is small (an HTTP body, a test)."""
    return text if isinstance(text, str) else text.text()


def close(text: AnswerText | None) -> None:
    """Let a spooled answer's temporary file go once it has been sent or stored."""
    if isinstance(text, Spool):
        text.close()
