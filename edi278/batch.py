"""Answering files: read an input, write its acknowledgements into an outbox, summarise.

The shell around the core for the CLI (and later the folder and SFTP channels)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from edi278.ig import Guide
from edi278.outbox import AtomicFile, answer_stem
from edi278.pipeline import DecisionSource, acknowledge, examine
from edi278.x12.control import ControlNumbers
from edi278.x12.report import InterchangeReport
from edi278.x12.writer import encode

ANSWER_SUFFIXES = (".999", ".ta1", ".278")


@dataclass(slots=True)
class FileSummary:
    input: Path
    interchanges: int = 0
    groups: int = 0
    received: int = 0  # transaction sets
    accepted: int = 0
    rejected_interchanges: int = 0
    outputs: dict[str, Path] = field(default_factory=dict)
    faults: list[dict[str, object]] = field(default_factory=list)
    error: str | None = None  # set when the file could not be answered

    @property
    def answered(self) -> bool:
        return self.error is None

    @property
    def status(self) -> str:
        if self.error:
            return "unanswered"
        if not self.faults:
            return "accepted"
        return "rejected" if self.accepted == 0 else "partially accepted"

    def add(self, report: InterchangeReport) -> None:
        if report.header is not None:
            self.interchanges += 1
        if not report.accepted:
            self.rejected_interchanges += 1
        self.groups += len(report.groups)
        received, accepted = report.transaction_counts()
        self.received += received
        self.accepted += accepted
        self.faults.extend(fault.as_dict() for fault in report.all_faults())

    def as_dict(self) -> dict[str, object]:
        return {
            "input": str(self.input),
            "status": self.status,
            "interchanges": self.interchanges,
            "rejected_interchanges": self.rejected_interchanges,
            "groups": self.groups,
            "transaction_sets": {
                "received": self.received,
                "accepted": self.accepted,
                "rejected": self.received - self.accepted,
            },
            "outputs": {kind: str(path) for kind, path in self.outputs.items()},
            "faults": self.faults,
            **({"error": self.error} if self.error else {}),
        }


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
    now: datetime,
    numbers: ControlNumbers,
    guide: Guide | None = None,
    decide: DecisionSource | None = None,
) -> FileSummary:
    """Answer one file: NAME.ta1 and NAME.999 always as owed, NAME.278 (one response per
    request taken) when a guide and a decision source are given."""
    summary = FileSummary(path)
    outbox.mkdir(parents=True, exist_ok=True)
    stem = answer_stem(outbox, path, ANSWER_SUFFIXES)
    open_files: dict[str, AtomicFile] = {}
    try:
        with open(path, "rb") as source:
            for report in examine(source, guide):
                summary.add(report)
                answers = acknowledge(report, now, numbers, decide)
                for kind, text in (
                    ("ta1", answers.ta1),
                    ("999", answers.functional),
                    ("278", answers.responses),
                ):
                    if text is None:
                        continue
                    if kind not in open_files:
                        open_files[kind] = AtomicFile(stem.with_name(f"{stem.name}.{kind}"))
                    open_files[kind].write(encode(text))
        for kind, handle in open_files.items():
            summary.outputs[kind] = handle.commit()
    except OSError as error:
        for handle in open_files.values():
            handle.abort()
        summary.error = f"{type(error).__name__}: {error.strerror or error}"
    return summary
