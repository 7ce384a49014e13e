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

from edi278.inquire import Question as InquiryQuestion
from edi278.review import pended_cases
from edi278.store.database import open_database
from edi278.store.inquiry import Question, cases_asked, find_cases
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


# What each way an X215 inquiry names a case is looked up by (store/inquiry.cases_asked):
# the index its plan must use, the sender's other cases never read whole.
INQUIRY_SEARCHES = {
    "certification number": (
        InquiryQuestion(certification_numbers=("C26000000028",), member_id="W555000111"),
        "INTEGER PRIMARY KEY",  # the case ids its number was issued for, looked up first
    ),
    "administrative reference": (
        InquiryQuestion(references=("R26000000028",)),
        "INTEGER PRIMARY KEY",
    ),
    "trace number": (
        InquiryQuestion(traces=(("S02EV20261120", "9SUBMIT001"),)),
        "ix_cases_trace",
    ),
    "member and dates": (
        InquiryQuestion(
            member_id="W555000111",
            providers=("1234567893",),
            start=date(2026, 12, 1),
            end=date(2026, 12, 31),
        ),
        "ix_cases_member_dates",
    ),
    "member by name": (
        InquiryQuestion(member_name=("DOE", "JOHN", date(1978, 9, 22))),
        "ix_cases_member_name",
    ),
}


def test_each_way_an_inquiry_names_a_case_is_an_index_search(tmp_path):
    path = tmp_path / "edi278.db"
    answer_samples(f"sqlite:///{path}")
    engine = open_database(f"sqlite:///{path}")
    for name, (question, index) in INQUIRY_SEARCHES.items():
        statements: dict[str, object] = {}

        def remember(_connection, _cursor, statement, parameters, _context, _many, seen=statements):
            seen.setdefault(statement, parameters)

        with engine.connect() as connection, listening(remember):
            assert cases_asked(connection, "ZZ:SUBMITTER01", question, 20), name  # real rows
        (asked, *_) = [s for s in statements if "FROM cases" in s]
        with sqlite3.connect(path) as connection:
            connection.execute("ANALYZE")  # the planner as a store in use has it: with statistics
            plan = connection.execute(f"EXPLAIN QUERY PLAN {asked}", statements[asked]).fetchall()
        # The search of cases is led by the index named: not by the sender's (which would
        # read every case the sender ever sent), never a scan.
        (leading, *_) = [s for s in (row[-1] for row in plan) if s.split()[1:2] == ["cases"]]
        assert leading.startswith("SEARCH cases USING") and index in leading, (name, leading)
    engine.dispose()
