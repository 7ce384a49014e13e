"""The `deliveries` commands: the final 278s on their way back to requesters (a decision
made after the request was answered), listed, sent when due, and retried."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table

from edi278 import log
from edi278.channels.deliveries import Attempt, Sending, run_due
from edi278.cli_store import (
    CALLBACK_CA,
    CALLBACK_TIMEOUT,
    DATABASE,
    MAX_ATTEMPTS,
    POLICY,
    SFTP_CONFIG,
    STATE_DIR,
    database,
    delivery_routes,
    policy,
    service_clock,
)
from edi278.notices.words import local_iso, local_minute
from edi278.store.database import reading
from edi278.store.deliveries import STATUSES, DeliveryError, listing, retry, shown_url


@click.group()
def deliveries() -> None:
    """Final 278s on their way back to requesters: decisions made after the request was
    answered (a reviewer's), sent the way the request came."""


@deliveries.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only those in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per delivery.")
@STATE_DIR
@DATABASE
@POLICY
def deliveries_list(
    status: str | None, as_json: bool, state_dir: Path, db_url: str | None, policy_path: Path | None
) -> None:
    """Deliveries, newest first: id, the case's reference, partner, channel, where to,
    state, attempts, next attempt, last error. Nothing of the member, nor the 278.
    Times are the plan's.

    \b
    Examples:
      edi278 deliveries list --status failed
      edi278 deliveries list --json
    """
    zone = ZoneInfo(policy(policy_path).payer.time_zone)
    with reading(database(db_url, state_dir)).begin() as connection:
        found = listing(connection, status)
    if as_json:
        for item in found:
            click.echo(json.dumps({key: local_iso(value, zone) if key.endswith("_at") else value
                                   for key, value in item.items()}))  # fmt: skip
        return
    console = Console() if sys.stdout.isatty() else Console(width=200)  # piped: no wrapping
    if not found:
        console.print("no delivery" + (f" {status}" if status else ""))
        return
    table = Table(header_style="bold")
    for heading in ("id", "case", "partner", "channel", "to", "status", "attempts",
                    "next attempt", "last error", "created", "delivered"):  # fmt: skip
        table.add_column(heading, overflow="fold")
    for item in found:
        table.add_row(
            str(item["id"]),
            item["reference"],
            item["partner"] or "",
            item["channel"],
            "/".join(filter(None, (item["destination"], item["name"])))
            if item["channel"] != "http"
            else item["destination"] or "",
            item["status"],
            str(item["attempts"]),
            local_minute(item["next_attempt_at"], zone),
            item["last_error"] or "",
            local_minute(item["created_at"], zone),
            local_minute(item["delivered_at"], zone),
        )
    console.print(table)
    console.print(f"{len(found)} deliver{'y' if len(found) == 1 else 'ies'}")


@deliveries.command("run")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Without --once: how often to look for deliveries that have come due.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per attempt.")
@CALLBACK_CA
@CALLBACK_TIMEOUT
@MAX_ATTEMPTS
@STATE_DIR
@DATABASE
def deliveries_run(
    once: bool,
    poll_seconds: float,
    as_json: bool,
    callback_ca: Path | None,
    callback_timeout: float,
    max_attempts: int,
    state_dir: Path,
    db_url: str | None,
) -> None:
    """Send the deliveries that are due, each once: one line per attempt. A failed
    attempt is tried again after 1 min, then 2, 4 ... up to 1 h between attempts, and
    the delivery is failed after --max-attempts. Any number of these may run at once:
    each delivery is claimed by one of them.

    With --once it exits 1 when an attempt failed this round, else 0. Without it, it
    looks again every --poll-seconds until SIGTERM or SIGINT.

    \b
    Examples:
      edi278 deliveries run --once          # from cron
      edi278 deliveries run --callback-ca /etc/edi278/partner-ca.pem
    """
    log.configure("INFO")
    engine = database(db_url, state_dir)
    clock = service_clock()
    sending = Sending(callback_ca, callback_timeout, max_attempts)
    if once:
        attempts = run_due(engine, clock(), sending)
        _report(attempts, as_json)
        sys.exit(0 if all(a.delivered for a in attempts) else 1)
    stop = threading.Event()

    def stopping(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, stopping)
    while not stop.is_set():
        _report(run_due(engine, clock(), sending), as_json)
        stop.wait(poll_seconds)


def _report(attempts: list[Attempt], as_json: bool) -> None:
    for done in attempts:
        if as_json:
            click.echo(json.dumps(done.as_dict()))
            continue
        line = f"{done.id}: {done.reference} {done.channel} -> {done.where}: {done.status}"
        if done.error:
            line += f" (attempt {done.attempts}: {done.error})"
        if done.next_attempt_at is not None:
            line += f", next attempt {done.next_attempt_at.isoformat(timespec='seconds')}"
        click.echo(line)
    sys.stdout.flush()


@deliveries.command("retry")
@click.argument("delivery_id", metavar="ID", type=int)
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="For a file request whose partner has no outbox of its own: where it goes.",
)
@SFTP_CONFIG
@STATE_DIR
@DATABASE
def deliveries_retry(
    delivery_id: int,
    outbox: Path | None,
    sftp_config: Path | None,
    state_dir: Path,
    db_url: str | None,
) -> None:
    """Put a failed or held delivery back to pending, due now, with its attempts
    counted afresh; `deliveries run` sends it. Where it goes is looked up again: the
    partner's settings as they are now (a corrected callback URL, an outbox set since),
    else --outbox or the mailboxes of --sftp-config. Exits 1 when there is no such
    delivery, it is neither failed nor held, or it still has nowhere to go.

    \b
    Example:
      edi278 deliveries retry 17 && edi278 deliveries run --once
    """
    engine = database(db_url, state_dir)
    try:
        with engine.begin() as connection:
            done = retry(connection, delivery_id, service_clock()(),
                         delivery_routes(outbox, sftp_config))  # fmt: skip
    except DeliveryError as error:
        raise click.ClickException(str(error)) from None
    where = done.destination or ""
    click.echo(f"{done.id}: pending, to {shown_url(where) if done.channel == 'http' else where}")
