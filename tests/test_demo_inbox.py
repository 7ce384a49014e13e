"""`make run`'s command, as the Makefile runs it: the numbered sample requests, then the
demo inbox (samples/inbox/), answered into one outbox as received on 2026-11-20 at 10:00
in New York. The inbox shows each outcome once, on purpose (README "The demo"); its
answers are the ones in samples/expected/inbox/; a second and a third run write nothing
new and still say what was decided."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edi278.batch import FileSummary

ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "samples"
EDI278 = Path(sys.executable).parent / "edi278"
RECEIVED_AT = "2026-11-20T10:00:00-05:00"  # the Makefile's RECEIVED_AT
INBOX = sorted(p.name for p in (SAMPLES / "inbox").iterdir())

pytestmark = pytest.mark.dates

# What each inbox file shows, written by hand (make_expected.py cannot rewrite it): the
# answers written, and in the last of them each HCR's HCR01 and HCR03 (event, then its
# service lines) or each 999 IK5's IK501 and IK502.
SHOWS = {
    # a batch of two sets: a dependent's MRI certified, the subscriber's pended with
    # documents asked for (HI LOI at its service line)
    "dependent-mri-batch.edi": (
        ["999", "278"],
        [("A1", ""), ("A1", ""), ("A4", "0U"), ("A4", "0U")],
    ),
    # ISA14=1 asks for a TA1; an elective knee admission certified by criteria
    "elective-knee-admission.x12": (["ta1", "999", "278"], [("A1", ""), ("A1", "")]),
    # an HMO member's referral from the PCP, certified
    "specialist-referral.x12": (["999", "278"], [("A1", "")]),
    # the guide's faults, named in the 999: SE01 miscounted; UM06 missing on an appeal
    "referral-wrong-segment-count.x12": (["999"], [("R", "4")]),
    "appeal-without-level-of-service.x12": (["999"], [("R", "5")]),
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(EDI278), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def make_run(workdir: Path, *options: str) -> subprocess.CompletedProcess[str]:
    requests = sorted(str(p) for p in (SAMPLES / "requests").glob("*.x12"))
    return run("process", *requests, str(SAMPLES / "inbox"), "--outbox", "out",
               "--received-at", RECEIVED_AT, *options, cwd=workdir)  # fmt: skip


def outbox(workdir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((workdir / "out").iterdir())}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Three runs into one outbox: the first and the third with --json, the second as a
    person reads it; and the outbox after each."""
    workdir = tmp_path_factory.mktemp("demo")
    run("reference", "load", str(SAMPLES / "reference"), cwd=workdir)
    runs, after = [], []
    for options in (["--json"], [], ["--json"]):
        runs.append(make_run(workdir, *options).stdout)
        after.append(outbox(workdir))
    return workdir, runs, after


def inbox_summaries(text: str) -> dict[str, dict]:
    summaries = (json.loads(line) for line in text.splitlines())
    return {Path(s["input"]).name: s for s in summaries if Path(s["input"]).parent.name == "inbox"}


def test_the_inbox_is_answered_as_samples_expected_inbox_says(demo):
    _, _, (written, *_) = demo
    expected = {p.name: p.read_bytes() for p in sorted((SAMPLES / "expected" / "inbox").iterdir())}
    assert {name: written[name] for name in expected} == expected
    stems = {Path(name).stem for name in INBOX}
    assert sorted(n for n in written if Path(n).stem in stems) == sorted(expected)


def segments(text: str) -> list[list[str]]:
    """Our answers use the sender's delimiters: * or |, and ~."""
    element = text[3]
    return [s.strip().split(element) for s in text.split("~") if s.strip()]


@pytest.mark.parametrize("name", INBOX)
def test_each_inbox_file_shows_its_outcome_once(demo, name):
    workdir, (first, *_), _ = demo
    kinds, shown = SHOWS[name]
    summary = inbox_summaries(first)[name]
    assert list(summary["outputs"]) == kinds
    last = segments((workdir / summary["outputs"][kinds[-1]]).read_text())
    tag = "HCR" if kinds[-1] == "278" else "IK5"
    assert [
        (s[1], [*s, "", "", ""][3 if tag == "HCR" else 2]) for s in last if s[0] == tag
    ] == shown
    if "ta1" in kinds:
        ta1 = segments((workdir / summary["outputs"]["ta1"]).read_text())
        assert [s[4:] for s in ta1 if s[0] == "TA1"] == [["A", "000"]]


def test_no_inbox_request_is_a_business_duplicate_and_documents_are_asked_for(demo):
    workdir, (first, *_), _ = demo
    responses = {
        name: (workdir / s["outputs"]["278"]).read_text().replace("|", "*")
        for name, s in inbox_summaries(first).items()
        if "278" in s["outputs"]
    }
    assert all("HCR*A3" not in text for text in responses.values())
    assert "HI*LOI:11506-3*LOI:18748-4~" in responses["dependent-mri-batch.edi"]


def test_make_run_twice_writes_nothing_new_and_still_lists_its_decisions(demo):
    _, (first, second, third), (after_first, after_second, after_third) = demo
    assert after_second == after_first and after_third == after_first
    before = [json.loads(line) for line in first.splitlines()]
    again = [json.loads(line) for line in third.splitlines()]
    assert [s["outputs"] for s in again] == [s["outputs"] for s in before]
    assert [s["decisions"] for s in again] == [s["decisions"] for s in before]
    # every request and notification taken (an inquiry is answered, not decided)
    assert sum(len(s["decisions"]) for s in again) == 56
    assert all(s["cases_created"] == 0 for s in again)
    assert all(s["decisions_replayed"] == len(s["decisions"]) for s in again)
    # the table after the files lists them as the first run did
    rows = [line for line in second.splitlines() if line.startswith("│")]
    assert len(rows) == 56
    assert "│ dependent-mri-batch.edi" in rows[-4] and "│ A4      │ 0U " in rows[-3]


def accepted(line: str) -> int:
    """The transaction sets a summary line says were accepted."""
    return int(line.split(" transaction set(s) accepted")[0].rsplit(" ", 1)[1].split("/")[0])


def test_a_second_run_says_each_request_was_answered_as_before(demo):
    _, (_, second, _), _ = demo
    lines = {
        Path(line.split(":")[0]).name: line
        for line in second.splitlines()
        if line.startswith(str(SAMPLES))
    }
    assert lines["dependent-mri-batch.edi"] == (
        f"{SAMPLES / 'inbox' / 'dependent-mri-batch.edi'}: accepted: 1 interchange(s), "
        "1 group(s), 2/2 transaction set(s) accepted, 2 answered as before, "
        "1 interchange(s) received before -> out/dependent-mri-batch.999, "
        "out/dependent-mri-batch.278"
    )
    decided = [line for line in lines.values() if accepted(line)]  # requests decided before
    inquiries = [line for line in decided if "inquiry question(s) answered" in line]
    # samples/requests 45-54 ask again; the notifications (59-66) are answered as before
    assert len(decided) == 65 and len(inquiries) == 10
    assert not [line for line in decided if "case(s) created" in line]


def test_the_summary_line_counts_requests_answered_before_not_cases_never_made():
    counts = {"interchanges": 2, "groups": 2, "received": 3, "accepted": 3}
    summary = FileSummary(Path("in.x12"), **counts, cases_created=1, decisions_replayed=2,
                          replayed_interchanges=1)  # fmt: skip
    assert summary.line() == (
        "2 interchange(s), 2 group(s), 3/3 transaction set(s) accepted, 1 case(s) created, "
        "2 answered as before, 1 interchange(s) received before"
    )
    counts = {"interchanges": 1, "groups": 1, "received": 1, "accepted": 1}
    anew = FileSummary(Path("in.x12"), **counts, decisions_replayed=1, decisions_updated=1,
                       updated_interchanges=1)  # fmt: skip
    assert anew.line() == (
        "1 interchange(s), 1 group(s), 1/1 transaction set(s) accepted, "
        "1 answered anew with the current decision, 1 interchange(s) received before"
    )


def test_inquire_shows_the_certification_sample_32_cancelled_as_cancelled(demo):
    workdir, _, _ = demo
    found = run("inquire", "--tracking", "C26000000015", "--json", cwd=workdir)
    cases = {c["administrative_reference"]: c for c in map(json.loads, found.stdout.splitlines())}
    assert {ref: c["status"] for ref, c in cases.items()} == {
        "R26000000015": "cancelled",  # sample 01's knee admission, certified, then cancelled
        "R26000000323": "cancelled",  # sample 32, the cancellation
    }
    table = run("inquire", "--member", "W123456789", "--from", "2026-12-10", "--to",
                "2026-12-10", cwd=workdir).stdout  # fmt: skip
    (knee,) = [line for line in table.splitlines() if "R26000000015" in line]
    assert "cancelled" in knee and "certified" not in knee


def members_in(path: Path) -> set[str]:
    """The member IDs (NM1*IL NM109) a file names."""
    found = segments(path.read_text(encoding="latin-1"))
    return {s[9] for s in found if s[0] == "NM1" and s[1] == "IL" and len(s) > 9}


def test_no_inbox_file_names_a_member_of_a_numbered_sample():
    numbered = set().union(*map(members_in, (SAMPLES / "requests").glob("*.x12")))
    for name in INBOX:
        inbox = members_in(SAMPLES / "inbox" / name)
        assert inbox and not inbox & numbered, name
