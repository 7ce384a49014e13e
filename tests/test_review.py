"""Clinical review (SQLite and PostgreSQL): pended cases listed by due time, a
reviewer's decision recorded as history, answered with a valid 278, and a denial
explained in the two notices; then end to end through the command."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from edi278.decide.policy import default_policy
from edi278.pipeline import examine
from edi278.reader import read_requests
from edi278.review import Review, ReviewError, decide_case, pended_cases
from edi278.store.tables import audit_log, cases, decisions
from tests.conftest import SAMPLES_RECEIVED
from tests.test_samples import GUIDE, answer_samples

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=20)
EDI278 = Path(__file__).parents[1] / ".venv" / "bin" / "edi278"
MRI_BRAIN = "R26000000090"  # samples/requests/09: pended, documents asked for
ELECTIVE = "R26000000028"  # samples/requests/02: pended for medical review


@pytest.fixture
def reviewed_store(engine, database_url):
    answer_samples(database_url, NOW)
    return engine


def test_pended_cases_come_soonest_due_first_and_overdue_is_marked(reviewed_store):
    with reviewed_store.connect() as connection:
        found = pended_cases(connection, NOW + timedelta(hours=30))
        on_receipt = pended_cases(connection, NOW)
    dues = [case["due_at"] for case in found]
    assert dues == sorted(dues) and len(found) == 17  # every A4 in samples/requests
    urgent = found[0]  # the urgent CT is due the same day, in New York
    assert urgent["administrative_reference"] == "R26000000106" and urgent["overdue"]
    assert urgent["due_at"] == datetime(2026, 11, 21, 4, 59, tzinfo=UTC)
    assert not any(case["overdue"] for case in on_receipt)


def test_a_certification_is_recorded_as_a_new_decision_with_a_new_number(reviewed_store):
    review = Review("A1", "", "criteria met on review", "rn.jones")
    done = decide_case(reviewed_store, ELECTIVE, review, default_policy(), LATER)
    assert done.certification_number.startswith("C26") and done.notices == {}
    (answer,) = list(read_requests(io.BytesIO(done.response.encode())))
    (event,) = answer.events
    assert (event.decision.action, event.decision.certification_number) == (
        "A1", done.certification_number)  # fmt: skip
    (report,) = list(examine(io.BytesIO(done.response.encode()), GUIDE))
    assert report.all_faults() == []
    with reviewed_store.connect() as connection:
        case = connection.execute(select(cases).where(
            cases.c.administrative_reference == ELECTIVE)).one()  # fmt: skip
        history = connection.execute(
            select(decisions.c.action, decisions.c.decided_by)
            .where(decisions.c.case_id == case.id, decisions.c.service_line_id.is_(None))
            .order_by(decisions.c.id)
        ).all()
        entry = connection.execute(select(audit_log).order_by(audit_log.c.id.desc())).first()
    assert [tuple(h) for h in history] == [("A4", "engine:clinical-review"),
                                           ("A1", "reviewer:rn.jones")]  # fmt: skip
    assert case.status == "certified" and case.internal_pend_due_at is None
    assert (entry.action, entry.actor, entry.case_id) == ("reviewed", "reviewer:rn.jones", case.id)
    assert "criteria" not in entry.detail  # the note is the reviewer's, not the audit's
    with pytest.raises(ReviewError, match="is not pended"):
        decide_case(reviewed_store, ELECTIVE, review, default_policy(), LATER)


def test_a_denial_writes_the_member_letter_and_the_provider_notice(reviewed_store):
    review = Review("A3", "0F", "imaging not indicated before conservative care", "md.lee")
    done = decide_case(reviewed_store, MRI_BRAIN, review, default_policy(), LATER)
    assert sorted(done.notices) == ["member-letter.html", "member-letter.txt",
                                    "provider-notice.html", "provider-notice.txt"]  # fmt: skip
    letter, notice = done.notices["member-letter.txt"], done.notices["provider-notice.txt"]
    assert "GRANT" in letter and MRI_BRAIN in letter
    assert "does not show that the service is medically necessary" in letter
    assert "ACME Health Plan Appeals, PO Box 1000" in letter and "1-800-555-0199" in letter
    assert "medical director" in notice and "1-800-555-0142" in notice and "md.lee" in notice
    assert "<strong>" in done.notices["member-letter.html"]
    hcr = [s for s in done.response.split("~") if s.strip().startswith("HCR")]
    assert [s.strip() for s in hcr] == ["HCR*A3**0F", "HCR*A3**0F"]  # the event and its line


@pytest.mark.parametrize(
    ("reference", "review", "message"),
    [
        (ELECTIVE, Review("A3", "", "x", "md.lee"), "needs a --reason"),
        (ELECTIVE, Review("A2", "0G", "x", "md.lee"), "needs the --quantity"),
        (ELECTIVE, Review("A3", "XX", "x", "md.lee"), "is not an HCR03 code"),
        (ELECTIVE, Review("A1", "", " ", "md.lee"), "--note is required"),
        (ELECTIVE, Review("A4", "0V", "x", "md.lee"), "--action must be one of"),
        ("R26000000082", Review("A1", "", "x", "md.lee"), "fails its check digit"),
        ("R26000000015", Review("A1", "", "x", "md.lee"), "is not pended"),  # certified
    ],
)
def test_a_review_that_cannot_be_recorded_says_why(reviewed_store, reference, review, message):
    with pytest.raises(ReviewError, match=message):
        decide_case(reviewed_store, reference, review, default_policy(), LATER)


def test_the_commands_list_and_decide_and_write_into_the_outbox(tmp_path):
    state = ["--state-dir", str(tmp_path / "var")]
    answer_samples(f"sqlite:///{tmp_path / 'var' / 'edi278.db'}", SAMPLES_RECEIVED)
    listed = subprocess.run([str(EDI278), "review", "list", "--json", *state],
                            capture_output=True, text=True)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    references = [
        json.loads(line)["administrative_reference"] for line in listed.stdout.splitlines()
    ]
    assert MRI_BRAIN in references
    outbox = tmp_path / "out"
    decided = subprocess.run(
        [str(EDI278), "review", "decide", MRI_BRAIN, "--action", "A3", "--reason", "0F",
         "--note", "not indicated", "--reviewer", "md.lee", "--outbox", str(outbox), *state],
        capture_output=True, text=True,
    )  # fmt: skip
    assert decided.returncode == 0, decided.stderr
    assert sorted(p.name for p in outbox.iterdir()) == [
        f"{MRI_BRAIN}-member-letter.html", f"{MRI_BRAIN}-member-letter.txt",
        f"{MRI_BRAIN}-provider-notice.html", f"{MRI_BRAIN}-provider-notice.txt",
        f"{MRI_BRAIN}.278",
    ]  # fmt: skip
    again = subprocess.run(
        [str(EDI278), "review", "decide", MRI_BRAIN, "--action", "A1", "--note", "x",
         "--reviewer", "md.lee", "--outbox", str(outbox), *state],
        capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 1 and "is not pended (its decision is A3)" in again.stderr
