"""Every input the coverage-guided fuzzer ever crashed on is answered now, and stays so."""

from __future__ import annotations

from pathlib import Path

import pytest

from edi278.channels import answer_bytes, intake_for
from edi278.clock import fixed_clock
from edi278.ig import Guide
from edi278.store.database import open_database
from tests.conftest import NOW

FOUND = sorted(
    p for p in (Path(__file__).parent / "fuzz_regressions").iterdir() if p.suffix != ".md"
)


@pytest.fixture(scope="module")
def intake(tmp_path_factory):
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('regressions')}/fuzz.db")
    yield intake_for(engine, "fuzz", "fuzz")
    engine.dispose()


# What each input is answered with, pinned: the TA1 segment (or ""), the 999's IK5 and
# AK9 segments, and whether a 278 went back. Each envelope is rejected with TA1 024
# (invalid interchange content) as a whole, so no group is acknowledged.
ANSWERED = {
    "group-with-a-gs06-that-is-not-a-number.x12": [("TA1*000000214*261120*0930*R*024", (), False)],
    "gs-with-one-element.x12": [("TA1*000000204*261120*0930*R*024", (), False)],
    "gs05-time-with-a-superscript-digit.x12": [("TA1*000000233*261120*0930*R*024", (), False)],
}


def segments(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split("~") if s.strip()]


def test_every_regression_has_its_answer_pinned():
    assert [path.name for path in FOUND] == sorted(ANSWERED), "tests/fuzz_regressions/"


@pytest.mark.parametrize("path", FOUND, ids=lambda p: p.name)
def test_a_crash_the_fuzzer_found_is_answered(intake, path):
    answers = answer_bytes(intake, Guide(), path.read_bytes(), "fuzz", fixed_clock(NOW))
    found = []
    for answer in answers:
        sent = answer.acknowledgements
        ta1 = next((s for s in segments(sent.ta1) if s.startswith("TA1*")), "")
        functional = tuple(s for s in segments(sent.functional) if s.startswith(("IK5*", "AK9*")))
        found.append((ta1, functional, sent.responses is not None))
    assert found == ANSWERED[path.name]
