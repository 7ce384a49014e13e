"""Every sample request gets exactly the outcome samples/requests/README.md names for it
(HCR01/HCR03, or the AAA at its loop), the response is a valid X217 response, and it
matches samples/expected/ numbers aside; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from edi278.ig import Guide
from edi278.model import RequestValidation
from edi278.pipeline import examine
from edi278.reader import read_requests

SAMPLES = Path(__file__).parents[1] / "samples"
sys.path.insert(0, str(SAMPLES))
from make_expected import answer_samples  # noqa: E402

GUIDE = Guide()
# What is numbered or stamped per run: control numbers, tracking numbers, times of day.
NUMBERED = [
    (re.compile(r"^(ISA(?:\*[^*]*){8}\*)[^*]*\*[^*]*(\*(?:[^*]*\*){2})[^*]*"), r"\1#*#\2#"),
    (re.compile(r"^(GS(?:\*[^*]*){3}\*)[^*]*\*[^*]*\*[^*]*"), r"\1#*#*#"),
    (re.compile(r"^(GE\*[^*]*\*).*"), r"\1#"),
    (re.compile(r"^(IEA\*[^*]*\*).*"), r"\1#"),
    (re.compile(r"^(BHT(?:\*[^*]*){3}\*).*"), r"\1#"),
    (re.compile(r"^(HCR\*[^*]*\*)[^*]+"), r"\1#"),
    (re.compile(r"^(REF\*NT\*).*"), r"\1#"),
    (re.compile(r"^(DTP\*102\*D8\*).*"), r"\1#"),
]


def manifest() -> dict[str, tuple[str, ...]]:
    """file -> ("HCR", HCR01, HCR03) or ("AAA", loop, AAA03), from the README table."""
    expected = {}
    for line in (SAMPLES / "requests" / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].endswith(".x12"):
            continue
        outcome = cells[-1].split()
        if outcome[0] == "AAA":
            expected[cells[0]] = ("AAA", outcome[3], outcome[1])
        else:
            reason = outcome[1] if len(outcome) > 1 and not outcome[1].startswith("(") else ""
            expected[cells[0]] = ("HCR", outcome[0], reason)
    return expected


def masked(text: str) -> list[str]:
    lines = []
    for segment in filter(None, (s.strip() for s in text.split("~"))):
        for pattern, replacement in NUMBERED:
            segment = pattern.sub(replacement, segment)
        lines.append(segment)
    return lines


@pytest.fixture
def answers(database_url) -> dict[str, str]:
    return answer_samples(database_url)


def test_every_sample_gets_its_outcome(answers):
    expected = manifest()
    assert len(expected) >= 25 and set(expected) == set(answers)
    for name, (kind, *codes) in expected.items():
        (answer,) = list(read_requests(io.BytesIO(answers[name].encode())))
        levels = [answer.root, *answer.root.descendants()]
        if kind == "AAA":
            loop, code = codes
            found = [
                (party.loop_id, r.reason)
                for level in levels
                for party in level.parties
                for r in party.all(RequestValidation)
            ] + [(_loop(level), r.reason) for level in levels for r in level.all(RequestValidation)]
            assert found == [(loop, code)], name
            assert all(event.decision is None for event in answer.events), name
        else:
            action, reason = codes
            decisions = [(e.decision.action, e.decision.reason) for e in answer.events]
            assert decisions == [(action, reason)], name
            for event in answer.events:
                for line in event.children:  # a line follows its event
                    assert (line.decision.action, line.decision.reason) == (action, reason)
                if action in ("A1", "A2", "A6", "C"):
                    assert event.decision.certification_number, name


def _loop(level) -> str:
    return {"EV": "2000E", "SS": "2000F"}.get(level.level, level.level)


def test_every_response_is_a_valid_x217_response_and_matches_the_expected_file(answers):
    for name, text in answers.items():
        (report,) = list(examine(io.BytesIO(text.encode()), GUIDE))
        assert [f.as_dict() for f in report.all_faults()] == [], name
        expected = (SAMPLES / "expected" / name.replace(".x12", ".278")).read_text()
        assert masked(text) == masked(expected), name


def test_the_knee_is_certified_then_extended_revised_and_cancelled_under_one_number(answers):
    def hcr(name: str) -> list[str]:
        segments = (s.strip() for s in answers[name].split("~"))
        return [s for s in segments if s.startswith(("HCR", "AAA"))]

    assert hcr("01-inpatient-elective-knee-auto.x12") == ["HCR*A1*C26000000015"] * 2
    assert hcr("30-extension-of-knee.x12") == ["HCR*A4**0V"]
    assert hcr("31-revision-changes-facility.x12") == ["AAA*N**33*C"]
    assert hcr("32-cancel-knee.x12") == ["HCR*C*C26000000015"] * 2
    assert hcr("33-cancel-unknown.x12") == ["AAA*N**AA*C"]
