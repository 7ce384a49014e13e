"""The commands over the database: `db`, `reference load` and `inquire`."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from edi278.decide.tracking import TrackingNumberError
from edi278.store import database as store
from edi278.store.inquiry import CaseView, Question, UnknownTrackingNumber, find_cases
from edi278.store.reference import ReferenceDataError, load_reference

STATE_DIR = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var"),
    envvar="EDI278_STATE_DIR",
    show_default=True,
    help="Where the service keeps its state: the SQLite database, unless --db says "
    "otherwise. Env: EDI278_STATE_DIR.",
)
DATABASE = click.option(
    "--db",
    "db_url",
    envvar="EDI278_DB",
    help="Database URL: sqlite:///path/edi278.db or postgresql+psycopg://user@host/name. "
    "Default: SQLite in the state folder. Env: EDI278_DB.",
)


def database(db_url: str | None, state_dir: Path) -> Engine:
    """The database with its schema current, or an error that says what to do."""
    try:
        return store.open_database(store.database_url(db_url, state_dir))
    except store.StoreError as error:
        raise click.ClickException(str(error)) from error
    except SQLAlchemyError as error:
        raise click.ClickException(f"cannot open the database: {_reason(error)}") from error


def _reason(error: SQLAlchemyError) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@click.group()
def db() -> None:
    """The database schema: upgrade, downgrade, show the revision."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="The revision to reach.")
@STATE_DIR
@DATABASE
def upgrade(revision: str, state_dir: Path, db_url: str | None) -> None:
    """Apply the migrations up to REVISION (all of them by default). Run it before
    starting workers on a new PostgreSQL database or after upgrading edi278.

    \b
    Example:
      EDI278_DB=postgresql+psycopg://postgres@127.0.0.1/edi278 edi278 db upgrade
    """
    _migrate(store.upgrade, revision, store.database_url(db_url, state_dir))


@db.command()
@click.argument("revision")
@STATE_DIR
@DATABASE
def downgrade(revision: str, state_dir: Path, db_url: str | None) -> None:
    """Undo migrations down to REVISION ("-1" for one step, "base" for all: the tables
    and what is in them are dropped)."""
    _migrate(store.downgrade, revision, store.database_url(db_url, state_dir))


def _migrate(step: Callable[[Engine, str], None], revision: str, url: str) -> None:
    try:
        engine = store.connect(url)
        step(engine, revision)
        click.echo(f"{_shown(url)}: at revision {store.current_revision(engine) or 'base'}")
    except SQLAlchemyError as error:
        raise click.ClickException(f"{step.__name__} failed: {_reason(error)}") from error


@db.command()
@STATE_DIR
@DATABASE
def current(state_dir: Path, db_url: str | None) -> None:
    """Print the database's schema revision and the one this version needs."""
    url = store.database_url(db_url, state_dir)
    try:
        revision = store.current_revision(store.connect(url))
    except SQLAlchemyError as error:
        raise click.ClickException(f"cannot read the database: {_reason(error)}") from error
    click.echo(f"{_shown(url)}: at {revision or 'base (empty)'}, needs {store.head_revision()}")


@click.group()
def reference() -> None:
    """Reference data the decisions read: plans, providers, members."""


@reference.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@STATE_DIR
@DATABASE
def load(directory: Path, state_dir: Path, db_url: str | None) -> None:
    """Load plans.csv, providers.csv, networks.csv, members.csv and eligibility.csv from
    DIRECTORY, replacing what was loaded before. All or nothing: a bad row is named with
    its file, line and reason, and nothing changes. The columns are documented in
    samples/reference/README.md.

    \b
    Example:
      edi278 reference load samples/reference
    """
    try:
        result = load_reference(database(db_url, state_dir), directory)
    except ReferenceDataError as error:
        raise click.ClickException(str(error)) from error
    counts = ", ".join(f"{count} {name}" for name, count in result.rows.items())
    click.echo(f"loaded {counts}")


def _day(_context: object, _parameter: object, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command(short_help="Look cases up by tracking number, member or name.")
@click.option("--tracking", help="A tracking number: the reference (R...) or certification (C...).")
@click.option("--member", "member_id", help="A member ID (2010C NM109).")
@click.option("--name", help='A member or patient name, "LAST, FIRST" (or "LAST").')
@click.option("--provider", help="An NPI: the requester or any provider on the case.")
@click.option("--from", "start", callback=_day, help="Dates from (YYYY-MM-DD), inclusive.")
@click.option("--to", "end", callback=_day, help="Dates to (YYYY-MM-DD), inclusive.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per case.")
@STATE_DIR
@DATABASE
def inquire(
    tracking: str | None,
    member_id: str | None,
    name: str | None,
    provider: str | None,
    start: date | None,
    end: date | None,
    as_json: bool,
    state_dir: Path,
    db_url: str | None,
) -> None:
    """Show cases with their status, decisions, tracking numbers and due times, found
    the ways the payer's inquiry works: by tracking number; by member ID; or by name,
    which also needs the provider and a date range. --provider, --from and --to narrow
    a member search too. Dates match the event's dates, or its day of receipt when it
    has none. Exits 1 when nothing is found or the tracking number is mistyped.

    \b
    Examples:
      edi278 inquire --tracking R26000000015
      edi278 inquire --member W123456789 --json
      edi278 inquire --name "DOE, EMMA" --provider 1528067142 --from 2026-11-01 --to 2026-12-31
    """
    question = _question(tracking, member_id, name, provider, start, end)
    engine = database(db_url, state_dir)
    try:
        with engine.begin() as connection:
            found = find_cases(connection, question)
    except (TrackingNumberError, UnknownTrackingNumber) as error:
        click.echo(f"edi278 inquire: {error}", err=True)
        sys.exit(1)
    if as_json:
        for view in found:
            click.echo(json.dumps(view.as_dict()))
    else:
        _print_table(found)
    sys.exit(0 if found else 1)


def _question(
    tracking: str | None,
    member_id: str | None,
    name: str | None,
    provider: str | None,
    start: date | None,
    end: date | None,
) -> Question:
    ways = [
        way
        for way, given in (("--tracking", tracking), ("--member", member_id), ("--name", name))
        if given
    ]
    if len(ways) != 1:
        raise click.UsageError("give exactly one of --tracking, --member or --name")
    if tracking and (provider or start or end):
        raise click.UsageError("a tracking number names its case: no --provider, --from or --to")
    if name and not (provider and start and end):
        raise click.UsageError("a search by name needs --provider, --from and --to as well")
    if provider is not None and not re.fullmatch(r"\d{10}", provider):
        raise click.BadParameter(f"{provider!r} is not an NPI (10 digits)", param_hint="--provider")
    if start and end and end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    person = None
    if name:
        last, _, first = name.partition(",")
        person = (last.strip(), first.strip())
    return Question(tracking, member_id, person, provider, start, end)


def _print_table(found: list[CaseView]) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=200)  # piped: no wrapping
    if not found:
        console.print("no case found")
        return
    table = Table(show_lines=False, header_style="bold")
    for heading in (
        "reference",
        "member",
        "patient",
        "review",
        "dates",
        "status",
        "decision",
        "certification",
        "received",
        "due",
    ):
        table.add_column(heading, overflow="fold")
    for view in found:
        case, current = view.case, view.current or {}
        dates = case["event_start"] or ""
        if case["event_end"] and case["event_end"] != case["event_start"]:
            dates += f" to {case['event_end']}"
        due = case["internal_pend_due_at"] or case["regulatory_due_at"]
        table.add_row(
            case["administrative_reference"],
            f"{case['member_id'] or ''}\n{case['member_last_name']}, {case['member_first_name']}",
            f"{case['patient_last_name']}, {case['patient_first_name']}",
            f"{case['category']} {case['certification_type']} {case['service_type'] or ''}"
            f"\n{case['urgency']}",
            dates,
            case["status"],
            " ".join(filter(None, (current.get("action"), current.get("reason")))),
            "\n".join(view.certification_numbers),
            _minute(case["received_at"]),
            _minute(due),
        )
    console.print(table)
    console.print(f"{len(found)} case(s)")


def _minute(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") + " UTC" if stamp else ""
