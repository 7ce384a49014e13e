"""The people who use the service, with their roles: nurses and medical directors decide
pended cases, operations staff run the service, providers look up their own cases. The
web application signs them in with the same rows.

A password is kept only as an argon2id hash (argon2-cffi, its default parameters: RFC
9106's second recommended option); it is never stored, logged or printed in clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import IntegrityError

from edi278.store.tables import partners, users

ROLES = ("nurse", "medical-director", "operations", "provider")
MIN_PASSWORD = 15  # characters: NIST SP 800-63B-4 for a password used as the only factor
_HASHER = PasswordHasher()


class UserError(ValueError):
    """A user that cannot be added, found or changed; the message says why."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    partner: str  # the partner's ISA ID, "" for none
    npi: str
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def add_user(
    engine: Engine,
    name: str,
    role: str,
    password: str,
    now: datetime,
    partner: str | None = None,
    npi: str | None = None,
) -> User:
    name = name.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}", name):
        raise UserError(f"{name!r} is not a user name: 1-64 letters, digits, '.', '_', '@' or '-'")
    if role not in ROLES:
        raise UserError(f"{role!r} is not a role: one of {', '.join(ROLES)}")
    if npi is not None and not re.fullmatch(r"\d{10}", npi):
        raise UserError(f"{npi!r} is not an NPI (10 digits)")
    if role == "provider" and not npi:
        raise UserError("a provider user needs its --npi: the cases it may see are its own")
    password_hash = hash_password(password)
    with engine.begin() as connection:
        partner_id = _partner_id(connection, partner) if partner else None
        try:
            connection.execute(
                users.insert().values(
                    name=name, role=role, partner_id=partner_id, npi=npi,
                    password_hash=password_hash, created_at=now,
                )
            )  # fmt: skip
        except IntegrityError:
            raise UserError(f"a user named {name} already exists") from None
    return User(name, role, partner or "", npi or "", now, None)


def _partner_id(connection: Connection, isa_id: str) -> int:
    found = connection.execute(
        select(partners.c.id).where(partners.c.isa_id == isa_id.strip())
    ).first()
    if found is None:
        raise UserError(f"no trading partner has the ISA ID {isa_id} (edi278 partner add)")
    return int(found.id)


def list_users(connection: Connection) -> list[User]:
    rows = connection.execute(
        select(users, partners.c.isa_id)
        .outerjoin(partners, users.c.partner_id == partners.c.id)
        .order_by(users.c.name)
    )
    return [_user(row) for row in rows]


def find_user(connection: Connection, name: str) -> User | None:
    row = connection.execute(
        select(users, partners.c.isa_id)
        .outerjoin(partners, users.c.partner_id == partners.c.id)
        .where(users.c.name == name.strip())
    ).first()
    return _user(row) if row else None


def disable_user(engine: Engine, name: str, now: datetime) -> None:
    with engine.begin() as connection:
        user = find_user(connection, name)
        if user is None:
            raise UserError(f"no user is named {name}")
        if not user.active:
            raise UserError(f"{name} is already disabled")
        connection.execute(update(users).where(users.c.name == user.name).values(disabled_at=now))


def _user(row: Any) -> User:
    return User(row.name, row.role, row.isa_id or "", row.npi or "", row.created_at,
                row.disabled_at)  # fmt: skip
