"""Tracking numbers: what they look like and how a mistyped one is caught.

A number is a kind letter, the two-digit year of issue, a sequence of at least eight
digits that never repeats for the kind, and a Damm check digit over the digits:
R2600000042 + check. The Damm check catches every single-digit mistake and every swap
of two adjacent digits, the two most common ways a number is mistyped when read out
over the phone. At twelve characters for the first hundred million numbers of a kind
it stays far below the 30 that downstream systems still keep from the 4010 era.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from edi278.x12.values import is_digits

SEQUENCE_DIGITS = 8  # the width at least; the sequence grows past it rather than wrap
MAX_LENGTH = 30

# The weakly totally anti-symmetric quasigroup of order 10 (Damm, 2004).
DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


class Kind(enum.StrEnum):
    CERTIFICATION = "certification"  # HCR02, for certified outcomes
    REFERENCE = "reference"  # REF NT, the case's administrative reference

    @property
    def letter(self) -> str:
        return {"certification": "C", "reference": "R"}[self.value]


class TrackingNumberError(ValueError):
    """A tracking number that cannot be one of ours; the message says why."""


def damm(digits: str) -> int:
    interim = 0
    for digit in digits:
        interim = DAMM[interim][int(digit)]
    return interim


def format_number(kind: Kind, year: int, sequence: int) -> str:
    if sequence < 1:
        raise ValueError("sequences start at 1")
    digits = f"{year % 100:02d}{sequence:0{SEQUENCE_DIGITS}d}"
    number = f"{kind.letter}{digits}{damm(digits)}"
    if len(number) > MAX_LENGTH:
        raise ValueError(f"tracking number {number} is longer than {MAX_LENGTH} characters")
    return number


@dataclass(frozen=True, slots=True)
class TrackingNumber:
    kind: Kind
    year: int  # two digits
    sequence: int
    text: str


def parse_number(text: str) -> TrackingNumber:
    """The parts of a tracking number as typed (spaces and case forgiven), or a
    TrackingNumberError that says what is wrong with it."""
    cleaned = "".join(text.split()).upper()
    kinds = {kind.letter: kind for kind in Kind}
    if not cleaned or cleaned[0] not in kinds:
        raise TrackingNumberError(
            f"{text!r} is not a tracking number: ours start with "
            + " or ".join(f"{letter} ({kind.value})" for letter, kind in kinds.items())
        )
    digits = cleaned[1:]
    if not is_digits(digits) or len(digits) < 2 + SEQUENCE_DIGITS + 1:
        raise TrackingNumberError(
            f"{text!r} is not a tracking number: after the letter come at least "
            f"{2 + SEQUENCE_DIGITS + 1} digits"
        )
    if damm(digits) != 0:  # a Damm-checked number, check digit included, folds to 0
        raise TrackingNumberError(
            f"{text!r} fails its check digit: a digit is mistyped or two are swapped"
        )
    return TrackingNumber(kinds[cleaned[0]], int(digits[:2]), int(digits[2:-1]), cleaned)
