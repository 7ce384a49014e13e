"""Taking an interchange in: answered once, remembered, never processed twice.

For each interchange the core has examined, the store is asked what it knows:
- the same bytes were received before: the answers sent then are sent again, and
  nothing new is made (no case, no number, no control number);
- the sender's ISA13 is owned by an interchange with other bytes: a duplicate, answered
  with a TA1 R 025 and not processed (reference section 2.5);
- otherwise it is acknowledged and its requests decided, and then the interchange, its
  answers, its cases and their decisions are written in one transaction; one of more
  requests than are held is answered a chunk at a time instead, each chunk's cases
  committed with a marker that a restart after a crash resumes from (_answer_in_chunks).
A request whose (sender, BHT03, TRN02, TRN03) is already a case is answered with that
case's stored decision (reference section 8.4).
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import BinaryIO
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from edi278.decide.outcome import Decider, EventDecision, Outcome, Tracking
from edi278.decide.policy import default_policy
from edi278.decide.request import dates_of, events_in_context, person_of
from edi278.decide.tracking import Kind
from edi278.heap import give_back
from edi278.inquiries import InquiryLookup
from edi278.log import get as get_logger
from edi278.log import protect
from edi278.model import Action, Transaction
from edi278.notify import is_discharge
from edi278.pipeline import (
    Acknowledgements,
    Taken,
    acknowledge,
    reply_counts,
    requests_of,
    respond_again,
    same_responses,
)
from edi278.spool import AnswerText, close, text_of
from edi278.store.audit import audit, audit_many
from edi278.store.cases import (
    CaseKey,
    NewCase,
    cancel_certified,
    case_key,
    cases_of_interchange,
    close_stay,
    insert_cases,
    stored_decisions,
    unkeyed_decisions,
)
from edi278.store.claims import answering_claim
from edi278.store.database import checkpoint, reading
from edi278.store.deliveries import shown_in_inquiry
from edi278.store.facts import StoreDecider
from edi278.store.interchanges import (
    ANSWERING,
    KnownSender,
    Prior,
    Received,
    abandon_interchange,
    find_prior,
    finish_answering,
    known_sender,
    mark_requests_done,
    partner_for,
    record_answers,
    record_interchange,
    replace_answer,
    stored_answers,
)
from edi278.store.numbers import (
    DatabaseControlNumbers,
    TakenControlNumbers,
    assign_tracking_numbers,
    issue_tracking_numbers,
    issuer_beside,
    take_before_deciding,
)
from edi278.store.statistics import GrowingTables
from edi278.x12 import envelope
from edi278.x12.control import MemoryControlNumbers
from edi278.x12.faults import ta1
from edi278.x12.report import GroupReport, InterchangeReport, TransactionReport
from edi278.x12.tokenizer import Header
from edi278.x12.writer import write

HASH_CHUNK = 1 << 20
# Cases written per batch of statements inside an interchange's transaction: its rows
# (request texts, decisions, traces) are built a batch at a time.
CASE_BATCH = 500
# Chunks of an interchange answered in chunks between checkpoints of SQLite's WAL, so
# that it stays a few chunks long (looking a page up in a long WAL costs more).
CHECKPOINT_CHUNKS = 4
# Decisions an interchange's answer keeps for its summary when its requests were read
# again a batch at a time: the rest are counted (the summary lists fewer anyway).
KEPT_DECIDED = 10_000
# The recorded status of an interchange of acknowledgements (TA1, 999, 997): received,
# answered with nothing (X12 acknowledges no acknowledgement).
ACKNOWLEDGEMENT = "acknowledgement"
LOG = get_logger("edi278.intake")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    sha256: str
    size: int

    @classmethod
    def of_bytes(cls, data: bytes) -> Fingerprint:
        return cls(hashlib.sha256(data).hexdigest(), len(data))

    @classmethod
    def of_span(cls, source: BinaryIO, span: tuple[int, int | None]) -> Fingerprint:
        """The interchange's bytes as they lie in its file, read again in chunks from a
        handle of its own (the reader's stays where it is)."""
        start, end = span
        digest, size = hashlib.sha256(), 0
        source.seek(start)
        while end is None or size < end - start:
            chunk = source.read(HASH_CHUNK if end is None else min(HASH_CHUNK, end - start - size))
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        return cls(digest.hexdigest(), size)


@dataclass(frozen=True, slots=True)
class Decided:
    """One event's answer, for a summary: codes and numbers only."""

    trace_number: str
    outcome: str  # HCR01, or AAA
    reason: str  # HCR03, or AAA03 and its loop
    number: str  # the certification number, else the administrative reference

    def as_dict(self) -> dict[str, str]:
        return {"trace_number": self.trace_number, "outcome": self.outcome,
                "reason": self.reason, "number": self.number}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Answer:
    acknowledgements: Acknowledgements
    # processed | replayed (sent before: answers as stored) | updated (sent before, a case
    # decided since: a new 278) | duplicate (a used ISA13: TA1 025)
    disposition: str
    cases_created: int = 0
    decisions_replayed: int = 0  # requests answered with a decision stored before
    decided: tuple[Decided, ...] = ()
    acknowledgement: bool = False  # it carried acknowledgements only: nothing to send back
    # Events decided, where `decided` keeps only the first KEPT_DECIDED (None: it has all).
    decisions: int | None = None
    inquiries: int = 0  # X215 questions answered (a 2000E each), from the cases on file

    @property
    def decision_count(self) -> int:
        return len(self.decided) if self.decisions is None else self.decisions


class Intake:
    def __init__(
        self,
        engine: Engine,
        decider: Decider | None = None,
        channel: str = "file",
        actor: str = "edi278",
        zone: ZoneInfo | None = None,
    ) -> None:
        self.engine = engine
        self.decider = decider or StoreDecider(engine, default_policy())
        self.channel = channel
        self.actor = actor
        # Answers are dated in the plan's time zone, as its letters and screens are.
        self.zone = zone or ZoneInfo(default_policy().payer.time_zone)

    def answer(
        self,
        report: InterchangeReport,
        fingerprint: Fingerprint,
        source: str,
        now: datetime,
        received_at: datetime | None = None,
    ) -> Answer:
        """Answer one interchange at `now`, as received at `received_at` (by default
        `now`): the receipt time starts the case's clocks and dates its decision and
        answers (a backfill keeps the day it was received); `now` dates the audit log."""
        correlation = fingerprint.sha256[:16]  # the same bytes, the same id, on any channel
        with (
            structlog.contextvars.bound_contextvars(interchange=correlation),
            protect(_phi_of(report)),
        ):
            try:
                answer = self._answer(report, fingerprint, source, received_at or now, now)
            except IntegrityError:
                # Another worker stored the same interchange or request first: what it
                # stored is now the answer (its numbers stand; ours are left unused).
                LOG.info("interchange.raced", channel=self.channel)
                answer = self._answer(report, fingerprint, source, received_at or now, now)
            LOG.info(
                "interchange.answered",
                channel=self.channel,
                disposition=answer.disposition,
                cases_created=answer.cases_created,
                decisions_replayed=answer.decisions_replayed,
                faults=[fault.ack_code() for fault in report.all_faults()][:20],
            )
            if LOG.is_enabled_for(logging.DEBUG):  # a line per request: not made to be dropped
                for decided in answer.decided:
                    LOG.debug("request.decided", trace_number=decided.trace_number,
                              outcome=decided.outcome, reason=decided.reason,
                              reference=decided.number)  # fmt: skip
            return answer

    def _answer(
        self,
        report: InterchangeReport,
        fingerprint: Fingerprint,
        source: str,
        at: datetime,
        now: datetime,
    ) -> Answer:
        """`at` is the receipt time, `now` the time it is processed. An interchange
        answered in chunks is answered under its claim (store/claims.py), by one process
        at a time; so is one found being answered so, once its claimant lets go."""
        if not report.deferred:
            try:
                return self._answer_claimed(report, fingerprint, source, at, now, False)
            except _BeingAnswered:
                pass
        with answering_claim(self.engine, fingerprint.sha256):
            return self._answer_claimed(report, fingerprint, source, at, now, True)

    def _answer_claimed(
        self,
        report: InterchangeReport,
        fingerprint: Fingerprint,
        source: str,
        at: datetime,
        now: datetime,
        claimed: bool,
    ) -> Answer:
        """Answer it, as `_answer` says; `claimed`: its claim is held."""
        sender = _sender(report)
        control = report.header.segment.value(13) if report.header else None
        decider = CaseDecider(self.engine, self.decider, sender or "", at)
        requests = _reviews(report)
        with reading(self.engine).begin() as connection:  # all it reads, at one moment
            prior = find_prior(connection, sender, control, fingerprint.sha256)
            known = known_sender(connection, sender)
            if prior.same_bytes is None and not prior.claimed:
                decider.read(connection, requests)
        stranded = prior.stranded if prior.same_bytes is None else None
        if stranded is not None and self._abandon(*stranded, now):  # its ISA13 is free again
            return self._answer_claimed(report, fingerprint, source, at, now, claimed)
        if prior.half_answered is not None:  # left so by a crash, or at work: resumed
            if not claimed:
                raise _BeingAnswered
            return self._answer_in_chunks(report, fingerprint, source, (at, now), known, prior)
        if prior.same_bytes is not None:
            return self._replay(report, prior.same_bytes, (at, now))
        if report.deferred and not prior.claimed:
            return self._answer_in_chunks(report, fingerprint, source, (at, now), known, prior)
        duplicate = prior.claimed
        if duplicate:  # rejected whole: no request is decided
            requests = []
            report.faults.append(
                ta1(
                    "025",
                    "interchange control number was used before by this sender for "
                    "other content; nothing in this interchange was processed",
                    segment_id="ISA",
                    element=13,
                )
            )
        # The reference numbers and the reply's control numbers, in one transaction.
        ours, theirs = (party.key for party in envelope.reply_parties(report.header))
        before = take_before_deciding(
            self.engine, decider.fresh, ours, theirs, reply_counts(report), at
        )
        decider.prepare(requests, before.references)
        numbers = TakenControlNumbers(ours, theirs, before.control)
        dated = at.astimezone(self.zone)
        inquiries = InquiryLookup(self.engine, sender or "")
        acknowledgements = acknowledge(
            report, dated, numbers, decider, known.copy_bad_data, inquire=inquiries
        )
        status = "duplicate" if duplicate else _status(report)
        self._record(
            report, fingerprint, source, (at, now), status, acknowledgements, decider, known,
            inquiries,
        )  # fmt: skip
        return Answer(
            acknowledgements,
            "duplicate" if duplicate else "processed",
            len(decider.taken),
            decider.replayed,
            tuple(decider.answered),
            report.acknowledgement_only,
            inquiries=inquiries.questions,
        )

    def _record(
        self,
        report: InterchangeReport,
        fingerprint: Fingerprint,
        source: str,
        times: tuple[datetime, datetime],
        status: str,
        acknowledgements: Acknowledgements,
        decider: CaseDecider,
        known: KnownSender,
        inquiries: InquiryLookup,
    ) -> None:
        """One transaction: the interchange, what was sent for it, its new cases, and
        the cases its inquiries were shown. `times` are its receipt time and the time it
        was processed (for the audit log)."""
        at, now = times
        enveloped = RequestTexts(report.header, requests_of(report))
        with self.engine.begin() as connection:
            received = self._received(connection, report, fingerprint, source, at, status, known)
            interchange_id = record_interchange(connection, received, _sent(acknowledgements))
            stored = _CaseWriter(connection, interchange_id, at, now, self.actor)
            stored.received(
                report, status, self.channel, len(decider.taken), decider.replayed,
                inquiries.questions,
            )  # fmt: skip
            for first in range(0, len(decider.taken), CASE_BATCH):
                stored(enveloped(decider.taken[first : first + CASE_BATCH]), decider.decided_by)
            stored.shown(inquiries)
            stored.flush()

    def _received(
        self,
        connection: Connection,
        report: InterchangeReport,
        fingerprint: Fingerprint,
        source: str,
        at: datetime,
        status: str,
        known: KnownSender,
    ) -> Received:
        return Received(
            _partner(connection, report, at, known),
            _sender(report),
            report.header.segment.value(13) if report.header else None,
            [group.header.value(6) for group in report.groups],
            fingerprint.sha256,
            fingerprint.size,
            at,
            self.channel,
            source,
            status,
            report.header is not None and report.accepted,
        )

    def _answer_in_chunks(
        self,
        report: InterchangeReport,
        fingerprint: Fingerprint,
        source: str,
        times: tuple[datetime, datetime],
        known: KnownSender,
        prior: Prior,
    ) -> Answer:
        """An interchange of more requests than are held (`report.deferred`), or one
        left half answered: its requests read again and answered a chunk at a time,
        each chunk's cases committed with the marker of how far it has come
        (`requests_done`), its responses written out (spooled) as they are made, so that
        memory and the store's transactions hold one chunk whatever its size.

        Its row is `answering` until the last chunk is in; then its answers are stored
        and its status set, in one transaction, and only then are they sent. A crash
        in between leaves the chunks committed and nothing sent: taken again (the same
        bytes), it is resumed from the marker: the requests before it are answered
        from their stored cases, those after it decided, and what is sent is what an
        uninterrupted run would have sent (under control numbers of its own)."""
        give_back()  # what checking it freed, before answering it needs memory of its own
        at, now = times
        resumed = prior.half_answered
        if resumed is not None:
            at = resumed.received_at  # its cases' clocks and its answers: as first received
        ours, theirs = (party.key for party in envelope.reply_parties(report.header))
        before = take_before_deciding(self.engine, 0, ours, theirs, reply_counts(report), at)
        numbers = TakenControlNumbers(ours, theirs, before.control)
        status = _status(report)
        if resumed is not None:
            interchange_id, done = resumed.interchange_id, resumed.requests_done
            LOG.info("interchange.resumed", requests_done=done)
        else:
            with self.engine.begin() as connection:
                received = self._received(
                    connection, report, fingerprint, source, at, ANSWERING, known
                )
                interchange_id, done = record_interchange(connection, received, {}), 0
        chunks = _Chunks(
            self, interchange_id, RequestTexts(report.header), _sender(report) or "", (at, now),
            done,
        )  # fmt: skip
        inquiries = InquiryLookup(self.engine, _sender(report) or "")
        acknowledgements = acknowledge(
            report, at.astimezone(self.zone), numbers, None, known.copy_bad_data, chunks,
            inquiries,
        )  # fmt: skip
        with self.engine.begin() as connection:
            record_answers(connection, interchange_id, _sent(acknowledgements))
            finish_answering(connection, interchange_id, chunks.committed, status)
            created = cases_of_interchange(connection, interchange_id)
            stored = _CaseWriter(connection, interchange_id, at, now, self.actor)
            stored.received(
                report, status, self.channel, created, chunks.decisions - created,
                inquiries.questions,
            )  # fmt: skip
            stored.shown(inquiries)
            stored.flush()
        return Answer(
            acknowledgements,
            "processed",
            created,
            chunks.decisions - created,
            tuple(chunks.answered),
            report.acknowledgement_only,
            decisions=chunks.decisions,
            inquiries=inquiries.questions,
        )

    def _abandon(self, interchange_id: int, sha256: str, now: datetime) -> bool:
        """Give up the half-answered interchange of other bytes under this ISA13 if no
        process is at work on it (its claim is free): it was never answered, so its
        sender may use the ISA13 again. Its cases stand (the same requests are answered
        with them); the audit log says so. False if it is being answered."""
        with answering_claim(self.engine, sha256, wait=False) as free:
            if not free:
                return False
            with self.engine.begin() as connection:
                if not abandon_interchange(connection, interchange_id):
                    return True  # answered or given up meanwhile: read it again
                audit(
                    connection, now, self.actor, "abandoned", "interchange", interchange_id,
                    "left half answered; its ISA13 came again with other bytes: not answered, "
                    "its cases stand", interchange_id=interchange_id,
                )  # fmt: skip
        LOG.info("interchange.abandoned", abandoned=interchange_id)
        return True

    def _replay(
        self,
        report: InterchangeReport,
        interchange_id: int,
        times: tuple[datetime, datetime],
    ) -> Answer:
        """The same bytes again: the answers sent for them, as long as every case they
        asked about still stands as it was answered; once one was decided since (a
        reviewer's decision), a new 278 with the current decisions and the same numbers,
        under fresh control numbers, which becomes the answer to send again. `times` are
        this receipt's time and the time it is processed. The cases are looked up a
        batch of requests at a time, however many the interchange brought."""
        at, now = times
        with reading(self.engine).begin() as connection:
            sent = stored_answers(connection, interchange_id)
        ta1 = sent.get("ta1")  # a single segment's interchange: always one part
        stored = Acknowledgements(
            None if ta1 is None else text_of(ta1), sent.get("999"), sent.get("278")
        )
        sender = _sender(report) or ""
        looked_up = _OnFile(self.engine, interchange_id, sender, keep=True)
        inquiries = InquiryLookup(self.engine, sender)  # asked again: answered as things stand
        responses = stored.responses
        if responses is not None:  # its requests were decided: they are cases
            dated = at.astimezone(self.zone)
            try:
                now_says = respond_again(
                    report, dated, MemoryControlNumbers(), looked_up, inquiries
                )
                changed = now_says is not None and not same_responses(report, responses, now_says)
                close(now_says)  # a draft, compared and let go
                if changed:
                    numbers = DatabaseControlNumbers(self.engine)  # what we send is never a draft
                    again = _OnFile(self.engine, interchange_id, sender)
                    asked = InquiryLookup(self.engine, sender)
                    responses = respond_again(report, dated, numbers, again, asked)
            except _NotOnFile:  # a request that is not a case: answered as stored
                pass
        disposition = "replayed" if responses is stored.responses else "updated"
        with self.engine.begin() as connection:
            if responses is not None and disposition == "updated":
                replace_answer(connection, interchange_id, "278", responses)
            audit(
                connection,
                now,
                self.actor,
                disposition,
                "interchange",
                interchange_id,
                f"byte-identical resubmission over {self.channel}; "
                + (
                    "decided since: a new 278 with the current decisions"
                    if disposition == "updated"
                    else "stored answers sent again"
                ),
                interchange_id=interchange_id,
            )
        return Answer(
            replace(stored, responses=responses),
            disposition,
            decisions_replayed=looked_up.decisions,
            decided=tuple(looked_up.answered),
            acknowledgement=report.acknowledgement_only,
            decisions=looked_up.decisions,
            inquiries=inquiries.questions,
        )


class _NotOnFile(Exception):
    """A request of an interchange received before whose cases are not all on file."""


@dataclass(slots=True)
class _OnFile:
    """The decisions on file for an interchange received before, as a batch decision
    source: each event's case and its current decision, a batch of requests at a time.
    With `keep`, what it answered is kept for the summary (up to KEPT_DECIDED)."""

    engine: Engine
    interchange_id: int
    sender: str
    keep: bool = False
    answered: list[Decided] = field(default_factory=list)
    decisions: int = 0
    _unkeyed: Iterator[tuple[str, EventDecision]] | None = None

    def __call__(self, batch: list[Taken]) -> list[list[EventDecision]]:
        requests = [transaction.request for _, transaction in batch if transaction.request]
        if self._unkeyed is None:
            self._unkeyed = self._unkeyed_cases()
        with reading(self.engine).begin() as connection:
            found = _on_file(connection, self.sender, requests, self._unkeyed)
        decided = []
        for request in requests:
            events = found.get(id(request))
            if events is None:
                raise _NotOnFile
            if self.keep:
                self.decisions += len(events)
                _keep(self.answered, (_decided(*each) for each in events))
            decided.append([decision for _, _, decision in events])
        return decided

    def _unkeyed_cases(self) -> Iterator[tuple[str, EventDecision]]:
        """The interchange's cases of events without a trace number, in order, read a
        page at a time as its requests ask for them."""
        after = 0
        while True:
            with reading(self.engine).begin() as connection:
                page = unkeyed_decisions(connection, self.interchange_id, after)
            if not page:
                return
            for _, reference, decision in page:
                yield reference, decision
            after = page[-1][0]


class _CaseWriter:
    """New cases written into an interchange's transaction a batch at a time: their rows,
    their tracking numbers, the certifications they cancel, and the audit log's lines.
    The interchange's own line comes first when its counts are known beforehand (an
    interchange decided whole), else last, once they are."""

    def __init__(
        self, connection: Connection, interchange_id: int, at: datetime, now: datetime, actor: str
    ) -> None:
        self.connection = connection
        self.interchange_id = interchange_id
        self.at = at
        self.now = now
        self.entry = {"at": now, "actor": actor, "interchange_id": interchange_id}
        self._logged: list[dict[str, object]] = []

    def received(
        self,
        report: InterchangeReport,
        status: str,
        channel: str,
        cases: int,
        replayed: int,
        inquiries: int = 0,
    ) -> None:
        sets = sum(len(group.transactions) for group in report.groups)
        asked = f" inquiries={inquiries}" if inquiries else ""
        self._logged.append(
            {
                **self.entry,
                "action": "received",
                "object_type": "interchange",
                "object_id": str(self.interchange_id),
                "detail": f"status={status} channel={channel} sets={sets} "
                f"cases={cases} replayed={replayed}{asked}",
            }
        )

    def shown(self, inquiries: InquiryLookup) -> None:
        """A line per case an inquiry was answered with: who was shown which case. A
        decision held for the requester's next inquiry (no way to send it) has now
        reached it."""
        shown = list(dict.fromkeys(inquiries.shown))
        shown_in_inquiry(self.connection, shown, self.now)
        for case_id in shown:
            self._logged.append(
                {
                    **self.entry,
                    "action": "inquired",
                    "object_type": "case",
                    "object_id": str(case_id),
                    "detail": f"shown in an X215 response to {inquiries.sender}",
                    "case_id": case_id,
                }
            )
            if len(self._logged) >= CASE_BATCH:
                self.flush()

    def __call__(self, taken: list[NewCase], decided_by: str) -> None:
        connection = self.connection
        case_ids = insert_cases(connection, taken, self.interchange_id, self.at, decided_by)
        owners = {
            number: case_id
            for case_id, case in zip(case_ids, taken, strict=True)
            for number in _numbers_of(case)
        }
        assign_tracking_numbers(connection, owners)
        cancelled = _cancel_certified(connection, case_ids, taken)
        discharged = _close_stays(connection, case_ids, taken)
        self._logged += [
            {
                **self.entry,
                "action": "decided",
                "object_type": "case",
                "object_id": str(case_id),
                "detail": _decision_summary(case, decided_by),
                "case_id": case_id,
            }
            for case_id, case in zip(case_ids, taken, strict=True)
        ]
        self._logged += [
            {
                **self.entry,
                "action": "cancelled",
                "object_type": "case",
                "object_id": str(case_id),
                "detail": f"status=cancelled by=case:{by}",
                "case_id": case_id,
            }
            for case_id, by in cancelled
        ]
        self._logged += [
            {
                **self.entry,
                "action": "discharged",
                "object_type": "case",
                "object_id": str(case_id),
                "detail": f"stay closed by a notice of discharge: case:{by}",
                "case_id": case_id,
            }
            for case_id, by in discharged
        ]
        self.flush()

    def flush(self) -> None:
        audit_many(self.connection, self._logged)  # one statement a batch
        self._logged = []


class _BeingAnswered(Exception):
    """The same bytes are being answered in chunks, or were left so: wait for the claim."""


@dataclass(slots=True)
class _Chunks:
    """The decision source of an interchange answered in chunks (_answer_in_chunks),
    asked a batch of requests at a time. The requests before `done` (a resumed run's
    marker) are answered from their stored cases; each later batch is read, decided and
    committed with the marker in a transaction of its own, which sees the cases of the
    chunks before it."""

    intake: Intake
    interchange_id: int
    texts: RequestTexts
    sender: str
    times: tuple[datetime, datetime]  # received, processed
    done: int  # requests whose cases were committed by an earlier run
    committed: int = field(init=False)  # where the marker stands: `done`, then on
    position: int = 0  # requests asked about so far
    fresh_decisions: int = 0
    fresh_answered: list[Decided] = field(default_factory=list)
    growing: GrowingTables = field(default_factory=GrowingTables)
    chunks: int = 0
    on_file: _OnFile = field(init=False)

    def __post_init__(self) -> None:
        self.committed = self.done
        self.on_file = _OnFile(self.intake.engine, self.interchange_id, self.sender, keep=True)

    @property
    def decisions(self) -> int:
        return self.on_file.decisions + self.fresh_decisions

    @property
    def answered(self) -> list[Decided]:
        """The first KEPT_DECIDED, in order: those answered from file come first."""
        return (self.on_file.answered + self.fresh_answered)[:KEPT_DECIDED]

    def __call__(self, batch: list[Taken]) -> list[list[EventDecision]]:
        batch = [each for each in batch if each[1].request]
        stored = max(0, min(len(batch), self.done - self.position))
        self.position += len(batch)
        decided = self.on_file(batch[:stored]) if stored else []
        if stored < len(batch):
            decided += self._decide(batch[stored:])
        return decided

    def _decide(self, batch: list[Taken]) -> list[list[EventDecision]]:
        requests = [transaction.request for _, transaction in batch if transaction.request]
        at, now = self.times
        intake = self.intake
        with intake.engine.begin() as connection:
            issuer = issuer_beside(connection)
            decider = CaseDecider(intake.engine, intake.decider, self.sender, at, issuer=issuer)
            with protect(_phi_of_requests(requests)):
                decider.read(connection, requests, self.interchange_id)
                fresh = issue_tracking_numbers(issuer, Kind.REFERENCE, decider.fresh, at)
                decider.prepare(requests, fresh)
                decided = [decider(request) for request in requests]
                stored = _CaseWriter(connection, self.interchange_id, at, now, intake.actor)
                stored(self.texts.of(batch)(decider.taken), decider.decided_by)
            mark_requests_done(connection, self.interchange_id, self.committed, self.position)
            self.growing.wrote(connection, len(decider.taken))
        self.committed = self.position
        self.chunks += 1
        if self.chunks % CHECKPOINT_CHUNKS == 0:
            checkpoint(intake.engine)
        self.fresh_decisions += len(decider.answered)
        _keep(self.fresh_answered, decider.answered)
        return decided


def _on_file(
    connection: Connection,
    sender: str,
    requests: list[Transaction],
    unkeyed: Iterator[tuple[str, EventDecision]],
) -> dict[int, list[Answered]]:
    """The events of requests of an interchange received before, by request, each with
    its case's reference and current decision; those without a key are taken in order
    from `unkeyed`. A request whose cases cannot all be found (none were made: its
    interchange was not processed) is left out."""
    keyed = [
        [case_key(sender, request, context.event) for context in events_in_context(request)]
        for request in requests
    ]
    known = stored_decisions(connection, {key for keys in keyed for key in keys})
    found: dict[int, list[Answered]] = {}
    for request, keys in zip(requests, keyed, strict=True):
        events = []
        for key in keys:
            if key[2] is not None and key in known:
                events.append((key, *known[key]))
            elif key[2] is None and (each := next(unkeyed, None)) is not None:
                events.append((key, *each))
        if len(events) == len(keys):
            found[id(request)] = events
    return found


@dataclass(slots=True)
class CaseDecider:
    """A policy bound to the store for one interchange: each event gets the
    administrative reference issued for it, an event already a case gets the decision
    stored for it, and what is new is kept in `taken` to be written.

    Read and then prepared with the interchange's requests, it decides them all before
    the first is answered, so that the store is asked a few times per interchange, not
    per request."""

    engine: Engine
    decider: Decider
    sender: str
    now: datetime
    taken: list[NewCase] = field(default_factory=list)
    replayed: int = 0
    answered: list[Decided] = field(default_factory=list)
    _known: dict[CaseKey, tuple[str, EventDecision]] = field(default_factory=dict)
    _numbers: deque[str] = field(default_factory=deque)  # issued, not yet given out
    _prepared_keys: set[CaseKey] = field(default_factory=set)
    _ready: dict[int, tuple[Transaction, list[Answered]]] = field(default_factory=dict)
    fresh: int = 0  # events read as new: each needs a reference number
    # Where numbers are issued: the engine (a short transaction each), or the connection
    # of an interchange stored a batch at a time (numbers.issuer_beside).
    issuer: Engine | Connection | None = None

    decided_by: str = "engine"

    def read(
        self, connection: Connection, requests: list[Transaction], interchange: int | None = None
    ) -> None:
        """On the interchange's reading transaction: look up the events already cases
        and read the facts of them all. `interchange`: the one they came in, when it is
        stored a batch at a time and `connection` is its own."""
        keys = [
            case_key(self.sender, request, context.event)
            for request in requests
            for context in events_in_context(request)
        ]
        self._known.update(
            stored_decisions(connection, {key for key in keys if key not in self._known})
        )
        self._prepared_keys.update(keys)
        self.fresh = len([k for k in keys if k[2] is None]) + len(
            {k for k in keys if k[2] is not None and k not in self._known}
        )
        bind = getattr(self.decider, "bound_to", None)  # a decider that reads facts in batch
        if bind is not None and requests:
            within = {} if interchange is None else {"interchange": interchange}
            self.decider = bind(requests, connection, sender=self.sender, **within)

    def prepare(self, requests: list[Transaction], references: list[str]) -> None:
        """Once read, and given references for the `fresh` events: decide them all, then
        issue their certification numbers (a short transaction of its own)."""
        self._numbers.extend(references)
        self._decide_all(requests)

    def _decide_all(self, requests: list[Transaction]) -> None:
        """Every request decided, with draft certification numbers until the last is,
        then the numbers issued together and put in place of the drafts."""
        drafts = DraftNumbers()
        decided = [(request, self._decide(request, drafts)) for request in requests]
        issued = issue_tracking_numbers(self._issuer, Kind.CERTIFICATION, drafts.count, self.now)
        numbered = drafts.numbered(issued)
        self.taken = [replace(case, decision=numbered(case.decision)) for case in self.taken]
        self._known = {key: (ref, numbered(d)) for key, (ref, d) in self._known.items()}
        for request, events in decided:
            ready = [(key, reference, numbered(d)) for key, reference, d in events]
            self._ready[id(request)] = (request, ready)

    def __call__(self, request: Transaction) -> list[EventDecision]:
        prepared, events = self._ready.pop(id(request), (None, []))
        if prepared is not request:  # not prepared for: decided now
            events = self._decide(request, self._certification)
        self.answered += [_decided(key, reference, decision) for key, reference, decision in events]
        return [decision for _, _, decision in events]

    def _decide(self, request: Transaction, certification: Callable[[], str]) -> list[Answered]:
        contexts = events_in_context(request)
        keys = [case_key(self.sender, request, context.event) for context in contexts]
        # Per key, not per decision known: this runs once a request, and an interchange
        # may bring a hundred thousand of them.
        unknown = {key for key in keys if key not in self._known}
        if any(key not in self._prepared_keys for key in unknown):  # not prepared: look up
            with reading(self.engine).begin() as connection:
                self._known.update(stored_decisions(connection, unknown))
        # Each event: a decision known already, the same as an earlier event of this
        # request (a repeated TRN), or new, with a fresh reference number.
        first_of: dict[CaseKey, int] = {}
        fresh = []
        for index, key in enumerate(keys):
            keyed = key[2] is not None
            if keyed and (key in self._known or key in first_of):
                continue
            if keyed:
                first_of[key] = index
            fresh.append(index)
        references = [
            self._reference() if index in fresh else self._known.get(key, ("", None))[0]
            for index, key in enumerate(keys)
        ]  # a repeat's decision is replaced below, so what the policy makes of it is moot
        decided = self.decider(request, Tracking(references, certification), self.now)
        answers = []
        for index, (key, context) in enumerate(zip(keys, contexts, strict=True)):
            if index in fresh:
                decision = decided[index]
                self.taken.append(NewCase(key, request, context, references[index], decision))
                if key[2] is not None:
                    self._known[key] = (references[index], decision)
            else:
                decision = self._known[key][1]
                self.replayed += 1
            answers.append((key, references[index], decision))
        return answers

    def _reference(self) -> str:
        if not self._numbers:
            self._numbers.extend(issue_tracking_numbers(self._issuer, Kind.REFERENCE, 1, self.now))
        return self._numbers.popleft()

    def _certification(self) -> str:
        return issue_tracking_numbers(self._issuer, Kind.CERTIFICATION, 1, self.now)[0]

    @property
    def _issuer(self) -> Engine | Connection:
        return self.engine if self.issuer is None else self.issuer


# An event answered: its case key, its administrative reference, its decision.
Answered = tuple[CaseKey, str, EventDecision]


DRAFT = "draft-certification-"


@dataclass(slots=True)
class DraftNumbers:
    """Certification numbers given out while an interchange is decided: drafts, replaced
    once it is by numbers issued together, in the order they were asked for (the same
    numbers as issued one at a time, in one round trip instead of one each). No rule
    reads the certification number of a decision of the same interchange (prior
    certifications come from the store), so a draft is never read."""

    count: int = 0

    def __call__(self) -> str:
        self.count += 1
        return f"{DRAFT}{self.count}"

    def numbered(self, issued: list[str]) -> Callable[[EventDecision], EventDecision]:
        """The decision with its drafts replaced by the numbers `issued` for them."""
        final = {f"{DRAFT}{n}": number for n, number in enumerate(issued, start=1)}

        def outcome(each: Outcome) -> Outcome:
            number = final.get(each.certification_number)
            return each if number is None else replace(each, certification_number=number)

        renumbered: dict[int, EventDecision] = {}  # one copy of a decision, however often held

        def decision(each: EventDecision) -> EventDecision:
            if all(o.certification_number not in final for o in (each.outcome, *each.lines)):
                return each
            if id(each) not in renumbered:
                renumbered[id(each)] = replace(
                    each, outcome=outcome(each.outcome), lines=tuple(map(outcome, each.lines))
                )
            return renumbered[id(each)]

        return decision


def _phi_of(report: InterchangeReport) -> list[str]:
    """The names, IDs and birth dates of the interchange's requests held: masked in any
    log event while it is handled (those read again, a batch at a time as decided)."""
    return _phi_of_requests([t.request for t in _taken(report) if t.request])


def _phi_of_requests(requests: Iterable[Transaction]) -> list[str]:
    terms = []
    for request in requests:
        for context in events_in_context(request):
            levels = (context.subscriber, context.dependent)
            for person in (person_of(level) for level in levels if level is not None):
                born = person.birth_date
                terms += [person.id, person.last, person.first,
                          born.strftime("%Y%m%d") if born else "",
                          born.isoformat() if born else ""]  # fmt: skip
    return terms


def _decided(key: CaseKey, reference: str, decision: EventDecision) -> Decided:
    outcome = decision.outcome
    if outcome.validation is not None:
        where = outcome.validation_loop or "2000E"
        return Decided(key[2] or "", "AAA", f"{outcome.validation.reason} at {where}", "")
    number = outcome.certification_number or outcome.administrative_reference or reference
    return Decided(key[2] or "", outcome.action, outcome.reason, number)


class RequestTexts:
    """New cases with their requests as interchanges of their own: the ISA and GS each
    came under around its transaction set as received, so that it can be answered again
    later. Given the requests taken (`sets`), called a batch of cases at a time; what it
    keeps beside them is a few envelopes."""

    def __init__(self, header: Header | None, sets: Iterable[Taken] = ()) -> None:
        self._header = header
        self._sets = {id(t.request): (g, t.text) for g, t in sets if t.request}
        # The envelope around a request: the same for every request of a group, written
        # once, and only for a group a case came from (another's GS06 may not be a number).
        self._envelopes: dict[int, tuple[str, str]] = {}

    def __call__(self, taken: list[NewCase]) -> list[NewCase]:
        header = self._header
        if header is None:
            return taken
        texts: dict[int, str] = {}  # a request of several events is one text, held once
        kept = []
        for case in taken:
            group, received = self._sets.get(id(case.request), (None, None))
            if group is None or received is None:
                kept.append(case)
                continue
            text = texts.get(id(case.request))
            if text is None:
                opening, closing = self._around(group)
                text = texts[id(case.request)] = opening + received + closing
            kept.append(replace(case, request_text=text))
        return kept

    def of(self, sets: Iterable[Taken]) -> RequestTexts:
        """The same envelopes, for other requests (the next batch of those read again)."""
        other = RequestTexts(self._header, sets)
        other._envelopes = self._envelopes
        return other

    def _around(self, group: GroupReport) -> tuple[str, str]:
        header = self._header
        assert header is not None
        around = self._envelopes.get(id(group))
        if around is None:
            delimiters = header.delimiters
            around = self._envelopes[id(group)] = (
                write([header.segment, group.header], delimiters),
                write(
                    [
                        envelope.group_trailer(1, int(group.header.value(6) or 0)),
                        envelope.interchange_trailer(1, int(header.segment.value(13) or 0)),
                    ],
                    delimiters,
                ),
            )
        return around


def _taken(report: InterchangeReport) -> list[TransactionReport]:
    """The requests of an interchange that passed the guide: what gets an answer."""
    return report.taken()


def _reviews(report: InterchangeReport) -> list[Transaction]:
    """The requests for review of an interchange that passed the guide: what gets a
    decision (its inquiries are answered from the cases on file)."""
    return [t.request for t in report.taken() if t.request and not t.request.is_inquiry]


def _keep(kept: list[Decided], more: Iterable[Decided]) -> None:
    """More decisions for a summary, as long as it keeps fewer than KEPT_DECIDED."""
    kept.extend(islice(more, max(KEPT_DECIDED - len(kept), 0)))


def _sent(acknowledgements: Acknowledgements) -> dict[str, AnswerText]:
    """What is sent back, by kind, as it is stored."""
    texts = (acknowledgements.ta1, acknowledgements.functional, acknowledgements.responses)
    return {kind: text for kind, text in zip(("ta1", "999", "278"), texts, strict=True) if text}


def _sender(report: InterchangeReport) -> str | None:
    if report.header is None:
        return None
    isa = report.header.segment
    return f"{isa.value(5).strip()}:{isa.value(6).strip()}"


def _partner(
    connection: Connection, report: InterchangeReport, now: datetime, known: KnownSender
) -> int | None:
    """Senders whose envelope was taken are registered partners; others are not (an
    acknowledgement is not judged, so it registers no one)."""
    if report.header is None or not report.accepted:
        return None
    if report.acknowledgement_only:
        return known.partner_id
    if known.partner_id is not None:  # read before the writer's turn was taken
        return known.partner_id
    isa = report.header.segment
    gs_code = report.groups[0].header.value(2) if report.groups else ""
    return partner_for(connection, isa.value(5).strip(), isa.value(6).strip(), gs_code, now)


def _status(report: InterchangeReport) -> str:
    if report.acknowledgement_only:
        return ACKNOWLEDGEMENT
    if not report.accepted:
        return "envelope rejected"
    received, accepted = report.transaction_counts()
    if accepted == received:
        return "accepted"
    return "rejected" if accepted == 0 else "partially accepted"


def _decision_summary(case: NewCase, decided_by: str) -> str:
    """Codes and counts for the audit log: never names, IDs or dates."""
    outcome = case.decision.outcome
    return (
        f"action={outcome.action} reason={outcome.reason} "
        f"lines={len(case.decision.lines)} by={decided_by}"
    )


def _cancel_certified(
    connection: Connection, case_ids: list[int], taken: list[NewCase]
) -> list[tuple[int, int]]:
    """Each case whose certification a new case cancels (HCR01 C names it) marked
    cancelled: (the cancelled case, the case that cancelled it)."""
    changed = []
    for case_id, case in zip(case_ids, taken, strict=True):
        outcome = case.decision.outcome
        if outcome.action == Action.CANCELLED and outcome.certification_number:
            cancelled = cancel_certified(connection, outcome.certification_number, case_id)
            changed += [(original, case_id) for original in cancelled]
    return changed


def _close_stays(
    connection: Connection, case_ids: list[int], taken: list[NewCase]
) -> list[tuple[int, int]]:
    """Each admission a notice of discharge (X216, DTP 096) ends: the sender's cases of
    the member admitted on the notice's admission date get the discharge date as the
    end of their stay. (the admission closed, the notice's case)."""
    closed = []
    for case_id, case in zip(case_ids, taken, strict=True):
        event = case.context.event
        if case.request.notice is None or not is_discharge(event):
            continue
        if case.decision.outcome.validation is not None:
            continue  # not taken: the member or the notifier was not found
        admitted, _ = dates_of(event.period("435"))
        discharged, _ = dates_of(event.period("096"))
        member = person_of(case.context.subscriber).id
        if admitted is None or discharged is None or not member:
            continue
        stays = close_stay(connection, case.key[0], member, admitted, discharged)
        closed += [(stay, case_id) for stay in stays if stay != case_id]
    return closed


def _numbers_of(case: NewCase) -> list[str]:
    """The numbers issued for the case. A cancellation names the certification it
    cancels: that number stays its own case's."""
    outcomes = (case.decision.outcome, *case.decision.lines)
    return [
        case.administrative_reference,
        *(
            o.certification_number
            for o in outcomes
            if o.certification_number and o.action != Action.CANCELLED
        ),
    ]
