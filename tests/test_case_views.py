"""What operations staff and reviewers read about cases, through the real commands:
`review list` and `review show` in words, `inquire`, every time in the plan's time zone
with its abbreviation, and no due time on a closed case."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from edi278.clock import CLOCK_VARIABLE
from tests.conftest import SAMPLES_RECEIVED
from tests.test_samples import answer_samples

pytestmark = pytest.mark.dates

EDI278 = Path(__file__).parents[1] / ".venv" / "bin" / "edi278"
MRI_BRAIN = "R26000000090"  # samples/requests/09: pended for documents (0U)
KNEE = "R26000000015"  # samples/requests/01: certified on receipt
HEADERS = ["reference", "member", "patient", "service", "diagnoses", "dates", "urgency",
           "pended for", "received", "due", "overdue"]  # fmt: skip


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("var")
    answer_samples(f"sqlite:///{folder / 'edi278.db'}", SAMPLES_RECEIVED)
    return ["--state-dir", str(folder)]


def edi278(*args: str, state: list[str], clock: str | None = None):
    env = {**os.environ, **({CLOCK_VARIABLE: clock} if clock else {})}
    return subprocess.run([str(EDI278), *args, *state], capture_output=True, text=True, env=env)


def table_rows(text: str) -> list[list[str]]:
    """A rich table as rows of cells, a cell's folded lines joined again."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if "│" not in line and "┃" not in line:
            continue
        cells = [cell.strip() for cell in line.replace("┃", "│").split("│")[1:-1]]
        if cells[0] or not rows:
            rows.append(cells)
        else:
            rows[-1] = [" ".join(filter(None, pair)) for pair in zip(rows[-1], cells, strict=True)]
    return rows


def test_review_list_has_a_header_on_every_column_and_the_case_in_words(state):
    shown = edi278("review", "list", state=state, clock="2026-11-23T15:00:00+00:00")
    assert shown.returncode == 0, shown.stderr
    rows = table_rows(shown.stdout)
    assert rows[0] == HEADERS
    mri = next(row for row in rows if row[0] == MRI_BRAIN)
    assert dict(zip(HEADERS, mri, strict=True)) == {
        "reference": MRI_BRAIN,
        "member": "W159483132 RAJ GRANT",
        "patient": "RAJ GRANT",
        "service": "an MRI or CT scan 70553",
        "diagnoses": "R51",
        "dates": "2026-12-01 to 2026-12-31",
        "urgency": "standard",
        "pended for": "0U additional patient information required",
        "received": "2026-11-20 10:00 EST",
        "due": "2026-11-22 10:00 EST",
        "overdue": "OVERDUE",
    }
    # Every sample pended and left so, 43 (an extension of a legacy authorization) and the
    # notices 59-61 among them.
    assert shown.stdout.splitlines()[-1] == "21 pended case(s), 21 overdue"


def test_review_list_json_gives_the_same_in_words_and_zoned_times(state):
    listed = edi278("review", "list", "--json", state=state)
    assert listed.returncode == 0, listed.stderr
    cases = {case["reference"]: case for case in map(json.loads, listed.stdout.splitlines())}
    mri = cases[MRI_BRAIN]
    assert (mri["service"], mri["dates"], mri["pend_reason"], mri["overdue"]) == (
        "an MRI or CT scan", "2026-12-01 to 2026-12-31",
        "0U additional patient information required", False)  # fmt: skip
    assert [p["words"] for p in mri["procedures"]] == [
        "CPT/HCPCS 70553: high-tech radiology (MRI, CT, PET)"
    ]
    assert [d["words"] for d in mri["diagnoses"]] == ["R51, principal diagnosis (ICD-10-CM)"]
    assert (mri["received_at"], mri["due_at"]) == (
        "2026-11-20T10:00:00-05:00", "2026-11-22T10:00:00-05:00")  # fmt: skip


def test_review_show_tells_the_request_in_words(state):
    shown = edi278("review", "show", MRI_BRAIN, state=state)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "Case:               R26000000090, pended: 0U additional patient information required",
        "Member:             RAJ GRANT, member ID W159483132",
        "Patient:            RAJ GRANT",
        "Requested by:       RIVERSIDE ORTHOPEDICS (NPI 1234567893)",
        "Facility:           LAKESIDE IMAGING (NPI 1528067142)",
        "Request:            health care services, initial request",
        "Service:            an MRI or CT scan",
        "Procedure:          CPT/HCPCS 70553: high-tech radiology (MRI, CT, PET), 1 unit, "
        "2026-12-01 to 2026-12-31",
        "Diagnosis:          R51, principal diagnosis (ICD-10-CM)",
        "Dates:              2026-12-01 to 2026-12-31",
        "Asked for:          1 unit",
        "Urgency:            standard",
        "Received:           2026-11-20 10:00 EST",
        "Due:                2026-11-22 10:00 EST",
        "Decisions:",
        "  2026-11-20 10:00 EST  A4 pended, 0U we need more information about the patient "
        "to decide (by engine:clinical-review)",
        "    trace: eligible: plan PPO01 covers 2026-12-01",
        "    trace: categories: high-tech-radiology",
        "    trace: lead-time: 254 hour(s) before service, 72 needed",
        "    trace: clinical-review: criteria not met by rule: a clinician decides",
    ]
    as_json = json.loads(edi278("review", "show", MRI_BRAIN, "--json", state=state).stdout)
    assert (as_json["reference"], as_json["due_at"], as_json["requested"]) == (
        MRI_BRAIN, "2026-11-22T10:00:00-05:00", "1 unit")  # fmt: skip
    assert as_json["history"][0]["decided_by"] == "engine:clinical-review"


def test_a_closed_case_shows_no_due_time(state):
    shown = edi278("review", "show", KNEE, state=state)
    assert shown.returncode == 0, shown.stderr
    assert "Due:" not in shown.stdout and "Received:           2026-11-20 10:00 EST" in shown.stdout
    assert "A1 certified in total (3 days), C26000000015 (by engine:auto-certify)" in shown.stdout
    assert "Servicing provider: SMITH, ROBERT (NPI 1112223334)" in shown.stdout
    assert (
        json.loads(edi278("review", "show", KNEE, "--json", state=state).stdout)["due_at"] is None
    )


@pytest.mark.parametrize(
    ("reference", "status"),
    [
        ("R26000000089", "certified"),  # A1 (sample 08; sample 01's is cancelled by 32)
        (KNEE, "cancelled"),  # A1, then cancelled by sample 32
        ("R26000000066", "not required"),  # NA
        ("R26000000187", "not certified"),  # A3
        ("R26000000217", "not accepted"),  # AAA
        ("R26000000323", "cancelled"),  # C
        (MRI_BRAIN, "pended"),
    ],
)
def test_inquire_shows_times_in_the_plans_zone_and_a_due_time_only_while_open(
    state, reference, status
):
    found = edi278("inquire", "--tracking", reference, state=state)
    assert found.returncode == 0, found.stderr
    (header, row) = table_rows(found.stdout)
    shown = dict(zip(header, row, strict=True))
    assert (shown["status"], shown["received"]) == (status, "2026-11-20 10:00 EST")
    assert shown["due"] == ("2026-11-22 10:00 EST" if status == "pended" else "")
    (document,) = map(json.loads, edi278("inquire", "--tracking", reference, "--json",
                                         state=state).stdout.splitlines())  # fmt: skip
    assert document["received_at"] == "2026-11-20T10:00:00-05:00"
    assert document["due_at"] == ("2026-11-22T10:00:00-05:00" if status == "pended" else None)


def test_a_name_without_its_comma_gets_the_expected_form(state):
    asked = edi278("inquire", "--name", "GRANT RAJ", "--provider", "1528067142", "--from",
                   "2026-11-01", "--to", "2026-12-31", state=state)  # fmt: skip
    assert asked.returncode == 1
    assert asked.stderr == (
        'edi278 inquire: no case has the last name "GRANT RAJ"; names are given as '
        '"LAST, FIRST": did you mean --name "GRANT, RAJ"?\n'
    )
    right = edi278("inquire", "--name", "GRANT, RAJ", "--provider", "1528067142", "--from",
                   "2026-11-01", "--to", "2026-12-31", state=state)  # fmt: skip
    assert right.returncode == 0 and MRI_BRAIN in right.stdout
