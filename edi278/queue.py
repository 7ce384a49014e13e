"""Queueing received files for workers (`--queue`, PostgreSQL): a durable copy of each
file is held first, so that its job does not depend on the input staying put; then the
file is recorded and its procrastinate job deferred in one transaction, so a recorded
file always has its job and a job always has its file. `edi278 worker` answers them.

A file is held under HOLD/<day>/<slot>/<its name>, one row per held path. A caller that
may submit the same file again after a crash (the folder watcher recovering what it
had claimed, the SFTP poller resuming from its ledger) passes the same slot, and gets
the row already recorded instead of a second job. On SQLite there are no workers:
`queue_for` says so, and the caller answers in-process as without --queue.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from edi278.clock import Clock, system_clock
from edi278.outbox import AtomicFile
from edi278.store.received import NewFile, find_held, record, set_job

TASK = "edi278.answer_received_file"  # the worker registers its task under this name
MAINTENANCE_QUEUE = "edi278-maintenance"
CHUNK = 1 << 20

# procrastinate's own SQL function (schema of the pinned release, installed by 0005), so
# that the job is inserted by the caller's connection, in its transaction.
DEFER = text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL,"
    " CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1]))"
)

QUEUE = click.option(
    "--queue",
    "queue",
    is_flag=True,
    help="Hold a copy of each file and queue it for `edi278 worker` (PostgreSQL) "
    "instead of answering it here. On SQLite it is answered here, as without --queue.",
)
HOLD = click.option(
    "--hold",
    "hold",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="EDI278_HOLD",
    help="With --queue: where files are held for the workers (shared storage when they "
    "run on other machines). Default: STATE_DIR/held. Env: EDI278_HOLD.",
)


def queue_name(outbox: Path) -> str:
    """The procrastinate queue of the files answered into `outbox` (`edi278 worker
    --outbox` takes only these). Short: it names a NOTIFY channel (63 bytes at most)."""
    return "edi278-" + hashlib.sha256(str(outbox).encode()).hexdigest()[:12]


def defer_job(connection: Connection, queue: str, file_id: int) -> int:
    args = json.dumps({"received_file": file_id})
    return connection.execute(DEFER, {"queue": queue, "task": TASK, "args": args}).scalar_one()


def fresh_slot(now: datetime) -> str:
    return f"{now:%Y-%m-%d}/{secrets.token_hex(8)}"


def slot_of(path: Path) -> str:
    """The same slot for the same file while it lies where it is (a hard link keeps its
    inode and times): a file claimed again after a crash is known by it."""
    found = path.stat()
    identity = f"{found.st_dev}:{found.st_ino}:{found.st_mtime_ns}:{found.st_size}"
    day = datetime.fromtimestamp(found.st_mtime, UTC)
    return f"{day:%Y-%m-%d}/{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class Queued:
    file_id: int
    held_at: Path
    new: bool  # False: this slot was queued before, nothing was added


@dataclass(frozen=True, slots=True)
class Queue:
    engine: Engine
    hold: Path
    channel: str  # file, folder, sftp: recorded with the file's interchanges
    clock: Clock = system_clock
    received_at: datetime | None = None  # stated (--received-at); else when queued

    def submit(self, path: Path, outbox: Path, source: str, slot: str | None = None) -> Queued:
        """Hold a copy of `path` and queue it to be answered into `outbox` (answers named
        after it), once per slot."""
        now = self.clock()
        held_at = (self.hold / (slot or fresh_slot(now)) / path.name).resolve()
        outbox = outbox.resolve()
        if slot is not None:  # a fresh slot is known to no row
            with self.engine.connect() as connection:
                known = find_held(connection, held_at)
            if known is not None:
                return Queued(known.id, held_at, new=False)
        sha256, size = hold_copy(path, held_at)
        new = NewFile(self.channel, path.name, source, held_at, sha256, size, outbox)
        with self.engine.begin() as connection:
            file_id = record(connection, new, self.received_at or now)
            set_job(connection, file_id, defer_job(connection, queue_name(outbox), file_id))
        return Queued(file_id, held_at, new=True)


def queue_for(
    engine: Engine,
    hold: Path,
    channel: str,
    clock: Clock = system_clock,
    received_at: datetime | None = None,
) -> Queue | None:
    """A queue on PostgreSQL; None on SQLite, where files are answered in-process. The
    workers answer each file as received when it was queued, or at `received_at`."""
    if engine.dialect.name != "postgresql":
        return None
    return Queue(engine, hold, channel, clock, received_at)


def queue_files(queue: Queue, files: list[Path], outbox: Path, quiet: bool, as_json: bool) -> int:
    """`process --queue`: each file held and queued, a line or a JSON object for each.
    The exit status: 1 when a file could not be queued (it is named, and nothing of it
    is queued), else 0."""
    failed = 0
    for path in files:
        shown: dict[str, object] = {"input": str(path)}
        try:
            queued = queue.submit(path, outbox, str(path))
            shown |= {"status": "queued", "held_at": str(queued.held_at),
                      "received_file": queued.file_id}  # fmt: skip
        except (OSError, SQLAlchemyError) as error:  # the next file may still go through
            failed += 1
            reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
            shown |= {"status": "not queued", "error": f"{type(error).__name__}: {reason}"}
        if quiet:
            continue
        if as_json:
            click.echo(json.dumps(shown))
        else:
            detail = shown.get("held_at") or shown.get("error")
            click.echo(f"{path}: {shown['status']}: {detail}")
    if not quiet and not as_json:
        click.echo(
            f"{len(files) - failed}/{len(files)} file(s) queued; answers will be in {outbox}"
        )
    return 1 if failed else 0


def hold_copy(source: Path, target: Path) -> tuple[str, int]:
    """Copy `source` to `target` whole or not at all, flushed to disk: (sha256, size).
    A copy left by an attempt cut short is replaced."""
    made = [folder for folder in target.parents if not folder.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)  # only ever an unrecorded copy: recorded ones are found
    digest, size = hashlib.sha256(), 0
    handle = AtomicFile(target)
    try:
        with open(source, "rb") as data:
            for chunk in iter(lambda: data.read(CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        handle.commit()
    except BaseException:
        handle.abort()
        raise
    for folder in made:  # each new folder's entry (the file's own was synced by commit)
        sync_folder(folder.parent)
    return digest.hexdigest(), size


def sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
