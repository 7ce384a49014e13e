"""Idempotency-Key: one processing per partner and key, however many send it at once.

A request first claims its key with a row of its own (status 0: in progress); the
database's primary key lets exactly one claim in. The winner answers and stores its
answer in the row; the others get that stored answer, or, while it is still being made,
a 409 to come back. A claim whose holder failed is given up; one whose process died is
taken over once it is older than STALE_AFTER.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from edi278.store.database import reading
from edi278.store.tables import idempotency_keys

IN_PROGRESS = 0  # the status of a claim whose answer is still being made
STALE_AFTER = timedelta(minutes=5)  # far past any one request's time
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class Answer:
    status: int
    media_type: str
    body: str
    replayed: bool = False


class KeyConflict(Exception):
    """The key was used with another body (422)."""


class KeyInProgress(Exception):
    """Another request with this key is being answered right now (409, Retry-After)."""


def answer_once(
    engine: Engine,
    partner_id: int,
    key: str,
    body: bytes,
    now: Callable[[], datetime],
    answer: Callable[[], tuple[int, str, str]],
) -> Answer:
    digest = hashlib.sha256(body).hexdigest()
    table = idempotency_keys.c
    mine = (table.partner_id == partner_id) & (table.key == key)
    for _ in range(3):  # a claim given up between our insert and our read: claim again
        stored = _stored(engine, mine)
        if stored is None:
            claimed_at = now()
            if _claim(engine, partner_id, key, digest, claimed_at):
                break
            continue
        if stored.request_sha256 != digest:
            raise KeyConflict
        if stored.status != IN_PROGRESS:
            return Answer(stored.status, stored.media_type, stored.body, replayed=True)
        claimed_at = now()
        if stored.created_at > claimed_at - STALE_AFTER or not _take_over(
            engine, mine, stored.created_at, claimed_at
        ):
            raise KeyInProgress
        break
    else:
        raise KeyInProgress
    try:
        status, media_type, content = answer()
    except BaseException:
        with engine.begin() as connection:  # given up: the next request with it may try
            connection.execute(idempotency_keys.delete().where(
                mine, table.status == IN_PROGRESS, table.created_at == claimed_at))  # fmt: skip
        raise
    with engine.begin() as connection:
        connection.execute(
            idempotency_keys.update()
            .where(mine, table.created_at == claimed_at)
            .values(status=status, media_type=media_type, body=content)
        )
    return Answer(status, media_type, content)


def _stored(engine: Engine, mine: Any) -> Any:
    with reading(engine).connect() as connection:
        return connection.execute(select(idempotency_keys).where(mine)).first()


def _claim(engine: Engine, partner_id: int, key: str, digest: str, at: datetime) -> bool:
    try:
        with engine.begin() as connection:
            connection.execute(
                idempotency_keys.insert(),
                {"partner_id": partner_id, "key": key, "request_sha256": digest,
                 "status": IN_PROGRESS, "media_type": "", "body": "", "created_at": at},
            )  # fmt: skip
    except IntegrityError:
        return False  # another request holds it
    return True


def _take_over(engine: Engine, mine: Any, seen: datetime, at: datetime) -> bool:
    """The stale claim is ours if it is still the one seen (one taker wins)."""
    table = idempotency_keys.c
    with engine.begin() as connection:
        done = connection.execute(
            idempotency_keys.update()
            .where(mine, table.status == IN_PROGRESS, table.created_at == seen)
            .values(created_at=at)
        )
    return done.rowcount == 1
