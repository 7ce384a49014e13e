"""Users with roles (SQLite and PostgreSQL): added with a password read from standard
input and kept only as an argon2 hash, listed, disabled; the same rows the web
application will sign in with."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from edi278.store.tables import users
from edi278.store.users import UserError, add_user, find_user, password_matches
from tests.conftest import NOW

EDI278 = Path(__file__).parents[1] / ".venv" / "bin" / "edi278"
PASSWORD = "a long and secret passphrase"


def edi278(*args: str, state: list[str], stdin: str | None = None):
    return subprocess.run([str(EDI278), *args, *state], input=stdin, capture_output=True,
                          text=True)  # fmt: skip


def test_a_user_has_a_unique_name_a_role_and_only_a_hash_of_its_password(engine):
    made = add_user(engine, "md.lee", "medical-director", PASSWORD, NOW)
    assert (made.name, made.role, made.active) == ("md.lee", "medical-director", True)
    with engine.connect() as connection:
        row = connection.execute(select(users)).one()
        found = find_user(connection, "md.lee")
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    assert password_matches(row.password_hash, PASSWORD)
    assert not password_matches(row.password_hash, PASSWORD + "x")
    assert (row.failed_sign_ins, row.locked_until, row.disabled_at) == (0, None, None)
    assert row.created_at == NOW and found is not None and found.created_at == NOW
    with pytest.raises(UserError, match=r"a user named md\.lee already exists"):
        add_user(engine, "md.lee", "nurse", PASSWORD, NOW)


@pytest.mark.parametrize(
    ("name", "role", "password", "extra", "message"),
    [
        ("rn jones", "nurse", PASSWORD, {}, "is not a user name"),
        ("rn.jones", "doctor", PASSWORD, {}, "'doctor' is not a role"),
        ("rn.jones", "nurse", "short", {}, "a password needs at least 15 characters"),
        ("dr.who", "provider", PASSWORD, {}, "a provider user needs its --npi"),
        ("dr.who", "provider", PASSWORD, {"npi": "12345"}, "'12345' is not an NPI"),
        ("dr.who", "provider", PASSWORD, {"npi": "1234567893", "partner": "NOBODY"},
         "no trading partner has the ISA ID NOBODY"),
    ],
)  # fmt: skip
def test_a_user_that_cannot_be_added_says_why(engine, name, role, password, extra, message):
    with pytest.raises(UserError, match=message):
        add_user(engine, name, role, password, NOW, **extra)
    with engine.connect() as connection:
        assert connection.execute(select(users)).all() == []


def test_the_user_commands_add_list_and_disable_and_never_show_the_password(tmp_path):
    state = ["--state-dir", str(tmp_path / "var")]
    partner = edi278("partner", "add", "--isa-id", "CLINIC01", state=state)
    assert partner.returncode == 0, partner.stderr
    added = edi278("user", "add", "--name", "dr.who", "--role", "provider", "--npi",
                   "1234567893", "--partner", "CLINIC01", "--password-stdin", state=state,
                   stdin=PASSWORD + "\n")  # fmt: skip
    assert (added.returncode, added.stdout, added.stderr) == (0, "added dr.who (provider)\n", "")
    nurse = edi278("user", "add", "--name", "rn.jones", "--role", "nurse", "--password-stdin",
                   state=state, stdin=PASSWORD + "\n")  # fmt: skip
    assert nurse.returncode == 0, nurse.stderr
    again = edi278("user", "add", "--name", "rn.jones", "--role", "nurse", "--password-stdin",
                   state=state, stdin=PASSWORD + "\n")  # fmt: skip
    assert again.returncode == 1 and "a user named rn.jones already exists" in again.stderr
    no_stdin = edi278("user", "add", "--name", "x", "--role", "nurse", state=state)
    assert no_stdin.returncode == 2 and "--password-stdin" in no_stdin.stderr
    empty = edi278("user", "add", "--name", "x", "--role", "nurse", "--password-stdin",
                   state=state, stdin="")  # fmt: skip
    assert empty.returncode == 2 and "no password on standard input" in empty.stderr
    disabled = edi278("user", "disable", "--name", "rn.jones", state=state)
    assert (disabled.returncode, disabled.stdout) == (0, "disabled rn.jones\n")
    twice = edi278("user", "disable", "--name", "rn.jones", state=state)
    assert twice.returncode == 1 and "rn.jones is already disabled" in twice.stderr
    listed = edi278("user", "list", state=state)
    assert listed.returncode == 0, listed.stderr
    rows = [re.split("[│┃]", line)[1:-1] for line in listed.stdout.splitlines() if "│" in line
            or "┃" in line]  # fmt: skip
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["name", "role", "partner", "npi", "created", "disabled"],
        ["dr.who", "provider", "CLINIC01", "1234567893", "2026-11-20 10:00 EST", ""],
        ["rn.jones", "nurse", "", "", "2026-11-20 10:00 EST", "2026-11-20 10:00 EST"],
    ]
    everything = [added, nurse, again, disabled, listed]
    assert not any(PASSWORD in run.stdout + run.stderr for run in everything)
    for kept in (tmp_path / "var").iterdir():  # the database, its WAL, its lock
        assert PASSWORD.encode() not in kept.read_bytes(), kept.name
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'edi278.db'}")
    with engine.connect() as connection:
        hashes = list(connection.scalars(select(users.c.password_hash)))
    engine.dispose()
    assert len(hashes) == 2 and all(password_matches(h, PASSWORD) for h in hashes)
