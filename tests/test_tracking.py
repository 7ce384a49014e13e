"""Tracking numbers: unique by construction, short, and a mistyped one is caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi278.decide.tracking import (
    MAX_LENGTH,
    Kind,
    TrackingNumberError,
    damm,
    format_number,
    parse_number,
)

pytestmark = pytest.mark.dates

SEQUENCES = st.integers(min_value=1, max_value=10**18)


@given(st.sampled_from(list(Kind)), st.integers(2000, 2099), SEQUENCES)
def test_a_number_reads_back_to_what_made_it(kind, year, sequence):
    number = format_number(kind, year, sequence)
    assert len(number) <= MAX_LENGTH and number.isalnum()
    parsed = parse_number(number)
    assert (parsed.kind, parsed.year, parsed.sequence) == (kind, year % 100, sequence)


@given(SEQUENCES)
def test_every_single_digit_mistake_is_caught(sequence):
    number = format_number(Kind.REFERENCE, 2026, sequence)
    for position in range(1, len(number)):
        for digit in "0123456789":
            if digit != number[position]:
                typo = number[:position] + digit + number[position + 1 :]
                with pytest.raises(TrackingNumberError, match="check digit"):
                    parse_number(typo)


@given(SEQUENCES)
def test_every_swap_of_neighbouring_digits_is_caught(sequence):
    number = format_number(Kind.CERTIFICATION, 2026, sequence)
    for position in range(1, len(number) - 1):
        a, b = number[position], number[position + 1]
        if a != b:
            swapped = number[:position] + b + a + number[position + 2 :]
            with pytest.raises(TrackingNumberError, match="check digit"):
                parse_number(swapped)


def test_the_check_digit_is_damms_and_numbers_start_at_twelve_characters():
    assert damm("572") == 4  # the published example (Damm 2004; Wikipedia)
    assert damm("5724") == 0
    assert format_number(Kind.REFERENCE, 2026, 1) == "R26000000015"
    assert len(format_number(Kind.CERTIFICATION, 2027, 99_999_999)) == 12
    assert len(format_number(Kind.CERTIFICATION, 2027, 100_000_000)) == 13  # grows, never wraps


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "ours start with"),
        ("Z26000000015", "ours start with"),
        ("R2600000001", "at least 11 digits"),
        ("R26-000000015", "at least 11 digits"),
    ],
)
def test_what_is_not_a_number_is_named(typed, reason):
    with pytest.raises(TrackingNumberError, match=reason):
        parse_number(typed)
