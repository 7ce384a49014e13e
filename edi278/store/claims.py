"""Who answers an interchange answered in chunks: one process at a time, and the place
of one that died taken at once.

An interchange answered in chunks (intake._answer_in_chunks) commits its cases as it
goes, so a second receipt of the same bytes (a retry over HTTP, the same file dropped
again, another worker) must not take it up while the first is at work, and must be able
to take it up as soon as the first has died. The claim is therefore a lock that is let
go of when its holder dies, whatever the cause:
- PostgreSQL: a session advisory lock, on a connection of its own for as long as the
  claim is held;
- SQLite in a file: a POSIX byte-range lock on one byte of `<database>-answering`, the
  byte the interchange's hash names (one file for every interchange, never a file each);
- within a process, a thread lock as well: a POSIX lock is the process's, not a thread's.
A second claimant waits for the first, as it waits for the store's writer otherwise.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

# Thread locks by hash, striped: two interchanges sharing a stripe wait for each other
# within one process, which is rare and costs only time.
STRIPES = 64
_THREADS = [threading.Lock() for _ in range(STRIPES)]
_FILES: dict[str, int] = {}  # lock file descriptors by path, open for the process's life
_FILES_LOCK = threading.Lock()
# A forked child holds none of its parent's POSIX locks; a descriptor it inherited is
# shared with the parent, and closing it would let go of the parent's.
os.register_at_fork(after_in_child=_FILES.clear)


def claim_key(sha256: str) -> int:
    """60 bits of the interchange's hash: a PostgreSQL bigint, a file offset."""
    return int(sha256[:15], 16)


@contextmanager
def answering_claim(engine: Engine, sha256: str) -> Iterator[None]:
    """Hold the claim on the interchange of these bytes, waiting while another holds it."""
    key = claim_key(sha256)
    with _THREADS[key % STRIPES]:
        if engine.dialect.name == "postgresql":
            with _advisory_lock(engine, key):
                yield
        else:
            with _byte_lock(engine.url.database or "", key):
                yield


@contextmanager
def _advisory_lock(engine: Engine, key: int) -> Iterator[None]:
    connection = engine.connect()
    try:
        try:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            connection.commit()  # the lock is the session's: no transaction is left open
        except BaseException:
            connection.invalidate()  # it may hold the lock: never back into the pool
            raise
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
            except BaseException:
                connection.invalidate()
                raise
    finally:
        connection.close()


@contextmanager
def _byte_lock(database: str, key: int) -> Iterator[None]:
    if database in ("", ":memory:") or database.startswith("file:"):
        yield  # a database no other process opens: the thread lock is the claim
        return
    descriptor = _lock_file(os.path.realpath(database) + "-answering")
    fcntl.lockf(descriptor, fcntl.LOCK_EX, 1, key)
    try:
        yield
    finally:
        fcntl.lockf(descriptor, fcntl.LOCK_UN, 1, key)


def _lock_file(path: str) -> int:
    """The lock file's descriptor, opened once: closing any descriptor of a file lets go
    of every POSIX lock the process holds on it, another thread's included."""
    with _FILES_LOCK:
        if path not in _FILES:
            _FILES[path] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return _FILES[path]
