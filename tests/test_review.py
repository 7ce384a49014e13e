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
from edi278.decide.tracking import Kind, format_number
from edi278.pipeline import examine
from edi278.reader import read_requests
from edi278.review import Review, ReviewError, decide_case, pended_cases
from edi278.store.tables import audit_log, cases, decisions
from edi278.store.users import add_user
from tests.conftest import SAMPLES_RECEIVED
from tests.test_samples import GUIDE, answer_samples

pytestmark = pytest.mark.dates

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=20)
EDI278 = Path(__file__).parents[1] / ".venv" / "bin" / "edi278"
MRI_BRAIN = "R26000000090"  # samples/requests/09: pended, documents asked for
ELECTIVE = "R26000000028"  # samples/requests/02: pended for medical review


PASSWORD = "correct horse battery staple"
CRITERIA = "ACR Appropriateness Criteria, Headache, variant 1"


def add_reviewers(engine) -> None:
    """The reviewers the tests decide as: a medical director and a nurse."""
    add_user(engine, "md.lee", "medical-director", PASSWORD, NOW)
    add_user(engine, "rn.jones", "nurse", PASSWORD, NOW)


@pytest.fixture
def reviewed_store(engine, database_url):
    answer_samples(database_url, NOW)
    add_reviewers(engine)
    return engine


def test_pended_cases_come_soonest_due_first_and_overdue_is_marked(reviewed_store):
    with reviewed_store.connect() as connection:
        found = pended_cases(connection, NOW + timedelta(hours=30))
        on_receipt = pended_cases(connection, NOW)
    dues = [case["due_at"] for case in found]
    # every A4 in samples/requests (43 among them, and the notices 59, 60 and 61)
    assert dues == sorted(dues) and len(found) == 21
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
    review = Review("A3", "0F", "imaging not indicated before conservative care", "md.lee",
                    criteria=CRITERIA)  # fmt: skip
    done = decide_case(reviewed_store, MRI_BRAIN, review, default_policy(), LATER)
    assert sorted(done.notices) == ["member-letter.html", "member-letter.txt",
                                    "provider-notice.html", "provider-notice.txt"]  # fmt: skip
    letter, notice = done.notices["member-letter.txt"], done.notices["provider-notice.txt"]
    assert "GRANT" in letter and MRI_BRAIN in letter
    assert "does not show that the service is medically necessary" in letter
    assert "reason code" not in letter and "service type" not in letter
    assert "ACME Health Plan Appeals, PO Box 1000" in letter and "1-800-555-0199" in letter
    assert "medical director" in notice and "1-800-555-0142" in notice and "md.lee" in notice
    assert "<strong>" in done.notices["member-letter.html"]
    hcr = [s for s in done.response.split("~") if s.strip().startswith("HCR")]
    assert [s.strip() for s in hcr] == ["HCR*A3**0F", "HCR*A3**0F"]  # the event and its line


@pytest.mark.parametrize(
    ("reference", "review", "message"),
    [
        (ELECTIVE, Review("A3", "", "x", "md.lee", criteria="c"), "needs a --reason"),
        (ELECTIVE, Review("A3", "0F", "x", "md.lee"), "a denial needs --criteria"),
        (ELECTIVE, Review("A3", "0V", "x", "md.lee", criteria="c"), "0V .* is a pend reason"),
        (ELECTIVE, Review("A3", "0U", "x", "md.lee", criteria="c"), "0U .* is a pend reason"),
        (ELECTIVE, Review("A2", "0H", "x", "md.lee", 1), "0H .* is a no action code"),
        (ELECTIVE, Review("A1", "", "x", "nobody"), "no user is named nobody"),
        (ELECTIVE, Review("A3", "0F", "x", "rn.jones", criteria="c"), "only a medical director"),
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


def edi278(*args: str, state: list[str], stdin: str | None = None):
    return subprocess.run([str(EDI278), *args, *state], input=stdin, capture_output=True,
                          text=True)  # fmt: skip


@pytest.fixture
def command_store(tmp_path) -> list[str]:
    """A state folder with the samples answered and two reviewers added by the command."""
    state = ["--state-dir", str(tmp_path / "var")]
    answer_samples(f"sqlite:///{tmp_path / 'var' / 'edi278.db'}", SAMPLES_RECEIVED)
    for name, role in (("md.lee", "medical-director"), ("rn.jones", "nurse")):
        added = edi278("user", "add", "--name", name, "--role", role, "--password-stdin",
                       state=state, stdin=PASSWORD + "\n")  # fmt: skip
        assert added.returncode == 0, added.stderr
    return state


def test_the_commands_list_and_decide_and_write_into_the_outbox(tmp_path, command_store):
    state = command_store
    listed = edi278("review", "list", "--json", state=state)
    assert listed.returncode == 0, listed.stderr
    references = [
        json.loads(line)["administrative_reference"] for line in listed.stdout.splitlines()
    ]
    assert MRI_BRAIN in references
    outbox = tmp_path / "out"
    decided = edi278(
        "review", "decide", MRI_BRAIN, "--action", "A3", "--reason", "0F", "--note",
        "not indicated", "--criteria", CRITERIA, "--reviewer", "md.lee", "--outbox",
        str(outbox), state=state,
    )  # fmt: skip
    assert decided.returncode == 0, decided.stderr
    assert sorted(p.name for p in outbox.iterdir()) == [
        f"{MRI_BRAIN}-member-letter.html", f"{MRI_BRAIN}-member-letter.txt",
        f"{MRI_BRAIN}-provider-notice.html", f"{MRI_BRAIN}-provider-notice.txt",
        f"{MRI_BRAIN}.278",
    ]  # fmt: skip
    again = edi278("review", "decide", MRI_BRAIN, "--action", "A1", "--note", "x",
                   "--reviewer", "md.lee", "--outbox", str(outbox), state=state)  # fmt: skip
    assert again.returncode == 1 and "is not pended (its decision is A3)" in again.stderr


def _decisions_of(tmp_path: Path, reference: str) -> list[str]:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'edi278.db'}")
    with engine.connect() as connection:
        found = list(connection.scalars(
            select(decisions.c.action).join(cases, decisions.c.case_id == cases.c.id)
            .where(cases.c.administrative_reference == reference,
                   decisions.c.service_line_id.is_(None))
            .order_by(decisions.c.id)
        ))  # fmt: skip
    engine.dispose()
    return found


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        # bad usage: exit 2, as click says it
        (
            ["--action", "A3", "--reason", "0V", "--criteria", "c", "--reviewer", "md.lee"],
            2,
            "--reason 0V (requires medical review) is a pend reason",
        ),
        (
            ["--action", "A3", "--reason", "0U", "--criteria", "c", "--reviewer", "md.lee"],
            2,
            "--reason 0U (additional patient information required) is a pend reason",
        ),
        (
            ["--action", "A3", "--reason", "ZZ", "--criteria", "c", "--reviewer", "md.lee"],
            2,
            "--reason 'ZZ' is not an HCR03 code",
        ),
        (
            ["--action", "A3", "--criteria", "c", "--reviewer", "md.lee"],
            2,
            "a decision A3 needs a --reason",
        ),
        (
            ["--action", "A3", "--reason", "0F", "--reviewer", "md.lee"],
            2,
            "a denial needs --criteria",
        ),
        (
            ["--action", "A2", "--reason", "0G", "--reviewer", "md.lee"],
            2,
            "needs the --quantity certified",
        ),
        (["--action", "A5", "--reviewer", "md.lee"], 2, "Invalid value for '--action'"),
        # the case or the reviewer: exit 1, nothing recorded
        (
            ["--action", "A3", "--reason", "0F", "--criteria", "c", "--reviewer", "rn.jones"],
            1,
            "user rn.jones is a nurse: only a medical director may deny (A3)",
        ),
        (["--action", "A1", "--reviewer", "somebody"], 1, "no user is named somebody"),
    ],
)
def test_review_decide_exits_2_for_bad_usage_and_1_for_a_refusal(
    tmp_path, command_store, args, status, message
):
    result = edi278("review", "decide", MRI_BRAIN, "--note", "n", "--outbox",
                    str(tmp_path / "out"), *args, state=command_store)  # fmt: skip
    assert (result.returncode, message in result.stderr) == (status, True), result.stderr
    assert _decisions_of(tmp_path, MRI_BRAIN) == ["A4"]  # nothing recorded
    assert not (tmp_path / "out").exists()


def test_a_case_not_found_or_mistyped_is_exit_1_or_2_with_what_to_do(tmp_path, command_store):
    never = format_number(Kind.REFERENCE, SAMPLES_RECEIVED.year, 999_999)
    decide = ["review", "decide", "--action", "A1", "--note", "n", "--reviewer", "md.lee",
              "--outbox", str(tmp_path)]  # fmt: skip
    unknown = edi278(*decide, never, state=command_store)
    assert unknown.returncode == 1, unknown.stderr
    assert f"no case has the reference {never}" in unknown.stderr
    mistyped = edi278(*decide, "R26000000082", state=command_store)
    assert mistyped.returncode == 2 and "fails its check digit" in mistyped.stderr


def test_a_disabled_reviewer_decides_nothing(tmp_path, command_store):
    assert edi278("user", "disable", "--name", "md.lee", state=command_store).returncode == 0
    refused = edi278("review", "decide", ELECTIVE, "--action", "A1", "--note", "n",
                     "--reviewer", "md.lee", "--outbox", str(tmp_path / "out"),
                     state=command_store)  # fmt: skip
    assert refused.returncode == 1
    assert "user md.lee is disabled and cannot decide cases" in refused.stderr
    assert _decisions_of(tmp_path, ELECTIVE) == ["A4"]


def test_a_nurse_certifies(tmp_path, command_store):
    done = edi278("review", "decide", ELECTIVE, "--action", "A1", "--note", "criteria met",
                  "--reviewer", "rn.jones", "--outbox", str(tmp_path / "out"),
                  state=command_store)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _decisions_of(tmp_path, ELECTIVE) == ["A4", "A1"]


def test_review_decide_help_lists_every_reason_with_its_words():
    shown = subprocess.run([str(EDI278), "review", "decide", "--help"], capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    lines = {line.split(maxsplit=1)[0]: line.split(maxsplit=1)[1] for line in
             shown.split("HCR03 code source 886):")[1].split("Refused")[0].splitlines()
             if line.strip()}  # fmt: skip
    assert lines["0F"] == "Not medically necessary"
    assert lines["9"] == "Out of network" and lines["17"] == "Time limits not met"
    assert len(lines) == 39 and "0V" not in lines and "0U" not in lines
    flowing = " ".join(shown.split())
    assert "0V (requires medical review)" in flowing
    assert "0U (additional patient information required)" in flowing
