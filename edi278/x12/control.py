"""Outgoing control numbers (ISA13, GS06) that never repeat for a sender/receiver pair.

The syntax layer only states what it needs; the database keeps the counters that
workers share (edi278.store.numbers), memory keeps them for tests and one-off runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

Kind = Literal["interchange", "group"]
MAXIMUM = {"interchange": 999_999_999, "group": 999_999_999}  # ISA13 is 9 digits, GS06 too


class ControlNumbers(Protocol):
    def take(self, sender: str, receiver: str, counts: Mapping[Kind, int]) -> dict[Kind, range]:
        """`counts[kind]` fresh numbers of each kind at once (a reply takes all it needs
        in one go), in the order they are to be used."""
        ...


class ControlNumbersExhausted(RuntimeError):
    pass


def within_limit(value: int, sender: str, receiver: str, kind: Kind) -> int:
    """The value, if the kind's width can carry it: control numbers never wrap."""
    if value > MAXIMUM[kind]:
        raise ControlNumbersExhausted(
            f"{kind} control numbers from {sender} to {receiver} are used up "
            f"({MAXIMUM[kind]}); they may never repeat, so a new sender ID is needed"
        )
    return value


class MemoryControlNumbers:
    """For tests and one-off runs that keep nothing."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def take(self, sender: str, receiver: str, counts: Mapping[Kind, int]) -> dict[Kind, range]:
        taken = {}
        for kind, count in counts.items():
            key = f"{sender}>{receiver}:{kind}"
            value = self._counters.get(key, 0) + count
            if count:
                self._counters[key] = within_limit(value, sender, receiver, kind)
            taken[kind] = range(value - count + 1, value + 1)
        return taken

    def next(self, sender: str, receiver: str, kind: Kind) -> int:
        return self.take(sender, receiver, {kind: 1})[kind][0]
