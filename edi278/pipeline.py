"""The core: bytes in, findings and acknowledgements out. No I/O beyond reading the
given stream; the clock and the control-number source are passed in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from edi278.ig import Guide
from edi278.model import Purpose, Transaction
from edi278.reader import read_transaction
from edi278.respond import EventDecision, respond
from edi278.writer import write_transaction
from edi278.x12 import acks, checks, envelope
from edi278.x12.compact import SeenControlNumbers, SetResults
from edi278.x12.control import ControlNumbers
from edi278.x12.control import Kind as ControlKind
from edi278.x12.delimiters import Delimiters
from edi278.x12.faults import Fault, Level, ta1
from edi278.x12.reader import Group, Interchange, TransactionSet, read_interchanges
from edi278.x12.report import GroupReport, InterchangeReport, TransactionReport
from edi278.x12.segment import Segment
from edi278.x12.tokenizer import Header
from edi278.x12.writer import write

# Interchange control numbers remembered per file to catch a repeat (TA1 025). Bounded,
# so that a file of a million interchanges stays within the memory bound; repeats across
# files and time are the persistence layer's to catch.
REPEAT_WINDOW = 10_000
# GS01 of a group of functional acknowledgements (999, 997): received, never answered.
ACKNOWLEDGEMENT_GROUP = "FA"


def examine(
    source: BinaryIO, guide: Guide | None = None, read_requests: bool = True
) -> Iterator[InterchangeReport]:
    """A report per interchange (and per stretch of bytes outside any), streaming.

    With a `guide`, every 278 transaction set is also validated against the
    implementation guide; without, only the envelope and X12 syntax are checked.
    `read_requests` off leaves the accepted requests unread: validating needs their
    findings, not their models."""
    seen_interchanges: dict[tuple[str, str], None] = {}  # insertion-ordered: oldest first
    empty = True
    for interchange in read_interchanges(source):
        empty = False
        yield _examine_interchange(interchange, seen_interchanges, guide, read_requests)
    if empty:
        yield InterchangeReport(None, faults=[ta1("023", "the file is empty: no interchange")])


def _examine_interchange(
    interchange: Interchange,
    seen: dict[tuple[str, str], None],
    guide: Guide | None,
    read_requests: bool = True,
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
        return InterchangeReport(None, junk=junk, faults=[fault], span=interchange.span())

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
        if group.functional_identifier == ACKNOWLEDGEMENT_GROUP:  # never acknowledged
            report.acknowledgements += 1
        elif not rejected:
            report.groups.append(
                _examine_group(group, group_numbers, report.faults, header, guide, read_requests)
            )
        else:
            report.other_content += 1
    report.acknowledgements += interchange.ta1_count
    report.other_content += len(interchange.faults)  # stray segments: not acknowledgements
    report.faults.extend(interchange.faults)  # stray segments, known once read
    report.faults.extend(checks.check_iea(interchange))
    report.span = interchange.span()
    if report.acknowledgement_only:
        # Acknowledgements are not judged either: whatever their envelope says, nothing
        # goes back (X12), so nothing is found wrong with them; they are only recorded.
        report.faults.clear()
    if not report.accepted:  # known only at its end (IEA count, stray segments)
        for group_report in report.groups:
            group_report.forget_requests()
    return report


def _examine_group(
    group: Group,
    seen_control_numbers: set[str],
    interchange_faults: list[Fault],
    interchange: Header,
    guide: Guide | None,
    read_requests: bool = True,
) -> GroupReport:
    faults = checks.check_gs(group, seen_control_numbers)
    interchange_faults.extend(f for f in faults if f.level is Level.INTERCHANGE)  # bad GS
    report = GroupReport(
        group.header, None, 0, [f for f in faults if f.level is Level.GROUP], SetResults()
    )
    # A GS too broken to read (TA1 024) names no guide: its sets are not walked.
    unreadable = any(f.level is Level.INTERCHANGE for f in faults)
    analyse = not report.rejected_as_a_whole and not unreadable
    transaction_numbers = SeenControlNumbers()
    for transaction in group.transactions:
        if not analyse:
            continue
        faults = checks.check_transaction(transaction, group, transaction_numbers)
        # A set cut short (no SE, or too large to keep) has its structure fault already;
        # walking the guide over the rest would only add noise.
        complete = transaction.trailer is not None and not transaction.truncated
        if guide is not None and transaction.identifier == "278" and complete:
            guide_faults = guide.validate(interchange.segment, group.header, transaction.segments)
            faults = checks.with_trailer_code([*faults, *guide_faults])
        entry = TransactionReport(
            transaction.identifier,
            transaction.control_number,
            transaction.header.value(3),
            tuple(faults),
        )
        answerable = guide is not None and complete and entry.accepted and read_requests
        if answerable and _is_request(transaction):
            entry.request = read_transaction(transaction.segments)  # validated: safe to read
            entry.text = write(transaction.segments, interchange.delimiters)
        report.transactions.append(entry)
    report.trailer = group.trailer  # known once the transaction sets have been read
    report.received = group.count
    report.faults.extend(checks.check_ge(group))
    # Its sets were read and held until the GE: only now is it known whether the group
    # stands, and a rejected group's requests are never decided.
    if report.rejected_as_a_whole:
        report.forget_requests()
    return report


# Decides every event (and its service lines) of one request: a policy bound by the
# shell to its numbers and its memory of what was decided before.
DecisionSource = Callable[[Transaction], list[EventDecision]]


@dataclass(frozen=True, slots=True)
class Acknowledgements:
    ta1: str | None  # an interchange carrying the TA1, when one is owed
    functional: str | None  # an interchange carrying one 999 per group received
    responses: str | None = None  # an interchange of 278 responses, one per request taken


def _is_request(transaction: TransactionSet) -> bool:
    """An X217 request for review: what gets a 278 response."""
    bht = transaction.segments[1] if len(transaction.segments) > 1 else None
    return (
        transaction.header.value(3) == "005010X217"
        and bht is not None
        and bht.id == "BHT"
        and bht.value(2) == Purpose.REQUEST
    )


@dataclass(frozen=True, slots=True)
class _Reply:
    """Everything we send back for one received interchange: addressed to its sender,
    in its delimiters, test or production as it was, with fresh control numbers."""

    sender: envelope.Party
    receiver: envelope.Party
    delimiters: Delimiters
    usage: str
    now: datetime
    controls: dict[str, Iterator[int]]  # the control numbers taken for it, by kind, in order

    @classmethod
    def to(
        cls,
        report: InterchangeReport,
        now: datetime,
        numbers: ControlNumbers,
        counts: dict[ControlKind, int],
    ) -> _Reply:
        """A reply of so many interchanges and functional groups, their control numbers
        taken at once."""
        sender, receiver = envelope.reply_parties(report.header)
        taken = numbers.take(sender.key, receiver.key, counts)
        return cls(
            sender,
            receiver,
            envelope.reply_delimiters(report.header),
            envelope.reply_usage(report.header),
            now,
            {kind: iter(values) for kind, values in taken.items()},
        )

    def interchange(
        self, body: list[Segment] | str, groups: int, version: str = envelope.OUR_VERSION
    ) -> str:
        """An interchange around `body`: segments, or text already written."""
        control = next(self.controls["interchange"])
        header = envelope.interchange_header(
            self.sender, self.receiver, control, self.now, self.usage, self.delimiters, version
        )
        trailer = envelope.interchange_trailer(groups, control)
        if isinstance(body, str):
            return write([header], self.delimiters) + body + write([trailer], self.delimiters)
        return write([header, *body, trailer], self.delimiters)

    def group(
        self, functional: str, received: Segment, version: str, sets: list[list[Segment]]
    ) -> list[Segment]:
        header, trailer = self._group_ends(functional, received, version, len(sets))
        body = [segment for transaction_set in sets for segment in transaction_set]
        return [header, *body, trailer]

    def group_text(self, functional: str, received: Segment, version: str, sets: list[str]) -> str:
        """A group around transaction sets already written: a set's segments live only
        as long as it takes to write them."""
        header, trailer = self._group_ends(functional, received, version, len(sets))
        return "".join([write([header], self.delimiters), *sets, write([trailer], self.delimiters)])

    def _group_ends(
        self, functional: str, received: Segment, version: str, sets: int
    ) -> tuple[Segment, Segment]:
        control = next(self.controls["group"])
        header = envelope.group_header(
            functional,
            received.value(3) or self.sender.id,
            received.value(2) or self.receiver.id,
            control,
            self.now,
            version,
        )
        return header, envelope.group_trailer(sets, control)


def acknowledge(
    report: InterchangeReport,
    now: datetime,
    numbers: ControlNumbers,
    decide: DecisionSource | None = None,
    copy_bad_data: bool = True,
) -> Acknowledgements:
    """The TA1 and the 999 an interchange is owed and, with a decision source, the 278
    responses to the requests it carried that were taken. `copy_bad_data` off keeps the
    999 free of IK404 copies, for partners who want no member data in it."""
    functional = _owes_999(report)
    answering = decide is not None
    answered = [g for g in report.groups if _requests(g)] if functional and answering else []
    reply = _Reply.to(report, now, numbers, reply_counts(report, answering))
    ta1_text = (
        reply.interchange([acks.ta1(report, now)], 0, envelope.reply_version(report.header))
        if report.needs_ta1
        else None
    )
    if not functional:
        return Acknowledgements(ta1_text, None)
    sets = [
        acks.ack_999(group, f"{number:04d}", reply.delimiters.characters(), copy_bad_data)
        for number, group in enumerate(report.groups, start=1)
    ]
    functional_text = reply.interchange(
        reply.group("FA", report.groups[0].header, envelope.ACK_VERSION, sets), 1
    )
    responses = _responses(answered, reply, decide) if decide is not None else None
    return Acknowledgements(ta1_text, functional_text, responses)


def respond_again(
    report: InterchangeReport, now: datetime, numbers: ControlNumbers, decide: DecisionSource
) -> str | None:
    """The 278 responses alone, as `acknowledge` writes them, under control numbers of
    their own: an interchange received before, answered anew (its 999 and TA1 stand)."""
    answered = [g for g in report.groups if _requests(g)] if _owes_999(report) else []
    counts: dict[ControlKind, int] = {"interchange": int(bool(answered)), "group": len(answered)}
    return _responses(answered, _Reply.to(report, now, numbers, counts), decide)


def same_responses(report: InterchangeReport, one: str, other: str) -> bool:
    """Whether two 278 response interchanges to `report` say the same: the same
    transaction sets, whatever their envelopes (control numbers, dates) and the time
    each was written (BHT04, BHT05)."""
    delimiters = envelope.reply_delimiters(report.header)
    return _said(one, delimiters) == _said(other, delimiters)


def _said(text: str, delimiters: Delimiters) -> list[str]:
    """The segments of our own response interchange inside its groups, BHT04 and BHT05
    left out (we write no delimiter inside data, so splitting on them is exact)."""
    said = []
    for segment in text.split(delimiters.segment + delimiters.line_break):
        elements = segment.split(delimiters.element)
        if elements[0] in ("", "ISA", "GS", "GE", "IEA"):
            continue
        said.append(delimiters.element.join(elements[:4] if elements[0] == "BHT" else elements))
    return said


def reply_counts(report: InterchangeReport, answering: bool = True) -> dict[ControlKind, int]:
    """The interchanges and functional groups `acknowledge` sends for a report (with a
    decision source when `answering`): a TA1, a 999 and a 278 interchange as owed, and
    their groups. Known before anything is decided, so that their control numbers can
    be taken beforehand."""
    functional = _owes_999(report)
    answered = sum(1 for g in report.groups if _requests(g)) if functional and answering else 0
    return {
        "interchange": int(report.needs_ta1) + int(functional) + int(bool(answered)),
        "group": int(functional) + answered,
    }


def _owes_999(report: InterchangeReport) -> bool:
    return bool(report.groups and report.accepted)  # a rejected interchange: no 999


def _requests(group: GroupReport) -> list[Transaction]:
    """The requests of a group that were taken: what gets a 278 response."""
    return [t.request for t in group.taken() if t.request]


def _responses(answered: list[GroupReport], reply: _Reply, decide: DecisionSource) -> str | None:
    groups: list[str] = []
    for group in answered:
        sets = []
        for number, request in enumerate(_requests(group), start=1):
            response = respond(request, decide(request), reply.now)
            response.control_number = f"{number:04d}"
            sets.append(write(write_transaction(response), reply.delimiters))
        groups.append(reply.group_text("HI", group.header, group.header.value(8), sets))
    if not groups:
        return None
    return reply.interchange("".join(groups), len(groups))
