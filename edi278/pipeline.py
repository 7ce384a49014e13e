"""The core: bytes in, findings and acknowledgements out. No I/O beyond reading the
given stream; the clock and the control-number source are passed in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from itertools import islice, zip_longest
from typing import BinaryIO

from edi278.ig import Guide
from edi278.inquire import FoundCase, Question, answer_inquiry, questions_of
from edi278.model import INQUIRY_GUIDE, NOTIFICATION_GUIDE, Purpose, Transaction
from edi278.notify import (
    NOTIFICATION_PURPOSES,
    acknowledge_notification,
    as_request,
    is_notification,
)
from edi278.reader import read_transaction
from edi278.respond import EventDecision, respond
from edi278.spool import AnswerText, Spool, pieces_of
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
# Requests an interchange holds read between its ISA and its IEA (their models and texts);
# one that brings more is answered by reading them again, a batch at a time.
HOLD = 500
# Requests decided and answered together when they are read again.
BATCH = 500
# GS01 of a group of functional acknowledgements (999, 997): received, never answered.
ACKNOWLEDGEMENT_GROUP = "FA"


def examine(
    source: BinaryIO,
    guide: Guide | None = None,
    read_requests: bool = True,
    again: BinaryIO | None = None,
    hold: int | None = None,
) -> Iterator[InterchangeReport]:
    """A report per interchange (and per stretch of bytes outside any), streaming.

    With a `guide`, every 278 transaction set is also validated against the
    implementation guide; without, only the envelope and X12 syntax are checked.
    `read_requests` off leaves the accepted requests unread: validating needs their
    findings, not their models. Given `again`, a second handle on the same bytes, an
    interchange of more than `hold` requests holds none of them: they are read again
    from `again` when it is answered (InterchangeReport.requests_again)."""
    seen_interchanges: dict[tuple[str, str], None] = {}  # insertion-ordered: oldest first
    empty = True
    for interchange in read_interchanges(source):
        empty = False
        holding = _Holding(None if again is None else HOLD if hold is None else hold)
        report = _examine_interchange(interchange, seen_interchanges, guide, read_requests, holding)
        if report.deferred and again is not None:
            # The span and the groups, not the report: no cycle keeps a report alive.
            report.requests_again = partial(reread_requests, again, report.span, report.groups)
        yield report
    if empty:
        yield InterchangeReport(None, faults=[ta1("023", "the file is empty: no interchange")])


@dataclass(slots=True)
class _Holding:
    """How many requests an interchange holds read: past `limit` (None: no limit), none;
    they are counted instead, to be read again."""

    limit: int | None
    held: int = 0
    deferring: bool = False
    dropped: bool = False  # the requests held before were let go

    def drop_held(self, groups: Iterable[GroupReport]) -> None:
        """Once deferring, at the end of the group it began in: the requests held so far
        (at most `limit`, as none is read once deferring) let go, counted to be read
        again."""
        if self.deferring and not self.dropped:
            self.dropped = True
            for group in groups:
                group.defer_requests()

    def take(self) -> bool:
        """Whether one more request is read and held."""
        if self.deferring:
            return False
        self.held += 1
        self.deferring = self.limit is not None and self.held > self.limit
        return not self.deferring


def _examine_interchange(
    interchange: Interchange,
    seen: dict[tuple[str, str], None],
    guide: Guide | None,
    read_requests: bool = True,
    holding: _Holding | None = None,
) -> InterchangeReport:
    holding = holding or _Holding(None)
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
                _examine_group(
                    group, group_numbers, report.faults, header, guide, read_requests, holding
                )
            )
            holding.drop_held(report.groups)
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
    holding: _Holding | None = None,
) -> GroupReport:
    holding = holding or _Holding(None)
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
            if holding.take():
                entry.request = _read_request(transaction.segments)  # validated: safe
                entry.text = write(transaction.segments, interchange.delimiters)
            else:
                report.deferred += 1
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
# A request taken, with the group it came in.
Taken = tuple[GroupReport, TransactionReport]
# Decides a batch of requests together, in order: the store's intake reads what it needs
# once a batch and stores the batch's cases as soon as they are decided.
BatchDecisionSource = Callable[[list[Taken]], list[list[EventDecision]]]
# Finds, for each question of a batch of X215 inquiries (one per 2000E), the cases its
# sender may see: the store's intake, which knows the sender.
InquirySource = Callable[[list[Question]], list[list[FoundCase]]]
SEGMENTS_PER_WRITE = 1_000  # of a 999: written a run at a time, never held whole


class SourceChanged(OSError):
    """An interchange read again did not hold the requests it held when examined: its
    file changed in between. Nothing of it is answered; it is taken again next time."""


@dataclass(frozen=True, slots=True)
class Acknowledgements:
    """What is sent back for an interchange: whole texts, or for an interchange whose
    requests were read again (InterchangeReport.deferred), spooled ones."""

    ta1: str | None  # an interchange carrying the TA1, when one is owed
    functional: AnswerText | None  # an interchange carrying one 999 per group received
    responses: AnswerText | None = None  # an interchange of 278 responses, one per request


# What gets a 278 response, by guide (ST03) and BHT02: an X217 request for review, an
# X215 inquiry, an X216 notification. All are "requests" below: taken, held or read
# again, answered in order (a notification read as the request it amounts to).
ANSWERED = frozenset(
    {
        ("005010X217", Purpose.REQUEST),
        (INQUIRY_GUIDE, Purpose.INQUIRY),
        *((NOTIFICATION_GUIDE, purpose) for purpose in NOTIFICATION_PURPOSES),
    }
)


def _is_request(transaction: TransactionSet) -> bool:
    """A request for review or an inquiry: what gets a 278 response."""
    bht = transaction.segments[1] if len(transaction.segments) > 1 else None
    return (
        bht is not None
        and bht.id == "BHT"
        and (transaction.header.value(3), bht.value(2)) in ANSWERED
    )


def _read_request(segments: list[Segment]) -> Transaction:
    """A set taken: a request or an inquiry as read, a notification as the request it
    amounts to (edi278.notify.as_request), which keeps it for its acknowledgment."""
    read = read_transaction(segments)
    return as_request(read) if is_notification(read) else read


def requests_of(report: InterchangeReport) -> Iterator[Taken]:
    """The requests of an interchange that are decided, in order, each with its group:
    those it holds, or for a deferred one, all of them read again."""
    if not report.accepted:
        return
    if report.requests_again is not None:
        yield from report.requests_again()
        return
    for group in report.groups:
        for transaction in group.taken():
            yield group, transaction


def reread_requests(
    source: BinaryIO, span: tuple[int, int | None], groups: list[GroupReport]
) -> Iterator[Taken]:
    """The requests an examined interchange took, read again from `source` (a handle on
    the same bytes) where it lay (`span`), with the reports of its `groups`: each set
    found by its place in its group and read when its report accepted it; nothing of
    it is held once the caller lets it go. Sets that are not the ones examined (the
    file changed in between) raise SourceChanged."""
    source.seek(span[0])
    interchange = next(read_interchanges(source), None)
    assert interchange is not None and interchange.header is not None
    delimiters = interchange.header.delimiters
    reports = iter(groups)
    for group in interchange.groups:
        if group.functional_identifier == ACKNOWLEDGEMENT_GROUP:
            continue
        found = next(reports, None)
        if found is None:
            raise SourceChanged("the interchange read again has more groups than before")
        if not found.request_count:
            continue  # the reader skips what is not read
        read = sets = 0
        for index, transaction in enumerate(group.transactions):
            sets += 1
            entry = found.transactions[index] if index < len(found.transactions) else None
            if entry is None or entry.control_number != transaction.control_number:
                raise SourceChanged(
                    f"set {index + 1} of group {found.header.value(6)!r} read again is not "
                    "the set examined"
                )
            complete = transaction.trailer is not None and not transaction.truncated
            if not (complete and entry.accepted and _is_request(transaction)):
                continue
            read += 1
            yield (
                found,
                replace(
                    entry,
                    request=_read_request(transaction.segments),
                    text=write(transaction.segments, delimiters),
                ),
            )
        if (read, sets) != (found.request_count, len(found.transactions)):
            raise SourceChanged(
                f"group {found.header.value(6)!r} read again holds {sets} sets and {read} "
                f"requests, not the {len(found.transactions)} and {found.request_count} "
                "examined"
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

    def interchange(self, body: list[Segment], groups: int, version: str) -> str:
        """An interchange around `body`."""
        header, trailer = self.interchange_ends(groups, version)
        return header + write(body, self.delimiters) + trailer

    def interchange_ends(self, groups: int, version: str = envelope.OUR_VERSION) -> tuple[str, str]:
        """The ISA and the IEA of an interchange of so many groups, written: what goes
        between them is written on its own, as it is made."""
        control = next(self.controls["interchange"])
        header = envelope.interchange_header(
            self.sender, self.receiver, control, self.now, self.usage, self.delimiters, version
        )
        trailer = envelope.interchange_trailer(groups, control)
        return write([header], self.delimiters), write([trailer], self.delimiters)

    def group_ends(
        self, functional: str, received: Segment, version: str, sets: int
    ) -> tuple[str, str]:
        """The GS and the GE of a group of so many sets, answering the group `received`."""
        control = next(self.controls["group"])
        header = envelope.group_header(
            functional,
            received.value(3) or self.sender.id,
            received.value(2) or self.receiver.id,
            control,
            self.now,
            version,
        )
        trailer = envelope.group_trailer(sets, control)
        return write([header], self.delimiters), write([trailer], self.delimiters)


def acknowledge(
    report: InterchangeReport,
    now: datetime,
    numbers: ControlNumbers,
    decide: DecisionSource | None = None,
    copy_bad_data: bool = True,
    decide_batch: BatchDecisionSource | None = None,
    inquire: InquirySource | None = None,
) -> Acknowledgements:
    """The TA1 and the 999 an interchange is owed and, with a decision source (one
    request at a time, or a batch at a time), the 278 responses to the requests it
    carried that were taken, and to its inquiries with the cases `inquire` finds (none
    without it). `copy_bad_data` off keeps the 999 free of IK404 copies, for partners
    who want no member data in it."""
    functional = _owes_999(report)
    batch = decide_batch or (one_by_one(decide) if decide is not None else None)
    reply = _Reply.to(report, now, numbers, reply_counts(report, batch is not None))
    ta1_text = (
        reply.interchange([acks.ta1(report, now)], 0, envelope.reply_version(report.header))
        if report.needs_ta1
        else None
    )
    if not functional:
        return Acknowledgements(ta1_text, None)
    functional_text = _finished(report, _functional(report, reply, copy_bad_data))
    responses = _responses(report, reply, batch, inquire) if batch is not None else None
    return Acknowledgements(ta1_text, functional_text, responses)


def one_by_one(decide: DecisionSource) -> BatchDecisionSource:
    """A decision source for one request at a time, asked a batch at a time."""

    def batch(taken: list[Taken]) -> list[list[EventDecision]]:
        return [decide(transaction.request) for _, transaction in taken if transaction.request]

    return batch


def nothing_found(questions: list[Question]) -> list[list[FoundCase]]:
    """An inquiry source without a store: no question finds a case."""
    return [[] for _ in questions]


def respond_again(
    report: InterchangeReport,
    now: datetime,
    numbers: ControlNumbers,
    decide: BatchDecisionSource,
    inquire: InquirySource | None = None,
) -> AnswerText | None:
    """The 278 responses alone, as `acknowledge` writes them, under control numbers of
    their own: an interchange received before, answered anew (its 999 and TA1 stand)."""
    groups = len(_answered_groups(report))
    counts: dict[ControlKind, int] = {"interchange": int(bool(groups)), "group": groups}
    return _responses(report, _Reply.to(report, now, numbers, counts), decide, inquire)


def same_responses(report: InterchangeReport, one: AnswerText, other: AnswerText) -> bool:
    """Whether two 278 response interchanges to `report` say the same: the same
    transaction sets, whatever their envelopes (control numbers, dates) and the time
    each was written (BHT04, BHT05). Read a piece at a time, whatever their size."""
    delimiters = envelope.reply_delimiters(report.header)
    said = zip_longest(_said(one, delimiters), _said(other, delimiters))
    return all(mine == theirs for mine, theirs in said)


def _said(text: AnswerText, delimiters: Delimiters) -> Iterator[str]:
    """The segments of our own response interchange inside its groups, BHT04 and BHT05
    left out (we write no delimiter inside data, so splitting on them is exact)."""
    for segment in _segments(pieces_of(text), delimiters.segment + delimiters.line_break):
        elements = segment.split(delimiters.element)
        if elements[0] in ("", "ISA", "GS", "GE", "IEA"):
            continue
        yield delimiters.element.join(elements[:4] if elements[0] == "BHT" else elements)


def _segments(pieces: Iterable[str], end: str) -> Iterator[str]:
    """Text given in pieces, split at `end`: a segment cut between two pieces is whole."""
    rest = ""
    for piece in pieces:
        parts = (rest + piece).split(end)
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def reply_counts(report: InterchangeReport, answering: bool = True) -> dict[ControlKind, int]:
    """The interchanges and functional groups `acknowledge` sends for a report (with a
    decision source when `answering`): a TA1, a 999 and a 278 interchange as owed, and
    their groups. Known before anything is decided, so that their control numbers can
    be taken beforehand."""
    functional = _owes_999(report)
    answered = len(_answered_groups(report)) if answering else 0
    return {
        "interchange": int(report.needs_ta1) + int(functional) + int(bool(answered)),
        "group": int(functional) + answered,
    }


def _owes_999(report: InterchangeReport) -> bool:
    return bool(report.groups and report.accepted)  # a rejected interchange: no 999


def _answered_groups(report: InterchangeReport) -> list[GroupReport]:
    """The groups that get a group of 278 responses: those with requests taken, in an
    interchange that is owed a 999."""
    return [group for group in report.groups if group.request_count] if _owes_999(report) else []


def _functional(report: InterchangeReport, reply: _Reply, copy_bad_data: bool) -> Spool:
    """One 999 per group received, in one functional group, written a run of segments
    at a time."""
    out = Spool()
    opening, closing = reply.interchange_ends(1)
    group_opening, group_closing = reply.group_ends(
        "FA", report.groups[0].header, envelope.ACK_VERSION, len(report.groups)
    )
    out.write(opening + group_opening)
    forbidden = reply.delimiters.characters()
    for number, group in enumerate(report.groups, start=1):
        segments = acks.ack_999(group, f"{number:04d}", forbidden, copy_bad_data)
        while run := list(islice(segments, SEGMENTS_PER_WRITE)):
            out.write(write(run, reply.delimiters))
    out.write(group_closing + closing)
    return out


def _responses(
    report: InterchangeReport,
    reply: _Reply,
    decide: BatchDecisionSource,
    inquire: InquirySource | None = None,
) -> AnswerText | None:
    """A 278 response to each request taken, in one interchange of a group per group
    of requests, written as they are decided, a batch at a time."""
    groups = _answered_groups(report)
    if not groups:
        return None
    out = Spool()
    opening, closing = reply.interchange_ends(len(groups))
    out.write(opening)
    current: GroupReport | None = None
    group_closing, number = "", 0
    requests = requests_of(report)
    while batch := list(islice(requests, BATCH)):
        answered = _answered(batch, decide, inquire or nothing_found, reply.now)
        for (group, _), response in zip(batch, answered, strict=True):
            if group is not current:
                out.write(group_closing)
                current, number = group, 0
                group_opening, group_closing = reply.group_ends(
                    "HI", group.header, group.header.value(8), group.request_count
                )
                out.write(group_opening)
            number += 1
            response.control_number = f"{number:04d}"
            out.write(write(write_transaction(response), reply.delimiters))
    out.write(group_closing + closing)
    return _finished(report, out)


def _answered(
    batch: list[Taken], decide: BatchDecisionSource, inquire: InquirySource, now: datetime
) -> list[Transaction]:
    """The response to each of a batch of requests, in order: the requests for review
    decided together, the inquiries' questions looked up together."""
    requests = [each for each in batch if each[1].request is not None]
    asked = [t.request for _, t in requests if t.request is not None and t.request.is_inquiry]
    reviews = [each for each in requests if not each[1].request.is_inquiry]  # type: ignore[union-attr]
    decided = iter(decide(reviews) if reviews else [])
    questions = [questions_of(inquiry) for inquiry in asked]
    found = iter(inquire([q for each in questions for q in each]) if asked else [])
    answers = []
    for _, transaction in requests:
        request = transaction.request
        assert request is not None
        if request.is_inquiry:
            cases = [next(found) for _ in request.events]
            answers.append(answer_inquiry(request, cases, now))
        elif request.notice is not None:
            answers.append(acknowledge_notification(request.notice, next(decided), now))
        else:
            answers.append(respond(request, next(decided), now))
    return answers


def _finished(report: InterchangeReport, out: Spool) -> AnswerText:
    """A deferred interchange's answer stays spooled; any other's is a plain string."""
    if report.deferred:
        return out
    with out:
        return out.text()
