"""Files received for workers (`--queue`): recorded when held, claimed by the worker
answering them, then marked answered or failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import Row

from edi278.store.tables import received_files

QUEUED, ANSWERED, FAILED = "queued", "answered", "failed"


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    id: int
    channel: str
    original_name: str
    source: str
    held_at: Path
    sha256: str
    size: int
    outbox: Path
    status: str
    received_at: datetime
    job_id: int | None = None

    @classmethod
    def of(cls, row: Row) -> ReceivedFile:
        return cls(row.id, row.channel, row.original_name, row.source, Path(row.held_at),
                   row.sha256, row.size, Path(row.outbox), row.status, row.received_at,
                   row.job_id)  # fmt: skip


@dataclass(frozen=True, slots=True)
class NewFile:
    channel: str
    original_name: str
    source: str
    held_at: Path
    sha256: str
    size: int
    outbox: Path


def record(connection: Connection, new: NewFile, received_at: datetime) -> int:
    """The new row's id, status queued; its interchanges are answered as received at
    `received_at`."""
    values = {
        "channel": new.channel,
        "original_name": new.original_name[:255],
        "source": new.source if len(new.source) <= 255 else "..." + new.source[-252:],
        "held_at": str(new.held_at),
        "sha256": new.sha256,
        "size": new.size,
        "outbox": str(new.outbox),
        "status": QUEUED,
        "received_at": received_at,
    }
    return connection.execute(
        insert(received_files).values(values).returning(received_files.c.id)
    ).scalar_one()


def set_job(connection: Connection, file_id: int, job_id: int) -> None:
    connection.execute(
        update(received_files).where(received_files.c.id == file_id).values(job_id=job_id)
    )


def find_held(connection: Connection, held_at: Path) -> ReceivedFile | None:
    row = connection.execute(
        select(received_files).where(received_files.c.held_at == str(held_at))
    ).first()
    return None if row is None else ReceivedFile.of(row)


def claim(connection: Connection, file_id: int) -> ReceivedFile | None:
    """The row, locked until the caller's transaction ends. NOWAIT: should a worker
    taken for dead still be answering it, this fails (and the job is retried later)
    rather than answering the file twice at once."""
    row = connection.execute(
        select(received_files).where(received_files.c.id == file_id).with_for_update(nowait=True)
    ).first()
    return None if row is None else ReceivedFile.of(row)


def finish(
    connection: Connection,
    file_id: int,
    status: str,
    now: datetime,
    by: str,
    error: str | None = None,
) -> None:
    reason = None if error is None else error[:500]
    values = {"status": status, "finished_at": now, "worker": by[:64], "error": reason}
    connection.execute(update(received_files).where(received_files.c.id == file_id).values(values))
