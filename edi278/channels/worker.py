"""`edi278 worker`: answer the files queued with --queue (edi278.queue), with any number
of workers on any number of machines against one PostgreSQL database (procrastinate).

Each file is answered exactly once:
- procrastinate hands each job to one worker (FOR UPDATE SKIP LOCKED), one job per file;
- the job locks its file's row (NOWAIT) while it answers it and marks it answered in
  that same transaction, so a job run again for an answered file writes nothing, and
  two runs of one job never answer at the same time (the second is retried later);
- a job run again after an attempt was cut short answers into a scratch folder and
  delivers only the answers the outbox lacks, compared by content, as the folder
  watcher's recovery does: the store replays what the first attempt committed, byte
  for byte, and makes nothing twice (edi278.channels.folder.answer_again).

Retries: an infrastructure failure (a file or the database out of reach) is retried
after 2 s, 4 s, 8 s ... 256 s; after the last the file is marked failed with its reason.
A worker killed mid-job stops its heartbeat (sent every third of --stalled-after); a
periodic task on the surviving workers retries the jobs of a worker silent for longer
than --stalled-after, with procrastinate's stalled-job detection.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from edi278 import heap, log
from edi278.batch import FileSummary, process_file
from edi278.channels import answerer, intake_for
from edi278.channels.folder import answer_again, describe
from edi278.cli_store import DATABASE, POLICY, STATE_DIR, database, policy, service_clock
from edi278.clock import Clock
from edi278.decide.policy import Policy
from edi278.ig import Guide
from edi278.intake import Answer, Fingerprint
from edi278.outbox import sweep
from edi278.queue import MAINTENANCE_QUEUE, TASK, queue_name
from edi278.store.database import database_url
from edi278.store.received import ANSWERED, FAILED, ReceivedFile, claim, finish
from edi278.x12.report import InterchangeReport

if TYPE_CHECKING:  # imported when a worker starts, not by every command
    import procrastinate

LOG = log.get("edi278.worker")
RETRIES = 8  # 2 s, 4 s ... 256 s: some eight minutes of outage ridden out
RETRY_STALLED = "edi278.retry_stalled_jobs"
SCRATCH = ".answering"  # beside the held file: answers made again, before delivery


class Retryable(Exception):
    """An infrastructure failure: the job is tried again later."""


class Unanswerable(Exception):
    """Not to be retried (a fault in the program): the file is marked failed."""


@dataclass(frozen=True, slots=True)
class Services:
    """What every job of this worker shares."""

    engine: Engine
    policy: Policy
    guide: Guide
    stalled_after: float
    name: str  # host:pid, recorded with each file answered
    clock: Clock


def run_job(services: Services, file_id: int, attempts: int) -> str:
    """Answer one received file; raises Retryable or Unanswerable (messages without
    content: no PHI reaches procrastinate's log) when it could not."""
    try:
        return answer_file(services, file_id, retried=attempts > 0)
    except (Retryable, OSError, SQLAlchemyError) as error:
        reason = log.mask_text(str(error) if isinstance(error, Retryable) else describe(error))
        if attempts >= RETRIES:
            give_up(services, file_id, reason)
        raise Retryable(reason) from None
    except Exception as error:  # a fault in the program: retrying would not help
        reason = log.mask_text(describe(error))
        give_up(services, file_id, reason)
        raise Unanswerable(reason) from None


def answer_file(services: Services, file_id: int, retried: bool) -> str:
    with services.engine.connect() as connection, connection.begin():
        found = claim(connection, file_id)
        if found is None:
            LOG.warning("file.missing", received_file=file_id)
            return "missing"
        if found.status == ANSWERED:  # by an earlier run whose job ended unacknowledged
            return "answered before"
        summary = answer(services, found, retried)
        if summary.error:
            raise Retryable(summary.error)
        finish(connection, file_id, ANSWERED, services.clock(), services.name)
    LOG.info("file.answered", received_file=file_id, status=summary.status, retried=retried)
    return summary.status


def answer(services: Services, found: ReceivedFile, retried: bool) -> FileSummary:
    """The held file answered through the store, recorded as from where it came and
    as received when it was queued."""
    intake = intake_for(services.engine, found.channel, "worker", services.policy)
    respond = answerer(intake, services.clock, found.received_at)
    source = found.source

    def as_received(report: InterchangeReport, fingerprint: Fingerprint, _held: str) -> Answer:
        return respond(report, fingerprint, source)

    if retried:  # cut short before: what the dead attempt left half-written goes first
        if found.outbox.is_dir():
            sweep(found.outbox)
        scratch = found.held_at.parent / SCRATCH / "answers"
        return answer_again(found.held_at, found.outbox, as_received, services.guide, scratch)
    return process_file(found.held_at, found.outbox, as_received, services.guide, listed=0)


def give_up(services: Services, file_id: int, reason: str) -> None:
    try:
        with services.engine.begin() as connection:
            finish(connection, file_id, FAILED, services.clock(), services.name, reason)
    except SQLAlchemyError as error:  # the job fails all the same; the row stays queued
        LOG.error("file.not_marked_failed", received_file=file_id, reason=describe(error))
    LOG.error("file.failed", received_file=file_id, reason=reason)


def build_app(conninfo: str, stalled_after: float) -> procrastinate.App:
    """The procrastinate app: the file task, and the periodic retry of stalled jobs."""
    import procrastinate
    from procrastinate.exceptions import ConnectorException

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    retry = procrastinate.RetryStrategy(
        max_attempts=RETRIES, exponential_wait=2, retry_exceptions=[Retryable]
    )

    @app.task(name=TASK, pass_context=True, retry=retry)
    def answer_received_file(context: procrastinate.JobContext, received_file: int) -> str:
        services: Services = context.additional_context["services"]
        return run_job(services, received_file, context.job.attempts)

    every = max(1, round(stalled_after / 3))

    @app.periodic(cron=f"* * * * * */{every}")
    @app.task(name=RETRY_STALLED, queue=MAINTENANCE_QUEUE, queueing_lock=RETRY_STALLED,
              pass_context=True)  # fmt: skip
    async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> int:
        manager = context.app.job_manager
        stalled = await manager.get_stalled_jobs(
            task_name=TASK, seconds_since_heartbeat=stalled_after
        )
        retried = 0
        for job in stalled:
            try:
                await manager.retry_job(job)
                retried += 1
            except ConnectorException:  # retried meanwhile by another worker's run
                continue
            LOG.warning("job.stalled_retried", job=job.id, **job.task_kwargs)
        await manager.prune_stalled_workers(stalled_after)
        return retried

    return app


def libpq(url: str) -> str:
    """The SQLAlchemy URL (postgresql+psycopg://...) as a libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


FOLDER = click.Path(file_okay=False, path_type=Path)


@click.command(short_help="Answer the files queued with --queue (PostgreSQL).")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    envvar="EDI278_WORKER_CONCURRENCY",
    help="Files answered at once by this worker (threads: they overlap database round "
    "trips; use a worker per core for more). Env: EDI278_WORKER_CONCURRENCY.",
)
@click.option(
    "--outbox",
    "outboxes",
    multiple=True,
    type=FOLDER,
    help="Answer only files queued for this outbox (repeatable; as the queueing machine "
    "names it). Default: every queued file.",
)
@click.option(
    "--stalled-after",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds without a heartbeat after which a worker is taken for dead and its "
    "jobs are retried by the others (heartbeats every third of this).",
)
@STATE_DIR
@DATABASE
@POLICY
def worker(
    concurrency: int,
    outboxes: tuple[Path, ...],
    stalled_after: float,
    state_dir: Path,
    db_url: str | None,
    policy_path: Path | None,
) -> None:
    """Answer the files queued by `process --queue`, `watch --queue` and `sftp --queue`
    into the outbox each was queued for, as `process` answers them: each file exactly
    once, whichever of any number of workers on any number of machines takes it. Needs
    PostgreSQL (--db or EDI278_DB) upgraded with `edi278 db upgrade`; the holding
    folder and outboxes on storage every worker reaches under the same paths. On
    SQLite it exits 2: there --queue answers files in-process.

    A failure to reach a file or the database is retried with backoff (2 s doubling to
    256 s, 8 times), then the file is marked failed. The jobs of a worker killed
    mid-job are retried by the others once it has been silent for --stalled-after.
    SIGTERM or SIGINT: the files in hand are finished, then exit 0.

    \b
    Example:
      EDI278_DB=postgresql+psycopg://edi278@db.example/edi278 edi278 worker --concurrency 2
    """
    url = database_url(db_url, state_dir)
    if make_url(url).get_backend_name() != "postgresql":
        raise click.UsageError(
            "edi278 worker needs PostgreSQL (--db or EDI278_DB=postgresql+psycopg://...): "
            "on SQLite there is no queue, and --queue answers files in-process"
        )
    log.configure("INFO")  # a service says what it does; procrastinate's lines bridged too
    name = f"{socket.gethostname()}:{os.getpid()}"
    services = Services(
        database(url, state_dir), policy(policy_path), Guide(), stalled_after, name, service_clock()
    )
    services.guide.warm()
    heap.settle()
    queues = [queue_name(path.resolve()) for path in outboxes]
    app = build_app(libpq(url), stalled_after)
    app.run_worker(
        queues=[*queues, MAINTENANCE_QUEUE] if queues else None,
        name=f"edi278@{name}",
        concurrency=concurrency,
        update_heartbeat_interval=stalled_after / 3,
        stalled_worker_timeout=stalled_after,
        delete_jobs="successful",  # received_files keeps the record
        additional_context={"services": services},
    )
