"""Sending the deliveries the store records (store/deliveries.py): a final 278 decided
after its request was answered, back the way the request came.

- file and folder requests (`process`, `watch`): written into the partner's outbox, or
  the folder the deciding command was given;
- SFTP requests: written into the mailbox's staging folder (work_dir/<name>/answers),
  which every `edi278 sftp` round uploads to the remote outbox;
- HTTP requests: POSTed to the partner's callback URL (HTTPS only), the 278 as the body
  (`application/edi-x12`), signed (`X-EDI278-Signature`, below) and named by its
  delivery id (`X-EDI278-Delivery`), which stays the same across retries so that the
  receiver can drop a copy it already has.

A file is written whole under a temporary name, then renamed to its own name (CASE.278,
CASE-2.278 for a case's second delivery ...), replacing what is there: a delivery sent
again after its sender died between sending and marking it writes the same bytes under
the same name, never a second file. In the staging folder a file is uploaded once: the
SFTP round skips an answer already in the remote outbox with the same bytes.

The signature: `X-EDI278-Signature: t=<unix time>,v1=<hex HMAC-SHA256>`, the HMAC keyed
with the partner's callback secret (`edi278 partner set --callback-url`, shown once)
over the bytes `<t>.` followed by the body. A receiver recomputes it, compares in
constant time, and refuses a `t` too far from its clock (a replay): `verify` below.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine

from edi278 import __version__, log
from edi278.outbox import AtomicFile
from edi278.store.database import reading
from edi278.store.deliveries import (
    DELIVERED,
    MAX_ATTEMPTS,
    Claimed,
    DeliveryError,
    check_callback_url,
    claim,
    delivered,
    due,
    error_text,
    failed_attempt,
    shown_url,
)

LOG = log.get("edi278.deliveries")
X12 = "application/edi-x12"
SIGNATURE = "X-EDI278-Signature"
DELIVERY = "X-EDI278-Delivery"
TOLERANCE_SECONDS = 300  # how far a receiver may let a signature's time be from its clock
REPLY_BYTES = 65_536  # of a receiver's answer, read and dropped: only its status counts


@dataclass(frozen=True, slots=True)
class Sending:
    """How deliveries are sent: the CA bundle trusted for callbacks instead of the
    system's (a partner's private CA; tests' own), how long a callback may take, and
    how many attempts a delivery gets before it is failed."""

    ca_bundle: Path | None = None
    timeout: float = 20.0
    max_attempts: int = MAX_ATTEMPTS


class CallbackRefused(Exception):
    """The partner's server answered, but not with a 2xx."""


# --- the senders: one per way back ------------------------------------------------------------

Sender = Callable[[Claimed, Sending, datetime], str]  # -> where it went (a path or a URL)


def write_file(claimed: Claimed, _sending: Sending, _now: datetime) -> str:
    """Into the folder under the delivery's own name, whole, replacing an earlier copy of
    itself (see the module's docstring)."""
    folder = Path(claimed.destination)
    folder.mkdir(parents=True, exist_ok=True)
    handle = AtomicFile(folder / claimed.name)
    try:
        handle.write(claimed.content.encode("utf-8"))
        return str(handle.replace(folder / claimed.name))
    except BaseException:
        handle.abort()
        raise


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-EDI278-Signature value for `body` sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """What a receiver checks: a v1 signature of this body under the secret, made
    within `tolerance` seconds of `now` (Unix seconds)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).partition(",v1=")[2]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def post_callback(claimed: Claimed, sending: Sending, now: datetime) -> str:
    """POSTed to the partner's callback URL over HTTPS; done when it answers 2xx."""
    url = check_callback_url(claimed.destination)
    if not claimed.secret:
        raise DeliveryError("the partner has no callback secret (edi278 partner set "
                            "--new-callback-secret)")  # fmt: skip
    body = claimed.content.encode("utf-8")
    headers = {
        "Content-Type": X12,
        "Content-Length": str(len(body)),
        DELIVERY: str(claimed.id),
        SIGNATURE: sign(claimed.secret, int(now.timestamp()), body),
        "User-Agent": f"edi278/{__version__}",
    }
    parts = urlsplit(url)
    context = ssl.create_default_context(
        cafile=str(sending.ca_bundle) if sending.ca_bundle else None
    )
    assert parts.hostname is not None  # check_callback_url
    connection = http.client.HTTPSConnection(
        parts.hostname, parts.port, timeout=sending.timeout, context=context
    )
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", target, body=body, headers=headers)
        reply = connection.getresponse()
        reply.read(REPLY_BYTES)
    finally:
        connection.close()
    if not 200 <= reply.status < 300:
        raise CallbackRefused(f"HTTP {reply.status} {reply.reason}".strip())
    return shown_url(url)


SENDERS: Mapping[str, Sender] = {
    "file": write_file,
    "folder": write_file,
    "sftp": write_file,
    "http": post_callback,
}


# --- attempts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt at a delivery, as reported (no content, nothing of the member)."""

    id: int
    reference: str
    channel: str
    status: str  # delivered, or pending (to be tried again) or failed (for good)
    attempts: int
    where: str  # the file written, or the URL (no query); where it was to go if it failed
    error: str | None = None
    next_attempt_at: datetime | None = None

    @property
    def delivered(self) -> bool:
        return self.status == DELIVERED

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "reference": self.reference,
            "channel": self.channel,
            "status": self.status,
            "attempts": self.attempts,
            "where": self.where,
            "error": self.error,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


def attempt(
    engine: Engine,
    delivery_id: int,
    now: datetime,
    sending: Sending = Sending(),
    senders: Mapping[str, Sender] = SENDERS,
) -> Attempt | None:
    """Claim the delivery, send it, mark it: None when it was not due, or another
    sender holds it. A failure is an outcome (retried after a backoff, or failed once
    its attempts are spent); only a program fault or a lost database raises."""
    with engine.begin() as connection:
        claimed = claim(connection, delivery_id, now)
    if claimed is None:
        return None
    send = senders.get(claimed.channel, write_file)
    where = claimed.destination
    if claimed.channel == "http":
        where = shown_url(where)
    try:
        where = send(claimed, sending, now)
    except Exception as error:  # the partner's side or the file system: recorded, retried
        reason = error_text(error)
        with engine.begin() as connection:
            status, next_at = failed_attempt(connection, claimed, reason, now, sending.max_attempts)
        LOG.warning("delivery.failed", delivery=claimed.id, reference=claimed.reference,
                    channel=claimed.channel, attempts=claimed.attempts, status=status,
                    error=reason)  # fmt: skip
        return Attempt(claimed.id, claimed.reference, claimed.channel, status,
                       claimed.attempts, where, reason, next_at)  # fmt: skip
    with engine.begin() as connection:
        delivered(connection, claimed.id, now)
    LOG.info("delivery.delivered", delivery=claimed.id, reference=claimed.reference,
             channel=claimed.channel, attempts=claimed.attempts)  # fmt: skip
    return Attempt(claimed.id, claimed.reference, claimed.channel, DELIVERED,
                   claimed.attempts, where)  # fmt: skip


def run_due(
    engine: Engine,
    now: datetime,
    sending: Sending = Sending(),
    senders: Mapping[str, Sender] = SENDERS,
) -> list[Attempt]:
    """One round: every delivery due at `now` attempted once, the longest waiting first."""
    with reading(engine).begin() as connection:
        found = due(connection, now, limit=10_000)
    attempts = []
    for delivery_id in found:
        done = attempt(engine, delivery_id, now, sending, senders)
        if done is not None:
            attempts.append(done)
    return attempts
