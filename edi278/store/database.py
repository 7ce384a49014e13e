"""Opening the database and keeping its schema current.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every
transaction starts with BEGIN IMMEDIATE so that two writers queue instead of failing
halfway. PostgreSQL is reached through psycopg 3 when EDI278_DB names it.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000


class StoreError(RuntimeError):
    """The database cannot be used as it is; the message says what to do."""


def database_url(url: str | None = None, state_dir: Path | str = "var") -> str:
    """The option, else EDI278_DB, else SQLite in the state folder."""
    return url or os.environ.get("EDI278_DB") or f"sqlite:///{Path(state_dir) / 'edi278.db'}"


def connect(url: str) -> Engine:
    """An engine for `url`; SQLite's folder is created and its connections tuned."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoint, never torn
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")

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


def _run(engine: Engine, action, revision: str) -> None:  # type: ignore[no-untyped-def]
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
