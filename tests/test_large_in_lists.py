"""An interchange of a hundred thousand requests asks the store about as many keys,
members and cases at once. PostgreSQL's protocol carries at most 65,535 parameters a
statement: the lookups send their IN lists in slices (edi278/store/batches.py), and find
exactly what one statement would."""

from __future__ import annotations

import pytest

from edi278.store import batches
from edi278.store.cases import stored_decisions
from edi278.store.facts import _certified, _members, _providers
from tests.conftest import group, interchange, transaction
from tests.test_intake import counts, references, request_with, segments, take

pytestmark = pytest.mark.dates

BEYOND_ONE_STATEMENT = 70_000  # more values than PostgreSQL takes in one statement


def two_requests(control: int = 1) -> str:
    sets = [transaction(n, request_with(f"REQ{n}", f"PE{n}")) for n in (1, 2)]
    return interchange([group(control, sets)], control=control)


def test_lookups_of_more_values_than_a_statement_takes_find_exactly_the_stored(engine, stocked):
    (answer,) = take(engine, two_requests())
    assert answer.cases_created == 2
    real = [("ZZ:SUBMITTER01", f"REQ{n}", f"PE{n}", "9SUBMIT001") for n in (1, 2)]
    unknown = [("ZZ:SUBMITTER01", f"X{n}", f"T{n}", "9SUBMIT001") for n in range(70_000)]
    with engine.connect() as connection:
        found = stored_decisions(connection, [*unknown, *real])
        assert {key[1] for key in found} == {"REQ1", "REQ2"}, found.keys()
        others = {f"Q{n:09d}" for n in range(BEYOND_ONE_STATEMENT)}
        family, plans = _members(connection, others | {"W555000111"})
        assert set(family) == {"W555000111", "W55500011101"} and plans
        providers = _providers(connection, others | {"1234567893"})
        assert set(providers) == {"1234567893"}
        certified = _certified(connection, others | {"UM-2026-004417"}, None)
        assert set(certified) == {"UM-2026-004417"}


def test_sliced_to_one_value_a_statement_the_answers_are_the_same(engine, stocked, monkeypatch):
    """Every lookup of an interchange and of its resend, one value a statement: the
    same cases and the same answers as whole lists give."""
    monkeypatch.setattr(batches, "IN_LIST_LIMIT", 1)
    (first,) = take(engine, two_requests())
    (again,) = take(engine, two_requests())
    assert first.cases_created == 2 and again.disposition == "replayed"
    assert again.acknowledgements.responses == first.acknowledgements.responses
    assert len(references(first.acknowledgements.responses)) == 2
    # A new interchange repeating both requests: the stored decisions, found a slice at a time.
    (repeat,) = take(engine, two_requests(control=2))
    assert repeat.cases_created == 0 and repeat.decisions_replayed == 2
    said = [s for s in segments(repeat.acknowledgements.responses) if s.startswith("HCR")]
    assert said == [s for s in segments(first.acknowledgements.responses) if s.startswith("HCR")]
    assert counts(engine)["cases"] == 2
