"""Shared helpers: build interchanges with chosen faults, and find the public corpus."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from edi278.clock import CLOCK_VARIABLE
from edi278.decide.tracking import Kind, format_number
from edi278.pipeline import acknowledge, examine
from edi278.store.database import connect, open_database, upgrade
from edi278.store.tables import metadata
from edi278.x12.control import MemoryControlNumbers
from edi278.x12.report import InterchangeReport

# The installed command, beside the interpreter running the tests (.venv/bin/edi278).
EDI278 = [str(Path(sys.executable).with_name("edi278"))]
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
# When the sample requests are taken as received (samples/requests/README.md): their
# service dates lie ahead of it. Every process the tests start runs on a clock that
# starts there (EDI278_CLOCK, edi278.clock), so the suite gives the same answers in any
# year; a test about the wall clock itself says so and removes it.
SAMPLES_RECEIVED = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 10:00 America/New_York
os.environ[CLOCK_VARIABLE] = SAMPLES_RECEIVED.isoformat()


def issued(kind: Kind, sequence: int) -> str:
    """The tracking number a process the tests start issues `sequence`-th of its kind:
    stamped with the year of the clock it runs on, never a year written into a test."""
    return format_number(kind, SAMPLES_RECEIVED.year, sequence)


REQUEST_BODY = [
    "BHT*0007*13*REQ1*20261120*0930",
    "HL*1**20*1",
    "NM1*X3*2*ACME HEALTH PLAN*****PI*12345",
    "HL*2*1*21*1",
    "NM1*1P*2*RIVERSIDE ORTHOPEDICS*****XX*1234567893",
    "HL*3*2*22*1",
    "NM1*IL*1*DOE*JANE****MI*W123456789",
    "HL*4*3*EV*0",
    "TRN*1*PE1*9SUBMIT001",
    "UM*HS*I*62*22:B",
    "HI*ABK:M5416",
]


def isa(
    control: int = 1,
    *,
    sender: str = "SUBMITTER01",
    receiver: str = "UMO12345",
    version: str = "00501",
    ack: str = "0",
    usage: str = "T",
    e: str = "*",
    r: str = "^",
    c: str = ":",
) -> str:
    return e.join(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            sender.ljust(15),
            "ZZ",
            receiver.ljust(15),
            "261120",
            "0930",
            r,
            version,
            f"{control:09d}",
            ack,
            usage,
            c,
        ]
    )


def transaction(
    number: int = 1,
    body: list[str] | None = None,
    *,
    convention: str = "005010X217",
    count_adjust: int = 0,
) -> list[str]:
    body = REQUEST_BODY if body is None else body
    st = f"{number:04d}"
    segments = [f"ST*278*{st}*{convention}", *body]
    return [*segments, f"SE*{len(segments) + 1 + count_adjust}*{st}"]


def group(
    control: int = 1,
    sets: list[list[str]] | None = None,
    *,
    functional: str = "HI",
    version: str = "005010X217",
) -> list[str]:
    sets = [transaction()] if sets is None else sets
    return [
        f"GS*{functional}*SUBMITTER01*UMO12345*20261120*0930*{control}*X*{version}",
        *(segment for s in sets for segment in s),
        f"GE*{len(sets)}*{control}",
    ]


def interchange(groups: list[list[str]] | None = None, control: int = 1, **isa_options) -> str:
    groups = [group()] if groups is None else groups
    segments = [
        isa(control, **isa_options),
        *(s for g in groups for s in g),
        f"IEA*{len(groups)}*{control:09d}",
    ]
    return "".join(segment + "~\n" for segment in segments)


def report_of(text: str | bytes) -> InterchangeReport:
    data = text.encode("latin-1") if isinstance(text, str) else text
    reports = list(examine(io.BytesIO(data)))
    assert len(reports) == 1, reports
    return reports[0]


def reports_of(text: str | bytes) -> list[InterchangeReport]:
    data = text.encode("latin-1") if isinstance(text, str) else text
    return list(examine(io.BytesIO(data)))


def answer(text: str | bytes):
    return acknowledge(report_of(text), NOW, MemoryControlNumbers())


CORPUS_SETTING = os.environ.get("EDI278_CORPUS")  # when set, the corpus must be there
# Absolute: tests hand its files to commands that run in folders of their own.
CORPUS = Path(CORPUS_SETTING or Path(__file__).parents[1] / ".." / "shared" / "corpus").absolute()


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The public corpus: skipped when absent, unless EDI278_CORPUS says it must be there."""
    if not CORPUS.is_dir():
        if CORPUS_SETTING:
            pytest.fail(f"EDI278_CORPUS={CORPUS_SETTING} is not a folder")
        pytest.skip("the public corpus (../shared/corpus) is not here")
    return CORPUS


# --- databases: every store test runs on SQLite and on PostgreSQL --------------------------

POSTGRES_URL = os.environ.get("EDI278_TEST_POSTGRES_URL")
# CI sets it: the PostgreSQL half must run there, so a missing URL or a server out of
# reach fails instead of skipping.
POSTGRES_REQUIRED = os.environ.get("EDI278_REQUIRE_POSTGRES") == "1"
POSTGRES_HINT = (
    "the PostgreSQL half of the store tests is skipped: set EDI278_TEST_POSTGRES_URL to a "
    "server the tests may create databases on, e.g. "
    "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def without_postgres(reason: str) -> NoReturn:
    """Skip with `reason`, or fail with it when EDI278_REQUIRE_POSTGRES=1."""
    if POSTGRES_REQUIRED:
        pytest.fail(f"EDI278_REQUIRE_POSTGRES=1, but {reason}")
    pytest.skip(reason)


class PostgresDatabases:
    """Fresh databases on the test server, each dropped when the run ends."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self) -> str:
        name = f"edi278_test_{os.getpid()}_{secrets.token_hex(4)}"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.created:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    if not POSTGRES_URL:
        without_postgres(POSTGRES_HINT)
    databases = PostgresDatabases(POSTGRES_URL)
    try:
        with databases.admin.connect():
            pass
    except OperationalError as error:
        databases.admin.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        without_postgres(
            f"the PostgreSQL server of EDI278_TEST_POSTGRES_URL is out of reach: {reason}"
        )
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def postgres_store(postgres: PostgresDatabases) -> str:
    """One database for the run, schema current; emptied before each test that uses it."""
    url = postgres.create()
    engine = connect(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """An empty store with the current schema, on each database in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'edi278.db'}"
    url = request.getfixturevalue("postgres_store")
    engine = create_engine(url)
    with engine.begin() as connection:  # TRUNCATE passes the append-only row triggers
        names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def empty_database_url(request, tmp_path) -> str:
    """A database with no schema at all (for migrations), SQLite or PostgreSQL."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("postgres").create()


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def stocked(engine) -> Engine:
    """A store with the demo reference data (samples/reference) loaded."""
    from edi278.store.reference import load_reference

    load_reference(engine, Path(__file__).parents[1] / "samples" / "reference")
    return engine


# --- a real `edi278 serve` ------------------------------------------------------------------


def wait_until_serving(server: subprocess.Popen, base: str, timeout: float = 30) -> None:
    """Until the server answers /healthz; fails at once, with its stderr when piped, if
    the process ends first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            said = server.stderr.read() if server.stderr else ""
            pytest.fail(f"edi278 serve exited {server.returncode} before it was up: {said}")
        assert time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.2)


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
