"""The planner's picture of tables an interchange fills fast.

PostgreSQL plans a query from the table statistics of its last ANALYZE. An interchange
of a million requests, stored a chunk at a time, fills its tables far faster than
autovacuum looks at them (a minute apart, and only past a tenth of the table changed):
planned to the end as if the cases table were as small as at the start, a lookup
planned as a scan of a small table becomes a scan of everything written so far, once
a chunk (quadratic time). So the tables it fills are analyzed again, in the chunk's
own transaction, each time they have doubled: a few times per interchange, each a
sample of fixed size. SQLite plans by its indexes alone and needs none of this.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

# The tables an interchange's cases fill, and the lookups of later batches read.
GROWING = ("cases", "case_providers", "service_lines", "decisions", "tracking_numbers")
FIRST_REFRESH = 1_000  # rows written before the first ANALYZE


@dataclass(slots=True)
class GrowingTables:
    """Counts what an interchange writes and re-analyzes the tables each time it doubles,
    on the connection that wrote the rows last (its transaction sees them all)."""

    written: int = 0
    next_refresh: int = FIRST_REFRESH
    refreshed: int = 0  # how many times

    def wrote(self, connection: Connection, rows: int) -> None:
        self.written += rows
        if self.written < self.next_refresh or connection.dialect.name != "postgresql":
            return
        # SKIP_LOCKED: the lock ANALYZE takes is held to the end of the transaction; a
        # table another long interchange is analyzing is left to it, never waited for.
        connection.execute(text("ANALYZE (SKIP_LOCKED) " + ", ".join(GROWING)))
        self.refreshed += 1
        self.next_refresh = 2 * self.written
