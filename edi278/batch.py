"""Answering files: read an input, write its acknowledgements into an outbox, summarise.

The shell around the core for the CLI (and later the folder and SFTP channels)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from edi278.ig import Guide
from edi278.intake import Answer, Fingerprint
from edi278.outbox import AtomicFile, commit_answers
from edi278.pipeline import DecisionSource, acknowledge, examine
from edi278.spool import close, pieces_of
from edi278.x12.control import ControlNumbers
from edi278.x12.report import InterchangeReport
from edi278.x12.writer import encode

ANSWER_KINDS = ("ta1", "999", "278")  # in the order written
ANSWER_SUFFIXES = tuple(f".{kind}" for kind in ANSWER_KINDS)

# Answers one examined interchange, given its fingerprint and where it came from: the
# store's Intake.answer with its clock, or `stateless` where nothing is remembered.
Answerer = Callable[[InterchangeReport, Fingerprint, str], Answer]


def stateless(
    now: datetime, numbers: ControlNumbers, decide: DecisionSource | None = None
) -> Answerer:
    """Answers from the core alone: no memory of what came before."""

    def answer(report: InterchangeReport, _fingerprint: Fingerprint, _source: str) -> Answer:
        return Answer(acknowledge(report, now, numbers, decide), "processed")

    return answer


@dataclass(slots=True)
class FileSummary:
    input: Path
    interchanges: int = 0
    groups: int = 0
    received: int = 0  # transaction sets
    accepted: int = 0
    rejected_interchanges: int = 0
    replayed_interchanges: int = 0  # byte-identical resubmissions, answered as before
    updated_interchanges: int = 0  # the same, a case decided since: a new 278
    duplicate_interchanges: int = 0  # a used ISA13 with other content: TA1 025
    acknowledgement_interchanges: int = 0  # TA1s, 999s, 997s received: answered with nothing
    cases_created: int = 0
    decisions_replayed: int = 0  # requests answered with a decision made before
    decisions_updated: int = 0  # of them, in a new 278 (a case decided since)
    inquiries: int = 0  # X215 questions answered from the cases on file
    decided: list[dict[str, str]] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)
    faults: list[dict[str, object]] = field(default_factory=list)
    error: str | None = None  # set when the file could not be answered
    # How many decisions and faults the lists keep (None: all); the rest are only
    # counted, so that a file of millions of requests is answered in bounded memory.
    listed: int | None = None
    decisions: int = 0
    fault_count: int = 0

    @property
    def answered(self) -> bool:
        return self.error is None

    @property
    def status(self) -> str:
        if self.error:
            return "unanswered"
        if self.interchanges and self.acknowledgement_interchanges == self.interchanges:
            return "acknowledgement received"
        if not self.fault_count:
            return "accepted"
        return "rejected" if self.accepted == 0 else "partially accepted"

    def add(self, report: InterchangeReport, answer: Answer) -> None:
        self.replayed_interchanges += answer.disposition == "replayed"
        self.updated_interchanges += answer.disposition == "updated"
        if answer.disposition == "updated":
            self.decisions_updated += answer.decisions_replayed
        self.duplicate_interchanges += answer.disposition == "duplicate"
        self.cases_created += answer.cases_created
        self.inquiries += answer.inquiries
        self.decisions_replayed += answer.decisions_replayed
        self.decisions += answer.decision_count
        self._keep(self.decided, (decided.as_dict() for decided in answer.decided))
        if report.header is not None:
            self.interchanges += 1
        self.acknowledgement_interchanges += report.acknowledgement_only
        if not report.accepted:
            self.rejected_interchanges += 1
        self.groups += len(report.groups)
        received, accepted = report.transaction_counts()
        self.received += received
        self.accepted += accepted
        faults = report.all_faults()
        self.fault_count += len(faults)
        self._keep(self.faults, (fault.as_dict() for fault in faults))

    def line(self) -> str:
        """What was received and what became of it, for the summary line: never
        "0 case(s) created" beside requests answered with a decision made before."""
        said = [
            f"{self.interchanges} interchange(s), {self.groups} group(s), "
            f"{self.accepted}/{self.received} transaction set(s) accepted"
        ]
        if self.cases_created or not (self.decisions_replayed or self.inquiries):
            said.append(f"{self.cases_created} case(s) created")
        if self.inquiries:
            said.append(f"{self.inquiries} inquiry question(s) answered")
        as_before = self.decisions_replayed - self.decisions_updated
        if as_before:
            said.append(f"{as_before} answered as before")
        if self.decisions_updated:
            said.append(f"{self.decisions_updated} answered anew with the current decision")
        if self.replayed_interchanges or self.updated_interchanges:
            seen = self.replayed_interchanges + self.updated_interchanges
            said.append(f"{seen} interchange(s) received before")
        if self.duplicate_interchanges:
            said.append(f"{self.duplicate_interchanges} interchange(s) refused as duplicates")
        if self.acknowledgement_interchanges:
            said.append(
                f"{self.acknowledgement_interchanges} acknowledgement interchange(s) "
                "received, not answered (acknowledgements are not acknowledged)"
            )
        return ", ".join(said)

    def _keep(self, kept: list, more: Iterator) -> None:
        room = None if self.listed is None else self.listed - len(kept)
        kept.extend(more if room is None else islice(more, max(room, 0)))

    def as_dict(self) -> dict[str, object]:
        return {
            "input": str(self.input),
            "status": self.status,
            "interchanges": self.interchanges,
            "rejected_interchanges": self.rejected_interchanges,
            "replayed_interchanges": self.replayed_interchanges,
            "updated_interchanges": self.updated_interchanges,
            "duplicate_interchanges": self.duplicate_interchanges,
            "acknowledgement_interchanges": self.acknowledgement_interchanges,
            "cases_created": self.cases_created,
            "inquiries": self.inquiries,
            "decisions_replayed": self.decisions_replayed,
            "groups": self.groups,
            "transaction_sets": {
                "received": self.received,
                "accepted": self.accepted,
                "rejected": self.received - self.accepted,
            },
            "decisions": self.decided,
            "outputs": {kind: str(path) for kind, path in self.outputs.items()},
            "faults": self.faults,
            **self._not_listed(),
            **({"error": self.error} if self.error else {}),
        }

    def _not_listed(self) -> dict[str, int]:
        if self.listed is None:
            return {}
        return {"decisions_not_listed": self.decisions - len(self.decided),
                "faults_not_listed": self.fault_count - len(self.faults)}  # fmt: skip


def input_files(paths: list[Path]) -> Iterator[Path]:
    """Files named, and the files in folders named (sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            yield path


def process_file(
    path: Path,
    outbox: Path,
    answer: Answerer,
    guide: Guide | None = None,
    listed: int | None = None,
    answered_to: Callable[[int | None, int], None] | None = None,
) -> FileSummary:
    """Answer one file: NAME.ta1 and NAME.999 as owed, NAME.278 (one response per
    request taken) when a guide is given and the answerer decides. An answer that is in
    the outbox already, byte for byte (NAME.999, NAME-2.999 ...), is not written again:
    the summary names that file. The summary lists at most `listed` decisions and
    faults (all with None). `answered_to` hears of each interchange answered: the byte
    it ends at (None: the end) and its transaction sets."""
    summary = FileSummary(path, listed=listed)
    outbox.mkdir(parents=True, exist_ok=True)
    # Opened before anything is read or stored: a case is never recorded for an answer
    # that could not be written. Final names are chosen when the answers are complete.
    open_files: dict[str, AtomicFile] = {}
    try:
        for kind in ANSWER_KINDS:  # named after the input, to tell whose they are
            open_files[kind] = AtomicFile(outbox / f"{path.stem or path.name}.{kind}")
        with open(path, "rb") as source, open(path, "rb") as again:
            for report in examine(source, guide, again=again):
                answered = answer(report, Fingerprint.of_span(again, report.span), str(path))
                summary.add(report, answered)
                if answered_to is not None:
                    answered_to(report.span[1], report.transaction_counts()[0])
                answers = answered.acknowledgements
                for kind, text in (
                    ("ta1", answers.ta1),
                    ("999", answers.functional),
                    ("278", answers.responses),
                ):
                    for piece in pieces_of(text) if text is not None else ():
                        open_files[kind].write(encode(piece))
                    close(text)
        for kind in [kind for kind, handle in open_files.items() if not handle.size]:
            open_files.pop(kind).abort()  # nothing of this kind was owed
        # an answer already there is not written again
        summary.outputs = commit_answers(outbox, path, open_files, ANSWER_SUFFIXES)
    except (OSError, SQLAlchemyError) as error:  # answers already stored are replayed next time
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0]
        summary.error = f"{type(error).__name__}: {reason}"
    finally:
        for handle in open_files.values():
            handle.abort()  # what was not published: no temporary file is left behind
    return summary
