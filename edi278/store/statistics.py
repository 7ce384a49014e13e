"""The planner's picture of tables that grow inside one long transaction.

PostgreSQL plans a query from the table statistics of its last ANALYZE, and those count
no row that a transaction still open has written. An interchange of a million requests,
stored a batch at a time in one transaction, would be planned to the end as if its
cases table were as small as at the start: a lookup planned as a scan of a small table
becomes a scan of everything written so far, once a batch (quadratic time). ANALYZE in
that transaction counts its own rows, so the tables it fills are analyzed again each
time they have doubled: a few times per interchange, each a sample of fixed size.
SQLite plans by its indexes alone and needs none of this. While such a transaction
lasts, autovacuum leaves those tables alone (the lock ANALYZE took is still held).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

# The tables an interchange's cases fill, and the lookups of later batches read.
GROWING = ("cases", "case_providers", "service_lines", "decisions", "tracking_numbers")
FIRST_REFRESH = 1_000  # rows written before the first ANALYZE


@dataclass(slots=True)
class GrowingTables:
    """Counts what a transaction writes and re-analyzes the tables each time it doubles."""

    connection: Connection
    written: int = 0
    next_refresh: int = FIRST_REFRESH
    refreshed: int = 0  # how many times

    def wrote(self, rows: int) -> None:
        self.written += rows
        if self.written < self.next_refresh or self.connection.dialect.name != "postgresql":
            return
        # SKIP_LOCKED: the lock ANALYZE takes is held to the end of the transaction; a
        # table another long interchange is analyzing is left to it, never waited for.
        self.connection.execute(text("ANALYZE (SKIP_LOCKED) " + ", ".join(GROWING)))
        self.refreshed += 1
        self.next_refresh = 2 * self.written
