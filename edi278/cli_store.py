"""The commands over the database: `db`, `reference load`, `inquire` and `review`."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from edi278.channels.deliveries import Sending, attempt
from edi278.clock import Clock, from_environment, parse_instant
from edi278.decide.policy import Policy, PolicyError, default_policy, load_policy
from edi278.decide.tracking import TrackingNumberError
from edi278.notices.story import OPEN_STATUSES, CaseStory, Provider
from edi278.notices.words import DECISION_REASONS, REASONS, local_iso, local_minute
from edi278.outbox import AtomicFile, answer_stem
from edi278.review import (
    FINAL_ACTIONS,
    Review,
    ReviewError,
    ReviewUsageError,
    case_story,
    decide_case,
    find_case,
    pended_cases,
)
from edi278.store import database as store
from edi278.store import deliveries
from edi278.store.inquiry import CaseView, Question, UnknownTrackingNumber, find_cases
from edi278.store.reference import ReferenceDataError, load_reference
from edi278.store.reference_changes import change_reference

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


POLICY = click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="EDI278_POLICY",
    help="The payer policy (YAML, schemas/policy.schema.json). Default: samples/policy.yaml. "
    "Env: EDI278_POLICY.",
)


RECEIVED_AT = click.option(
    "--received-at",
    "received_at",
    metavar="ISO-8601",
    envvar="EDI278_RECEIVED_AT",
    help="When the files were received, if not now (e.g. a backfill of yesterday's batch: "
    "its clocks start yesterday): 2026-11-20T10:00:00-05:00, or without an offset in the "
    "plan's time zone. Env: EDI278_RECEIVED_AT.",
)


SFTP_CONFIG = click.option(
    "--sftp-config",
    "sftp_config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="EDI278_SFTP_CONFIG",
    help="The SFTP mailboxes (as `edi278 sftp --config`): the 278 for a case that came "
    "in through a mailbox is staged for its next round. Env: EDI278_SFTP_CONFIG.",
)
CALLBACK_CA = click.option(
    "--callback-ca",
    "callback_ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="EDI278_CALLBACK_CA",
    help="A PEM file of the certificate authorities trusted for partners' callback URLs, "
    "instead of the system's. Env: EDI278_CALLBACK_CA.",
)
CALLBACK_TIMEOUT = click.option(
    "--callback-timeout",
    "callback_timeout",
    type=click.FloatRange(min=0.1, max=120),
    default=20.0,
    show_default=True,
    envvar="EDI278_CALLBACK_TIMEOUT",
    help="Seconds a partner's callback may take to answer. Env: EDI278_CALLBACK_TIMEOUT.",
)
MAX_ATTEMPTS = click.option(
    "--max-attempts",
    "max_attempts",
    type=click.IntRange(min=1, max=100),
    default=deliveries.MAX_ATTEMPTS,
    show_default=True,
    envvar="EDI278_DELIVERY_ATTEMPTS",
    help="Attempts a delivery gets (retried after 1 min, 2, 4 ... up to 1 h) before it "
    "is failed. Env: EDI278_DELIVERY_ATTEMPTS.",
)


def delivery_routes(outbox: Path | None, sftp_config: Path | None) -> deliveries.Routes:
    """Where deliveries may go besides the partners' own settings: --outbox for file and
    folder requests, the mailboxes of --sftp-config for SFTP ones."""
    mailboxes: tuple[deliveries.Mailbox, ...] = ()
    if sftp_config is not None:
        from edi278.channels.sftp import ConfigError, staging_folders  # asyncssh: only then

        try:
            mailboxes = staging_folders(sftp_config)
        except ConfigError as error:
            raise click.BadParameter(str(error), param_hint="--sftp-config") from error
    return deliveries.Routes(outbox, mailboxes)


def _senders(_context: click.Context, _param: click.Parameter, given: tuple[str, ...]) -> frozenset:
    for sender in given:
        qualifier, colon, isa_id = sender.partition(":")
        if not colon or len(qualifier) != 2 or not isa_id or len(isa_id) > 15:
            raise click.BadParameter(f"{sender!r}: give ISA05:ISA06, e.g. ZZ:SUBMITTER01")
    return frozenset(given)


SENDERS = click.option(
    "--sender",
    "senders",
    multiple=True,
    metavar="ISA05:ISA06",
    callback=_senders,
    help="The partner(s) these files come from (repeatable): a file with an interchange "
    "from any other sender is not processed, and gets a .reason. Default: any sender.",
)


def service_clock() -> Clock:
    """The command's clock: the system's, or the one EDI278_CLOCK starts."""
    try:
        return from_environment()
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def received_time(text: str | None, rules: Policy) -> datetime | None:
    """--received-at as an instant (None when not given)."""
    if text is None:
        return None
    try:
        return parse_instant(text, ZoneInfo(rules.payer.time_zone), "--received-at")
    except ValueError as error:
        raise click.BadParameter(str(error).removeprefix("--received-at: ")) from None


def policy(path: Path | None) -> Policy:
    try:
        return load_policy(path) if path else default_policy()
    except PolicyError as error:
        raise click.ClickException(str(error)) from error


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
    and what is in them are dropped).

    \b
    Example:
      edi278 db downgrade -1
    """
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
    """Print the database's schema revision and the one this version needs.

    \b
    Example:
      EDI278_DB=postgresql+psycopg://postgres@127.0.0.1/edi278 edi278 db current
    """
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
    """Load plans.csv, providers.csv, networks.csv, members.csv, eligibility.csv and,
    if present, authorizations.csv (certifications a previous system issued) from
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


@reference.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@STATE_DIR
@DATABASE
def change(directory: Path, state_dir: Path, db_url: str | None) -> None:
    """Apply the changes in DIRECTORY to the reference data on file, keeping the rest:
    providers.csv, networks.csv, members.csv and eligibility.csv, each with a first
    column `change` (add, change; or add, terminate for the dated spans). All or
    nothing: a bad row is named with its file, line and reason, and nothing changes.
    The format is in samples/reference/README.md.

    \b
    Example:
      edi278 reference change var/changes/2026-12-07
    """
    try:
        result = change_reference(database(db_url, state_dir), directory)
    except ReferenceDataError as error:
        raise click.ClickException(str(error)) from error
    counts = ", ".join(f"{count} {name}" for name, count in result.rows.items())
    click.echo(f"changed {counts}")


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
@POLICY
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
    policy_path: Path | None,
) -> None:
    """Show cases with their status, decisions, tracking numbers and due times, found
    the ways the payer's inquiry works: by tracking number; by member ID; or by name,
    which also needs the provider and a date range. --provider, --from and --to narrow
    a member search too. Dates match the event's dates, or its day of receipt when it
    has none. Times are the plan's (policy payer.time_zone); a closed case has no due
    time. Exits 1 when nothing is found or the tracking number is mistyped.

    \b
    Examples:
      edi278 inquire --tracking R26000000015
      edi278 inquire --member W123456789 --json
      edi278 inquire --name "DOE, EMMA" --provider 1528067142 --from 2026-11-01 --to 2026-12-31
    """
    question = _question(tracking, member_id, name, provider, start, end)
    zone = ZoneInfo(policy(policy_path).payer.time_zone)
    engine = database(db_url, state_dir)
    try:
        with engine.begin() as connection:
            found = find_cases(connection, question)
    except (TrackingNumberError, UnknownTrackingNumber) as error:
        click.echo(f"edi278 inquire: {error}", err=True)
        sys.exit(1)
    if as_json:
        for view in found:
            click.echo(json.dumps(_zoned(view.as_dict(), zone)))
    else:
        _print_table(found, zone)
    if not found and name and "," not in name and " " in name.strip():
        # A hint, not a refusal: a last name may hold a space ("DE LA CRUZ", "VAN DYKE"),
        # and a search by such a name alone is a good one; but when it finds nothing,
        # the likeliest cause is a first name given without the comma.
        last, _, first = name.strip().rpartition(" ")
        click.echo(
            f'edi278 inquire: no case has the last name "{name.strip()}"; names are given as '
            f'"LAST, FIRST": did you mean --name "{last}, {first}"?',
            err=True,
        )
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


def _print_table(found: list[CaseView], zone: ZoneInfo) -> None:
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
        due = None  # a closed case is due nothing
        if case["status"] in OPEN_STATUSES:
            due = case["internal_pend_due_at"] or case["regulatory_due_at"]
        table.add_row(
            case["administrative_reference"],
            f"{case['member_id'] or ''}\n{case['member_last_name']}, {case['member_first_name']}",
            f"{case['patient_last_name']}, {case['patient_first_name']}",
            f"{case['category']} {case['certification_type']} {case['service_type'] or ''}"
            f"\n{case['urgency']}",
            dates,
            case["status"],
            " ".join(filter(None, (current.get("action"), current.get("reason"))))
            + f"\n{current.get('decided_by', '')}",
            "\n".join(view.certification_numbers),
            local_minute(case["received_at"], zone),
            local_minute(due, zone),
        )
    console.print(table)
    console.print(f"{len(found)} case(s)")


def _zoned(document: dict, zone: ZoneInfo) -> dict:
    """A case's JSON with every instant (keys ending in _at) in the plan's time zone, and
    its due time (null once the case is closed)."""

    def shift(value: object) -> object:
        if isinstance(value, dict):
            return {
                key: local_iso(item, zone) if key.endswith("_at") and item else shift(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [shift(item) for item in value]
        return value

    shifted = shift(document)
    assert isinstance(shifted, dict)
    due = document.get("internal_pend_due_at") or document.get("regulatory_due_at")
    shifted["due_at"] = local_iso(due, zone) if document.get("status") in OPEN_STATUSES else None
    return shifted


@click.group()
def review() -> None:
    """Clinical review of pended cases: list them, show one in words, record the final
    decision."""


def _console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=200)  # piped: no wrapping


@review.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per case.")
@STATE_DIR
@DATABASE
@POLICY
def review_list(
    as_json: bool, state_dir: Path, db_url: str | None, policy_path: Path | None
) -> None:
    """Pended cases, the soonest due first; overdue ones are marked. Each with its
    service in words and procedure codes, diagnoses, dates, and why it is pended; times
    in the plan's time zone.

    \b
    Example:
      edi278 review list
    """
    rules = policy(policy_path)
    zone = ZoneInfo(rules.payer.time_zone)
    now = service_clock()()
    with database(db_url, state_dir).begin() as connection:
        found = [
            (case, case_story(connection, case, rules)) for case in pended_cases(connection, now)
        ]
    if as_json:
        for case, story in found:
            click.echo(json.dumps({**_zoned(_plain_case(case), zone), **story.as_dict(),
                                   "overdue": case["overdue"]}))  # fmt: skip
        return
    console = _console()
    if not found:
        console.print("no pended case")
        return
    table = Table(header_style="bold")
    for heading in ("reference", "member", "patient", "service", "diagnoses", "dates",
                    "urgency", "pended for", "received", "due", "overdue"):  # fmt: skip
        table.add_column(heading, overflow="fold")
    for case, story in found:
        table.add_row(
            story.reference,
            f"{story.member_id}\n{story.member_name}",
            story.patient_name,
            story.service + (f"\n{story.procedure_codes}" if story.procedures else ""),
            " ".join(d.code for d in story.diagnoses),
            story.dates,
            story.urgency,
            story.pend_reason,
            story.received_at,
            story.due_at,
            "[bold red]OVERDUE[/]" if case["overdue"] else "",
        )
    console.print(table)
    overdue = sum(case["overdue"] for case, _ in found)
    console.print(f"{len(found)} pended case(s), {overdue} overdue")


def _plain_case(case: dict) -> dict:
    return {
        key: value.isoformat() if isinstance(value, date | datetime) else value
        for key, value in case.items()
        if key != "request"
    }


@review.command("show")
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="Print the case as one JSON object.")
@STATE_DIR
@DATABASE
@POLICY
def review_show(
    case: str, as_json: bool, state_dir: Path, db_url: str | None, policy_path: Path | None
) -> None:
    """The case CASE (its reference, R...) in words: member and patient, requester,
    facility and servicing providers, service and procedures with their descriptions,
    diagnoses, dates, days or units, urgency, status, due time, and every decision with
    who made it, when, and the rules that led to it. Times are the plan's.

    \b
    Example:
      edi278 review show R26000000090
    """
    rules = policy(policy_path)
    try:
        with database(db_url, state_dir).begin() as connection:
            story = case_story(connection, find_case(connection, case)._asdict(), rules)
    except ReviewUsageError as error:
        raise click.BadParameter(str(error), param_hint="CASE") from None
    except ReviewError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(story.as_dict()))
        return
    for line in _story_lines(story):
        click.echo(line)


def _story_lines(story: CaseStory) -> list[str]:
    def provider(p: Provider) -> str:
        return f"{p.name} (NPI {p.npi})" if p.npi else p.name

    status = story.status + (f": {story.pend_reason}" if story.pend_reason else "")
    rows = [
        ("Case", f"{story.reference}, {status}"),
        ("Member", f"{story.member_name}, member ID {story.member_id}"),
        ("Patient", story.patient_name + (" (a dependent)" if story.patient_is_dependent else "")),
        ("Requested by", provider(story.requester)),
        *((p.role.capitalize(), provider(p)) for p in story.providers),
        ("Request", f"{story.category}, {story.certification_type}"),
        ("Service", story.service),
        *(("Procedure", p.words + "".join(f", {x}" for x in (p.quantity, p.dates) if x))
          for p in story.procedures),
        *(("Diagnosis", d.words) for d in story.diagnoses),
        ("Dates", story.dates),
        ("Asked for", story.requested),
        ("Urgency", story.urgency),
        ("Received", story.received_at),
        ("Due", story.due_at),
    ]  # fmt: skip
    lines = [f"{label + ':':<20}{value}" for label, value in rows if value]
    lines.append("Decisions:")
    for entry in story.history:
        reason = f", {entry.reason} {entry.reason_words}" if entry.reason else ""
        number = f", {entry.certification_number}" if entry.certification_number else ""
        lines.append(f"  {entry.decided_at}  {entry.action} {entry.action_words}{reason}{number}"
                     f" (by {entry.decided_by})")  # fmt: skip
        if entry.criteria:
            lines.append(f"    criteria: {entry.criteria}")
        if entry.message:
            lines.append(f"    note: {entry.message}")
        lines.extend(f"    trace: {step}" for step in entry.trace)
    return lines


def _reasons_help() -> str:
    listed = "\n".join(f"  {code:<3} {REASONS[code].name}" for code in DECISION_REASONS)
    refused = sorted((c for c in REASONS if c not in DECISION_REASONS), key=lambda c: (len(c), c))
    return (
        "\b\nReasons for a final decision (--reason, HCR03 code source 886):\n"
        + listed
        + "\n\nRefused on a final decision: "
        + ", ".join(f"{code} ({REASONS[code].name.lower()})" for code in refused)
        + ". 0B, 0U, 0V and 0W say what a pend waits for; 0H and 18 answer requests that "
        "need no review; 7 a cancellation; the others price authorizations."
    )


@review.command("decide", epilog=_reasons_help())
@click.argument("case")
@click.option("--action", required=True, type=click.Choice(FINAL_ACTIONS), help="HCR01.")
@click.option("--reason", default="", help="HCR03 (code source 886); required unless A1. "
              "The codes are listed below.")  # fmt: skip
@click.option("--quantity", type=click.IntRange(min=1), help="Days or visits certified (HSD).")
@click.option("--note", required=True, help="What the decision rests on (sent as MSG).")
@click.option("--criteria", default="", help="The criteria the decision rests on (the "
              "guideline and its section); quoted in the letters. Required for A3.")  # fmt: skip
@click.option("--reviewer", required=True, help="The deciding user (edi278 user add): a "
              "nurse or a medical director; only a medical director may deny (A3).")  # fmt: skip
@click.option(
    "--outbox",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    envvar="EDI278_OUTBOX",
    help="Where a denial's notices go, and the 278 response for a case that came in as a "
    "file when its partner has no outbox of its own (edi278 partner set --outbox). "
    "Env: EDI278_OUTBOX.",
)
@SFTP_CONFIG
@CALLBACK_CA
@CALLBACK_TIMEOUT
@STATE_DIR
@DATABASE
@POLICY
def review_decide(
    case: str,
    action: str,
    reason: str,
    quantity: int | None,
    note: str,
    criteria: str,
    reviewer: str,
    outbox: Path,
    sftp_config: Path | None,
    callback_ca: Path | None,
    callback_timeout: float,
    state_dir: Path,
    db_url: str | None,
    policy_path: Path | None,
) -> None:
    """Record a reviewer's final decision on the pended CASE (its reference, R...) and
    send its 278 response back the way the request came: as CASE.278 into the
    partner's outbox (else OUTBOX) for a file, into the SFTP mailbox's staging folder
    for the next `edi278 sftp` round, or to the partner's HTTPS callback. It is sent
    once, right away; if that fails it stays pending for `edi278 deliveries run` (the
    decision stands, and the exit status is 0). For a denial (A3) the member letter and
    the provider notice go into OUTBOX as HTML and text. Bad usage exits 2; a case not
    found or not pended, or a reviewer who may not decide it, exits 1 with nothing
    recorded.

    \b
    Example:
      edi278 review decide R26000000028 --action A1 --note "criteria met" \\
        --reviewer rn.jones --outbox var/outbox
    """
    engine = database(db_url, state_dir)
    decision = Review(action, reason.strip().upper(), note, reviewer, quantity, criteria)
    routes = delivery_routes(outbox, sftp_config)
    clock = service_clock()
    try:
        reviewed = decide_case(engine, case, decision, policy(policy_path), clock(), routes)
    except ReviewUsageError as error:
        raise click.UsageError(str(error)) from None
    except ReviewError as error:
        raise click.ClickException(str(error)) from None
    written = []
    if reviewed.notices:
        documents = {f"-{suffix}": text for suffix, text in reviewed.notices.items()}
        outbox.mkdir(parents=True, exist_ok=True)
        stem = answer_stem(outbox, Path(reviewed.reference), documents)  # never over one
        for suffix, text in documents.items():
            handle = AtomicFile(stem.with_name(stem.name + suffix))
            handle.write(text.encode("utf-8"))
            written.append(str(handle.commit()))
    delivery = reviewed.delivery
    assert delivery is not None, "a decision is recorded with its delivery"
    sent = None
    if delivery.status == deliveries.PENDING:
        sending = Sending(callback_ca, callback_timeout)
        sent = attempt(engine, delivery.id, clock(), sending)
    if sent is not None and sent.delivered:
        written.insert(0, sent.where)
    number = f" {reviewed.certification_number}" if reviewed.certification_number else ""
    click.echo(
        f"{reviewed.reference}: {action} {decision.reason}{number} -> "
        + (", ".join(written) or f"delivery {delivery.id} {delivery.status}")
    )
    if delivery.status == deliveries.HELD:
        click.echo(f"edi278 review decide: delivery {delivery.id} is held: {delivery.why}",
                   err=True)  # fmt: skip
    elif sent is None or not sent.delivered:
        why = f" ({sent.error})" if sent is not None and sent.error else ""
        click.echo(
            f"edi278 review decide: delivery {delivery.id} to {delivery.channel} "
            f"{sent.where if sent else delivery.destination} was not sent{why}; it stays "
            "pending: `edi278 deliveries run` sends it",
            err=True,
        )
