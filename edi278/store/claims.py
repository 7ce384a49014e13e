"""Who answers an interchange answered in chunks: one process at a time, and the place
of one that died taken at once.

An interchange answered in chunks (intake._answer_in_chunks) commits its cases as it
goes, so a second receipt of the same bytes (a retry over HTTP, the same file dropped
again, another worker) must not take it up while the first is at work, and must be able
to take it up as soon as the first has died. The claim is therefore a lock that is let
go of when its holder dies, whatever the cause:
- PostgreSQL: a session advisory lock, on a connection of its own for as long as the
  claim is held (a host that vanishes holds it until the server drops its connection);
- SQLite in a file: an open-file-description lock (F_OFD_SETLKW) on one byte of
  `<database>-answering`, the byte the interchange's hash names: one file for every
  interchange, and, unlike a classic POSIX lock, the descriptor's own, so that threads
  exclude each other and the kernel sees no false deadlock between two processes;
- an in-memory SQLite database (no other process opens it): a thread lock.
A second claimant waits for the first, as it waits for the store's writer otherwise.
The marker each chunk moves on is checked in the chunk's transaction as well
(interchanges.mark_requests_done), so a claim lost unnoticed cannot let two processes
write the same interchange.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from edi278.log import get as get_logger
from edi278.store.database import database_file

# Thread locks by hash for in-memory databases, striped: two interchanges sharing a
# stripe wait for each other, which is rare and costs only time.
STRIPES = 64
_THREADS = [threading.Lock() for _ in range(STRIPES)]
LOG = get_logger("edi278.claims")


def _fresh_stripes() -> None:  # a lock a parent's thread held at a fork stays held
    _THREADS[:] = [threading.Lock() for _ in range(STRIPES)]


os.register_at_fork(after_in_child=_fresh_stripes)


def claim_key(sha256: str) -> int:
    """60 bits of the interchange's hash: a PostgreSQL bigint, a file offset."""
    return int(sha256[:15], 16)


@contextmanager
def answering_claim(engine: Engine, sha256: str, wait: bool = True) -> Iterator[bool]:
    """Hold the claim on the interchange of these bytes, waiting while another holds it;
    yields True. With `wait` off, yields False at once when another holds it."""
    key = claim_key(sha256)
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, key, wait) as held:
            yield held
        return
    path = database_file(engine.url.database or "")
    if path is None:
        stripe = _THREADS[key % STRIPES]
        held = stripe.acquire(blocking=wait)
        try:
            yield held
        finally:
            if held:
                stripe.release()
        return
    with _byte_lock(path + "-answering", key, wait) as held:
        yield held


@contextmanager
def _advisory_lock(engine: Engine, key: int, wait: bool) -> Iterator[bool]:
    connection = engine.connect()
    try:
        try:
            asked = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            held = connection.execute(text(f"SELECT {asked}(:key)"), {"key": key}).scalar()
            connection.commit()  # the lock is the session's: no transaction is left open
        except BaseException:
            connection.invalidate()  # it may hold the lock: never back into the pool
            raise
        held = held is not False  # pg_advisory_lock returns no value
        try:
            yield held
        finally:
            if held:
                _unlock(connection, key)
    finally:
        connection.close()


def _unlock(connection: Connection, key: int) -> None:
    """Let go of the lock. A session that cannot is dropped instead (its lock goes with
    it); the interchange was answered either way, so that is no failure of it."""
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        connection.commit()
    except Exception as error:
        LOG.warning("claim.unlock_failed", error=type(error).__name__)
        connection.invalidate()


@contextmanager
def _byte_lock(path: str, key: int, wait: bool) -> Iterator[bool]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:  # closing the descriptor lets go of the lock: it is this description's alone
        # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for an OFD lock)
        request = struct.pack("hhqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, key, 1, 0)
        try:
            fcntl.fcntl(descriptor, fcntl.F_OFD_SETLKW if wait else fcntl.F_OFD_SETLK, request)
        except OSError as error:
            if wait or error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            yield False
            return
        yield True
    finally:
        os.close(descriptor)
