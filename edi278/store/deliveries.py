"""Deliveries: the final 278s that must still reach their requesters, and the state of
their sending.

A request answered at once needs no delivery: its 278 went back on the channel it came
in on. A case decided later (a reviewer's decision on a pend, an extension decided by
review) has an answer nobody asked for again, so the decision's transaction records a
delivery beside it (`record`): where the request came in (its interchange's channel),
where the answer goes (`route_for`), and the 278 itself. One per decision: the row is
unique on the decision it carries.

The states, and how a delivery is never sent twice even when a sender dies:

    held ----(retry, once there is somewhere to send it)----> pending
    held ----(shown_in_inquiry: the partner asked, X215)----> delivered
    pending --claim--> (sent) --delivered--> delivered
                       (failed) --failed_attempt--> pending (backoff), or failed
    failed ---(retry)---> pending

A claim is one UPDATE guarded by `status = 'pending' AND next_attempt_at <= now`, that
counts the attempt and moves next_attempt_at on by a lease: one sender wins it, the
others find nothing to do. The sender then sends and marks it delivered (or failed) in a
transaction of its own. A sender that dies between the two leaves it pending with its
lease running; once the lease is over it is due again and sent again, under the same
name (files) or with the same delivery id (callbacks, `X-EDI278-Delivery`), so the
partner can tell the second copy for what it is (channels/deliveries.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, func, select, update

from edi278.store.interchanges import partner_for
from edi278.store.tables import cases, deliveries, interchanges, partner_deliveries, partners

PENDING, DELIVERED, FAILED, HELD = "pending", "delivered", "failed", "held"
STATUSES = (PENDING, DELIVERED, FAILED, HELD)
FOLDER_CHANNELS = ("file", "folder")  # `process` and `watch`: answered into a folder
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 10  # 1, 2, 4 ... 32 min, then hourly: failed about 4 h after the first
# How long a claimed delivery is left to its sender: a callback times out well within it
# (20 s by default). Past it, the sender is taken for dead and the delivery is due again.
LEASE = timedelta(minutes=5)
SECRET_PREFIX = "e278whsec_"
ERROR_CHARS = 500  # deliveries.last_error


class DeliveryError(ValueError):
    """A delivery, or a partner's delivery settings, that cannot be as asked; the
    message says why and what to do."""


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt in a row: 1 min, 2, 4, ... up to 1 h."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def error_text(error: BaseException) -> str:
    """What is kept of a failure: its type and the first line of its message. The
    senders' errors never carry the 278 (its content is never in a message of theirs)."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else 'no reason given'}"
    return text[:ERROR_CHARS]


# --- the partner's settings ----------------------------------------------------------------


def check_callback_url(url: str) -> str:
    """An HTTPS URL with a host and no credentials in it, or a DeliveryError."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise DeliveryError(f"a callback URL must be https:// (not {parts.scheme or 'none'}://)")
    if not parts.hostname:
        raise DeliveryError("a callback URL needs a host, e.g. https://partner.example/edi278")
    if parts.username or parts.password:
        raise DeliveryError("a callback URL may not hold credentials: it is signed instead")
    return url.strip()


def shown_url(url: str) -> str:
    """A URL as listed: scheme, host, port and path (no query, which may hold a token)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


UNCHANGED: Any = object()


@dataclass(frozen=True, slots=True)
class PartnerDelivery:
    outbox: str | None
    callback_url: str | None
    has_secret: bool


def configure_partner(
    engine: Engine,
    qualifier: str,
    isa_id: str,
    now: datetime,
    *,
    outbox: Path | None = UNCHANGED,
    callback_url: str | None = UNCHANGED,
    new_secret: bool = False,
) -> tuple[PartnerDelivery, str | None]:
    """Set where the partner's later answers go (registering it if new): `outbox` (an
    absolute folder, None to clear), `callback_url` (HTTPS, None to clear). A secret to
    sign callbacks with is made with the first callback URL, or anew with `new_secret`;
    it is returned once (else None), to be given to the partner."""
    if callback_url is not UNCHANGED and callback_url is not None:
        callback_url = check_callback_url(callback_url)
    if outbox is not UNCHANGED and outbox is not None and not outbox.is_absolute():
        raise DeliveryError(f"{outbox}: give the outbox as an absolute folder")
    with engine.begin() as connection:
        partner_id = partner_for(connection, qualifier, isa_id, isa_id, now)
        row = connection.execute(
            select(partner_deliveries).where(partner_deliveries.c.partner_id == partner_id)
        ).first()
        values: dict[str, Any] = {"updated_at": now}
        if outbox is not UNCHANGED:
            values["outbox"] = None if outbox is None else str(outbox)
        if callback_url is not UNCHANGED:
            values["callback_url"] = callback_url
        secret = None
        url = values.get("callback_url", row.callback_url if row else None)
        if new_secret or (url and not (row and row.callback_secret)):
            secret = SECRET_PREFIX + secrets.token_urlsafe(32)
            values["callback_secret"] = secret
        if row is None:
            connection.execute(partner_deliveries.insert(), {"partner_id": partner_id, **values})
        else:
            connection.execute(
                partner_deliveries.update()
                .where(partner_deliveries.c.partner_id == partner_id)
                .values(**values)
            )
        now_set = connection.execute(
            select(partner_deliveries).where(partner_deliveries.c.partner_id == partner_id)
        ).one()
    settings = PartnerDelivery(now_set.outbox, now_set.callback_url, bool(now_set.callback_secret))
    return settings, secret


# --- where a decision goes -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mailbox:
    """What a delivery needs of an SFTP mailbox (channels/sftp.py): whose it is, and the
    local folder every `edi278 sftp` round uploads from (work_dir/<name>/answers)."""

    name: str
    senders: frozenset[str]
    staging: Path


@dataclass(frozen=True, slots=True)
class Routes:
    """What the command deciding knows besides the partner's settings: the folder for
    file and folder requests of partners without an outbox of their own (review decide
    --outbox), and the SFTP mailboxes (--sftp-config)."""

    outbox: Path | None = None
    mailboxes: tuple[Mailbox, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    channel: str
    partner_id: int | None  # the interchange's
    destination: str | None  # a folder or an https URL; None: held, for `why`
    why: str = ""


def route_for(connection: Connection, interchange_id: int, sender: str, routes: Routes) -> Route:
    """Where the answer to a request of this interchange goes: back the way it came."""
    came = connection.execute(
        select(interchanges.c.channel, interchanges.c.partner_id).where(
            interchanges.c.id == interchange_id
        )
    ).one()
    settings = None
    if came.partner_id is not None:
        settings = connection.execute(
            select(partner_deliveries).where(partner_deliveries.c.partner_id == came.partner_id)
        ).first()
    isa_id = sender.partition(":")[2]

    def to(destination: str | None, why: str = "") -> Route:
        return Route(came.channel, came.partner_id, destination, why)

    if came.channel == "sftp":
        for box in routes.mailboxes:
            if sender in box.senders:
                return to(str(box.staging))
        return to(None, f"no SFTP mailbox known here takes {sender}: give the mailboxes' "
                  "config (--sftp-config, EDI278_SFTP_CONFIG)")  # fmt: skip
    if came.channel == "http":
        if settings is not None and settings.callback_url:
            return to(settings.callback_url)
        return to(None, f"partner {sender} has no callback URL (edi278 partner set --isa-id "
                  f"{isa_id} --callback-url URL): held for its next X215 inquiry")  # fmt: skip
    if settings is not None and settings.outbox:
        return to(settings.outbox)
    if routes.outbox is not None:
        return to(str(routes.outbox.resolve()))
    return to(None, f"partner {sender} has no outbox (edi278 partner set --isa-id {isa_id} "
              "--outbox DIR) and none was given (--outbox)")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Recorded:
    id: int
    status: str
    channel: str
    destination: str | None
    name: str
    why: str  # why it is held; "" otherwise


def record(
    connection: Connection,
    *,
    decision_id: int,
    case_id: int,
    reference: str,
    content: str,
    route: Route,
    now: datetime,
) -> Recorded:
    """The delivery of this decision's 278, in the caller's transaction (the decision's);
    the one already recorded for it, if any."""
    found = connection.execute(
        select(deliveries).where(deliveries.c.decision_id == decision_id)
    ).first()
    if found is None:
        earlier = connection.execute(
            select(func.count()).select_from(deliveries).where(deliveries.c.case_id == case_id)
        ).scalar_one()
        name = f"{reference}.278" if earlier == 0 else f"{reference}-{earlier + 1}.278"
        held = route.destination is None
        delivery_id = connection.execute(
            deliveries.insert().returning(deliveries.c.id),
            {"decision_id": decision_id, "case_id": case_id, "partner_id": route.partner_id,
             "channel": route.channel, "destination": route.destination, "name": name,
             "content": content, "status": HELD if held else PENDING, "attempts": 0,
             "next_attempt_at": None if held else now, "last_error": route.why or None,
             "created_at": now},
        ).scalar_one()  # fmt: skip
        found = connection.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()
    why = (found.last_error or "") if found.status == HELD else ""
    return Recorded(found.id, found.status, found.channel, found.destination, found.name, why)


# --- sending: claim, then delivered or a failed attempt -------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this sender holds for one attempt (its `attempts`-th)."""

    id: int
    reference: str
    channel: str
    destination: str
    name: str
    content: str
    attempts: int
    secret: str | None  # the partner's callback secret


def due(connection: Connection, now: datetime, limit: int = 100) -> list[int]:
    """The pending deliveries whose time has come, the longest waiting first."""
    return list(
        connection.scalars(
            select(deliveries.c.id)
            .where(deliveries.c.status == PENDING, deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
        )
    )


def claim(connection: Connection, delivery_id: int, now: datetime) -> Claimed | None:
    """The delivery for one attempt, if it is pending and due: counted, and not due again
    before the lease is over. None when another sender has it, or it is not due."""
    taken = connection.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
        )
        .values(attempts=deliveries.c.attempts + 1, next_attempt_at=now + LEASE)
    )
    if taken.rowcount != 1:
        return None
    row = connection.execute(
        select(deliveries, cases.c.administrative_reference, partner_deliveries.c.callback_secret)
        .join(cases, cases.c.id == deliveries.c.case_id)
        .outerjoin(partner_deliveries, partner_deliveries.c.partner_id == deliveries.c.partner_id)
        .where(deliveries.c.id == delivery_id)
    ).one()
    return Claimed(row.id, row.administrative_reference, row.channel, row.destination or "",
                   row.name, row.content, row.attempts, row.callback_secret)  # fmt: skip


def delivered(connection: Connection, delivery_id: int, now: datetime) -> bool:
    """Marked delivered (False: it was marked so already, by another sender)."""
    done = connection.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id, deliveries.c.status == PENDING)
        .values(status=DELIVERED, delivered_at=now, next_attempt_at=None, last_error=None)
    )
    return done.rowcount == 1


def failed_attempt(
    connection: Connection, claimed: Claimed, error: str, now: datetime, max_attempts: int
) -> tuple[str, datetime | None]:
    """After a failed attempt: pending again after the backoff, or failed for good once
    `max_attempts` are spent. (status, next attempt)."""
    spent = claimed.attempts >= max_attempts
    status, next_at = (FAILED, None) if spent else (PENDING, now + retry_delay(claimed.attempts))
    connection.execute(
        update(deliveries)
        .where(
            deliveries.c.id == claimed.id,
            deliveries.c.status == PENDING,
            deliveries.c.attempts == claimed.attempts,  # not over a later claim's outcome
        )
        .values(status=status, next_attempt_at=next_at, last_error=error[:ERROR_CHARS])
    )
    return status, next_at


def retry(
    connection: Connection, delivery_id: int, now: datetime, routes: Routes | None = None
) -> Recorded:
    """A failed or held delivery pending again, due now, its attempts counted afresh.
    Its destination is looked up again (the partner's settings may have changed, or
    `routes` name a place it had none); a held one with still nowhere to go stays held."""
    row = connection.execute(
        select(deliveries, cases.c.interchange_id, cases.c.sender)
        .join(cases, cases.c.id == deliveries.c.case_id)
        .where(deliveries.c.id == delivery_id)
    ).first()
    if row is None:
        raise DeliveryError(f"no delivery has the id {delivery_id}")
    if row.status not in (FAILED, HELD):
        raise DeliveryError(f"delivery {delivery_id} is {row.status}: only a failed or held "
                            "one is retried")  # fmt: skip
    route = route_for(connection, row.interchange_id, row.sender, routes or Routes())
    destination = route.destination or row.destination
    if destination is None:
        raise DeliveryError(f"delivery {delivery_id} stays held: {route.why}")
    connection.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(status=PENDING, destination=destination, attempts=0, next_attempt_at=now)
    )
    return Recorded(row.id, PENDING, row.channel, destination, row.name, "")


def shown_in_inquiry(connection: Connection, case_ids: list[int], now: datetime) -> int:
    """For the X215 inquiry: these cases were just shown to their requester, with their
    current decisions, so their held deliveries have reached it. They are marked
    delivered; the count of them is returned. Call it in the inquiry's transaction with
    the cases the answer names (the sender's own: an inquiry shows no one else's)."""
    if not case_ids:
        return 0
    done = connection.execute(
        update(deliveries)
        .where(deliveries.c.case_id.in_(case_ids), deliveries.c.status == HELD)
        .values(status=DELIVERED, delivered_at=now)
    )
    return done.rowcount


# --- what may be shown -----------------------------------------------------------------------


def listing(connection: Connection, status: str | None = None) -> list[dict[str, Any]]:
    """Deliveries as operators see them, newest first: case reference numbers, partner,
    channel, where to, state. Never the 278, nor anything of the member."""
    query = (
        select(
            deliveries.c.id, cases.c.administrative_reference.label("reference"),
            partners.c.name.label("partner"), partners.c.isa_qualifier, partners.c.isa_id,
            deliveries.c.channel, deliveries.c.destination, deliveries.c.name,
            deliveries.c.status, deliveries.c.attempts, deliveries.c.next_attempt_at,
            deliveries.c.last_error, deliveries.c.created_at, deliveries.c.delivered_at,
        )
        .join(cases, cases.c.id == deliveries.c.case_id)
        .outerjoin(partners, partners.c.id == deliveries.c.partner_id)
        .order_by(deliveries.c.id.desc())
    )  # fmt: skip
    if status is not None:
        query = query.where(deliveries.c.status == status)
    shown = []
    for row in connection.execute(query):
        item = row._asdict()
        qualifier, isa_id = item.pop("isa_qualifier"), item.pop("isa_id")
        item["sender"] = f"{qualifier}:{isa_id}" if isa_id else None
        if item["destination"] and item["channel"] == "http":
            item["destination"] = shown_url(item["destination"])
        shown.append(item)
    return shown
