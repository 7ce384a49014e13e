"""The store on SQLite and PostgreSQL: migrations, counters, tracking numbers under
concurrent workers, history that cannot be rewritten, and SQLite writers taking turns."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.exc import DBAPIError

from edi278.decide.tracking import Kind, parse_number
from edi278.store import database
from edi278.store.audit import audit
from edi278.store.numbers import (
    DatabaseControlNumbers,
    TakenControlNumbers,
    advance,
    issue_tracking_numbers,
    take_before_deciding,
)
from edi278.store.tables import audit_log, counters, metadata, ours, tracking_numbers

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
CASE_TABLES = {"trading_partners", "interchanges", "cases", "decisions", "audit_log"}
REFERENCE_TABLES = {"plans", "providers", "network_spans", "members", "eligibility_spans"}


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _columns(engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def _indexes(engine, table: str) -> set[str]:
    return {index["name"] for index in inspect(engine).get_indexes(table)}


def _procrastinate_routines(engine) -> int:
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT (SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%%')"
            " + (SELECT count(*) FROM pg_type WHERE typname LIKE 'procrastinate%%')"
        ).scalar_one()


@BOTH
def test_migrations_build_the_schema_the_code_describes(empty_database_url):
    engine = database.connect(empty_database_url)
    assert database.current_revision(engine) is None and _tables(engine) == set()
    database.upgrade(engine)
    assert database.current_revision(engine) == database.head_revision() == "0014"
    with engine.connect() as connection:
        options = {"compare_type": True, "include_name": ours}  # procrastinate's are its own
        context = MigrationContext.configure(connection, opts=options)
        assert compare_metadata(context, metadata) == []  # no drift from tables.py
    engine.dispose()


@BOTH
def test_downgrade_one_step_and_upgrade_again(empty_database_url):
    engine = database.connect(empty_database_url)
    database.upgrade(engine)
    procrastinate = {"procrastinate_jobs"} if engine.dialect.name == "postgresql" else set()
    assert _tables(engine) >= {"received_files", *procrastinate}
    assert bool(_procrastinate_routines(engine)) == bool(procrastinate)
    database.downgrade(engine, "-1")
    assert database.current_revision(engine) == "0013"
    assert not {"deliveries", "partner_deliveries"} & _tables(engine)
    database.downgrade(engine, "-1")
    assert database.current_revision(engine) == "0012"
    assert "ix_cases_trace" not in _indexes(engine, "cases")
    database.downgrade(engine, "-1")
    assert database.current_revision(engine) == "0011"
    assert "requests_done" not in _columns(engine, "interchanges")
    database.downgrade(engine, "-1")
    assert database.current_revision(engine) == "0010"
    assert "interchange_answer_parts" not in _tables(engine)
    database.downgrade(engine, "-1")
    assert database.current_revision(engine) == "0009"
    assert "reference_authorizations" not in _tables(engine)
    assert "group_npi" not in _columns(engine, "providers")
    assert "medicare_exhausted_from" not in _columns(engine, "members")
    database.downgrade(engine, "-1")
    assert database.current_revision(engine) == "0008"
    assert not {"expires_at", "hint"} & _columns(engine, "api_keys")
    database.downgrade(engine, "-1")
    assert database.current_revision(engine) == "0007" and "users" not in _tables(engine)
    assert "criteria" not in _columns(engine, "decisions")
    assert "address_line1" not in _columns(engine, "members")
    database.downgrade(engine, "-1")
    assert database.current_revision(engine) == "0006"
    indexes = _indexes(engine, "cases")
    assert "ix_cases_member_id" in indexes and "ix_cases_member_dates" not in indexes
    database.downgrade(engine, "-1")
    assert database.current_revision(engine) == "0005"
    assert "copy_bad_data" not in _columns(engine, "trading_partners")
    database.downgrade(engine, "-1")
    assert database.current_revision(engine) == "0004"
    assert not {"received_files", *procrastinate} & _tables(engine)
    assert _procrastinate_routines(engine) == 0  # its functions and types went too
    database.upgrade(engine)
    assert _tables(engine) >= {"received_files", *procrastinate}
    database.downgrade(engine, "0003")
    assert database.current_revision(engine) == "0003"
    assert "role" not in _columns(engine, "api_keys")
    assert "idempotency_keys" not in _tables(engine)
    database.upgrade(engine)
    assert database.current_revision(engine) == "0014" and "role" in _columns(engine, "api_keys")
    assert {"deliveries", "partner_deliveries"} <= _tables(engine)
    assert {"expires_at", "hint"} <= _columns(engine, "api_keys")
    assert "users" in _tables(engine) and "zip" in _columns(engine, "members")
    assert {"ix_cases_member_dates", "ix_cases_trace"} <= _indexes(engine, "cases")
    assert "ix_decisions_certification_number" in _indexes(engine, "decisions")
    assert "ix_interchanges_sender_control" in _indexes(engine, "interchanges")
    database.downgrade(engine, "0002")
    assert "trace" not in _columns(engine, "decisions")
    database.upgrade(engine)
    assert {"trace", "due_at", "validation_loop"} <= _columns(engine, "decisions")
    database.downgrade(engine, "0001")
    assert _tables(engine) >= CASE_TABLES and not REFERENCE_TABLES & _tables(engine)
    database.upgrade(engine)
    assert _tables(engine) >= REFERENCE_TABLES
    database.downgrade(engine, "base")
    assert _tables(engine) == set()
    engine.dispose()


def test_an_empty_sqlite_database_is_brought_up_to_date_on_opening(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'edi278.db'}"  # the folder does not exist yet
    engine = database.open_database(url)
    assert database.current_revision(engine) == database.head_revision()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_a_postgresql_database_behind_is_refused_with_the_command_to_run(empty_database_url):
    with pytest.raises(database.StoreError, match="run `edi278 db upgrade` first"):
        database.open_database(empty_database_url)


def test_control_numbers_count_per_pair_and_kind(engine):
    numbers = DatabaseControlNumbers(engine)
    assert [numbers.next("ZZ:A", "ZZ:B", "interchange") for _ in range(3)] == [1, 2, 3]
    assert numbers.next("ZZ:A", "ZZ:C", "interchange") == 1
    assert numbers.next("ZZ:A", "ZZ:B", "group") == 1
    assert DatabaseControlNumbers(engine).next("ZZ:A", "ZZ:B", "interchange") == 4


def test_tracking_numbers_are_recorded_as_issued(engine):
    first = issue_tracking_numbers(engine, Kind.REFERENCE, 3, NOW)
    second = issue_tracking_numbers(engine, Kind.CERTIFICATION, 2, NOW)
    assert first == ["R26000000015", "R26000000028", "R26000000031"]
    assert [parse_number(n).sequence for n in second] == [1, 2]  # each kind counts alone
    with engine.connect() as connection:
        rows = connection.execute(select(tracking_numbers).order_by(tracking_numbers.c.number))
        assert [(r.number, r.kind, r.case_id) for r in rows] == [
            ("C26000000015", "certification", None),  # the same digits, the same check
            ("C26000000028", "certification", None),
            *((n, "reference", None) for n in first),
        ]


def test_numbers_taken_before_deciding_come_from_the_same_counters_in_one_go(engine):
    numbers = DatabaseControlNumbers(engine)
    assert numbers.next("ZZ:A", "ZZ:B", "group") == 1
    assert issue_tracking_numbers(engine, Kind.REFERENCE, 1, NOW) == ["R26000000015"]
    before = take_before_deciding(engine, 2, "ZZ:A", "ZZ:B", {"interchange": 3, "group": 2}, NOW)
    assert before.references == ["R26000000028", "R26000000031"]
    assert before.control == {"interchange": range(1, 4), "group": range(2, 4)}
    # and the counters go on from there, whoever takes next
    assert numbers.next("ZZ:A", "ZZ:B", "interchange") == 4
    assert issue_tracking_numbers(engine, Kind.REFERENCE, 1, NOW) == ["R26000000044"]
    with engine.connect() as connection:
        issued = connection.execute(
            select(tracking_numbers.c.number).where(tracking_numbers.c.kind == "reference")
        )
        assert sorted(issued.scalars()) == ["R26000000015", "R26000000028", "R26000000031",
                                            "R26000000044"]  # fmt: skip
    nothing = take_before_deciding(engine, 0, "ZZ:A", "ZZ:C", {"interchange": 0, "group": 0}, NOW)
    assert nothing.references == [] and nothing.control == {"interchange": range(1, 1),
                                                            "group": range(1, 1)}  # fmt: skip
    assert numbers.next("ZZ:A", "ZZ:C", "interchange") == 1  # asking for none took none


def test_control_numbers_taken_beforehand_are_handed_out_once_and_only_as_taken():
    taken = {"interchange": range(7, 9), "group": range(4, 5)}
    numbers = TakenControlNumbers("ZZ:A", "ZZ:B", taken)
    with pytest.raises(ValueError, match="not those taken beforehand"):
        numbers.take("ZZ:A", "ZZ:B", {"interchange": 3, "group": 1})
    with pytest.raises(ValueError, match="not those taken beforehand"):
        numbers.take("ZZ:A", "ZZ:C", {"interchange": 2, "group": 1})
    assert numbers.take("ZZ:A", "ZZ:B", {"interchange": 2, "group": 1}) == taken
    with pytest.raises(ValueError, match="handed out already"):
        numbers.take("ZZ:A", "ZZ:B", {"interchange": 2, "group": 1})


DRAW = """
import random, sys
from datetime import UTC, datetime
from edi278.decide.tracking import Kind
from edi278.store.database import open_database
from edi278.store.numbers import issue_tracking_numbers, take_before_deciding

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
engine = open_database(sys.argv[1])
rng, drawn, controls = random.Random(int(sys.argv[2])), [], []
while len(drawn) < 10_000:
    count = min(rng.randint(1, 40), 10_000 - len(drawn))
    if rng.random() < 0.5:
        drawn += issue_tracking_numbers(engine, Kind.REFERENCE, count, NOW)
    else:  # with a reply's control numbers, all counters advanced in one statement
        groups = rng.randint(0, 2)
        before = take_before_deciding(engine, count, "ZZ:US", "ZZ:THEM",
                                      {"interchange": 1, "group": groups}, NOW)
        drawn += before.references
        controls += [f"I{n}" for n in before.control["interchange"]]
        controls += [f"G{n}" for n in before.control["group"]]
print("\\n".join(drawn + controls))  # references begin with R, control numbers I or G
"""


def test_four_workers_draw_forty_thousand_numbers_without_a_repeat_or_a_gap(database_url):
    database.open_database(database_url).dispose()  # schema first, then the race
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", DRAW, database_url, str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(4)
    ]
    drawn, controls = [], []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        drawn += [each for each in out.split() if each[0] == "R"]
        controls += [each for each in out.split() if each[0] != "R"]
    assert len(drawn) == 40_000 and len(set(drawn)) == 40_000
    # control numbers drawn beside them: none repeated, none skipped
    for kind in "IG":
        values = sorted(int(c[1:]) for c in controls if c[0] == kind)
        assert values and values == list(range(1, len(values) + 1))
    sequences = sorted(parse_number(number).sequence for number in drawn)  # every check holds
    assert sequences == list(range(1, 40_001))
    engine = database.open_database(database_url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(tracking_numbers)) == 40_000
        value = connection.scalar(select(counters.c.value).where(counters.c.name.like("tracking%")))
        assert value == 40_000
    engine.dispose()


def test_the_audit_log_refuses_to_be_rewritten(engine):
    """(Decisions likewise: see test_intake.)"""
    with engine.begin() as connection:
        audit(connection, NOW, "test", "checked", "nothing", 1, "a=1")
    for statement in (update(audit_log).values(actor="someone else"), audit_log.delete()):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)
    with engine.connect() as connection:
        assert connection.scalar(select(audit_log.c.actor)) == "test"


def test_timestamps_come_back_in_utc_and_naive_ones_are_refused(engine):
    with engine.begin() as connection:
        audit(connection, NOW, "test", "checked", "nothing", 1)
    with engine.connect() as connection:
        assert connection.scalar(select(audit_log.c.at)) == NOW
    with pytest.raises(Exception, match="timezone-aware"), engine.begin() as connection:
        audit(connection, datetime(2026, 1, 1), "test", "checked", "nothing", 1)


_HOLDER = """
import sys, time
from edi278.store.database import open_database
from edi278.store.numbers import advance
from tests.conftest import NOW
engine = open_database(sys.argv[1])
with engine.begin() as connection:
    advance(connection, "held", 1)
    print("holding", flush=True)
    time.sleep(120)
"""


def test_a_writer_waits_its_turn_behind_another_process_and_goes_on_when_that_one_dies(tmp_path):
    url = f"sqlite:///{tmp_path / 'edi278.db'}"
    engine = database.open_database(url)
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, url], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    taken: list[int] = []

    def write() -> None:
        with engine.begin() as connection:
            taken.append(advance(connection, "mine", 1))

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=1.0)
    assert writer.is_alive() and not taken  # waiting: the other process holds the turn
    holder.kill()  # mid-transaction: its turn ends with it, its write is undone
    holder.wait()
    writer.join(timeout=10)
    assert taken == [1]
    with engine.connect() as connection:
        names = connection.execute(select(counters.c.name)).scalars().all()
    assert "held" not in names
    engine.dispose()


def test_threads_of_one_process_take_turns_and_lose_no_write(tmp_path):
    engine = database.open_database(f"sqlite:///{tmp_path / 'edi278.db'}")

    def read_then_write(_: int) -> None:
        with engine.begin() as connection:  # a read-modify-write: safe only one at a time
            value = connection.execute(select(counters.c.value).where(counters.c.name == "n"))
            current = value.scalar_one_or_none() or 0
            connection.execute(
                counters.insert().prefix_with("OR REPLACE"), {"name": "n", "value": current + 1}
            )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(read_then_write, range(200)))
    with engine.connect() as connection:
        assert connection.execute(select(counters.c.value)).scalar_one() == 200
    engine.dispose()


def test_a_reading_transaction_reads_beside_a_writer_and_sees_what_was_committed(tmp_path):
    engine = database.open_database(f"sqlite:///{tmp_path / 'edi278.db'}")
    with engine.begin() as connection:
        advance(connection, "n", 1)
    writing, done = threading.Event(), threading.Event()

    def write() -> None:
        with engine.begin() as connection:
            advance(connection, "n", 1)
            writing.set()
            done.wait(10)

    writer = threading.Thread(target=write)
    writer.start()
    assert writing.wait(10)
    seen: list[int] = []
    reader = threading.Thread(target=lambda: seen.extend(_counter(database.reading(engine))))
    reader.start()
    reader.join(timeout=5)
    finished_while_writing = not reader.is_alive()
    done.set()
    writer.join()
    reader.join()
    assert finished_while_writing  # it did not wait for the writer's turn
    assert seen == [1]  # the last committed value, not the one being written
    assert _counter(database.reading(engine)) == [2]
    engine.dispose()


def _counter(engine) -> list[int]:
    with engine.begin() as connection:
        return list(connection.execute(select(counters.c.value)).scalars())


def _counter_in_database_file(path) -> int | None:
    """Counter n as the database file alone holds it: what checkpoints have put there,
    not what still waits in the WAL."""
    alone = path.parent / "alone" / path.name
    alone.parent.mkdir(exist_ok=True)
    alone.write_bytes(path.read_bytes())
    connection = sqlite3.connect(alone)
    try:
        row = connection.execute("SELECT value FROM counters WHERE name = 'n'").fetchone()
    except sqlite3.OperationalError:  # not even the schema has reached the file yet
        row = None
    finally:
        connection.close()
        alone.unlink()
    return row[0] if row else None


def test_the_wal_is_checkpointed_every_so_many_writes_with_the_writers_turn_given_back(
    tmp_path, monkeypatch
):
    path = tmp_path / "edi278.db"
    engine = database.open_database(f"sqlite:///{path}")
    engine.dispose()  # connections made from here on are watched
    turn = database._turn_for(str(path))
    checkpoints: list[bool] = []  # for each checkpoint: whether the turn was held then

    @event.listens_for(engine, "connect")
    def _watch(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        def seen(statement: str) -> None:
            if "wal_checkpoint" in statement:
                checkpoints.append(turn.threads.locked())

        dbapi_connection.set_trace_callback(seen)

    monkeypatch.setattr(database, "CHECKPOINT_EVERY", 3)
    turn.commits = 0
    on_disk = []
    for _ in range(7):
        with engine.begin() as connection:
            advance(connection, "n", 1)
        on_disk.append(_counter_in_database_file(path))
    assert on_disk == [None, None, 3, 3, 3, 6, 6]  # SQLite's own checkpoints are off
    assert checkpoints == [False, False]  # run after the turn was given back
    with database.reading(engine).begin() as connection:  # reading commits count for none
        connection.execute(select(counters.c.value)).all()
    assert turn.commits == 7
    engine.dispose()
