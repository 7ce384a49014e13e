"""Trading partners and their API keys. A key is shown once, when made; the store keeps
only its SHA-256 (and its last four characters, to tell keys apart by), so a stolen
database gives no working key. A key works until it is revoked or, if made to, expires."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Engine, bindparam, or_, select

from edi278.store.interchanges import partner_for
from edi278.store.tables import api_keys, partners

KEY_PREFIX = "e278_"
ROLES = ("partner", "reviewer")
HINT = 4  # the characters of a key kept in the clear: far too few to guess the rest from


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
    expires: datetime | None = None,
) -> tuple[Caller, str]:
    """A new API key for the partner (registered if new), working until `expires` if
    given; the key itself is returned once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if expires is not None and expires <= now:
        raise ValueError("a key cannot expire before it is made")
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
             "created_at": now, "role": role, "expires_at": expires, "hint": key[-HINT:]},
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
    return _revoke(engine, api_keys.c.key_hash == key_hash(key), now)


def revoke_by_id(engine: Engine, key_id: int, now: datetime) -> bool:
    """Stop the key with this id (as `keys_of` lists it) from working, for good, without
    its secret; False when there is no such key or it is revoked already."""
    return _revoke(engine, api_keys.c.id == key_id, now)


def _revoke(engine: Engine, which: ColumnElement[bool], now: datetime) -> bool:
    with engine.begin() as connection:
        result = connection.execute(
            api_keys.update().where(which, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
        )
    return result.rowcount == 1


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown of a key: never the key, nor its hash."""

    id: int
    role: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    hint: str | None  # its last four characters; None for keys made before 0009

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "live"


class UnknownPartner(LookupError):
    pass


def keys_of(connection: Connection, partner: str) -> list[KeyInfo]:
    """The keys of the partner named `partner` (its name, or its ISA06, with or without
    its qualifier as "ZZ:ID"), oldest first. UnknownPartner when none is named so."""
    qualifier, _, isa_id = partner.rpartition(":")
    named = or_(partners.c.name == partner, partners.c.isa_id == isa_id)
    if qualifier:
        named = or_(named, (partners.c.isa_qualifier == qualifier) & (partners.c.isa_id == isa_id))
    found = connection.execute(select(partners.c.id).where(named)).scalars().all()
    if not found:
        raise UnknownPartner(f"no partner is named {partner!r}")
    if len(found) > 1:
        raise UnknownPartner(f"{partner!r} names {len(found)} partners: give QUALIFIER:ISA06")
    rows = connection.execute(
        select(api_keys).where(api_keys.c.partner_id == found[0]).order_by(api_keys.c.id)
    )
    return [
        KeyInfo(
            row.id, row.role, row.label, row.created_at, row.expires_at, row.revoked_at, row.hint
        )
        for row in rows
    ]


# Built once: asked on every API call, and building it costs more than running it.
_CALLER = (
    select(partners.c.id, partners.c.isa_qualifier, partners.c.isa_id, partners.c.name,
           api_keys.c.role)
    .join(api_keys, api_keys.c.partner_id == partners.c.id)
    .where(api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at.is_(None),
           or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > bindparam("now")))
)  # fmt: skip


def caller_of(connection: Connection, key: str | None, now: datetime) -> Caller | None:
    """Who a live key (not revoked, not expired at `now`) belongs to; None for any other."""
    if not key:
        return None
    row = connection.execute(_CALLER, {"key_hash": key_hash(key), "now": now}).first()
    if row is None:
        return None
    return Caller(row.id, f"{row.isa_qualifier}:{row.isa_id}", row.name, row.role)
