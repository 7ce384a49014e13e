"""The commands that run a channel or set one up: `serve` (the HTTP API), `sftp` (the
partners' mailboxes), `partner add` (a trading partner's API key) and `partner set`
(how it is answered, and where its later answers go). A channel's module
is imported when its command runs, not by every command."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from edi278.cli_store import (
    DATABASE,
    POLICY,
    RECEIVED_AT,
    STATE_DIR,
    database,
    policy,
    service_clock,
)
from edi278.clock import parse_instant
from edi278.queue import HOLD, QUEUE
from edi278.store.deliveries import UNCHANGED, DeliveryError, configure_partner, shown_url
from edi278.store.partners import (
    ROLES,
    UnknownPartner,
    add_key,
    keys_of,
    revoke,
    revoke_by_id,
    set_copy_bad_data,
)


@click.command(short_help="Run the HTTP API (FastAPI on uvicorn).")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="EDI278_HOST")
@click.option("--port", default=8278, show_default=True, type=int, envvar="EDI278_PORT")
@click.option(
    "--max-body",
    default=1_000_000,
    show_default=True,
    type=click.IntRange(min=1000),
    help="Largest request body in bytes; more is answered 413.",
)
@click.option(
    "--max-inflight",
    default=24,
    show_default=True,
    type=click.IntRange(min=1),
    envvar="EDI278_MAX_INFLIGHT",
    help="Requests in hand at once; more are answered 503 with Retry-After, unrecorded.",
)
@click.option(
    "--max-per-partner",
    default=16,
    show_default=True,
    type=click.IntRange(min=1),
    envvar="EDI278_MAX_PER_PARTNER",
    help="One partner's requests in hand at once (counted once its key is checked); more "
    "are answered 503 with Retry-After, so that one partner cannot starve the others.",
)
@click.option(
    "--read-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    envvar="EDI278_READ_TIMEOUT",
    help="Seconds to receive a request's whole body; slower is answered 408.",
)
@click.option(
    "--metrics-key",
    envvar="EDI278_METRICS_KEY",
    help="When set, /metrics answers only `Authorization: Bearer KEY` (else 401). "
    "Env: EDI278_METRICS_KEY.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    envvar="EDI278_WORKERS",
    help="Server processes on the one port (about one per core); each has its own "
    "--max-inflight, and /metrics adds up all of them.",
)
@STATE_DIR
@DATABASE
@POLICY
def serve(
    host: str,
    port: int,
    max_body: int,
    max_inflight: int,
    max_per_partner: int,
    read_timeout: float,
    metrics_key: str | None,
    workers: int,
    state_dir: Path,
    db_url: str | None,
    policy_path: Path | None,
) -> None:
    """Serve the real-time API: POST /v1/x12/278 (one X12 interchange in, its 278
    response out), POST /v1/reviews (the JSON form), GET /v1/reviews (inquiry),
    POST /v1/reviews/{case}/decision (reviewers), /healthz, /metrics, and the OpenAPI
    document at /openapi.json (also in schemas/openapi.json). Every call needs an
    X-API-Key (edi278 partner add).

    \b
    Example:
      edi278 serve --port 8278
      curl --data-binary @samples/requests/08-mri-lumbar-auto.x12 \\
        -H 'Content-Type: application/edi-x12' -H "X-API-Key: $KEY" \\
        localhost:8278/v1/x12/278
    """
    import uvicorn

    from edi278 import log
    from edi278.channels import http

    engine, chosen = database(db_url, state_dir), policy(policy_path)  # checked before any worker
    log.configure("INFO")  # a service says what it does
    # httptools and uvloop: uvicorn's C parser and event loop, named so that a missing
    # one fails at start instead of quietly falling back to the slower pure-Python pair.
    run = functools.partial(
        uvicorn.run, host=host, port=port, log_level="warning", http="httptools", loop="uvloop",
        timeout_graceful_shutdown=5, log_config=log.UVICORN,
    )  # fmt: skip
    url = engine.url.render_as_string(hide_password=False)
    settings = http.Settings(url, str(policy_path) if policy_path else None, max_body,
                             max_inflight, max_per_partner, read_timeout, metrics_key)  # fmt: skip
    if workers == 1:
        run(http.create_app(engine, chosen, settings.limits(), service_clock()))
        return
    engine.dispose()  # each worker process opens its own
    with http.worker_environment(settings):
        run(http.FACTORY, factory=True, workers=workers)


@click.group()
def partner() -> None:
    """Trading partners: their API keys and how they are answered."""


@partner.command("add")
@click.option("--isa-id", required=True, help="ISA06: the ID the partner sends under.")
@click.option("--qualifier", default="ZZ", show_default=True, help="ISA05.")
@click.option("--name", default="", help="A display name.")
@click.option("--role", type=click.Choice(ROLES), default="partner", show_default=True)
@click.option(
    "--expires",
    metavar="ISO-8601",
    help="When the key stops working (answered 401 from then on), e.g. 2027-06-30 or "
    "2027-06-30T17:00-05:00; without an offset, UTC. Default: never (until revoked).",
)
@STATE_DIR
@DATABASE
def partner_add(
    isa_id: str,
    qualifier: str,
    name: str,
    role: str,
    expires: str | None,
    state_dir: Path,
    db_url: str | None,
) -> None:
    """Register a partner (if new) and print a new API key for it, once: only its hash
    is kept. A partner key sends and looks up that partner's cases; a reviewer key
    decides pended cases.

    \b
    Example:
      edi278 partner add --isa-id SUBMITTER01 --name "Submitter One" --expires 2027-06-30
    """
    now = service_clock()()
    try:
        until = parse_instant(expires, ZoneInfo("UTC"), "--expires") if expires else None
        engine = database(db_url, state_dir)
        caller, key = add_key(engine, qualifier, isa_id, name, now, role, expires=until)
    except ValueError as error:
        message = str(error).removeprefix("--expires: ")
        raise click.BadParameter(message, param_hint="--expires") from None
    click.echo(key)
    lasting = f", until {until.isoformat()}" if until else ""
    click.echo(f"(a {role} key for {caller.sender}{lasting}; shown once, keep it)", err=True)


@partner.command("set")
@click.option("--isa-id", required=True, help="ISA06: the ID the partner sends under.")
@click.option("--qualifier", default="ZZ", show_default=True, help="ISA05.")
@click.option(
    "--copy-bad-data/--no-copy-bad-data",
    default=None,
    help="Whether the partner's 999s copy the faulty value into IK404 (it may be member data).",
)
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the partner's later answers go (a reviewer's decision on a request that "
    "came in as a file or through a watched folder).",
)
@click.option("--no-outbox", is_flag=True, help="Forget the partner's outbox.")
@click.option(
    "--callback-url",
    metavar="HTTPS-URL",
    help="Where the partner's later answers to requests sent over HTTP are POSTed "
    "(https:// only), signed with its callback secret (made and shown once).",
)
@click.option(
    "--no-callback",
    is_flag=True,
    help="Forget the callback URL: later answers are held for the partner's X215 inquiry.",
)
@click.option(
    "--new-callback-secret",
    is_flag=True,
    help="Make a new callback secret (shown once); the old one stops signing at once.",
)
@STATE_DIR
@DATABASE
def partner_set(
    isa_id: str,
    qualifier: str,
    copy_bad_data: bool | None,
    outbox: Path | None,
    no_outbox: bool,
    callback_url: str | None,
    no_callback: bool,
    new_callback_secret: bool,
    state_dir: Path,
    db_url: str | None,
) -> None:
    """Set how the partner is answered (registering it if new). New 999s follow
    --copy-bad-data; an interchange sent again gets the answer it got the first time.
    --outbox and --callback-url say where a decision made later (`edi278 review
    decide`) goes: a file request's into the outbox, an HTTP request's to the callback.
    A new callback secret is printed on stdout once: give it to the partner, who checks
    X-EDI278-Signature with it (README "Deliveries").

    \b
    Examples:
      edi278 partner set --isa-id SUBMITTER01 --no-copy-bad-data
      edi278 partner set --isa-id SUBMITTER01 --outbox /srv/edi/submitter01/out
      edi278 partner set --isa-id PMVENDOR --callback-url https://pm.example/edi278/278
    """
    if outbox is not None and no_outbox:
        raise click.UsageError("give --outbox or --no-outbox, not both")
    if callback_url is not None and no_callback:
        raise click.UsageError("give --callback-url or --no-callback, not both")
    folder = UNCHANGED if outbox is None and not no_outbox else outbox and outbox.resolve()
    url = UNCHANGED if callback_url is None and not no_callback else callback_url
    delivery = folder is not UNCHANGED or url is not UNCHANGED or new_callback_secret
    if copy_bad_data is None and not delivery:
        raise click.UsageError(
            "say what to set: --copy-bad-data/--no-copy-bad-data, --outbox, --callback-url, "
            "--no-outbox, --no-callback or --new-callback-secret"
        )
    engine, now = database(db_url, state_dir), service_clock()()
    if copy_bad_data is not None:
        set_copy_bad_data(engine, qualifier, isa_id, copy_bad_data, now)
        state = "on" if copy_bad_data else "off"
        click.echo(f"{qualifier}:{isa_id}: IK404 copies of bad data {state}")
    if not delivery:
        return
    try:
        settings, secret = configure_partner(
            engine, qualifier, isa_id, now, outbox=folder, callback_url=url,
            new_secret=new_callback_secret,
        )  # fmt: skip
    except DeliveryError as error:
        raise click.BadParameter(str(error)) from None
    click.echo(
        f"{qualifier}:{isa_id}: outbox {settings.outbox or 'none'}, callback "
        f"{shown_url(settings.callback_url) if settings.callback_url else 'none'}",
        err=secret is not None,  # stdout holds the secret alone, for a script to take
    )
    if secret is not None:
        click.echo(secret)
        click.echo("(the callback secret: shown once, give it to the partner)", err=True)


@partner.command("keys")
@click.argument("partner_name", metavar="PARTNER")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per key.")
@STATE_DIR
@DATABASE
def partner_keys(partner_name: str, as_json: bool, state_dir: Path, db_url: str | None) -> None:
    """List a partner's API keys (PARTNER: its name, its ISA06 or QUALIFIER:ISA06): id,
    role, when made, when it expires, whether it still works, and its last four
    characters. Never the key nor its hash: a key is shown once, when made.

    \b
    Example:
      edi278 partner keys SUBMITTER01
      edi278 partner revoke --key-id 3
    """
    now = service_clock()()
    try:
        with database(db_url, state_dir).connect() as connection:
            found = keys_of(connection, partner_name)
    except UnknownPartner as error:
        raise click.ClickException(str(error)) from None
    for key in found:
        shown = {
            "id": key.id,
            "role": key.role,
            "label": key.label,
            "created": key.created_at.isoformat(),
            "expires": key.expires_at.isoformat() if key.expires_at else None,
            "revoked": key.revoked_at.isoformat() if key.revoked_at else None,
            "state": key.state(now),
            "ends": f"...{key.hint}" if key.hint else None,
        }
        if as_json:
            click.echo(json.dumps(shown))
        else:
            click.echo(
                f"{key.id:>6}  {key.role:<8}  {shown['state']:<7}  created {shown['created']}"
                f"  expires {shown['expires'] or 'never'}"
                + (f"  revoked {shown['revoked']}" if key.revoked_at else "")
                + f"  {shown['ends'] or '(made before hints)'}"
            )


@partner.command("revoke")
@click.argument("key", required=False)
@click.option("--key-id", type=int, help="The key's id, as `partner keys` lists it.")
@STATE_DIR
@DATABASE
def partner_revoke(
    key: str | None, key_id: int | None, state_dir: Path, db_url: str | None
) -> None:
    """Revoke an API key, given the key itself or its id (`partner keys` lists them):
    from now on it is answered 401. Exits 1 when no live key matches.

    \b
    Example:
      edi278 partner revoke e278_...
      edi278 partner revoke --key-id 3
    """
    if (key is None) == (key_id is None):
        raise click.UsageError("give the key, or --key-id, not both")
    engine, now = database(db_url, state_dir), service_clock()()
    done = revoke(engine, key, now) if key is not None else revoke_by_id(engine, key_id or 0, now)
    if not done:
        raise click.ClickException("no live API key matches")
    click.echo("revoked")


@click.command(short_help="Answer the files in partners' SFTP mailboxes.")
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="EDI278_SFTP_CONFIG",
    help="The mailboxes (YAML; see samples/sftp.yaml). Env: EDI278_SFTP_CONFIG.",
)
@click.option("--once", is_flag=True, help="One round over every mailbox, then exit.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@QUEUE
@HOLD
@RECEIVED_AT
@STATE_DIR
@DATABASE
@POLICY
def sftp(
    config_path: Path,
    once: bool,
    as_json: bool,
    queue: bool,
    hold: Path | None,
    received_at: str | None,
    state_dir: Path,
    db_url: str | None,
    policy_path: Path | None,
) -> None:
    """Poll partners' SFTP mailboxes: answer each file of a remote inbox with NAME.999,
    NAME.ta1 and NAME.278 in the remote outbox, then remove the file (or archive it).
    One line per file: partner, file, status, answers uploaded.

    A file leaves the inbox only after its answers are uploaded, so a dropped connection
    or a crash loses nothing; the next round takes it again and the partner gets each
    answer once. Connection failures are retried after 1 s, doubling up to 60 s (the
    config's retry section). The server's host key must be the one pinned in the config.

    With --queue on PostgreSQL, each file is held (--hold) and queued for `edi278 worker`,
    which answers it into WORK_DIR/<partner>/answers; each round uploads the answers
    found there. On SQLite files are answered here, as without --queue.

    Exit status with --once: 0 when every file of every mailbox was answered (or
    queued), 1 otherwise.
    Without --once it polls until SIGTERM or SIGINT, finishing the file at hand.

    \b
    Example:
      edi278 sftp --config samples/sftp.yaml --once
    """
    from edi278.channels import sftp as mailboxes  # asyncssh: only for this command

    sys.exit(
        mailboxes.run(
            config_path, once, as_json, queue, hold, received_at, state_dir, db_url, policy_path
        )
    )
