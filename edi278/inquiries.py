"""The store's side of an X215 inquiry: the cases each question finds, for the sender
who asks, as the pipeline's inquiry source (edi278.pipeline.InquirySource). Each case
comes with the event it was asked as, read again from the request kept with it, so that
the inquiry is answered with what the case's own 278 response says now."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import Engine

from edi278.decide.request import events_in_context
from edi278.inquire import MATCHES, FoundCase, Question, answered_cases
from edi278.model import Action, Level, ReviewInformation
from edi278.reader import read_requests
from edi278.store.cases import STATUS, case_key
from edi278.store.database import reading
from edi278.store.inquiry import AskedCase, cases_asked

# Requests read again per lookup source: a request of several events is several cases.
PARSED_REQUESTS = 256


@dataclass(slots=True)
class InquiryLookup:
    """Finds the cases of `sender` that inquiries ask about, a batch of questions in one
    reading transaction; remembers which cases it showed (`shown`), for the audit log."""

    engine: Engine
    sender: str
    shown: list[int] = field(default_factory=list)
    questions: int = 0

    def __call__(self, questions: list[Question]) -> list[list[FoundCase]]:
        self.questions += len(questions)
        with reading(self.engine).begin() as connection:
            asked = [cases_asked(connection, self.sender, q, MATCHES) for q in questions]
        found = []
        for question, cases in zip(questions, asked, strict=True):
            each = [found_case(case) for case in cases]
            self.shown += [case.case_id for case in answered_cases(question, each)]
            found.append(each)
        return found


def found_case(case: AskedCase) -> FoundCase:
    row = case.row
    return FoundCase(
        event=_event_of(row.request, _key_of(row)),
        decision=case.decision,
        administrative_reference=row.administrative_reference,
        member_id=row.member_id or "",
        case_id=row.id,
        cancelled=row.status == STATUS[Action.CANCELLED],
        review=ReviewInformation(
            row.category,
            row.certification_type,
            row.service_type or "",
            level_of_service=row.level_of_service or "",
        ),
    )


def _key_of(row: object) -> tuple[str, str, str | None, str | None]:
    return (row.sender, row.submitter_reference, row.trace_number, row.trace_originator)  # type: ignore[attr-defined]


def _event_of(request: str | None, key: tuple[str, str, str | None, str | None]) -> Level | None:
    """The case's event in the request kept with it: the one of its key, or for a case
    without a trace number, the request's first event without one."""
    if not request:
        return None
    for transaction in _requests_in(request):
        contexts = events_in_context(transaction)
        for context in contexts:
            if case_key(key[0], transaction, context.event) == key:
                return context.event
        if key[2] is None:
            return next((c.event for c in contexts if not c.event.traces), None)
    return None


@lru_cache(maxsize=PARSED_REQUESTS)
def _requests_in(text: str) -> tuple:
    """The transactions of a stored request (one interchange of one set), read once."""
    return tuple(read_requests(io.BytesIO(text.encode("latin-1"))))
