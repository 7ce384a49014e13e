"""The duplicate rule over cases on file, decided purely: which cases stand in the way
of a new request for the same patient, service and dates (a business duplicate, A3 0Q),
and which no longer do (cancelled, denied, expired)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from itertools import count
from pathlib import Path

import pytest

from edi278.decide.engine import decide
from edi278.decide.facts import PriorCase
from edi278.decide.outcome import Tracking
from edi278.decide.policy import default_policy
from edi278.ig import Guide
from edi278.pipeline import examine
from edi278.store.database import open_database
from edi278.store.facts import facts_for
from edi278.store.reference import load_reference
from tests.conftest import SAMPLES_RECEIVED

pytestmark = pytest.mark.dates

ROOT = Path(__file__).parents[1]
# Sample 01: DOE JANE, a total knee (27447) at GENERAL HOSPITAL admitted on 2026-12-10.
KNEE = ROOT / "samples" / "requests" / "01-inpatient-elective-knee-auto.x12"
ON_FILE = PriorCase(
    administrative_reference="R26000000015",
    member_id="W123456789",
    patient_first_name="JANE",
    certification_number="C26000000015",
    action="A1",
    facility_npis=("1987654321",),
    procedures=("27447",),
    service_type="48",
    start=date(2026, 12, 1),
    end=date(2026, 12, 31),
    expires=date(2026, 12, 31),
)


@pytest.fixture(scope="module")
def knee(tmp_path_factory):
    """The request and the reference facts about it (member, plan, providers)."""
    (report,) = examine(io.BytesIO(KNEE.read_bytes()), Guide())
    (request,) = [t.request for g in report.groups for t in g.transactions]
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('facts')}/facts.db")
    load_reference(engine, ROOT / "samples" / "reference")
    with engine.connect() as connection:
        facts = facts_for(connection, [request])
    engine.dispose()
    return request, facts


def outcome_beside(knee, prior: PriorCase) -> tuple[str, str]:
    request, facts = knee
    numbers = count(1)
    tracking = Tracking(["R26000000990"], lambda: f"C26{next(numbers):09d}")
    (decision,) = decide(
        request, replace(facts, member_cases=(prior,)), default_policy(), SAMPLES_RECEIVED,
        tracking,
    )  # fmt: skip
    return decision.outcome.action, decision.outcome.reason


def test_a_certification_on_file_for_the_same_service_and_dates_makes_a_duplicate(knee):
    assert outcome_beside(knee, ON_FILE) == ("A3", "0Q")


@pytest.mark.parametrize(
    ("why", "prior"),
    [
        ("cancelled since", replace(ON_FILE, cancelled=True)),
        ("denied", replace(ON_FILE, action="A3", certification_number="", expires=None)),
        ("a cancellation itself", replace(ON_FILE, action="C")),
        ("expired the day before", replace(ON_FILE, expires=date(2026, 12, 9))),
    ],
)
def test_a_case_that_no_longer_stands_makes_no_duplicate(knee, why, prior):
    """Cancelled, denied, or a certification that ended before the new request's dates
    (here 2026-12-10): the request is decided on its own, certified by criteria."""
    assert outcome_beside(knee, prior) == ("A1", ""), why


def test_a_certification_valid_on_the_first_day_asked_still_makes_a_duplicate(knee):
    assert outcome_beside(knee, replace(ON_FILE, expires=date(2026, 12, 10))) == ("A3", "0Q")


def test_a_duplicate_of_another_partners_case_is_a_plain_pend_naming_nothing(knee):
    request, facts = knee
    tracking = Tracking(["R26000000990"], lambda: "C26000000991")
    theirs = replace(ON_FILE, own=False)
    (decision,) = decide(request, replace(facts, member_cases=(theirs,)), default_policy(),
                         SAMPLES_RECEIVED, tracking)  # fmt: skip
    outcome = decision.outcome
    assert (outcome.action, outcome.reason, outcome.message) == ("A4", "0V", "")
    said = repr(decision)  # the answer, the trace kept with the case: nothing of theirs
    assert ON_FILE.administrative_reference not in said
    assert ON_FILE.certification_number not in said
    # Beside a case of its own too, the sender is told of its own, as ever.
    (decision,) = decide(request, replace(facts, member_cases=(theirs, ON_FILE)),
                         default_policy(), SAMPLES_RECEIVED, tracking)  # fmt: skip
    assert decision.outcome.message == f"Duplicate of request {ON_FILE.administrative_reference}."


def test_where_duplicates_are_reviewed_another_partners_case_changes_nothing(knee):
    request, facts = knee
    tracking = Tracking(["R26000000990"], lambda: "C26000000991")
    policy = replace(default_policy(), duplicates="review")
    on_file = replace(facts, member_cases=(replace(ON_FILE, own=False),))
    (decision,) = decide(request, on_file, policy, SAMPLES_RECEIVED, tracking)
    assert (decision.outcome.action, decision.outcome.message) == ("A1", "")
    assert ON_FILE.administrative_reference not in repr(decision)
