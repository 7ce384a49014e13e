"""The `user` commands: the people who use the service, with their roles (reviewers who
decide cases, operations staff, providers). Passwords come on standard input only, so they
never show in a process list or a shell's history, and are kept as argon2 hashes."""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.table import Table

from edi278.cli_store import DATABASE, POLICY, STATE_DIR, database, policy, service_clock
from edi278.notices.words import local_minute
from edi278.store.users import ROLES, UserError, add_user, disable_user, list_users


@click.group()
def user() -> None:
    """Users and their roles: nurses and medical directors decide pended cases (only a
    medical director may deny), operations staff run the service, providers see their
    own cases."""


@user.command("add")
@click.option("--name", required=True, help="The user's name, unique: e.g. md.lee.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may do.")
@click.option("--partner", "partner", metavar="ISA-ID", help="The trading partner (its ISA ID) "
              "a provider user belongs to.")  # fmt: skip
@click.option("--npi", help="A provider user's NPI (10 digits); required for --role provider.")
@click.option(
    "--password-stdin",
    "password_stdin",
    is_flag=True,
    required=True,
    help="Read the password from standard input (its first line). Required: a password "
    "is never an argument.",
)
@STATE_DIR
@DATABASE
def user_add(
    name: str,
    role: str,
    partner: str | None,
    npi: str | None,
    password_stdin: bool,
    state_dir: Path,
    db_url: str | None,
) -> None:
    """Add a user. The password is read from standard input and kept only as an argon2
    hash; it is never printed.

    \b
    Example:
      printf '%s\\n' "$PASSWORD" | edi278 user add --name md.lee --role medical-director \\
        --password-stdin
    """
    if not password_stdin:
        raise click.UsageError("give --password-stdin and the password on standard input")
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.UsageError("no password on standard input (--password-stdin)")
    try:
        made = add_user(
            database(db_url, state_dir), name, role, password, service_clock()(), partner, npi
        )
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"added {made.name} ({made.role})")


@user.command("list")
@STATE_DIR
@DATABASE
@POLICY
def user_list(state_dir: Path, db_url: str | None, policy_path: Path | None) -> None:
    """List the users: name, role, partner, NPI, created, and disabled when they are.

    \b
    Example:
      edi278 user list
    """
    zone = ZoneInfo(policy(policy_path).payer.time_zone)
    with database(db_url, state_dir).begin() as connection:
        found = list_users(connection)
    console = Console() if sys.stdout.isatty() else Console(width=200)
    if not found:
        console.print("no user")
        return
    table = Table(header_style="bold")
    for heading in ("name", "role", "partner", "npi", "created", "disabled"):
        table.add_column(heading, overflow="fold")
    for each in found:
        table.add_row(
            each.name,
            each.role,
            each.partner,
            each.npi,
            local_minute(each.created_at, zone),
            local_minute(each.disabled_at, zone),
        )
    console.print(table)


@user.command("disable")
@click.option("--name", required=True, help="The user to disable.")
@STATE_DIR
@DATABASE
def user_disable(name: str, state_dir: Path, db_url: str | None) -> None:
    """Disable a user: from now on it can neither sign in nor decide a case. Its past
    decisions keep its name.

    \b
    Example:
      edi278 user disable --name rn.jones
    """
    try:
        disable_user(database(db_url, state_dir), name, service_clock()())
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"disabled {name}")
