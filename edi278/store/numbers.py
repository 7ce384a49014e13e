"""Numbers that must never repeat: outbound control numbers and tracking numbers.

Each is a counter row advanced by one atomic INSERT ... ON CONFLICT DO UPDATE ...
RETURNING in its own short transaction: concurrent workers queue on the row (PostgreSQL
row lock, SQLite's single writer) and each gets its own range. A range taken by a
worker that then fails is never handed out again: a gap, never a repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    statement = _advance_statement(connection.dialect.name)
    return int(connection.execute(statement, {"name": name, "count": count}).scalar_one())


@cache
def _advance_statement(dialect_name: str) -> Insert:
    """The upsert `advance` runs, built once per dialect: building it costs more than
    running it."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    count = bindparam("count", type_=BigInteger)
    return (
        dialect.insert(counters)
        .values(name=bindparam("name"), value=count)
        .on_conflict_do_update(
            index_elements=[counters.c.name], set_={"value": counters.c.value + count}
        )
        .returning(counters.c.value)
    )


class DatabaseControlNumbers:
    """ISA13 and GS06 for what we send, per sender/receiver pair (the x12 ControlNumbers
    protocol), kept in the database so that every worker shares one sequence."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def take(
        self, sender: str, receiver: str, counts: Mapping[ControlKind, int]
    ) -> dict[ControlKind, range]:
        wanted = {kind: count for kind, count in counts.items() if count}
        last: dict[ControlKind, int] = {}
        if wanted:
            with self.engine.begin() as connection:
                for kind, count in wanted.items():
                    last[kind] = advance(connection, f"{sender}>{receiver}:{kind}", count)
        taken = {}
        for kind, count in counts.items():
            value = within_limit(last[kind], sender, receiver, kind) if count else 0
            taken[kind] = range(value - count + 1, value + 1)
        return taken

    def next(self, sender: str, receiver: str, kind: ControlKind) -> int:
        return self.take(sender, receiver, {kind: 1})[kind][0]


def issue_tracking_numbers(engine: Engine, kind: Kind, count: int, now: datetime) -> list[str]:
    """`count` fresh tracking numbers of `kind`, recorded as issued (to no case yet)."""
    if count < 1:
        return []
    with engine.begin() as connection:
        last = advance(connection, f"tracking:{kind}", count)
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
