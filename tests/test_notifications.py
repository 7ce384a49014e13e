"""X216 notifications: the facility's notices of admission, emergency admission,
discharge, dialysis start and maternity go through the same policy as a request (the
member checked, the timing judged, a late notice noted), each becomes a case, a
discharge closes the admission's stay, and the acknowledgment keeps the notifier at
2000A. On SQLite and PostgreSQL, against the store the samples leave."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from edi278.model import Purpose
from edi278.notify import as_request
from edi278.pipeline import examine
from edi278.reader import read_requests
from edi278.store.tables import audit_log, cases, decisions
from tests.test_samples import GUIDE, answer_samples

pytestmark = pytest.mark.dates

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
REQUESTS = Path(__file__).parents[1] / "samples" / "requests"
NOTICES = sorted(p.name for p in REQUESTS.glob("*.x12") if "*005010X216~" in p.read_text())
# What each notice's case is decided (samples/requests/README.md), by its trace number.
DECIDED = {
    "S59EV20261120": ("A4", "0V", "Late request"),
    "S60EV20261120": ("A4", "0V", "Emergency admission, concurrent review."),
    "S61EV20261120": ("A4", "0V", "Notice came later than 1 business day"),
    "S62EV20261120": ("NA", "0H", "Discharge on 2026-11-20 recorded"),
    "S63EV20261120": ("NA", "18", ""),
    "S64EV20261120": ("NA", "18", "Late notification"),
    "S65EV20261120": ("NA", "0H", ""),
}


@pytest.fixture
def answers(engine, database_url):
    return engine, answer_samples(database_url, NOW)


def test_each_notice_is_decided_by_the_policy_as_its_own_case(answers):
    engine, _ = answers
    with engine.connect() as connection:
        rows = connection.execute(
            select(cases.c.trace_number, decisions.c.action, decisions.c.reason,
                   decisions.c.message, cases.c.requester_npi)
            .join(decisions, decisions.c.case_id == cases.c.id)
            .where(cases.c.trace_number.in_(list(DECIDED)),
                   decisions.c.service_line_id.is_(None))
        ).all()  # fmt: skip
    found = {row.trace_number: row for row in rows}
    assert sorted(found) == sorted(DECIDED)
    for trace, (action, reason, message) in DECIDED.items():
        row = found[trace]
        assert (row.action, row.reason) == (action, reason), trace
        assert message in row.message and (message or not row.message), (trace, row.message)
    # The notifier (2000A) is the case's requester; the plan (2000B) is not.
    assert found["S60EV20261120"].requester_npi == "1987654321"
    assert found["S63EV20261120"].requester_npi == "1865998318"


def test_a_discharge_closes_the_stay_of_the_admission_it_ends(answers):
    engine, _ = answers
    with engine.connect() as connection:
        admission = connection.execute(
            select(cases.c.id, cases.c.event_start, cases.c.event_end).where(
                cases.c.trace_number == "S60EV20261120"
            )
        ).one()
        discharge = connection.scalar(
            select(cases.c.id).where(cases.c.trace_number == "S62EV20261120")
        )
        said = (
            connection.execute(
                select(audit_log.c.detail).where(
                    audit_log.c.action == "discharged", audit_log.c.case_id == admission.id
                )
            )
            .scalars()
            .all()
        )
    assert (admission.event_start, admission.event_end) == (date(2026, 11, 19), date(2026, 11, 20))
    assert said == [f"stay closed by a notice of discharge: case:{discharge}"]


@pytest.mark.parametrize("name", NOTICES)
def test_each_acknowledgment_is_valid_and_keeps_the_notifier_at_2000a(answers, name):
    _, texts = answers
    text = texts[name]
    (report,) = examine(io.BytesIO(text.encode()), GUIDE)
    assert [f.as_dict() for f in report.all_faults()] == []
    if "*005010X231A1~" in text:  # refused in its 999: there is no acknowledgment
        assert name.startswith(("67-", "68-"))
        return
    (ack,) = read_requests(io.BytesIO(text.encode()))
    (notice,) = read_requests(io.BytesIO((REQUESTS / name).read_bytes()))
    assert (ack.convention, ack.header.purpose) == ("005010X216", Purpose.RESPONSE)
    assert ack.header.submitter_reference == notice.header.submitter_reference
    assert ack.root.parties[0].name.entity == "FA"  # the source, not swapped
    assert ack.root.children[0].parties[0].name.entity == "PR"
    if name.startswith("66-"):
        (subscriber,) = ack.levels("22")
        assert [r.reason for r in subscriber.records if r.SEGMENT == "AAA"] == ["75"]
        assert ack.events == []
        return
    (event,) = ack.events
    (asked,) = notice.events
    assert [(t.trace_type, t.reference) for t in event.traces] == [
        ("2", t.reference) for t in asked.traces
    ]
    receipt = [r.value for r in event.records if r.SEGMENT == "REF" and r.qualifier == "NT"]
    assert len(receipt) == 1 and receipt[0].startswith("R")


def test_a_notice_read_as_a_request_swaps_source_and_receiver_and_shares_its_events():
    (notice,) = read_requests(
        io.BytesIO((REQUESTS / "60-notice-of-emergency-admission.x12").read_bytes())
    )
    request = as_request(notice)
    assert request.notice is notice and request.header.purpose == Purpose.REQUEST
    assert [p.name.entity for p in request.root.parties] == ["PR"]
    (requester,) = request.root.children
    assert [(p.loop_id, p.name.entity) for p in requester.parties] == [("2010B", "FA")]
    assert request.events == notice.events  # the very levels: decided once, acknowledged
    assert all(a is b for a, b in zip(request.events, notice.events, strict=True))


def test_the_same_notice_again_is_answered_as_before_and_makes_no_second_case(answers):
    from edi278.intake import Fingerprint, Intake

    engine, _ = answers
    data = (REQUESTS / "61-notice-of-emergency-admission-late.x12").read_bytes()
    with engine.connect() as connection:
        before = connection.execute(select(cases.c.id)).scalars().all()
    (report,) = examine(io.BytesIO(data), GUIDE)
    again = Intake(engine).answer(report, Fingerprint.of_bytes(data), "again", NOW + timedelta(1))
    assert again.disposition == "replayed" and again.cases_created == 0
    with engine.connect() as connection:
        assert connection.execute(select(cases.c.id)).scalars().all() == before


def test_a_reviewers_decision_on_a_notice_is_acknowledged_with_its_hcr(answers):
    """The emergency admission (60) is pended for concurrent review; the reviewer's
    certification goes back as the notice's acknowledgment, now carrying the HCR."""
    from edi278.decide.policy import default_policy
    from edi278.review import Review, decide_case
    from tests.test_review import add_reviewers

    engine, _ = answers
    add_reviewers(engine)
    with engine.connect() as connection:
        reference = connection.scalar(
            select(cases.c.administrative_reference).where(cases.c.trace_number == "S60EV20261120")
        )
    review = Review("A1", "", "criteria met on review", "md.lee")
    done = decide_case(engine, reference, review, default_policy(), NOW + timedelta(hours=20))
    (report,) = examine(io.BytesIO(done.response.encode()), GUIDE)
    assert [f.as_dict() for f in report.all_faults()] == []
    (ack,) = read_requests(io.BytesIO(done.response.encode()))
    assert (ack.convention, ack.header.purpose) == ("005010X216", Purpose.RESPONSE)
    assert ack.root.parties[0].name.entity == "FA"
    (event,) = ack.events
    assert (event.decision.action, event.decision.certification_number) == (
        "A1",
        done.certification_number,
    )
