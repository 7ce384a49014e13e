"""An Idempotency-Key's claim, on SQLite and PostgreSQL: a claim whose request failed is
given up, one whose process died is taken over once stale, never before.
(The race of 20 requests at once is tested through a real server: test_api_abuse.py.)"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from edi278.channels.idempotency import (
    IN_PROGRESS,
    STALE_AFTER,
    KeyConflict,
    KeyInProgress,
    answer_once,
)
from edi278.store.database import open_database
from edi278.store.partners import add_key
from edi278.store.tables import idempotency_keys
from tests.conftest import NOW


@pytest.fixture
def store(database_url):
    engine = open_database(database_url)
    caller, _ = add_key(engine, "ZZ", "SUBMITTER01", "", NOW)
    yield engine, caller.partner_id
    engine.dispose()


def _answered(status: int = 200, text: str = "the answer") -> tuple[int, str, str]:
    return status, "application/edi-x12", text


def test_a_claim_whose_request_failed_is_given_up(store):
    engine, partner = store

    def failing() -> tuple[int, str, str]:
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError):
        answer_once(engine, partner, "k", b"body", lambda: NOW, failing)
    again = answer_once(engine, partner, "k", b"body", lambda: NOW, _answered)
    assert (again.status, again.body, again.replayed) == (200, "the answer", False)
    replayed = answer_once(engine, partner, "k", b"body", lambda: NOW, lambda: _answered(500))
    assert (replayed.status, replayed.body, replayed.replayed) == (200, "the answer", True)
    with pytest.raises(KeyConflict):
        answer_once(engine, partner, "k", b"other body", lambda: NOW, _answered)


def test_a_dead_claim_is_taken_over_only_once_stale(store):
    engine, partner = store
    with engine.begin() as connection:  # a process died holding this claim
        connection.execute(
            idempotency_keys.insert(),
            {"partner_id": partner, "key": "k", "status": IN_PROGRESS, "media_type": "",
             "request_sha256": hashlib.sha256(b"body").hexdigest(), "body": "",
             "created_at": NOW},
        )  # fmt: skip
    soon = NOW + STALE_AFTER - timedelta(seconds=1)
    with pytest.raises(KeyInProgress):
        answer_once(engine, partner, "k", b"body", lambda: soon, _answered)
    later = NOW + STALE_AFTER + timedelta(seconds=1)
    taken = answer_once(engine, partner, "k", b"body", lambda: later, _answered)
    assert (taken.status, taken.body, taken.replayed) == (200, "the answer", False)
    stored = answer_once(engine, partner, "k", b"body", lambda: later, lambda: _answered(500))
    assert stored.replayed and stored.body == "the answer"
