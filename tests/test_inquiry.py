"""Looking cases up (SQLite and PostgreSQL), and the end-to-end promise: processing the
sample inbox twice creates its cases once, and `inquire` finds them."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from edi278.decide.tracking import Kind, TrackingNumberError, format_number
from edi278.store.inquiry import Question, UnknownTrackingNumber, find_cases
from tests.conftest import issued
from tests.test_intake import SAMPLES, take

pytestmark = pytest.mark.dates

EDI278 = Path(__file__).parents[1] / ".venv" / "bin" / "edi278"
REFERENCE = Path(__file__).parents[1] / "samples" / "reference"


@pytest.fixture
def samples_taken(stocked):
    engine = stocked
    for path in sorted(SAMPLES.iterdir()):
        take(engine, path.read_bytes(), path.name)
    return engine


def ask(engine, **question) -> list[str]:
    with engine.connect() as connection:
        return [
            v.case["administrative_reference"] for v in find_cases(connection, Question(**question))
        ]


def test_by_tracking_number_member_name_provider_and_dates(samples_taken):
    engine = samples_taken
    # samples in name order: the MRI batch (the child's case, then the parent's), the
    # knee admission, the specialist referral (the two others are rejected: no case)
    mri, shoulder, knee, referral = "R26000000015", "R26000000028", "R26000000031", "R26000000044"
    assert ask(engine, tracking=knee) == [knee]
    assert ask(engine, tracking=" r2600000003 1 ") == [knee]  # typed loosely
    assert ask(engine, member_id="W900000008") == [shoulder, mri]  # a family, newest first
    assert ask(engine, member_id="W000000000") == []
    assert ask(engine, name=("park", "milo"), provider="1528067142") == [mri]  # the patient
    assert ask(engine, name=("HOLT", ""), provider="1234567893") == [knee]  # requester NPI
    assert ask(engine, name=("HOLT", "GRETA"), provider="1987654321") == [knee]  # the facility
    assert ask(engine, name=("HOLT", "GRETA"), provider="1528067142") == []
    assert ask(engine, name=("MORENO", "TOMAS"), provider="1679576722") == [referral]
    # dates: the event's own (knee 2026-12-14; MRI lines 2026-12-07..31)
    assert ask(
        engine, member_id="W900000009", start=date(2026, 12, 14), end=date(2026, 12, 14)
    ) == [knee]
    assert ask(engine, member_id="W900000009", start=date(2026, 12, 15)) == []
    assert ask(engine, member_id="W900000008", start=date(2026, 12, 31)) == [shoulder, mri]
    assert ask(engine, member_id="W900000008", end=date(2026, 12, 6)) == []


def test_a_mistyped_tracking_number_is_caught_and_an_unissued_one_is_named(samples_taken):
    with pytest.raises(TrackingNumberError, match="fails its check digit"):
        ask(samples_taken, tracking="R26000000082")  # 2 and 8 swapped
    with pytest.raises(UnknownTrackingNumber, match="was never issued"):
        ask(samples_taken, tracking=format_number(Kind.REFERENCE, 2026, 999))
    with pytest.raises(TrackingNumberError, match="ours start with"):
        ask(samples_taken, tracking="X123")


def test_a_view_carries_decisions_lines_and_clocks(samples_taken):
    with samples_taken.connect() as connection:
        (view,) = find_cases(connection, Question(name=("PARK", "MILO")))
    document = view.as_dict()
    assert document["status"] == "certified" and document["urgency"] == "standard"
    assert [line["procedure"] for line in document["service_lines"]] == ["HC:72158"]
    assert [(d["action"], d["reason"], d["line_number"]) for d in document["decisions"]] == [
        ("A1", "", None),
        ("A1", "", 1),
    ]
    assert document["certification_numbers"] == ["C26000000015"]
    (event, _) = document["decisions"]
    assert [step["rule"] for step in json.loads(event["trace"])][-1] == "auto-certify"
    assert document["regulatory_due_at"].startswith("2026-11-27T15:00")
    json.dumps(document)  # JSON-ready as it stands


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EDI278), *args], capture_output=True, text=True, cwd=cwd)


def test_processing_the_inbox_twice_creates_cases_once_and_inquire_finds_them(tmp_path):
    assert run("reference", "load", str(REFERENCE), cwd=tmp_path).returncode == 0
    for _ in range(2):
        result = run("process", str(SAMPLES), "--outbox", "out", "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        summaries = [json.loads(line) for line in result.stdout.splitlines()]
    # the second run: every interchange answered as before, nothing created
    assert sum(s["cases_created"] for s in summaries) == 0
    assert all(s["replayed_interchanges"] == s["interchanges"] for s in summaries)
    found = run("inquire", "--member", "W900000009", "--json", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    (case,) = [json.loads(line) for line in found.stdout.splitlines()]
    assert case["member_id"] == "W900000009" and case["status"] == "certified"
    everyone = [
        json.loads(line)
        for member in ("W900000008", "W900000009", "H900000010", "H900000011", "W900000012")
        for line in run("inquire", "--member", member, "--json", cwd=tmp_path).stdout.splitlines()
    ]
    assert len(everyone) == 4  # four requests taken in the inbox, each a case once
    table = run("inquire", "--member", "W900000008", cwd=tmp_path)
    assert (
        issued(Kind.REFERENCE, 1) in table.stdout
        and "certified" in table.stdout
        and "2 case(s)" in table.stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tracking", "R26000000016"], "fails its check digit"),
        (["--name", "DOE, JANE"], "needs --provider, --from and --to"),
        (["--member", "W1", "--name", "DOE"], "exactly one of --tracking, --member or --name"),
        (["--member", "W1", "--from", "2026-02-30"], "is not a date"),
        (["--member", "W1", "--provider", "12"], "is not an NPI"),
    ],
)
def test_inquire_says_what_is_wrong(tmp_path, args, message):
    result = run("inquire", *args, cwd=tmp_path)
    assert result.returncode in (1, 2) and message in result.stderr
