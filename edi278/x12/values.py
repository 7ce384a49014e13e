"""Tests of element values shared by the checks.

`str.isdigit()` is true for any Unicode digit ("³", "٣"), which `int()` refuses and
X12 does not allow: a value of digits is ASCII digits."""

from __future__ import annotations


def is_digits(text: str) -> bool:
    """One or more of 0-9, nothing else."""
    return text.isascii() and text.isdigit()
