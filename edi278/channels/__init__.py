"""Where bytes come in and answers go out: folders, SFTP mailboxes, HTTP. Every channel
answers through the same core (`answerer` below, or `answer_bytes` for bytes in
memory), so the same bytes get the same answer everywhere."""

from __future__ import annotations

import io
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
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
from edi278.x12.senders import strangers


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
    # A second reader of the same bytes: a body of more requests than are held is read
    # again a batch at a time when answered, as a file is.
    for report in examine(io.BytesIO(data), guide, again=io.BytesIO(data)):
        start, end = report.span
        fingerprint = Fingerprint.of_bytes(data[start:end])
        answers.append(intake.answer(report, fingerprint, source, clock(), received_at))
    return answers


def foreign_senders(path: Path, senders: Collection[str]) -> str | None:
    """Why a file may not be answered where only `senders` may send (a partner's mailbox
    or folder): an interchange in it from anyone else, found by the reader the pipeline
    answers with. None when every interchange is theirs, or when no senders are set."""
    if not senders:
        return None
    with open(path, "rb") as source:
        found = strangers(source, senders)
    if not found:
        return None
    return (
        f"interchange sender {', '.join(found[:3])} is not {' or '.join(sorted(senders))}, "
        "the sender(s) this channel takes; nothing in the file was processed"
    )
