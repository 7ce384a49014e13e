"""Segments to text, with any delimiter set: the mirror image of the tokenizer."""

from __future__ import annotations

from collections.abc import Iterable

from edi278.x12.delimiters import Delimiters
from edi278.x12.segment import Segment, serialize


def write(segments: Iterable[Segment], delimiters: Delimiters) -> str:
    """The segments as X12 text, each closed by the terminator and the line break."""
    end = delimiters.segment + delimiters.line_break
    return "".join(serialize(segment, delimiters) + end for segment in segments)


def encode(text: str) -> bytes:
    """Text read by the tokenizer (Latin-1, one byte per character) back to bytes."""
    return text.encode("latin-1")
