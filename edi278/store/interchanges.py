"""Interchanges received, the answers sent for them, and the partners who sent them.

An interchange is known by its sender and ISA13 and by the SHA-256 of its bytes (bytes
outside any envelope only by the hash). Every answer is kept whole, so that a byte-
identical resubmission gets exactly the same answer back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from edi278.spool import AnswerText, text_of
from edi278.store.tables import answers, interchanges, partners

ANSWER_KINDS = ("ta1", "999", "278")


@dataclass(frozen=True, slots=True)
class Prior:
    """What the store knows of an interchange about to be taken."""

    same_bytes: int | None  # the interchange received with exactly these bytes
    claimed: bool  # the sender's ISA13 is already owned by another interchange


# Built once: building a statement costs more than running it.
_PRIOR = select(
    interchanges.c.id, interchanges.c.sha256, interchanges.c.claims_control_number
).order_by(interchanges.c.id)
_PRIOR_BY_CONTROL = _PRIOR.where(
    interchanges.c.sender == bindparam("sender"),
    interchanges.c.control_number == bindparam("control"),
)
_PRIOR_BY_HASH = _PRIOR.where(  # bytes outside any envelope: known by their hash alone
    interchanges.c.sender.is_(None), interchanges.c.sha256 == bindparam("sha256")
)
_PARTNER = partners.c.isa_qualifier == bindparam("qualifier"), partners.c.isa_id == bindparam("id")
_SENDER = select(partners.c.id, partners.c.copy_bad_data).where(*_PARTNER)
_PARTNER_ID = select(partners.c.id).where(*_PARTNER)


def find_prior(
    connection: Connection, sender: str | None, control: str | None, sha256: str
) -> Prior:
    if sender is None:
        rows = connection.execute(_PRIOR_BY_HASH, {"sha256": sha256}).all()
    else:
        rows = connection.execute(_PRIOR_BY_CONTROL, {"sender": sender, "control": control}).all()
    same = next((row.id for row in rows if row.sha256 == sha256), None)
    return Prior(same, any(row.claims_control_number for row in rows))


def stored_answers(connection: Connection, interchange_id: int) -> dict[str, str]:
    rows = connection.execute(
        select(answers.c.kind, answers.c.content).where(answers.c.interchange_id == interchange_id)
    )
    return {row.kind: row.content for row in rows}


def replace_answer(connection: Connection, interchange_id: int, kind: str, content: str) -> None:
    """The answer of `kind` to send again for an interchange from now on: one made anew
    when a case it asked about was decided since (the audit log says when)."""
    connection.execute(
        update(answers)
        .where(answers.c.interchange_id == interchange_id, answers.c.kind == kind)
        .values(content=content)
    )


@dataclass(frozen=True, slots=True)
class KnownSender:
    """What the store holds of an interchange's sender before it is answered."""

    partner_id: int | None  # None: not registered (yet)
    copy_bad_data: bool  # its 999s may copy bad data into IK404: yes unless turned off


def known_sender(connection: Connection, sender: str | None) -> KnownSender:
    """The registered partner behind ISA05:ISA06, read once for the whole answer."""
    if sender is None:
        return KnownSender(None, True)
    qualifier, _, identifier = sender.partition(":")
    row = connection.execute(_SENDER, {"qualifier": qualifier, "id": identifier}).first()
    if row is None:
        return KnownSender(None, True)
    return KnownSender(row.id, row.copy_bad_data is not False)


def partner_for(
    connection: Connection, qualifier: str, identifier: str, gs_code: str, now: datetime
) -> int:
    """The partner with this ISA05/ISA06, registered on first sight under its own ID as
    its display name (rename it later; the ID is what matters)."""
    found = connection.execute(
        _PARTNER_ID, {"qualifier": qualifier, "id": identifier}
    ).scalar_one_or_none()
    if found is not None:
        return found
    return connection.execute(
        partners.insert().returning(partners.c.id),
        {
            "isa_qualifier": qualifier,
            "isa_id": identifier,
            "gs_code": gs_code,
            "name": identifier,
            "created_at": now,
        },
    ).scalar_one()


@dataclass(frozen=True, slots=True)
class Received:
    partner_id: int | None
    sender: str | None
    control_number: str | None
    group_control_numbers: list[str]
    sha256: str
    size: int
    received_at: datetime
    channel: str
    source: str
    status: str
    claims_control_number: bool


def record_interchange(connection: Connection, received: Received, sent: dict[str, str]) -> int:
    """Store the interchange and its answers; raises IntegrityError when another worker
    took the same sender + ISA13 first."""
    interchange_id = connection.execute(
        interchanges.insert().returning(interchanges.c.id),
        {
            "partner_id": received.partner_id,
            "sender": received.sender,
            "control_number": received.control_number,
            "group_control_numbers": ",".join(received.group_control_numbers),
            "sha256": received.sha256,
            "size": received.size,
            "received_at": received.received_at,
            "channel": received.channel,
            "source": received.source[-255:],
            "status": received.status,
            "claims_control_number": received.claims_control_number,
        },
    ).scalar_one()
    rows = [
        {"interchange_id": interchange_id, "kind": kind, "content": content}
        for kind, content in sent.items()
    ]
    if rows:
        connection.execute(answers.insert(), rows)
    return interchange_id


def record_answers(
    connection: Connection, interchange_id: int, sent: dict[str, AnswerText]
) -> None:
    """The answers sent for an interchange recorded before they were made."""
    rows = [
        {"interchange_id": interchange_id, "kind": kind, "content": text_of(content)}
        for kind, content in sent.items()
    ]
    if rows:
        connection.execute(answers.insert(), rows)
