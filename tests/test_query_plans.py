"""No statement that answering an interchange, looking a case up or listing the review
queue runs reads a table that grows with every interchange whole: each is an index search
(SQLite's own query plans). A scan costs nothing on a test's few rows and everything a
year later, so only the plan shows it."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from edi278.review import pended_cases
from edi278.store.database import open_database
from edi278.store.inquiry import Question, find_cases
from edi278.store.tables import cases, decisions
from tests.conftest import NOW

SAMPLES = Path(__file__).parents[1] / "samples"
sys.path.insert(0, str(SAMPLES))
from make_expected import answer_samples  # noqa: E402

# What grows with the interchanges received; the reference data and counters do not.
GROWING = {
    "interchanges",
    "answers",
    "interchange_answers",
    "interchange_answer_parts",
    "cases",
    "service_lines",
    "case_providers",
    "decisions",
    "tracking_numbers",
    "audit_log",
    "received_files",
    "idempotency_keys",
}
RUNS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


def _scans(path: Path, statements: dict[str, object]) -> dict[str, list[str]]:
    found = {}
    with sqlite3.connect(path) as connection:
        for statement, parameters in statements.items():
            if not statement.lstrip().upper().startswith(RUNS):
                continue
            plan = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
            whole = [row[-1] for row in plan if row[-1].split()[:1] == ["SCAN"]]
            if any(step.split()[1] in GROWING for step in whole):
                found[" ".join(statement.split())] = whole
    return found


def test_answering_and_looking_up_read_no_growing_table_whole(tmp_path):
    path = tmp_path / "edi278.db"
    statements: dict[str, object] = {}

    def remember(_connection, _cursor, statement, parameters, _context, executemany):
        # A batch SQLAlchemy rendered as one multi-row statement (insertmanyvalues) comes
        # as executemany with its values flat: they are the one set of parameters.
        many = executemany and isinstance(parameters[0], (tuple, list, dict))
        statements.setdefault(statement, parameters[0] if many else parameters)

    with listening(remember):
        # every sample: new requests, a resubmission, duplicates, extension, revision, cancel
        answer_samples(f"sqlite:///{path}")
    engine = open_database(f"sqlite:///{path}")
    with engine.connect() as connection:
        member, reference = connection.execute(
            select(cases.c.member_id, cases.c.administrative_reference).limit(1)
        ).one()
        certified = connection.scalar(
            select(decisions.c.certification_number).where(
                decisions.c.certification_number.is_not(None)
            )
        )
        questions = (
            Question(tracking=reference),
            Question(tracking=certified),
            Question(member_id=member, start=date(2026, 12, 1), end=date(2026, 12, 31)),
        )
        with listening(remember):
            for question in questions:
                assert find_cases(connection, question)  # the statements ran on real rows
            assert pended_cases(connection, NOW)  # the review queue
    engine.dispose()
    assert len(statements) > 20
    assert _scans(path, statements) == {}


@contextmanager
def listening(remember: Callable) -> Iterator[None]:
    event.listen(Engine, "before_cursor_execute", remember)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", remember)
