"""Trading partners and their API keys. A key is shown once, when made; the store keeps
only its SHA-256, so a stolen database gives no working key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, select

from edi278.store.interchanges import partner_for
from edi278.store.tables import api_keys, partners

KEY_PREFIX = "e278_"
ROLES = ("partner", "reviewer")


@dataclass(frozen=True, slots=True)
class Caller:
    partner_id: int
    sender: str  # "ISA05:ISA06", as cases and interchanges name their sender
    name: str
    role: str


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_key(
    engine: Engine,
    qualifier: str,
    isa_id: str,
    name: str,
    now: datetime,
    role: str = "partner",
    label: str = "",
) -> tuple[Caller, str]:
    """A new API key for the partner (registered if new); the key itself is returned
    once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        partner_id = partner_for(connection, qualifier, isa_id, isa_id, now)
        if name:
            connection.execute(
                partners.update().where(partners.c.id == partner_id).values(name=name)
            )
        connection.execute(
            api_keys.insert(),
            {"partner_id": partner_id, "key_hash": key_hash(key), "label": label or role,
             "created_at": now, "role": role},
        )  # fmt: skip
    return Caller(partner_id, f"{qualifier}:{isa_id}", name or isa_id, role), key


def set_copy_bad_data(engine: Engine, qualifier: str, isa_id: str, on: bool, now: datetime) -> None:
    """Whether the partner's 999s copy bad data into IK404 (registered if new)."""
    with engine.begin() as connection:
        partner_id = partner_for(connection, qualifier, isa_id, isa_id, now)
        connection.execute(
            partners.update().where(partners.c.id == partner_id).values(copy_bad_data=on)
        )


def revoke(engine: Engine, key: str, now: datetime) -> bool:
    """Stop a key from working, for good; False when no live key matches."""
    with engine.begin() as connection:
        result = connection.execute(
            api_keys.update()
            .where(api_keys.c.key_hash == key_hash(key), api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    return result.rowcount == 1


# Built once: asked on every API call, and building it costs more than running it.
_CALLER = (
    select(partners.c.id, partners.c.isa_qualifier, partners.c.isa_id, partners.c.name,
           api_keys.c.role)
    .join(api_keys, api_keys.c.partner_id == partners.c.id)
    .where(api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at.is_(None))
)  # fmt: skip


def caller_of(connection: Connection, key: str | None) -> Caller | None:
    if not key:
        return None
    row = connection.execute(_CALLER, {"key_hash": key_hash(key)}).first()
    if row is None:
        return None
    return Caller(row.id, f"{row.isa_qualifier}:{row.isa_id}", row.name, row.role)
