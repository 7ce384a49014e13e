"""The core: bytes in, findings and acknowledgements out. No I/O beyond reading the
given stream; the clock and the control-number source are passed in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from edi278.ig import Guide
from edi278.x12 import acks, checks, envelope
from edi278.x12.control import ControlNumbers
from edi278.x12.faults import Fault, Level, ta1
from edi278.x12.reader import Group, Interchange, read_interchanges
from edi278.x12.report import GroupReport, InterchangeReport, TransactionReport
from edi278.x12.segment import Segment
from edi278.x12.writer import write

# Interchange control numbers remembered per file to catch a repeat (TA1 025). Bounded,
# so that a file of a million interchanges stays within the memory bound; repeats across
# files and time are the persistence layer's to catch.
REPEAT_WINDOW = 10_000


def examine(source: BinaryIO, guide: Guide | None = None) -> Iterator[InterchangeReport]:
    """A report per interchange (and per stretch of bytes outside any), streaming.

    With a `guide`, every 278 transaction set is also validated against the
    implementation guide; without, only the envelope and X12 syntax are checked."""
    seen_interchanges: dict[tuple[str, str], None] = {}  # insertion-ordered: oldest first
    empty = True
    for interchange in read_interchanges(source):
        empty = False
        yield _examine_interchange(interchange, seen_interchanges, guide)
    if empty:
        yield InterchangeReport(None, faults=[ta1("023", "the file is empty: no interchange")])


def _examine_interchange(
    interchange: Interchange, seen: dict[tuple[str, str], None], guide: Guide | None
) -> InterchangeReport:
    if interchange.header is None:
        junk = interchange.junk
        assert junk is not None
        fault = ta1(
            junk.code,
            f"{junk.reason}: {junk.length} bytes at byte {junk.offset} "
            "are not inside a readable ISA/IEA envelope",
            offset=junk.offset,
        )
        return InterchangeReport(None, junk=junk, faults=[fault])

    header = interchange.header
    report = InterchangeReport(header, faults=[*header.faults, *checks.check_isa(header.segment)])
    identity = (header.segment.value(5) + header.segment.value(6), interchange.control_number)
    if identity in seen:
        report.faults.append(
            ta1(
                "025",
                "interchange control number repeats for this sender",
                segment_id="ISA",
                element=13,
            )
        )
    seen[identity] = None
    if len(seen) > REPEAT_WINDOW:
        del seen[next(iter(seen))]
    rejected = not report.accepted  # a rejected interchange is read to its end, not analysed
    group_numbers: set[str] = set()
    for group in interchange.groups:
        if not rejected:
            report.groups.append(
                _examine_group(group, group_numbers, report.faults, header.segment, guide)
            )
    report.faults.extend(interchange.faults)  # stray segments, known once read
    report.faults.extend(checks.check_iea(interchange))
    return report


def _examine_group(
    group: Group,
    seen_control_numbers: set[str],
    interchange_faults: list[Fault],
    isa: Segment,
    guide: Guide | None,
) -> GroupReport:
    faults = checks.check_gs(group, seen_control_numbers)
    interchange_faults.extend(f for f in faults if f.level is Level.INTERCHANGE)  # bad GS
    report = GroupReport(group.header, None, 0, [f for f in faults if f.level is Level.GROUP])
    analyse = not report.rejected_as_a_whole
    transaction_numbers: set[str] = set()
    for transaction in group.transactions:
        if not analyse:
            continue
        faults = checks.check_transaction(transaction, group, transaction_numbers)
        # A set cut short (no SE, or too large to keep) has its structure fault already;
        # walking the guide over the rest would only add noise.
        complete = transaction.trailer is not None and not transaction.truncated
        if guide is not None and transaction.identifier == "278" and complete:
            guide_faults = guide.validate(isa, group.header, transaction.segments)
            faults = checks.with_trailer_code([*faults, *guide_faults])
        report.transactions.append(
            TransactionReport(
                transaction.identifier,
                transaction.control_number,
                transaction.header.value(3),
                tuple(faults),
            )
        )
    report.trailer = group.trailer  # known once the transaction sets have been read
    report.received = group.count
    report.faults.extend(checks.check_ge(group))
    return report


@dataclass(frozen=True, slots=True)
class Acknowledgements:
    ta1: str | None  # an interchange carrying the TA1, when one is owed
    functional: str | None  # an interchange carrying one 999 per group received


def acknowledge(
    report: InterchangeReport, now: datetime, numbers: ControlNumbers
) -> Acknowledgements:
    sender, receiver = envelope.reply_parties(report.header)
    delimiters = envelope.reply_delimiters(report.header)
    usage = envelope.reply_usage(report.header)

    def enclose(body, groups: int) -> str:
        control = numbers.next(sender.key, receiver.key, "interchange")
        return write(
            [
                envelope.interchange_header(sender, receiver, control, now, usage, delimiters),
                *body,
                envelope.interchange_trailer(groups, control),
            ],
            delimiters,
        )

    ta1_text = enclose([acks.ta1(report, now)], 0) if report.needs_ta1 else None
    functional = None
    if report.groups and report.accepted:  # nothing in a rejected interchange gets a 999
        first = report.groups[0].header
        group_control = numbers.next(sender.key, receiver.key, "group")
        sets = [
            acks.ack_999(group, f"{number:04d}", delimiters.characters())
            for number, group in enumerate(report.groups, start=1)
        ]
        functional = enclose(
            [
                envelope.group_header(
                    "FA",
                    first.value(3) or sender.id,
                    first.value(2) or receiver.id,
                    group_control,
                    now,
                    envelope.ACK_VERSION,
                ),
                *(segment for transaction_set in sets for segment in transaction_set),
                envelope.group_trailer(len(sets), group_control),
            ],
            1,
        )
    return Acknowledgements(ta1_text, functional)
