"""Values for an IN list, a statement's worth at a time.

PostgreSQL's protocol carries at most 65,535 parameters a statement (and SQLite's default
build 32,766), and one interchange may bring a hundred thousand requests: a list of their
references, members or case ids is sent in slices well within both."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TypeVar

# Values of one IN list per statement: a few statements for the largest interchange, and
# room for the statement's other parameters.
IN_LIST_LIMIT = 10_000

T = TypeVar("T", str, int)


def slices(values: Collection[T]) -> Iterator[list[T]]:
    """The values in lists of at most IN_LIST_LIMIT, sorted (the same values make the
    same statements); none for no values."""
    ordered = sorted(values)
    for at in range(0, len(ordered), IN_LIST_LIMIT):
        yield ordered[at : at + IN_LIST_LIMIT]
