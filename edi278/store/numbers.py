"""Numbers that must never repeat: outbound control numbers and tracking numbers.

Each is a counter row advanced by an atomic INSERT ... ON CONFLICT DO UPDATE ...
RETURNING in a short transaction: concurrent workers queue on the row (PostgreSQL row
lock, SQLite's single writer) and each gets its own range. A range taken by a worker
that then fails is never handed out again: a gap, never a repeat. What one interchange
needs before it is decided (its reference numbers, its reply's control numbers) is
taken in one statement (`take_before_deciding`).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import BigInteger, Connection, Engine, Insert, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from edi278.decide.tracking import Kind, format_number
from edi278.store.tables import counters, tracking_numbers
from edi278.x12.control import Kind as ControlKind
from edi278.x12.control import within_limit


def advance(connection: Connection, name: str, count: int = 1) -> int:
    """Take `count` values of counter `name`; returns the last one taken."""
    return advance_all(connection, {name: count})[name]


def advance_all(connection: Connection, counts: Mapping[str, int]) -> dict[str, int]:
    """Take `counts[name]` values of each counter in one statement (SQLAlchemy sends the
    rows as one multi-row upsert); returns the last value taken of each. The rows go in
    one order for every caller, so that two workers advancing the same counters on
    PostgreSQL lock them in the same order."""
    statement = _advance_statement(connection.dialect.name)
    rows = [{"name": name, "count": counts[name]} for name in sorted(counts)]
    return {name: int(value) for name, value in connection.execute(statement, rows)}


@cache
def _advance_statement(dialect_name: str) -> Insert:
    """The upsert `advance_all` runs, built once per dialect: building it costs more
    than running it (and one built for several rows at once could not be cached)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    insert = dialect.insert(counters).values(
        name=bindparam("name"), value=bindparam("count", type_=BigInteger)
    )
    return insert.on_conflict_do_update(
        index_elements=[counters.c.name],
        set_={"value": counters.c.value + insert.excluded.value},
    ).returning(counters.c.name, counters.c.value)


class DatabaseControlNumbers:
    """ISA13 and GS06 for what we send, per sender/receiver pair (the x12 ControlNumbers
    protocol), kept in the database so that every worker shares one sequence."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def take(
        self, sender: str, receiver: str, counts: Mapping[ControlKind, int]
    ) -> dict[ControlKind, range]:
        if not any(counts.values()):
            return _control_ranges(sender, receiver, counts, {})
        with self.engine.begin() as connection:
            last = advance_all(connection, _control_counters(sender, receiver, counts))
        return _control_ranges(sender, receiver, counts, last)

    def next(self, sender: str, receiver: str, kind: ControlKind) -> int:
        return self.take(sender, receiver, {kind: 1})[kind][0]


def issue_tracking_numbers(
    bind: Engine | Connection, kind: Kind, count: int, now: datetime
) -> list[str]:
    """`count` fresh tracking numbers of `kind`, recorded as issued (to no case yet): in
    a short transaction of their own, or given a connection, in its transaction."""
    if count < 1:
        return []
    with bind.begin() if isinstance(bind, Engine) else nullcontext(bind) as connection:
        last = advance(connection, f"tracking:{kind}", count)
        return _record_issued(connection, kind, count, last, now)


def issuer_beside(connection: Connection) -> Engine | Connection:
    """Where numbers are issued while `connection` holds a long transaction: SQLite has
    one writer, so on it; PostgreSQL, in short transactions of their own, so that other
    workers are not kept waiting on the counters until it ends."""
    return connection if connection.dialect.name == "sqlite" else connection.engine


@dataclass(frozen=True, slots=True)
class BeforeDeciding:
    """The numbers an interchange needs before its requests are decided."""

    references: list[str]  # administrative references, recorded as issued
    control: dict[ControlKind, range]  # for the reply (see TakenControlNumbers)


def take_before_deciding(
    engine: Engine,
    references: int,
    sender: str,
    receiver: str,
    control: Mapping[ControlKind, int],
    now: datetime,
) -> BeforeDeciding:
    """`references` fresh administrative references and the control numbers of a reply
    from `sender` to `receiver`: one transaction, one statement to advance them all."""
    counts = _control_counters(sender, receiver, control)
    if references:
        counts[f"tracking:{Kind.REFERENCE}"] = references
    if not counts:
        return BeforeDeciding([], _control_ranges(sender, receiver, control, {}))
    with engine.begin() as connection:
        last = advance_all(connection, counts)
        issued = []
        if references:
            reference = last.pop(f"tracking:{Kind.REFERENCE}")
            issued = _record_issued(connection, Kind.REFERENCE, references, reference, now)
    return BeforeDeciding(issued, _control_ranges(sender, receiver, control, last))


class TakenControlNumbers:
    """The control numbers of one reply, taken beforehand (`take_before_deciding`) and
    handed out when the reply asks for them: it must ask for exactly those."""

    def __init__(self, sender: str, receiver: str, taken: dict[ControlKind, range]) -> None:
        self._asked = (sender, receiver, {kind: len(values) for kind, values in taken.items()})
        self._taken: dict[ControlKind, range] | None = taken

    def take(
        self, sender: str, receiver: str, counts: Mapping[ControlKind, int]
    ) -> dict[ControlKind, range]:
        if self._taken is None or (sender, receiver, dict(counts)) != self._asked:
            raise ValueError(
                f"control numbers asked for ({sender} to {receiver}, {dict(counts)}) are not "
                f"those taken beforehand ({self._asked[0]} to {self._asked[1]}, "
                f"{self._asked[2]}), or were handed out already"
            )
        taken, self._taken = self._taken, None
        return taken


def _control_counters(
    sender: str, receiver: str, counts: Mapping[ControlKind, int]
) -> dict[str, int]:
    return {f"{sender}>{receiver}:{kind}": count for kind, count in counts.items() if count}


def _control_ranges(
    sender: str, receiver: str, counts: Mapping[ControlKind, int], last: Mapping[str, int]
) -> dict[ControlKind, range]:
    """The values taken of each kind, in order, from the last value of its counter."""
    taken = {}
    for kind, count in counts.items():
        value = 0
        if count:
            value = within_limit(last[f"{sender}>{receiver}:{kind}"], sender, receiver, kind)
        taken[kind] = range(value - count + 1, value + 1)
    return taken


def _record_issued(
    connection: Connection, kind: Kind, count: int, last: int, now: datetime
) -> list[str]:
    """The numbers of the `count` sequences up to `last`, recorded as issued."""
    sequences = range(last - count + 1, last + 1)
    numbers = [format_number(kind, now.year, sequence) for sequence in sequences]
    connection.execute(
        tracking_numbers.insert(),
        [
            {"number": number, "kind": str(kind), "sequence": sequence, "issued_at": now}
            for number, sequence in zip(numbers, sequences, strict=True)
        ],
    )
    return numbers


def assign_tracking_numbers(connection: Connection, owners: dict[str, int]) -> None:
    """Tie issued numbers to the cases that use them (number -> case id)."""
    if not owners:
        return
    connection.execute(_ASSIGN, [{"tracking_number": n, "owner": c} for n, c in owners.items()])


_ASSIGN = (
    update(tracking_numbers)
    .where(tracking_numbers.c.number == bindparam("tracking_number"))
    .values(case_id=bindparam("owner"))
)
