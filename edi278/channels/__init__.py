"""Where bytes come in and answers go out: folders, SFTP mailboxes, HTTP. Every channel
answers through the same core (`answerer` below, or `answer_bytes` for bytes in
memory), so the same bytes get the same answer everywhere."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from edi278.batch import Answerer
from edi278.clock import Clock
from edi278.decide.policy import Policy, default_policy
from edi278.ig import Guide
from edi278.intake import Answer, Fingerprint, Intake
from edi278.pipeline import examine
from edi278.store.facts import StoreDecider
from edi278.x12.report import InterchangeReport


def intake_for(engine: Engine, channel: str, actor: str, policy: Policy | None = None) -> Intake:
    """The store-backed intake with the determination engine on `policy`."""
    policy = policy or default_policy()
    zone = ZoneInfo(policy.payer.time_zone)
    return Intake(engine, StoreDecider(engine, policy), channel, actor, zone)


def answerer(intake: Intake, clock: Clock, received_at: datetime | None = None) -> Answerer:
    """For edi278.batch.process_file: each interchange answered at the time it is read,
    as received then, or at `received_at` when the receipt time is known."""

    def answer(report: InterchangeReport, fingerprint: Fingerprint, source: str) -> Answer:
        return intake.answer(report, fingerprint, source, clock(), received_at)

    return answer


def answer_bytes(
    intake: Intake, guide: Guide, data: bytes, source: str, clock: Clock
) -> list[Answer]:
    """Every interchange in `data` answered (bytes outside any answered with a TA1), as
    received when this is called."""
    received_at = clock()
    answers = []
    for report in examine(io.BytesIO(data), guide):
        start, end = report.span
        fingerprint = Fingerprint.of_bytes(data[start:end])
        answers.append(intake.answer(report, fingerprint, source, clock(), received_at))
    return answers
