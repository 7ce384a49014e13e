"""Opening the database and keeping its schema current.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every
transaction that may write starts with BEGIN IMMEDIATE, after its turn on a lock
(`QueuedWrites`), so that writers queue instead of failing halfway; transactions that
only read (`reading`) begin deferred and run beside them. PostgreSQL is reached through
psycopg 3 when EDI278_DB names it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
# Writing transactions between checkpoints of the WAL into the database file. SQLite's
# own automatic checkpoint runs inside the commit that crosses its threshold, while that
# writer still holds the turn every other writer of every process waits for: its page
# copies and fsyncs (10 to 15 ms here) would stall them all. Ours runs after the turn is
# given back, PASSIVE, beside the writers that follow.
CHECKPOINT_EVERY = 200


class StoreError(RuntimeError):
    """The database cannot be used as it is; the message says what to do."""


class QueuedWrites(sqlite3.Connection):
    """A SQLite connection whose transactions take turns: first on a lock shared by every
    connection of this process to the same file, then on a file lock beside it shared
    with other processes. SQLite's own busy wait sleeps up to 100 ms a try, so under
    load writers would spend more time asleep than writing; a writer waiting its turn
    here wakes within a few milliseconds of the one before it ending."""

    def __init__(self, database: str | bytes | os.PathLike, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._turn = _turn_for(os.fsdecode(database))
        self._held: _Turn | None = None  # the turn, while this connection holds it

    def begin_immediate(self) -> None:
        if self._turn is not None:
            self._turn.take()
            self._held = self._turn
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._end_turn()
            raise

    def commit(self) -> None:
        checkpoint = False
        try:
            super().commit()
            checkpoint = self._held is not None and self._held.count_commit()
        finally:
            self._end_turn()
        if checkpoint:  # after the turn is given back: the next writer need not wait
            _passive_checkpoint(self)

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._end_turn()

    def _end_turn(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.give_back()


class _Turn:
    """One database file's writer turn: a thread lock for this process, and an flock
    on `<database>-lock` for the others (released by the kernel if a process dies)."""

    def __init__(self, database: str) -> None:
        self.threads = threading.Lock()
        self.file = os.open(f"{database}-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.commits = 0  # writing transactions of this process, counted in turn

    def count_commit(self) -> bool:
        """Count a writing commit (the turn held); True when a checkpoint is due."""
        self.commits += 1
        return self.commits % CHECKPOINT_EVERY == 0

    def take(self) -> None:
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        if not self.threads.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise _locked("another transaction of this process")
        pause = 0.0005
        while True:
            try:
                fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self.threads.release()
                    raise _locked("another process") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.001)

    def give_back(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.threads.release()


def _locked(holder: str) -> sqlite3.OperationalError:
    return sqlite3.OperationalError(
        f"database is locked: {holder} held it for {BUSY_TIMEOUT_MS // 1000} s"
    )


_TURNS: dict[str, _Turn] = {}
_TURNS_LOCK = threading.Lock()
# A forked child must not share its parent's lock file description (flock would not
# tell them apart) or a lock a parent thread held at the fork.
os.register_at_fork(after_in_child=_TURNS.clear)


def database_file(database: str) -> str | None:
    """The real path of the file a SQLite database name opens, which other connections
    and processes share; None for an in-memory one (no one else opens it)."""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return os.path.realpath(database)


def _turn_for(database: str) -> _Turn | None:
    """The turn of a database file (None for an in-memory one)."""
    path = database_file(database)
    if path is None:
        return None
    with _TURNS_LOCK:
        if path not in _TURNS:
            _TURNS[path] = _Turn(path)
        return _TURNS[path]


READING = "edi278_reading"


def checkpoint(engine: Engine) -> None:
    """Copy SQLite's WAL into the database file now (PASSIVE: beside the writers), so
    that a long run of writing transactions keeps it short; nothing for PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    pooled = engine.raw_connection()  # outside any transaction, as SQLite requires
    try:
        _passive_checkpoint(pooled.driver_connection)  # type: ignore[arg-type]
    finally:
        pooled.close()


def _passive_checkpoint(connection: sqlite3.Connection) -> None:
    # A failure leaves the frames in the WAL; the next checkpoint copies them too.
    with contextlib.suppress(sqlite3.Error):
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()


def reading(engine: Engine) -> Engine:
    """The engine for transactions that only read. On SQLite they begin deferred and
    take no writer's turn, so they run beside the writer (WAL); one that wrote would
    fail rather than wait."""
    return engine.execution_options(**{READING: True})


def database_url(url: str | None = None, state_dir: Path | str = "var") -> str:
    """The option, else EDI278_DB, else SQLite in the state folder."""
    return url or os.environ.get("EDI278_DB") or f"sqlite:///{Path(state_dir) / 'edi278.db'}"


# Statements psycopg remembers per connection, to prepare those run often (it keeps the
# last so many by their text). An interchange stored a batch at a time sends statements
# of hundreds of kilobytes (a batch's rows in one INSERT), each a little different: a
# hundred of them, psycopg's default, held 25 MB. The statements run often are few.
PREPARED_MAX = 16


def _few_prepared(dbapi_connection: Any, _record: object) -> None:
    if hasattr(dbapi_connection, "prepared_max"):  # psycopg 3
        dbapi_connection.prepared_max = PREPARED_MAX


def connect(url: str) -> Engine:
    """An engine for `url`; SQLite's folder is created and its connections tuned."""
    parsed = make_url(url)
    # hide_parameters: an error's text names the statement, never its values, which hold
    # request content (a 278, a member's name) that would reach a log or a terminal
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
        if parsed.get_backend_name() == "postgresql":
            event.listen(engine, "connect", _few_prepared)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "factory": QueuedWrites},
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoint, never torn
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # QueuedWrites checkpoints, out of turn
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        if connection.get_execution_options().get(READING):
            connection.exec_driver_sql("BEGIN")  # WAL: reads beside the writer, no turn taken
        else:
            connection.connection.dbapi_connection.begin_immediate()

    return engine


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations have a head"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, command.downgrade, revision)


def _run(engine: Engine, action, revision: str) -> None:
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


def open_database(url: str) -> Engine:
    """An engine whose schema is current. SQLite, owned by this service, is brought up
    to date here; a PostgreSQL database shared by many workers is upgraded on purpose,
    with `edi278 db upgrade`, and refused until it is."""
    engine = connect(url)
    current, head = current_revision(engine), head_revision()
    if current == head:
        return engine
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return engine
    engine.dispose()
    raise StoreError(
        f"the database {make_url(url).render_as_string(hide_password=True)} is at schema "
        f"revision {current or 'none (empty)'}, this version needs {head}: "
        "run `edi278 db upgrade` first"
    )
