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


def test_there_are_regressions_to_replay():
    assert FOUND, "tests/fuzz_regressions/ holds the fuzzer's crashes"


@pytest.mark.parametrize("path", FOUND, ids=lambda p: p.name)
def test_a_crash_the_fuzzer_found_is_answered(intake, path):
    answers = answer_bytes(intake, Guide(), path.read_bytes(), "fuzz", fixed_clock(NOW))
    assert answers
    for answer in answers:
        sent = answer.acknowledgements
        assert sent.ta1 or sent.functional or sent.responses
