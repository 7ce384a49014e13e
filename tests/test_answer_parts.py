"""Answers stored in parts (store/interchanges.py, migration 0011): any answer comes back
exactly as sent, whole or spooled, however its length falls on the part size, and a small
answer is still the one row it always was. The part size is lowered to a few hundred
characters so that a few KB span several parts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from edi278 import spool
from edi278.spool import Spool
from edi278.store import database, interchanges
from edi278.store.interchanges import Received, record_interchange, replace_answer, stored_answers
from edi278.store.tables import answer_parts, answers

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
PART = 500
BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def small_parts(monkeypatch) -> int:
    monkeypatch.setattr(interchanges, "PART_CHARS", PART)
    return PART


def answer_text(length: int) -> str:
    """X12-like text, every segment numbered (a part out of order shows), with a Latin-1
    character beyond ASCII (a part re-encoded wrongly shows too)."""
    segments = "".join(f"MSG*ÉTAT {number:06d}~\n" for number in range(length // 10 + 1))
    return segments[:length]


def spooled(text: str, piece: int) -> Spool:
    written = Spool()
    for start in range(0, len(text), piece):
        written.write(text[start : start + piece])
    return written


def received(control: int = 1) -> Received:
    return Received(
        partner_id=None,
        sender="ZZ:SUBMITTER01",
        control_number=f"{control:09d}",
        group_control_numbers=["1"],
        sha256=f"{control:064d}",
        size=100,
        received_at=NOW,
        channel="file",
        source="in.x12",
        status="accepted",
        claims_control_number=True,
    )


def record(engine, sent: dict, control: int = 1) -> int:
    with engine.begin() as connection:
        return record_interchange(connection, received(control), sent)


def read_back(engine, interchange_id: int) -> dict[str, str]:
    """The stored answers as text, each checked to be a str when one part, else a Spool."""
    with engine.connect() as connection:
        found = stored_answers(connection, interchange_id)
    texts = {}
    for kind, content in found.items():
        if len(content) <= interchanges.PART_CHARS:
            assert isinstance(content, str), (kind, len(content))
            texts[kind] = content
        else:
            assert isinstance(content, Spool), (kind, len(content))
            texts[kind] = content.text()
            content.close()
    return texts


def stored_parts(engine, interchange_id: int, kind: str) -> list[tuple[int, int]]:
    """(part, length) of each row after the first, in order."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(answer_parts.c.part, func.length(answer_parts.c.content))
            .where(answer_parts.c.interchange_id == interchange_id, answer_parts.c.kind == kind)
            .order_by(answer_parts.c.part)
        )
        return [tuple(row) for row in rows]


def first_part_length(engine, interchange_id: int, kind: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(
            select(func.length(answers.c.content)).where(
                answers.c.interchange_id == interchange_id, answers.c.kind == kind
            )
        )


def expected_parts(length: int) -> list[tuple[int, int]]:
    """Parts 1.. of an answer of `length`: all full but the last."""
    rest = max(length - PART, 0)
    return [
        (number, min(PART, rest - (number - 1) * PART)) for number in range(1, -(-rest // PART) + 1)
    ]


# 0 and 1: a row and no parts; PART: one full part; PART + 1: a second part of one
# character; 6 * PART: the text ends on a part boundary (no empty last part); 7 * PART - 3.
LENGTHS = (0, 1, PART, PART + 1, 6 * PART, 7 * PART - 3)


@pytest.mark.parametrize("length", LENGTHS)
def test_a_text_answer_comes_back_exactly_in_full_parts_and_a_shorter_last(
    engine, small_parts, length
):
    text = answer_text(length)
    interchange_id = record(engine, {"278": text, "999": "AK9*A*1*1*1~\n"})
    assert read_back(engine, interchange_id) == {"278": text, "999": "AK9*A*1*1*1~\n"}
    assert first_part_length(engine, interchange_id, "278") == min(length, PART)
    assert stored_parts(engine, interchange_id, "278") == expected_parts(length)
    assert stored_parts(engine, interchange_id, "999") == []


@pytest.mark.parametrize("piece", [7, 333, PART, 1200])  # held: parts cut across pieces
@pytest.mark.parametrize("length", [PART + 1, 6 * PART, 7 * PART - 3])
def test_a_spooled_answer_held_in_memory_comes_back_exactly(engine, small_parts, length, piece):
    text = answer_text(length)
    with spooled(text, piece) as written:
        interchange_id = record(engine, {"278": written})
    assert read_back(engine, interchange_id) == {"278": text}
    assert stored_parts(engine, interchange_id, "278") == expected_parts(length)


@pytest.mark.parametrize("length", [2 * PART + 1, 6 * PART, 7 * PART - 3])
def test_a_spooled_answer_in_a_file_comes_back_exactly_and_is_never_joined(
    engine, small_parts, monkeypatch, length
):
    monkeypatch.setattr(spool, "IN_MEMORY", 700)  # to its temporary file past 700
    text = answer_text(length)

    def whole(_spool):
        raise AssertionError("the answer was joined whole")

    with spooled(text, 300) as written, monkeypatch.context() as joining:
        assert written._file is not None, "the spool moved to its file"
        joining.setattr(Spool, "text", whole)
        interchange_id = record(engine, {"278": written})
    assert read_back(engine, interchange_id) == {"278": text}
    assert stored_parts(engine, interchange_id, "278") == expected_parts(length)


def test_a_small_answer_is_one_row_and_no_parts_at_the_usual_part_size(engine):
    sent = {"ta1": "TA1*000000001~\n", "999": answer_text(3000), "278": answer_text(9000)}
    interchange_id = record(engine, sent)
    with engine.connect() as connection:
        found = stored_answers(connection, interchange_id)
        rows = connection.scalar(select(func.count()).select_from(answers))
        parts = connection.scalar(select(func.count()).select_from(answer_parts))
    assert found == sent and all(isinstance(content, str) for content in found.values())
    assert (rows, parts) == (3, 0)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (7 * PART - 3, 2 * PART + 5),  # many parts to fewer: the extra ones go
        (7 * PART - 3, 40),  # many parts to one
        (40, 5 * PART + 1),  # one to many
        (3 * PART, 3 * PART),  # as many
    ],
)
@pytest.mark.parametrize("as_spool", [False, True])
def test_a_replaced_answer_leaves_exactly_the_new_text(
    engine, small_parts, before, after, as_spool
):
    sent = {"278": answer_text(before), "999": answer_text(2 * PART + 1)}
    interchange_id = record(engine, sent)
    other_id = record(engine, sent, control=2)
    new = answer_text(after).replace("MSG", "HCR")
    with engine.begin() as connection:
        content = spooled(new, 333) if as_spool else new
        replace_answer(connection, interchange_id, "278", content)
    assert read_back(engine, interchange_id) == {"278": new, "999": sent["999"]}
    assert stored_parts(engine, interchange_id, "278") == expected_parts(after)
    assert stored_parts(engine, interchange_id, "999") == expected_parts(2 * PART + 1)
    assert read_back(engine, other_id) == sent  # another interchange's parts stay


@BOTH
def test_the_migration_keeps_answers_stored_before_and_downgrading_joins_parts_back(
    empty_database_url, monkeypatch
):
    engine = database.connect(empty_database_url)
    database.upgrade(engine, "0010")
    earlier = {"ta1": "TA1*000000001~\n", "278": answer_text(3 * PART)}
    interchange_id = record(engine, {})
    with engine.begin() as connection:  # as the code before 0011 wrote them: one row each
        connection.execute(
            answers.insert(),
            [
                {"interchange_id": interchange_id, "kind": k, "content": c}
                for k, c in earlier.items()
            ],
        )
    database.upgrade(engine, "0011")
    assert database.current_revision(engine) == "0011"
    monkeypatch.setattr(interchanges, "PART_CHARS", PART)
    assert stored_parts(engine, interchange_id, "278") == []  # one row, as written
    with engine.connect() as connection:
        assert stored_answers(connection, interchange_id) == earlier

    later = {"278": answer_text(4 * PART + 9), "999": "AK9*A*1*1*1~\n"}
    later_id = record(engine, later, control=2)
    assert len(stored_parts(engine, later_id, "278")) == 4
    database.downgrade(engine, "0010")
    with engine.connect() as connection:
        rows = connection.execute(
            select(answers.c.interchange_id, answers.c.kind, answers.c.content)
        ).all()
    assert sorted(rows) == sorted(
        [(interchange_id, kind, text) for kind, text in earlier.items()]
        + [(later_id, kind, text) for kind, text in later.items()]
    )
    engine.dispose()
