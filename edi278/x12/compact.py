"""What an interchange must remember of each transaction set until its trailer, in a few
bytes a set: one interchange may carry a million sets, and its 999 is owed only once
its IEA is read.

The usual set (a 278 under the group's convention, a control number of digits, nothing
wrong with it, nothing read of it) is kept as numbers in arrays; any other keeps its
whole report. Both are read back as `TransactionReport`s.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator
from typing import overload

from edi278.x12.report import TransactionReport
from edi278.x12.values import is_digits

# A control number kept as a number: 1 to 18 digits and below 2**32 (ST02 is 4 to 9
# digits: four bytes a set), its width apart so that "0001" and "1" stay two numbers.
MAX_WIDTH = 18
NUMBER_MAX = 0xFFFF_FFFF
OTHER = -1  # the width of a set kept whole
MAX_KEY_WIDTH = 17  # a repeat's key holds the width too


class SetResults:
    """A group's transaction set reports, in the order received: a sequence that keeps
    the usual ones in about seven bytes each."""

    __slots__ = ("_kind_of", "_kinds", "_numbers", "_others", "_widths")

    def __init__(self) -> None:
        self._numbers = array("I")  # unsigned, at least 32 bits: 4 bytes on every target
        self._widths = array("b")
        self._kind_of = array("H")  # into _kinds
        self._kinds: list[tuple[str, str]] = []  # (ST01, ST03): a handful per group
        self._others: dict[int, TransactionReport] = {}

    def append(self, report: TransactionReport) -> None:
        number = report.control_number
        plain = (
            not report.faults
            and report.request is None
            and report.text is None
            and 0 < len(number) <= MAX_WIDTH
            and is_digits(number)
            and int(number) <= NUMBER_MAX
        )
        index = len(self._numbers)
        if plain:
            kind = (report.identifier, report.convention)
            try:
                code = self._kinds.index(kind)
            except ValueError:
                code = len(self._kinds)
                self._kinds.append(kind)
            plain = code < 0xFFFF
        if not plain:
            self._others[index] = report
            self._numbers.append(0)
            self._widths.append(OTHER)
            self._kind_of.append(0)
            return
        self._numbers.append(int(number))
        self._widths.append(len(number))
        self._kind_of.append(code)

    def __len__(self) -> int:
        return len(self._numbers)

    @overload
    def __getitem__(self, index: int) -> TransactionReport: ...
    @overload
    def __getitem__(self, index: slice) -> list[TransactionReport]: ...
    def __getitem__(self, index: int | slice) -> TransactionReport | list[TransactionReport]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("transaction set index out of range")
        return self._at(index)

    def __iter__(self) -> Iterator[TransactionReport]:
        for index in range(len(self._numbers)):
            yield self._at(index)

    def others(self) -> Iterator[TransactionReport]:
        """The sets kept whole (with faults, or read): the only ones that can carry a
        fault or a request."""
        return iter(self._others.values())

    def _at(self, index: int) -> TransactionReport:
        width = self._widths[index]
        if width == OTHER:
            return self._others[index]  # the same object: what is changed on it stays
        identifier, convention = self._kinds[self._kind_of[index]]
        return TransactionReport(identifier, str(self._numbers[index]).zfill(width), convention)


class SeenControlNumbers:
    """The control numbers used so far in a group, to find a repeat: numbers that only
    grow (the usual 0001, 0002 ...) are remembered as eight bytes each, in order, and
    looked up by bisection; any other is remembered as it is."""

    __slots__ = ("_below", "_highest", "_unordered")

    def __init__(self) -> None:
        self._highest = -1  # the largest ordered key so far
        self._below = array("q")  # ordered keys up to _highest, as they came: ascending
        self._unordered: set[str] = set()

    @staticmethod
    def _key(number: str) -> int | None:
        """The number and its width in one signed 64-bit key (10**17 * 32 < 2**63)."""
        if 0 < len(number) <= MAX_KEY_WIDTH and is_digits(number):
            return int(number) * 32 + len(number)
        return None

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, str):
            return False
        key = self._key(number)
        if key is None or key > self._highest:
            return number in self._unordered
        found = bisect_left(self._below, key)
        in_order = found < len(self._below) and self._below[found] == key
        return in_order or number in self._unordered

    def add(self, number: str) -> None:
        key = self._key(number)
        if key is not None and key > self._highest:
            self._highest = key
            self._below.append(key)
        else:
            self._unordered.add(number)
