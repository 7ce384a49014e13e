"""Taking interchanges into the store, on SQLite and PostgreSQL: what is recorded the
first time, and exactly what a resubmission, a reused ISA13 and a repeated request
store and get back (reference section 8.4)."""

from __future__ import annotations

import hashlib
import io
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import DBAPIError

from edi278.decide.policy import default_policy
from edi278.ig import Guide
from edi278.intake import Answer, Fingerprint, Intake
from edi278.pipeline import examine
from edi278.review import Review, decide_case
from edi278.store.database import READING
from edi278.store.tables import (
    answers,
    audit_log,
    case_providers,
    cases,
    counters,
    decisions,
    interchanges,
    service_lines,
    tracking_numbers,
)
from edi278.store.users import add_user
from tests.conftest import REQUEST_BODY, group, interchange, transaction

pytestmark = pytest.mark.dates

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday
SAMPLES = Path(__file__).parents[1] / "samples" / "inbox"
EDI278 = Path(__file__).parents[1] / ".venv" / "bin" / "edi278"
GUIDE = Guide()
COUNTED = (
    interchanges,
    answers,
    cases,
    service_lines,
    case_providers,
    decisions,
    tracking_numbers,
    audit_log,
)


def take(engine, data: str | bytes, source: str = "in.x12", now: datetime = NOW) -> list[Answer]:
    data = data.encode("latin-1") if isinstance(data, str) else data
    intake = Intake(engine)
    taken = []
    for report in examine(io.BytesIO(data), GUIDE):
        start, end = report.span
        taken.append(intake.answer(report, Fingerprint.of_bytes(data[start:end]), source, now))
    return taken


def counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        found = {t.name: connection.scalar(select(func.count()).select_from(t)) for t in COUNTED}
        found["counters"] = connection.scalar(select(func.coalesce(func.sum(counters.c.value), 0)))
    return found


def segments(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split("~") if s.strip()]


def references(text: str | None) -> list[str]:
    return [s.split("*")[2] for s in segments(text) if s.startswith("REF*NT*")]


def request_with(bht03: str = "REQ1", trn: str = "PE1", um: str = "UM*HS*I*62*22:B") -> list[str]:
    body = [s.replace("*REQ1*", f"*{bht03}*") for s in REQUEST_BODY]
    body = [f"TRN*1*{trn}*9SUBMIT001" if s.startswith("TRN") else s for s in body]
    return [um if s.startswith("UM*") else s for s in body]


def test_a_first_receipt_records_the_interchange_its_answers_and_a_case_per_event(engine, stocked):
    data = (SAMPLES / "dependent-mri-batch.edi").read_bytes()
    (answer,) = take(engine, data, "dependent-mri-batch.edi")
    assert (answer.disposition, answer.cases_created, answer.decisions_replayed) == (
        "processed",
        2,
        0,
    )
    with engine.connect() as connection:
        (received,) = connection.execute(select(interchanges)).all()
        assert received.sender == "ZZ:SUBMITTER01" and received.control_number == "000000103"
        assert received.group_control_numbers == "103" and received.status == "accepted"
        assert received.sha256 == hashlib.sha256(data).hexdigest() and received.size == len(data)
        assert received.channel == "file" and received.claims_control_number
        stored = dict(connection.execute(select(answers.c.kind, answers.c.content)).all())
        assert stored == {
            "999": answer.acknowledgements.functional,
            "278": answer.acknowledgements.responses,
        }
        mri, shoulder = connection.execute(select(cases).order_by(cases.c.id)).all()
    # one case per 2000E, keyed by sender, BHT03 and TRN, numbered as the response says
    assert (mri.member_id, mri.patient_first_name, mri.patient_is_dependent) == (
        "W900000008",
        "MILO",
        True,
    )
    assert mri.patient_birth_date.isoformat() == "2014-06-09"
    assert (shoulder.member_id, shoulder.patient_first_name, shoulder.patient_is_dependent) == (
        "W900000008",
        "LENA",
        False,
    )
    assert (mri.submitter_reference, mri.trace_number, mri.trace_originator) == (
        "IMG20261120042",
        "IMG42",
        "9SUBMIT001",
    )
    assert references(answer.acknowledgements.responses) == [
        mri.administrative_reference,
        mri.administrative_reference,  # event and its line
        shoulder.administrative_reference,
        shoulder.administrative_reference,
    ]
    assert (mri.event_start.isoformat(), mri.event_end.isoformat()) == ("2026-12-07", "2026-12-31")
    assert shoulder.event_start.isoformat() == "2026-12-07" and shoulder.category == "HS"
    # the lumbar MRI meets the policy's criteria (samples/policy.yaml auto_certify): certified;
    # the shoulder MRI goes to a clinician, with documents asked for
    assert (mri.status, shoulder.status) == ("certified", "pended")
    # clocks: standard; received Friday, so 2 business days is Tuesday; no pend
    assert mri.urgency == "standard" and mri.regulatory_due_at == NOW + timedelta(days=7)
    assert mri.internal_pend_due_at is None
    assert mri.core_info_request_due_at == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                decisions.c.case_id,
                service_lines.c.procedure,
                decisions.c.action,
                decisions.c.reason,
                decisions.c.decided_by,
            )
            .outerjoin(service_lines, decisions.c.service_line_id == service_lines.c.id)
            .order_by(decisions.c.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            (mri.id, None, "A1", "", "engine:auto-certify"),
            (mri.id, "HC:72158", "A1", "", "engine"),  # a line follows its event
            (shoulder.id, None, "A4", "0U", "engine:clinical-review"),
            (shoulder.id, "HC:73221", "A4", "0U", "engine"),
        ]
        issued = dict(
            connection.execute(select(tracking_numbers.c.number, tracking_numbers.c.case_id)).all()
        )
        certified = dict(
            connection.execute(
                select(decisions.c.certification_number, decisions.c.case_id).where(
                    decisions.c.service_line_id.is_(None)
                )
            ).all()
        )
        assert issued == {
            mri.administrative_reference: mri.id,
            shoulder.administrative_reference: shoulder.id,
            **{n: case for n, case in certified.items() if n},  # the certified one's C...
        }
        assert sorted(n[0] for n in issued) == ["C", "R", "R"]
        npis = connection.execute(
            select(case_providers.c.loop_id, case_providers.c.role, case_providers.c.npi)
            .where(case_providers.c.case_id == shoulder.id)
            .order_by(case_providers.c.id)
        ).all()
        assert [tuple(r) for r in npis] == [("2010B", "1P", "1528067142")]
        actions = connection.execute(select(audit_log.c.action, audit_log.c.detail)).all()
    assert [a for a, _ in actions] == ["received", "decided", "decided"]
    assert all("PARK" not in detail and "W900000008" not in detail for _, detail in actions)


def test_an_interchange_takes_the_writers_turn_three_times_however_many_requests(engine, stocked):
    """Every writer waits for the one before it: an interchange reads once, then writes
    its reference and control numbers together, its certification numbers once decided,
    and its record."""
    began: list[str] = []

    def note(connection) -> None:  # type: ignore[no-untyped-def]
        began.append("read" if connection.get_execution_options().get(READING) else "write")

    event.listen(engine, "begin", note)
    try:
        (answer,) = take(engine, (SAMPLES / "dependent-mri-batch.edi").read_bytes())
    finally:
        event.remove(engine, "begin", note)
    assert answer.cases_created == 2 and answer.acknowledgements.responses
    assert began == ["read", "write", "write", "write"]


def test_a_byte_identical_resubmission_gets_the_same_answers_and_creates_nothing(engine, stocked):
    data = (SAMPLES / "elective-knee-admission.x12").read_bytes()  # asks for a TA1 too
    (first,) = take(engine, data, "first.x12")
    before = counts(engine)
    (again,) = take(engine, data, "again.x12", now=NOW + timedelta(hours=1))
    assert again.disposition == "replayed" and again.cases_created == 0
    assert again.acknowledgements == first.acknowledgements  # TA1, 999 and 278, byte for byte
    after = counts(engine)
    assert after == {**before, "audit_log": before["audit_log"] + 1}  # the replay is audited
    with engine.connect() as connection:
        last = connection.execute(select(audit_log).order_by(audit_log.c.id.desc())).first()
    assert (last.action, last.object_type) == ("replayed", "interchange")


def test_a_reused_isa13_with_other_bytes_is_a_duplicate_and_nothing_is_processed(engine, stocked):
    take(engine, interchange([group(sets=[transaction(body=request_with("REQ1", "PE1"))])]))
    before = counts(engine)
    other = interchange([group(sets=[transaction(body=request_with("REQ2", "PE2"))])])
    (duplicate,) = take(engine, other, "other.x12")
    acknowledgements = duplicate.acknowledgements
    assert duplicate.disposition == "duplicate" and duplicate.cases_created == 0
    assert acknowledgements.functional is None and acknowledgements.responses is None
    (ta1,) = [s for s in segments(acknowledgements.ta1) if s.startswith("TA1")]
    assert ta1.split("*")[1] == "000000001" and ta1.split("*")[4:] == ["R", "025"]
    after = counts(engine)
    assert after["cases"] == before["cases"] and after["decisions"] == before["decisions"]
    assert after["tracking_numbers"] == before["tracking_numbers"]
    assert after["counters"] == before["counters"] + 1  # the TA1's own ISA13, nothing more
    with engine.connect() as connection:
        rows = connection.execute(
            select(interchanges.c.status, interchanges.c.claims_control_number).order_by(
                interchanges.c.id
            )
        ).all()
        stored = connection.execute(select(answers.c.kind).where(answers.c.interchange_id == 2))
        assert [tuple(r) for r in rows] == [("accepted", True), ("duplicate", False)]
        assert [r.kind for r in stored] == ["ta1"]
    # sent once more, byte for byte, the duplicate gets its TA1 again
    (replayed,) = take(engine, other, "other-again.x12")
    assert replayed.disposition == "replayed" and replayed.acknowledgements == acknowledgements


def test_an_interchange_rejected_by_its_envelope_does_not_use_up_its_isa13(engine, stocked):
    bad = interchange(usage="X")  # ISA15 X: TA1 R 020
    (rejected,) = take(engine, bad)
    assert "TA1*000000001*261120*0930*R*020" in (rejected.acknowledgements.ta1 or "")
    (corrected,) = take(engine, interchange())
    assert corrected.disposition == "processed" and corrected.cases_created == 1


def test_a_repeated_request_gets_the_stored_decision_not_a_new_case(engine, stocked):
    (first,) = take(engine, interchange(control=1))
    before = counts(engine)
    # a new interchange, the same sender, BHT03 and TRN: the request sent again
    resent = interchange(
        [group(sets=[transaction(body=request_with(um="UM*HS*I*62*11:B"))])], control=2
    )
    (again,) = take(engine, resent, "resent.x12")
    assert (again.disposition, again.cases_created, again.decisions_replayed) == ("processed", 0, 1)
    assert references(again.acknowledgements.responses) == references(
        first.acknowledgements.responses
    )
    hcr = [s for s in segments(again.acknowledgements.responses) if s.startswith("HCR")]
    assert hcr == ["HCR*A4**0U"]  # an MRI without criteria met: documents asked for
    after = counts(engine)
    for table in ("cases", "decisions", "tracking_numbers", "service_lines"):
        assert after[table] == before[table], table
    assert after["interchanges"] == before["interchanges"] + 1  # the interchange is recorded


def test_the_same_request_twice_in_one_interchange_makes_one_case(engine, stocked):
    sets = [transaction(1, request_with()), transaction(2, request_with())]
    (answer,) = take(engine, interchange([group(sets=sets)]))
    assert (answer.cases_created, answer.decisions_replayed) == (1, 1)
    first, second = references(answer.acknowledgements.responses)
    assert first == second


def test_each_case_keeps_its_request_as_received_in_an_envelope_of_its_own(engine, stocked):
    # A request is kept as its set came, in the delimiters it came with, under its own
    # ISA and GS with trailers counting one: an interchange that can be read again alone.
    sets = [transaction(n, request_with(f"REQ{n + 5}", f"PE{n + 5}")) for n in (1, 2)]
    data = interchange([group(5, [transaction(9, request_with("REQ5", "PE5"))]), group(6, sets)],
                       control=77).replace("*", "|").replace("~", "!")  # fmt: skip
    (answer,) = take(engine, data)
    assert answer.cases_created == 3
    with engine.connect() as connection:
        stored = connection.execute(
            select(cases.c.submitter_reference, cases.c.request).order_by(cases.c.id)
        ).all()
    lines = data.splitlines()
    isa, iea = lines[0], lines[-1]
    gs5, gs6 = (line for line in lines if line.startswith("GS|"))
    for reference, gs, control, st in (("REQ5", gs5, 5, "0009"), ("REQ6", gs6, 6, "0001"),
                                       ("REQ7", gs6, 6, "0002")):  # fmt: skip
        start = lines.index(f"ST|278|{st}|005010X217!")
        end = next(n for n, line in enumerate(lines) if n > start and line.startswith("SE|"))
        expected = [isa, gs, *lines[start : end + 1], f"GE|1|{control}!", "IEA|1|000000077!"]
        assert dict(stored)[reference] == "\n".join(expected) + "\n"
    assert iea == "IEA|2|000000077!"


def test_decisions_refuse_to_be_rewritten(engine, stocked):
    take(engine, interchange())
    for statement in (update(decisions).values(action="A1"), decisions.delete()):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(statement)


def test_workers_racing_on_one_file_answer_it_alike_and_make_one_case(
    stocked, database_url, tmp_path
):
    source = tmp_path / "request.x12"
    source.write_text(interchange(groups=[group(sets=[transaction()])], ack="1"))
    workers = [
        subprocess.Popen(
            [
                str(EDI278),
                "process",
                str(source),
                "--outbox",
                str(tmp_path / f"out{n}"),
                "--quiet",
                "--db",
                database_url,
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, worker.stderr.read() if worker.stderr else ""
    outputs = {(tmp_path / f"out{n}" / "request.278").read_text() for n in range(4)}
    assert len(outputs) == 1  # every worker sent the same response
    from edi278.store.database import open_database

    engine = open_database(database_url)
    assert counts(engine)["cases"] == 1 and counts(engine)["interchanges"] == 1
    engine.dispose()


def test_an_interchange_is_known_by_its_own_bytes_wherever_it_lies(engine, stocked, tmp_path):
    first = interchange([group(sets=[transaction(body=request_with("REQ1", "PE1"))])], control=1)
    second = interchange([group(sets=[transaction(body=request_with("REQ2", "PE2"))])], control=2)
    both = tmp_path / "both.x12"
    both.write_text(first + second)
    with open(both, "rb") as source, open(both, "rb") as again:
        spans = [Fingerprint.of_span(again, r.span) for r in examine(source)]
    assert spans == [Fingerprint.of_bytes(first.encode()), Fingerprint.of_bytes(second.encode())]
    assert [a.disposition for a in take(engine, first + second)] == ["processed", "processed"]
    # the second interchange sent again on its own is the same interchange
    assert [a.disposition for a in take(engine, second)] == ["replayed"]


def dated(bht03: str, trn: str, dates: str) -> list[str]:
    """The test request with event dates: `CCYYMMDD` or `CCYYMMDD-CCYYMMDD`."""
    period = f"DTP*AAH*RD8*{dates}" if "-" in dates else f"DTP*AAH*D8*{dates}"
    *body, diagnosis = request_with(bht03, trn)
    return [*body, period, diagnosis]


def hcr_of(answer: Answer) -> list[str]:
    return [s for s in segments(answer.acknowledgements.responses) if s.startswith("HCR")]


@pytest.mark.parametrize(
    ("stored", "asked", "duplicate"),
    [
        ("20261201-20261210", "20261205-20261215", True),
        ("20261201-20261210", "20261210", True),  # meets on the last day
        ("20261201-20261210", "20261125-20261201", True),  # meets on the first day
        ("20261201-20261210", "20261211-20261220", False),  # after it ended
        ("20261201-20261210", "20261120-20261130", False),  # before it began
        ("20261201-open", "20261125-20261203", True),  # an open-ended case: its start alone
        ("20261201-open", "20261201", True),
        ("20261201-open", "20261202-20261210", False),
    ],
)
def test_a_stored_case_whose_dates_meet_the_request_makes_it_a_duplicate(
    engine, stocked, stored, asked, duplicate
):
    start, _, end = stored.partition("-")
    sent = start if end == "open" else stored
    take(engine, interchange([group(sets=[transaction(1, dated("REQ1", "PE1", sent))])]))
    if end == "open":  # no end on file: as a case whose service lines gave no end date
        with engine.begin() as connection:
            connection.execute(update(cases).values(event_end=None))
    again = interchange([group(sets=[transaction(1, dated("REQ2", "PE2", asked))])], control=2)
    (answer,) = take(engine, again)
    assert (hcr_of(answer) == ["HCR*A3**0Q"]) is duplicate
    assert answer.cases_created == 1


def test_every_event_of_a_large_interchange_finds_its_stored_duplicate(engine, stocked):
    """More events than one statement asks about (facts.WINDOWS_PER_STATEMENT), each
    meeting one stored case of the same member: every one of them is a duplicate."""
    days = [f"202612{day:02d}" for day in range(1, 21)]  # 20 single days, none meeting another
    sets = [transaction(n, dated(f"REQ{n}", f"PE{n}", day)) for n, day in enumerate(days, 1)]
    (first,) = take(engine, interchange([group(sets=sets)]))
    assert "HCR*A3**0Q" not in hcr_of(first)
    sets = [transaction(n, dated(f"NEW{n}", f"PX{n}", day)) for n, day in enumerate(days, 1)]
    (second,) = take(engine, interchange([group(sets=sets)], control=2))
    assert hcr_of(second) == ["HCR*A3**0Q"] * len(days)


def test_the_same_service_asked_twice_in_one_interchange_is_a_duplicate(engine, stocked):
    """Two requests (their own TRNs) for the same member, service and dates, in one
    interchange: the second is a business duplicate of the first, not yet stored."""
    first = request_with("REQ1", "PE1", "UM*HS*I*62*22:B")
    second = request_with("REQ2", "PE2", "UM*HS*I*62*22:B")
    (answer,) = take(engine, interchange([group(sets=[transaction(1, first),
                                                      transaction(2, second)])]))  # fmt: skip
    hcr = [s for s in segments(answer.acknowledgements.responses) if s.startswith("HCR")]
    assert hcr == ["HCR*A4**0U", "HCR*A3**0Q"]
    assert answer.cases_created == 2


REQUESTS = Path(__file__).parents[1] / "samples" / "requests"


def sample(name: str) -> bytes:
    (path,) = REQUESTS.glob(f"{name}-*.x12")
    return path.read_bytes()


def asked_anew(data: bytes, number: int) -> bytes:
    """A numbered sample sent as a new request: its own ISA13, GS06, BHT03 and TRNs."""
    text = data.decode("latin-1")
    control = text.split("*")[13]  # ISA13, e.g. 000000201
    old = f"S{int(control) - 200:02d}"
    text = text.replace(control, f"{number:09d}").replace(old, f"S{number}")
    return (
        text.replace(f"*{int(control)}*X*", f"*{number}*X*")
        .replace(f"GE*1*{int(control)}", f"GE*1*{number}")
        .encode("latin-1")
    )


def test_a_cancelled_certification_leaves_its_case_cancelled_and_audited(engine, stocked):
    (knee,) = take(engine, sample("01"), "01.x12")
    (cancel,) = take(engine, sample("32"), "32.x12")
    assert hcr_of(knee) == ["HCR*A1*C26000000015", "HCR*A1*C26000000015"]
    assert hcr_of(cancel) == ["HCR*C*C26000000015", "HCR*C*C26000000015"]
    with engine.connect() as connection:
        original, cancelling = connection.execute(select(cases).order_by(cases.c.id)).all()
        history = connection.execute(
            select(decisions.c.case_id, decisions.c.action).order_by(decisions.c.id)
        ).all()
        entry = connection.execute(select(audit_log).where(audit_log.c.action == "cancelled")).one()
        owner = connection.scalar(
            select(tracking_numbers.c.case_id).where(tracking_numbers.c.number == "C26000000015")
        )
    assert (original.status, cancelling.status) == ("cancelled", "cancelled")
    # the decisions stay as they were made: the certification, then the cancellation
    assert [tuple(row) for row in history] == [
        (original.id, "A1"), (original.id, "A1"), (cancelling.id, "C"), (cancelling.id, "C")
    ]  # fmt: skip
    assert (entry.object_type, entry.object_id, entry.case_id) == (
        "case",
        str(original.id),
        original.id,
    )
    assert entry.detail == f"status=cancelled by=case:{cancelling.id}"
    assert owner == original.id  # the number the cancel names stays with its own case


def test_a_cancelled_certification_no_longer_makes_a_new_request_a_duplicate(engine, stocked):
    take(engine, sample("01"), "01.x12")
    (before,) = take(engine, asked_anew(sample("01"), 301), "again.x12")
    assert hcr_of(before) == ["HCR*A3**0Q", "HCR*A3**0Q"]  # while it stands: a duplicate
    take(engine, sample("32"), "32.x12")
    (after,) = take(engine, asked_anew(sample("01"), 302), "after.x12")
    assert hcr_of(after) == ["HCR*A1*C26000000028", "HCR*A1*C26000000028"]


def test_a_cancel_and_a_new_request_in_one_interchange_are_no_duplicates(engine, stocked):
    """The cancellation earlier in the same interchange counts before it is stored."""
    take(engine, sample("01"), "01.x12")
    cancel, anew = sample("32").decode(), asked_anew(sample("01"), 303).decode()
    sets = [
        [s for s in text.split("~\n") if s and not s.startswith(("ISA", "GS", "GE", "IEA"))]
        for text in (cancel, anew)
    ]
    both = interchange([group(sets=[transaction(n, body[1:-1]) for n, body in
                                    enumerate(sets, start=1)])], control=304)  # fmt: skip
    (answer,) = take(engine, both, "both.x12")
    assert hcr_of(answer) == [
        "HCR*C*C26000000015", "HCR*C*C26000000015", "HCR*A1*C26000000028",
        "HCR*A1*C26000000028",
    ]  # fmt: skip


def test_the_same_bytes_after_a_review_get_a_new_278_with_the_current_decision(engine, stocked):
    data = sample("02")  # an elective admission pended for a clinician
    (first,) = take(engine, data, "02.x12")
    (reference,) = set(references(first.acknowledgements.responses))
    add_user(engine, "rn.lee", "nurse", "a long and secret passphrase", NOW)
    done = decide_case(engine, reference, Review("A1", "", "criteria met", "rn.lee"),
                       default_policy(), NOW + timedelta(hours=2))  # fmt: skip
    before = counts(engine)
    (again,) = take(engine, data, "02-again.x12", now=NOW + timedelta(hours=3))
    assert (again.disposition, again.cases_created, again.decisions_replayed) == ("updated", 0, 1)
    assert hcr_of(again) == [f"HCR*A1*{done.certification_number}"] * 2  # event and line
    assert references(again.acknowledgements.responses) == [reference, reference]
    assert again.acknowledgements.functional == first.acknowledgements.functional
    assert [d.as_dict() for d in again.decided] == [
        {"trace_number": "S02EV20261120", "outcome": "A1", "reason": "",
         "number": done.certification_number}
    ]  # fmt: skip
    after = counts(engine)
    # no case, decision or number: the new 278's two control numbers and an audit entry
    assert after == {**before, "counters": before["counters"] + 2,
                     "audit_log": before["audit_log"] + 1}  # fmt: skip
    with engine.connect() as connection:
        stored = connection.scalar(select(answers.c.content).where(answers.c.kind == "278"))
        last = connection.execute(select(audit_log).order_by(audit_log.c.id.desc())).first()
    assert stored == again.acknowledgements.responses  # what is sent again from now on
    assert (last.action, last.object_type) == ("updated", "interchange")
    (third,) = take(engine, data, "02-third.x12", now=NOW + timedelta(hours=4))
    assert third.disposition == "replayed" and third.acknowledgements == again.acknowledgements


def test_a_replay_lists_the_decisions_it_sends_again(engine, stocked):
    data = (SAMPLES / "dependent-mri-batch.edi").read_bytes()
    (first,) = take(engine, data)
    (again,) = take(engine, data)
    assert (again.disposition, again.decisions_replayed) == ("replayed", 2)
    assert again.decided == first.decided and len(first.decided) == 2


def test_an_event_without_a_trace_number_is_replayed_with_its_own_case(engine, stocked):
    """No TRN, no key: the interchange's own cases, in order, give its decisions."""
    untraced = [s for s in request_with() if not s.startswith("TRN")]
    data = interchange([group(sets=[transaction(1, untraced), transaction(2, untraced)])])
    (first,) = take(engine, data)
    assert first.cases_created == 2
    (again,) = take(engine, data)
    assert again.disposition == "replayed" and again.acknowledgements == first.acknowledgements
    assert [d.number for d in again.decided] == [d.number for d in first.decided]
    assert len(set(references(first.acknowledgements.responses))) == 2
