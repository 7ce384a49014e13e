"""Where bytes come in and answers go out: folders, SFTP mailboxes, HTTP. Every channel
answers through the same core (`answerer` below, or `answer_bytes` for bytes in
memory), so the same bytes get the same answer everywhere."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sqlalchemy import Engine

from edi278.batch import Answerer
from edi278.decide.policy import Policy, default_policy
from edi278.ig import Guide
from edi278.intake import Answer, Fingerprint, Intake
from edi278.pipeline import examine
from edi278.store.facts import StoreDecider
from edi278.x12.report import InterchangeReport


def intake_for(engine: Engine, channel: str, actor: str, policy: Policy | None = None) -> Intake:
    """The store-backed intake with the determination engine on `policy`."""
    return Intake(engine, StoreDecider(engine, policy or default_policy()), channel, actor)


def answerer(intake: Intake) -> Answerer:
    """For edi278.batch.process_file: each interchange answered at the time it is read."""

    def answer(report: InterchangeReport, fingerprint: Fingerprint, source: str) -> Answer:
        return intake.answer(report, fingerprint, source, datetime.now(UTC))

    return answer


def answer_bytes(intake: Intake, guide: Guide, data: bytes, source: str) -> list[Answer]:
    """Every interchange in `data` answered (bytes outside any answered with a TA1)."""
    answers = []
    for report in examine(io.BytesIO(data), guide):
        start, end = report.span
        fingerprint = Fingerprint.of_bytes(data[start:end])
        answers.append(intake.answer(report, fingerprint, source, datetime.now(UTC)))
    return answers
