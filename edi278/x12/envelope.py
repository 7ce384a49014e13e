"""Outgoing envelopes: ISA/IEA and GS/GE around what we send back.

A reply goes from the receiver of what we got to its sender, with fresh control numbers
and the sender's own delimiters where those are sound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edi278.x12.delimiters import DEFAULT, Delimiters
from edi278.x12.segment import Segment
from edi278.x12.tokenizer import Header

ACK_VERSION = "005010X231A1"
# The interchange versions whose envelope we can write: a TA1 goes back in the version
# its interchange came in, so that a sender we reject for its version can still read
# why. Before 00402 ISA11 was the standards identifier `U`, not a repetition separator.
OUR_VERSION = "00501"
STANDARDS_IDENTIFIER = {"00401": "U"}
REPLY_VERSIONS = frozenset({OUR_VERSION, *STANDARDS_IDENTIFIER})


@dataclass(frozen=True, slots=True)
class Party:
    """An interchange sender or receiver: ISA05/ISA06 (or ISA07/ISA08), unpadded."""

    qualifier: str
    id: str

    @property
    def key(self) -> str:
        return f"{self.qualifier}:{self.id}"


# Who we are when there is no ISA to answer from, and who we answer then.
OURSELVES = Party("ZZ", "EDI278")
UNKNOWN_PARTNER = Party("ZZ", "UNKNOWN")


def _party(qualifier: str, id: str, fallback: Party) -> Party:
    id = id.strip()
    if len(qualifier) != 2 or not qualifier.isalnum() or not id or len(id) > 15:
        return fallback
    return Party(qualifier, id)


def reply_parties(header: Header | None) -> tuple[Party, Party]:
    """(sender, receiver) of our reply to an interchange: its receiver and its sender."""
    if header is None or len(header.segment) != 16:
        return OURSELVES, UNKNOWN_PARTNER
    isa = header.segment
    return (
        _party(isa.value(7), isa.value(8), OURSELVES),
        _party(isa.value(5), isa.value(6), UNKNOWN_PARTNER),
    )


def reply_version(header: Header | None) -> str:
    """ISA12 of a TA1 answering this interchange: its own version where we can write
    that envelope, else ours."""
    version = header.segment.value(12) if header is not None and len(header.segment) == 16 else ""
    return version if version in REPLY_VERSIONS else OUR_VERSION


def reply_delimiters(header: Header | None) -> Delimiters:
    """The sender's delimiters where they are sound (a 4010 sender has no repetition
    separator), else ours."""
    separates = header is not None and (
        header.delimiters.repetition is not None or reply_version(header) in STANDARDS_IDENTIFIER
    )
    if header is None or header.faults or not separates:
        line_break = header.delimiters.line_break if header else DEFAULT.line_break
        return Delimiters(line_break=line_break)
    return header.delimiters


def reply_usage(header: Header | None) -> str:
    """ISA15 of the reply: a test interchange gets a test answer."""
    usage = header.segment.value(15) if header is not None and len(header.segment) == 16 else ""
    return usage if usage in ("P", "T", "I") else "P"


def isa(
    sender: Party,
    receiver: Party,
    control_number: str,
    date: str,
    time: str,
    usage: str,
    delimiters: Delimiters,
    version: str = OUR_VERSION,
) -> Segment:
    """An ISA with its fixed widths; ISA11 and ISA16 name the delimiters it is sent with
    (ISA11 is the standards identifier in versions before 00402)."""
    isa11 = STANDARDS_IDENTIFIER.get(version) or delimiters.repetition or "^"
    return Segment.of(
        "ISA", "00", " " * 10, "00", " " * 10,
        sender.qualifier, sender.id.ljust(15), receiver.qualifier, receiver.id.ljust(15),
        date, time, isa11, version, control_number, "0", usage, delimiters.component,
    )  # fmt: skip


def interchange_header(
    sender: Party,
    receiver: Party,
    control_number: int,
    now: datetime,
    usage: str,
    delimiters: Delimiters,
    version: str = OUR_VERSION,
) -> Segment:
    return isa(
        sender,
        receiver,
        f"{control_number:09d}",
        now.strftime("%y%m%d"),
        now.strftime("%H%M"),
        usage,
        delimiters,
        version,
    )


def interchange_trailer(group_count: int, control_number: int) -> Segment:
    return Segment.of("IEA", str(group_count), f"{control_number:09d}")


def gs(
    functional_identifier: str,
    application_sender: str,
    application_receiver: str,
    control_number: str,
    date: str,
    time: str,
    version: str,
) -> Segment:
    return Segment.of(
        "GS",
        functional_identifier,
        application_sender,
        application_receiver,
        date,
        time,
        control_number,
        "X",
        version,
    )


def group_header(
    functional_identifier: str,
    application_sender: str,
    application_receiver: str,
    control_number: int,
    now: datetime,
    version: str,
) -> Segment:
    return gs(
        functional_identifier,
        application_sender,
        application_receiver,
        str(control_number),
        now.strftime("%Y%m%d"),
        now.strftime("%H%M"),
        version,
    )


def group_trailer(transaction_count: int, control_number: int) -> Segment:
    return Segment.of("GE", str(transaction_count), str(control_number))
