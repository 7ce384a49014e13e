"""Interchanges received, the answers sent for them, and the partners who sent them.

An interchange is known by its sender and ISA13 and by the SHA-256 of its bytes (bytes
outside any envelope only by the hash). Every answer is kept whole, so that a byte-
identical resubmission gets exactly the same answer back: in parts of PART_CHARS
characters, the first in interchange_answers and the rest in interchange_answer_parts,
written and read one part at a time, since the 278 responses to a large interchange run
to a gigabyte (past what a row holds, and more than memory should).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from edi278.spool import AnswerText, Spool, pieces_of
from edi278.store.tables import answer_parts, answers, interchanges, partners

ANSWER_KINDS = ("ta1", "999", "278")
# The status of an interchange whose requests are being answered in chunks: its cases
# are committed a chunk at a time, its answers once the last one is (requests_done).
ANSWERING = "answering"
ABANDONED = "abandoned"  # half answered, its ISA13 sent again with other bytes
# Characters per stored part. Storing one holds a few copies of it at once (its text,
# its encoding, SQLite's record): 4 MiB parts cost 33 MB of peak memory at the end of a
# large interchange, 1 MiB ones a quarter of that; a gigabyte is a thousand rows.
PART_CHARS = 1 << 20


@dataclass(frozen=True, slots=True)
class Prior:
    """What the store knows of an interchange about to be taken."""

    same_bytes: int | None  # the interchange received with exactly these bytes
    claimed: bool  # the sender's ISA13 is already owned by another interchange
    # The same bytes, still being answered in chunks (or left so by a crash).
    half_answered: HalfAnswered | None = None
    # Other bytes under the sender's ISA13, left half answered: (id, sha256). If no one
    # is at work on them they are abandoned, and the ISA13 is free again.
    stranded: tuple[int, str] | None = None


@dataclass(frozen=True, slots=True)
class HalfAnswered:
    """An interchange whose status is `answering`: what a run resuming it goes on from."""

    interchange_id: int
    requests_done: int  # its requests (in file order) whose cases are committed
    received_at: datetime  # a resumed run dates its cases and answers then


# Built once: building a statement costs more than running it.
_PRIOR = select(
    interchanges.c.id,
    interchanges.c.sha256,
    interchanges.c.claims_control_number,
    interchanges.c.status,
    interchanges.c.requests_done,
    interchanges.c.received_at,
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
    same = next((row for row in rows if row.sha256 == sha256), None)
    claimed = any(row.claims_control_number for row in rows)
    stranded = next(
        (
            (row.id, row.sha256)
            for row in rows
            if row.sha256 != sha256 and row.status == ANSWERING and row.claims_control_number
        ),
        None,
    )
    half = None
    if same is not None and same.status == ANSWERING:
        half = HalfAnswered(same.id, same.requests_done or 0, same.received_at)
    return Prior(None if same is None else same.id, claimed, half, stranded)


class AnsweredElsewhere(SQLAlchemyError):
    """An interchange answered in chunks whose marker another process has moved: this
    one's claim was lost (its database session dropped); it stops, the other goes on."""


def abandon_interchange(connection: Connection, interchange_id: int) -> bool:
    """A half-answered interchange no one is at work on, given up: its cases stand, it
    will not be answered, and its ISA13 is free for other bytes. False if it was
    answered or given up meanwhile."""
    done = connection.execute(
        update(interchanges).where(
            interchanges.c.id == interchange_id, interchanges.c.status == ANSWERING
        ),
        {"status": ABANDONED, "requests_done": None, "claims_control_number": False},
    )
    return done.rowcount == 1


_ANSWERING = (
    select(func.count()).select_from(interchanges).where(interchanges.c.requests_done.is_not(None))
)


def interchanges_answering(connection: Connection) -> int:
    """Interchanges being answered in chunks, or left half answered by a crash until
    their bytes come again (/metrics shows it: one that stays is a file to look for)."""
    return connection.execute(_ANSWERING).scalar_one()


def mark_requests_done(connection: Connection, interchange_id: int, before: int, done: int) -> None:
    """The marker of an interchange answered in chunks moved on from `before` to `done`,
    in the transaction that commits the cases of its requests up to `done`; raises
    AnsweredElsewhere (and so rolls that chunk back) if it no longer says `before`."""
    _move_marker(connection, interchange_id, before, {"requests_done": done})


def finish_answering(connection: Connection, interchange_id: int, done: int, status: str) -> None:
    """An interchange answered in chunks is answered (its marker at `done`): its status,
    and no marker."""
    _move_marker(connection, interchange_id, done, {"status": status, "requests_done": None})


def _move_marker(
    connection: Connection, interchange_id: int, before: int, values: dict[str, object]
) -> None:
    moved = connection.execute(
        update(interchanges).where(
            interchanges.c.id == interchange_id,
            interchanges.c.status == ANSWERING,
            interchanges.c.requests_done == before,
        ),
        values,
    )
    if moved.rowcount != 1:
        raise AnsweredElsewhere(f"interchange {interchange_id} is answered by another process")


_FIRST_PARTS = select(answers.c.kind, answers.c.content).where(
    answers.c.interchange_id == bindparam("interchange_id")
)
_LONGER = select(answer_parts.c.kind).where(  # the kinds with more than one part
    answer_parts.c.interchange_id == bindparam("interchange_id"), answer_parts.c.part == 1
)
_PART = select(answer_parts.c.content).where(
    answer_parts.c.interchange_id == bindparam("interchange_id"),
    answer_parts.c.kind == bindparam("kind"),
    answer_parts.c.part == bindparam("part"),
)


def stored_answers(connection: Connection, interchange_id: int) -> dict[str, AnswerText]:
    """The answers sent for an interchange, by kind: a str when it is one part, else a
    Spool (the caller closes it) filled one part at a time."""
    known = {"interchange_id": interchange_id}
    first = {row.kind: row.content for row in connection.execute(_FIRST_PARTS, known)}
    longer = connection.execute(_LONGER, known).scalars().all()
    found: dict[str, AnswerText] = dict(first)
    for kind in longer:
        found[kind] = _spooled(connection, interchange_id, kind, first[kind])
    return found


def _spooled(connection: Connection, interchange_id: int, kind: str, first: str) -> Spool:
    """An answer of several parts, read by its key one part at a time: never all rows in
    memory at once (a client-side cursor would fetch them all)."""
    spool = Spool()
    spool.write(first)
    key = {"interchange_id": interchange_id, "kind": kind}
    part = 1
    while (content := connection.scalar(_PART, {**key, "part": part})) is not None:
        spool.write(content)
        part += 1
    return spool


def replace_answer(
    connection: Connection, interchange_id: int, kind: str, content: AnswerText
) -> None:
    """The answer of `kind` to send again for an interchange from now on: one made anew
    when a case it asked about was decided since (the audit log says when)."""
    parts = _parts(content, PART_CHARS)
    connection.execute(
        update(answers)
        .where(answers.c.interchange_id == interchange_id, answers.c.kind == kind)
        .values(content=next(parts, ""))
    )
    connection.execute(
        delete(answer_parts).where(
            answer_parts.c.interchange_id == interchange_id, answer_parts.c.kind == kind
        )
    )
    _store_parts(connection, interchange_id, kind, parts)


def _store_parts(
    connection: Connection, interchange_id: int, kind: str, parts: Iterator[str]
) -> None:
    """The parts after the first, one insert each: a part is all that is held at a time."""
    for number, content in enumerate(parts, start=1):
        connection.execute(
            answer_parts.insert(),
            {"interchange_id": interchange_id, "kind": kind, "part": number, "content": content},
        )


def _parts(text: AnswerText, size: int) -> Iterator[str]:
    """The text in parts of exactly `size` characters, the last one shorter, and none for
    no text. A spool's text held in memory comes back in the pieces it was written, of
    any size, so they are gathered and cut here."""
    held: list[str] = []
    held_size = 0
    for piece in pieces_of(text, size):
        held.append(piece)
        held_size += len(piece)
        if held_size < size:
            continue
        gathered = "".join(held)
        whole = len(gathered) - len(gathered) % size
        for start in range(0, whole, size):
            yield gathered[start : start + size]
        rest = gathered[whole:]
        held, held_size = [rest], len(rest)
    if held_size:
        yield "".join(held)


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


def record_interchange(
    connection: Connection, received: Received, sent: Mapping[str, AnswerText]
) -> int:
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
            # the marker starts with none done (the column is set for these alone)
            **({"requests_done": 0} if received.status == ANSWERING else {}),
        },
    ).scalar_one()
    record_answers(connection, interchange_id, sent)
    return interchange_id


def record_answers(
    connection: Connection, interchange_id: int, sent: Mapping[str, AnswerText]
) -> None:
    """The answers sent for an interchange, in parts (recorded with it, or after it when
    it is stored a batch at a time and its answers are made as it is)."""
    parts = {kind: _parts(content, PART_CHARS) for kind, content in sent.items()}
    first = [
        {"interchange_id": interchange_id, "kind": kind, "content": next(rest, "")}
        for kind, rest in parts.items()
    ]
    if first:  # in one statement, as small answers always were
        connection.execute(answers.insert(), first)
    for kind, rest in parts.items():
        _store_parts(connection, interchange_id, kind, rest)
