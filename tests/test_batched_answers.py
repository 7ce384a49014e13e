"""An interchange of more requests than are held is answered a batch at a time (issue 22),
and says exactly what it says when answered whole.

Past `pipeline.HOLD` requests an interchange holds none: they are read again from the
file, a batch of `pipeline.BATCH` at a time, each batch decided and stored on the
interchange's own transaction. Where the batches fall must not change a single byte of
what is sent back or stored: each file here is processed twice into fresh stores, once
whole (a HOLD larger than it) and once in batches of a few requests (HOLD 1, batches
of 3 and 7, so that batches cut across groups, repeats and cancellations), on SQLite
and PostgreSQL, and the outboxes and the stores are compared. Each batch is committed
with the marker of how far the interchange has come: one stopped halfway (a crash) is
resumed from there when it is taken again, and then says what it says answered whole.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from edi278 import intake as intake_module
from edi278 import pipeline
from edi278.batch import FileSummary, process_file
from edi278.channels import answerer, intake_for
from edi278.decide.policy import default_policy
from edi278.ig import Guide
from edi278.review import Review, decide_case
from edi278.spool import text_of
from edi278.store.claims import answering_claim
from edi278.store.database import connect, open_database, upgrade
from edi278.store.interchanges import (
    AnsweredElsewhere,
    interchanges_answering,
    mark_requests_done,
    stored_answers,
)
from edi278.store.reference import load_reference
from edi278.store.tables import audit_log, cases, decisions, interchanges, tracking_numbers
from edi278.store.users import add_user
from edi278.x12.reader import read_interchanges
from edi278.x12.writer import write
from tests.conftest import group, interchange

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import workloads  # noqa: E402  (benchmarks/ is not a package)

RECEIVED = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
GUIDE = Guide()


def sample_sets() -> list[list[str]]:
    """Every transaction set of the sample requests, as segment texts."""
    found = []
    for path in sorted((ROOT / "samples" / "requests").glob("*.x12")):
        with path.open("rb") as source:
            for read in read_interchanges(source):
                assert read.header is not None
                delimiters = read.header.delimiters
                for each in read.groups:
                    for transaction in each.transactions:
                        text = write(transaction.segments, delimiters)
                        end = delimiters.segment + delimiters.line_break
                        found.append(
                            [s.replace(delimiters.element, "*") for s in text.split(end) if s]
                        )
    return found


def renumbered(segments: list[str], number: int) -> list[str]:
    """The set under ST02/SE02 `number`."""
    control = f"{number:04d}"
    out = []
    for segment in segments:
        elements = segment.split("*")
        if elements[0] in ("ST", "SE"):
            elements[2] = control
        out.append("*".join(elements))
    return out


def samples_file(folder: Path) -> Path:
    """One interchange of two groups holding every sample request, then every one of
    them again (answered with the decision made the first time), in other order."""
    sets = sample_sets()
    first = [renumbered(s, n) for n, s in enumerate(sets, start=1)]
    again = [renumbered(s, n) for n, s in enumerate(reversed(sets), start=1)]
    path = folder / "samples-in-one.x12"
    path.write_text(interchange([group(1, first), group(2, again)]), encoding="latin-1")
    return path


def workload_file(folder: Path) -> Path:
    """The benchmark's one-interchange shape: approvals, pends, cancellations of
    certifications issued earlier in it, repeats, and one faulty set in a hundred."""
    path = folder / "workload-in-one.x12"
    workloads.generate(path, transactions=260, one_interchange=True)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_store(request, tmp_path) -> Iterator[Callable[[], Engine]]:
    """Makes stores with the sample reference data, each empty of requests."""
    made: list[Engine] = []

    def make() -> Engine:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / f'store-{len(made)}.db'}"
        else:
            url = request.getfixturevalue("postgres").create()
            bootstrap = connect(url)
            upgrade(bootstrap)
            bootstrap.dispose()
        engine = open_database(url)
        load_reference(engine, ROOT / "samples" / "reference")
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.dispose()


def processed(engine: Engine, path: Path, outbox: Path, at: datetime = RECEIVED) -> FileSummary:
    intake = intake_for(engine, "file", "test")
    summary = process_file(path, outbox, answerer(intake, lambda: at), GUIDE)
    assert summary.error is None, summary.error
    return summary


def in_batches(monkeypatch: pytest.MonkeyPatch, batch: int) -> list[int]:
    """From now on, interchanges hold one request and are answered `batch` at a time:
    the list returned counts the requests read again."""
    monkeypatch.setattr(pipeline, "HOLD", 1)
    monkeypatch.setattr(pipeline, "BATCH", batch)
    reread, read_again = pipeline.reread_requests, [0]

    def counted(source, span, groups):  # type: ignore[no-untyped-def]
        for taken in reread(source, span, groups):
            read_again[0] += 1
            yield taken

    monkeypatch.setattr(pipeline, "reread_requests", counted)
    return read_again


def stored(engine: Engine) -> dict[str, object]:
    """What the store holds of what was answered, without its own row ids."""
    with engine.connect() as connection:
        (interchange_id,) = connection.execute(select(interchanges.c.id)).scalars()
        answered = {
            kind: text_of(text) for kind, text in stored_answers(connection, interchange_id).items()
        }
        case_rows = connection.execute(
            select(
                cases.c.administrative_reference, cases.c.trace_number, cases.c.member_id,
                cases.c.status, cases.c.request,
            ).order_by(cases.c.id)
        ).all()  # fmt: skip
        decision_rows = connection.execute(
            select(
                cases.c.administrative_reference, decisions.c.action, decisions.c.reason,
                decisions.c.certification_number,
            )
            .join(cases, cases.c.id == decisions.c.case_id)
            .order_by(decisions.c.id)
        ).all()  # fmt: skip
        numbers = connection.execute(
            select(tracking_numbers.c.number, cases.c.administrative_reference)
            .outerjoin(cases, cases.c.id == tracking_numbers.c.case_id)
            .order_by(tracking_numbers.c.number)
        ).all()
        logged = connection.execute(
            select(audit_log.c.action, audit_log.c.object_type, audit_log.c.detail)
        ).all()
    return {
        "answers": answered,
        "cases": [tuple(row) for row in case_rows],
        "decisions": [tuple(row) for row in decision_rows],
        "numbers": [tuple(row) for row in numbers],
        "audit": sorted(tuple(row) for row in logged),  # the interchange's line comes last
    }


def outbox_files(outbox: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(outbox.iterdir())}


@pytest.mark.parametrize("make_file", [samples_file, workload_file])
@pytest.mark.parametrize("batch", [3, 7])
def test_an_interchange_answered_in_batches_says_what_it_says_answered_whole(
    make_file, batch, fresh_store, tmp_path, monkeypatch
) -> None:
    path = make_file(tmp_path)
    whole_store = fresh_store()
    whole = processed(whole_store, path, tmp_path / "whole")
    assert whole.cases_created > 2 * batch

    read_again = in_batches(monkeypatch, batch)
    batched_store = fresh_store()
    batched = processed(batched_store, path, tmp_path / "batched")
    assert read_again[0] >= whole.cases_created  # every request was read again, once

    assert outbox_files(tmp_path / "batched") == outbox_files(tmp_path / "whole")
    assert stored(batched_store) == stored(whole_store)
    assert batched.as_dict() | {"outputs": {}} == whole.as_dict() | {"outputs": {}}
    assert batched.decisions_replayed == whole.decisions_replayed
    if make_file is samples_file:  # every sample again: each answered as decided before
        assert whole.decisions_replayed >= whole.cases_created


def test_the_same_interchange_again_is_answered_as_stored_or_with_the_current_decision(
    fresh_store, tmp_path, monkeypatch
) -> None:
    in_batches(monkeypatch, 4)
    path = samples_file(tmp_path)
    engine = fresh_store()
    first = processed(engine, path, tmp_path / "first")
    before = stored(engine)

    again = processed(engine, path, tmp_path / "again", RECEIVED + timedelta(hours=1))
    assert (again.replayed_interchanges, again.cases_created) == (1, 0)
    assert again.decisions_replayed == first.decisions - 0  # every event, from the store
    assert outbox_files(tmp_path / "again") == {
        name: data for name, data in outbox_files(tmp_path / "first").items()
    }
    assert stored(engine)["cases"] == before["cases"]

    # A reviewer decides a pended case: the same bytes now get a new 278 saying so.
    pended = next(
        row
        for row in before["decisions"]
        if row[1] == "A4"  # type: ignore[attr-defined]
    )
    add_user(engine, "rn.lee", "nurse", "a long and secret passphrase", RECEIVED)
    done = decide_case(
        engine, pended[0], Review("A1", "", "criteria met", "rn.lee"), default_policy(),
        RECEIVED + timedelta(hours=2),
    )  # fmt: skip
    updated = processed(engine, path, tmp_path / "updated", RECEIVED + timedelta(hours=3))
    assert (updated.updated_interchanges, updated.cases_created) == (1, 0)
    (response,) = (tmp_path / "updated").glob("*.278")
    text = response.read_text(encoding="latin-1")
    assert f"HCR*A1*{done.certification_number}" in text
    assert text != (tmp_path / "first" / response.name).read_text(encoding="latin-1")
    with engine.connect() as connection:
        (interchange_id,) = connection.execute(select(interchanges.c.id)).scalars()
        assert text_of(stored_answers(connection, interchange_id)["278"]) == text


def test_requests_read_again_from_bytes_that_changed_are_refused(tmp_path) -> None:
    sets = [renumbered(s, n) for n, s in enumerate(sample_sets()[:6], start=1)]
    examined = interchange([group(1, sets)]).encode("latin-1")
    other = [renumbered(s, n) for n, s in enumerate(sample_sets()[:6], start=11)]
    changed = interchange([group(1, other)]).encode("latin-1")
    assert len(changed) == len(examined)  # the same layout, other sets

    (same,) = pipeline.examine(io.BytesIO(examined), GUIDE, again=io.BytesIO(examined), hold=1)
    assert same.deferred and not same.taken()  # nothing held: all of them read again
    read = [t.request for _, t in pipeline.requests_of(same)]
    assert len(read) == same.groups[0].request_count >= 4 and all(read)

    (report,) = pipeline.examine(io.BytesIO(examined), GUIDE, again=io.BytesIO(changed), hold=1)
    with pytest.raises(pipeline.SourceChanged, match="is not the set examined"):
        list(pipeline.requests_of(report))


class Crash(BaseException):
    """A stop no channel catches, as SIGKILL is."""


def envelopes_blanked(files: dict[str, bytes]) -> dict[str, bytes]:
    """Outbox files without their control numbers (ISA13, IEA02, GS06, GE02): a resumed
    interchange's answers are sent under numbers taken again."""
    blanked = {}
    for name, data in files.items():
        segments = data.split(b"~")
        for n, segment in enumerate(segments):
            elements = segment.split(b"*")
            at = {b"ISA": 13, b"IEA": 2, b"GS": 6, b"GE": 2}.get(elements[0].strip())
            if at is not None:
                elements[at] = b""
                segments[n] = b"*".join(elements)
        blanked[name] = b"~".join(segments)
    return blanked


def crashing_at_chunk(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """The `chunk`th chunk to be decided (from 1) stops the process before it starts."""
    decide, calls = intake_module._Chunks._decide, [0]

    def stopping(self, batch):  # type: ignore[no-untyped-def]
        calls[0] += 1
        if calls[0] == chunk:
            raise Crash
        return decide(self, batch)

    monkeypatch.setattr(intake_module._Chunks, "_decide", stopping)


@pytest.mark.parametrize("make_file", [samples_file, workload_file])
@pytest.mark.parametrize("crash_at", [1, 4])
def test_an_interchange_stopped_halfway_is_resumed_and_says_what_it_says_answered_whole(
    make_file, crash_at, fresh_store, tmp_path, monkeypatch
) -> None:
    path = make_file(tmp_path)
    whole_store = fresh_store()
    whole = processed(whole_store, path, tmp_path / "whole")

    in_batches(monkeypatch, 5)
    engine = fresh_store()
    with monkeypatch.context() as stopped:
        crashing_at_chunk(stopped, crash_at)
        with pytest.raises(Crash):
            process_file(path, tmp_path / "resumed", answerer(intake_for(engine, "file", "t"),
                         lambda: RECEIVED), GUIDE)  # fmt: skip
    assert not (tmp_path / "resumed").exists() or not list((tmp_path / "resumed").iterdir())
    with engine.connect() as connection:
        (row,) = connection.execute(
            select(interchanges.c.status, interchanges.c.requests_done)
        ).all()
        made = connection.execute(select(cases.c.id)).all()
        left = interchanges_answering(connection)
    # What the chunks before the stop committed, and the marker saying how far.
    assert tuple(row) == ("answering", 5 * (crash_at - 1)) and left == 1
    assert (len(made) > 0) == (crash_at > 1)

    # Taken again hours later: it is still the interchange received then (its cases'
    # clocks and its answers' dates), not one received now.
    resumed = processed(engine, path, tmp_path / "resumed", RECEIVED + timedelta(hours=4))
    assert envelopes_blanked(outbox_files(tmp_path / "resumed")) == envelopes_blanked(
        outbox_files(tmp_path / "whole")
    )
    resumed_store, whole_said = stored(engine), stored(whole_store)
    resumed_answers = resumed_store.pop("answers")
    assert {k: envelopes_blanked({k: v.encode("latin-1")}) for k, v in resumed_answers.items()} == {
        k: envelopes_blanked({k: v.encode("latin-1")}) for k, v in whole_said.pop("answers").items()
    }
    assert resumed_store == whole_said  # cases, decisions, numbers, the audit log
    assert (resumed.cases_created, resumed.decisions_replayed, resumed.decisions) == (
        whole.cases_created,
        whole.decisions_replayed,
        whole.decisions,
    )
    with engine.connect() as connection:
        (row,) = connection.execute(
            select(interchanges.c.status, interchanges.c.requests_done)
        ).all()
        assert interchanges_answering(connection) == 0
        received = set(connection.execute(select(cases.c.received_at)).scalars())
    assert row.requests_done is None and row.status != "answering"
    assert {when.astimezone(UTC) for when in received} == {RECEIVED}

    # Answered: the same bytes again are answered as stored, nothing more is made.
    again = processed(engine, path, tmp_path / "again", RECEIVED + timedelta(hours=1))
    assert (again.replayed_interchanges, again.cases_created) == (1, 0)
    assert outbox_files(tmp_path / "again") == outbox_files(tmp_path / "resumed")


HOLDER = """
import sys
from edi278.store.claims import answering_claim
from edi278.store.database import connect
with answering_claim(connect(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_claim_is_waited_for_while_its_holder_lives_and_taken_once_it_dies(
    kind, tmp_path, request
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'claims.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres").create()
    )
    engine = connect(url)
    sha256 = "ab" * 32
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, sha256],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ}, cwd=ROOT,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        taken = threading.Event()

        def claim() -> None:
            with answering_claim(engine, sha256):
                taken.set()

        waiter = threading.Thread(target=claim, daemon=True)
        waiter.start()
        assert not taken.wait(1.0)  # another process holds it: waited for
        with answering_claim(engine, "cd" * 32):  # another interchange's is free
            pass
        holder.kill()  # dies holding it, as a crashed process does
        assert taken.wait(30)
        waiter.join(5)
        with answering_claim(engine, sha256):  # and it was let go of again
            pass
    finally:
        holder.kill()
        holder.wait()
        engine.dispose()


def test_a_half_answered_interchange_under_an_isa13_sent_again_with_other_bytes(
    fresh_store, tmp_path, monkeypatch
) -> None:
    """Left half answered by a crash, its sender sends the ISA13 again with other bytes
    (a rebuilt envelope, a corrected file): while a process is at work on the first,
    the ISA13 is taken (TA1 025); once none is, the first is abandoned (never answered,
    its cases stand) and the other bytes are answered. A marker moved by another process
    stops the chunk that finds it so."""
    in_batches(monkeypatch, 5)
    path = samples_file(tmp_path)
    engine = fresh_store()
    with monkeypatch.context() as stopped:
        crashing_at_chunk(stopped, 3)
        with pytest.raises(Crash):
            process_file(path, tmp_path / "first", answerer(intake_for(engine, "file", "t"),
                         lambda: RECEIVED), GUIDE)  # fmt: skip
    with engine.connect() as connection:
        first_id, first_sha, done = connection.execute(
            select(interchanges.c.id, interchanges.c.sha256, interchanges.c.requests_done)
        ).one()
        made = len(connection.execute(select(cases.c.id)).all())
    assert done == 10 and made > 0

    with engine.begin() as connection, pytest.raises(AnsweredElsewhere):
        mark_requests_done(connection, first_id, done + 5, done + 10)  # not where it stands
    with engine.connect() as connection:
        assert connection.scalar(select(interchanges.c.requests_done)) == done

    other = tmp_path / "other.x12"  # the same ISA13, another ISA09: other bytes
    other.write_bytes(path.read_bytes().replace(b"*261120*", b"*261121*", 1))
    assert other.read_bytes() != path.read_bytes()
    with answering_claim(engine, first_sha) as held:  # a process at work on the first
        assert held
        taken = processed(engine, other, tmp_path / "taken")
    assert taken.cases_created == 0 and taken.duplicate_interchanges == 1

    # Refused, those bytes are answered so again; a sender's next try is new bytes.
    again = tmp_path / "again.x12"
    again.write_bytes(path.read_bytes().replace(b"*261120*", b"*261122*", 1))
    answered = processed(engine, again, tmp_path / "answered", RECEIVED + timedelta(hours=1))
    assert answered.cases_created > 0 and answered.duplicate_interchanges == 0
    with engine.connect() as connection:
        rows = connection.execute(
            select(interchanges.c.id, interchanges.c.status, interchanges.c.requests_done,
                   interchanges.c.claims_control_number).order_by(interchanges.c.id)
        ).all()  # fmt: skip
        first_cases = connection.execute(
            select(cases.c.id).where(cases.c.interchange_id == first_id)
        ).all()
        logged = connection.execute(
            select(audit_log.c.object_id).where(audit_log.c.action == "abandoned")
        ).scalars()
        assert list(logged) == [str(first_id)]
    assert rows[0][1:] == ("abandoned", None, False)
    assert len(first_cases) == made  # its cases stand
    assert all(row.status != "answering" for row in rows[1:])
