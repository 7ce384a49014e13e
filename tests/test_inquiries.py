"""X215 inquiries: a provider asks about reviews it sent before and is answered with each
case's current decision, found by certification number, administrative reference,
trace number, or patient, provider and dates; never with another sender's case. On
SQLite and PostgreSQL, against the store the sample requests leave."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edi278.decide.outcome import EventDecision, Outcome
from edi278.decide.policy import default_policy
from edi278.inquire import MATCHES, FoundCase, Question, answer_inquiry, questions_of
from edi278.intake import Fingerprint, Intake
from edi278.model import Level, Purpose, ReviewInformation
from edi278.pipeline import examine
from edi278.reader import read_requests
from edi278.review import Review, decide_case
from edi278.store.tables import audit_log, cases
from tests.conftest import interchange
from tests.test_review import add_reviewers
from tests.test_samples import GUIDE, answer_samples

pytestmark = pytest.mark.dates

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=20)
JOHNS_MRI = "C26000000028"  # samples/requests/08: certified
NORAS_ADMISSION = "R26000000028"  # samples/requests/02: pended for medical review
JANES_KNEE = "C26000000015"  # samples/requests/01, cancelled by samples/requests/32
RIVERSIDE = "NM1*1P*2*RIVERSIDE ORTHOPEDICS*****XX*1234567893"
JOHN = ["NM1*IL*1*DOE*JOHN****MI*W555000111", "DMG*D8*19780922*M"]
NORA = ["NM1*IL*1*FARRELL*NORA****MI*W541253651", "DMG*D8*19810917*F"]
JANE = ["NM1*IL*1*DOE*JANE****MI*W123456789", "DMG*D8*19600415*F"]


def inquiry(member: list[str], *event: str, requester: str = RIVERSIDE) -> list[str]:
    return [
        "BHT*0007*28*INQ1*20261121*0900",
        "HL*1**20*1",
        "NM1*X3*2*ACME HEALTH PLAN*****PI*12345",
        "HL*2*1*21*1",
        requester,
        "HL*3*2*22*1",
        *member,
        "HL*4*3*EV*0",
        "TRN*1*INQTRACE1*9SUBMIT001",
        *event,
    ]


def x215(body: list[str], control: int = 901, sender: str = "SUBMITTER01") -> str:
    st = ["ST*278*0001*005010X215", *body]
    segments = [*st, f"SE*{len(st) + 1}*0001"]
    group = [
        f"GS*HI*{sender}*UMO12345*20261121*0900*{control}*X*005010X215",
        *segments,
        f"GE*1*{control}",
    ]
    return interchange([group], control=control, sender=sender)


@pytest.fixture
def samples_store(engine, database_url):
    answer_samples(database_url, NOW)
    return engine


def ask(engine, text: str, now: datetime = LATER):
    """The answer to an interchange: (Answer, the 278 response read, its text)."""
    data = text.encode()
    (report,) = examine(io.BytesIO(data), GUIDE)
    answered = Intake(engine).answer(report, Fingerprint.of_bytes(data), "inquiry.x12", now)
    responses = answered.acknowledgements.responses
    assert responses is not None, answered.acknowledgements.functional
    (response,) = read_requests(io.BytesIO(responses.encode()))
    return answered, response, responses


def said(response) -> list[tuple[str, ...]]:
    """Per 2000E of a response: its HCR (action, number, reason) or its AAA03."""
    found = []
    for event in response.events:
        aaa = [r for r in event.records if r.SEGMENT == "AAA"]
        if aaa:
            found.append(("AAA", aaa[0].reason))
        else:
            hcr = event.decision
            found.append((hcr.action, hcr.certification_number, hcr.reason))
    return found


def valid(text: str) -> None:
    """A valid X215 response (BHT02 11) by the guide, its envelope and every set."""
    (report,) = examine(io.BytesIO(text.encode()), GUIDE)
    assert [f.as_dict() for f in report.all_faults()] == []
    (response,) = read_requests(io.BytesIO(text.encode()))
    assert (response.convention, response.header.purpose) == ("005010X215", Purpose.RESPONSE)


def test_each_key_finds_the_case_and_answers_its_current_decision(samples_store):
    by_number = ask(samples_store, x215(inquiry(JOHN, f"REF*BB*{JOHNS_MRI}"), 901))
    by_reference = ask(samples_store, x215(inquiry(NORA, f"REF*NT*{NORAS_ADMISSION}"), 902))
    traced = inquiry(NORA)
    traced[traced.index("TRN*1*INQTRACE1*9SUBMIT001")] = "TRN*1*S02EV20261120*9SUBMIT001"
    by_trace = ask(samples_store, x215(traced, 903))
    by_dates = ask(samples_store, x215(inquiry(JOHN, "DTP*AAH*RD8*20261201-20261231"), 904))
    assert said(by_number[1]) == [("A1", JOHNS_MRI, "")]
    assert said(by_reference[1]) == said(by_trace[1]) == [("A4", "", "0V")]
    # DOE JOHN's cases in December that RIVERSIDE is on: the MRI, and its duplicate (36)
    assert said(by_dates[1]) == [("A3", "", "0Q"), ("A1", JOHNS_MRI, "")]
    for _, response, text in (by_number, by_reference, by_trace, by_dates):
        valid(text)
        (event, *_) = response.events
        assert event.traces[0].reference in ("INQTRACE1", "S02EV20261120")  # theirs, echoed
        assert all(t.trace_type == "2" for e in response.events for t in e.traces)
    (event,) = by_number[1].events
    assert [t.reference for t in event.traces] == ["INQTRACE1", "S08EV20261120"]
    assert [line.decision.certification_number for line in event.children] == [JOHNS_MRI]
    assert by_number[0].inquiries == 1 and by_number[0].cases_created == 0


def test_another_sender_finds_nothing_it_did_not_send(samples_store):
    """The same questions from another trading partner: no case of SUBMITTER01's is
    found, and the answer does not tell a number that exists from one that does not."""
    other = "NM1*1P*2*LAKESIDE IMAGING*****XX*1528067142"
    asked = {
        "number": inquiry(JOHN, f"REF*BB*{JOHNS_MRI}", requester=other),
        "never issued": inquiry(JOHN, "REF*BB*C26999999995", requester=other),
        "reference": inquiry(NORA, f"REF*NT*{NORAS_ADMISSION}", requester=other),
        "dates": inquiry(JOHN, "DTP*AAH*RD8*20261201-20261231", requester=other),
    }
    shown_before = _shown(samples_store)
    answers = {
        name: said(ask(samples_store, x215(body, 910 + n, sender="SUBMITTER02"))[1])
        for n, (name, body) in enumerate(asked.items())
    }
    assert answers == {
        "number": [("AAA", "AA")],
        "never issued": [("AAA", "AA")],
        "reference": [("AAA", "NC")],
        "dates": [("AAA", "NC")],
    }
    assert _shown(samples_store) == shown_before  # no case was shown


def _shown(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == "inquired")
        )


def test_an_inquiry_makes_no_case_and_the_audit_log_says_who_was_shown_which(samples_store):
    with samples_store.connect() as connection:
        before = connection.scalar(select(func.count()).select_from(cases))
    ask(samples_store, x215(inquiry(JOHN, "DTP*AAH*RD8*20261201-20261231"), 920))
    with samples_store.connect() as connection:
        after = connection.scalar(select(func.count()).select_from(cases))
        lines = connection.execute(
            select(audit_log.c.action, audit_log.c.case_id, audit_log.c.detail)
            .where(audit_log.c.action.in_(["inquired", "received"]), audit_log.c.id > 0)
            .order_by(audit_log.c.id.desc())
            .limit(3)
        ).all()
        shown_cases = (
            connection.execute(
                select(cases.c.administrative_reference).where(
                    cases.c.id.in_([line.case_id for line in lines if line.action == "inquired"])
                )
            )
            .scalars()
            .all()
        )
    assert after == before
    assert sorted(line.action for line in lines) == ["inquired", "inquired", "received"]
    assert "inquiries=1" in next(line.detail for line in lines if line.action == "received")
    assert sorted(shown_cases) == ["R26000000089", "R26000000367"]  # files 08 and 36
    assert all("W555000111" not in line.detail and "DOE" not in line.detail for line in lines)


def test_a_number_of_another_patient_and_a_number_never_issued_are_told_apart(samples_store):
    other_member = said(ask(samples_store, x215(inquiry(JANE, f"REF*BB*{JOHNS_MRI}"), 930))[1])
    never = said(ask(samples_store, x215(inquiry(JANE, "REF*BB*C26999999995"), 931))[1])
    nothing = said(ask(samples_store, x215(inquiry(JANE, "DTP*AAH*RD8*20250101-20250131"), 932))[1])
    assert (other_member, never, nothing) == ([("AAA", "CI")], [("AAA", "AA")], [("AAA", "NC")])


def test_a_cancelled_certification_is_answered_cancelled(samples_store):
    _, response, text = ask(samples_store, x215(inquiry(JANE, f"REF*BB*{JANES_KNEE}"), 940))
    valid(text)
    # The knee (01), cancelled by 32: the number was issued for it alone (the cancellation,
    # the extension (30) and the revision (31) cite it, and are found by their own numbers).
    assert said(response) == [("C", JANES_KNEE, "")]
    (event,) = response.events
    assert [line.decision.action for line in event.children] == ["C"]


def test_a_reviewers_decision_is_what_the_next_inquiry_says_and_a_resent_one_too(
    samples_store,
):
    add_reviewers(samples_store)
    text = x215(inquiry(NORA, f"REF*NT*{NORAS_ADMISSION}"), 950)
    first, response, _ = ask(samples_store, text)
    assert said(response) == [("A4", "", "0V")] and first.disposition == "processed"
    review = Review("A1", "", "criteria met on review", "md.lee")
    done = decide_case(samples_store, NORAS_ADMISSION, review, default_policy(), LATER)
    # Nowhere to send it (no outbox for this partner, none given): held for an inquiry.
    assert _delivery_of(samples_store, NORAS_ADMISSION) == "held"
    anew = x215(inquiry(NORA, f"REF*BB*{done.certification_number}"), 951)
    assert said(ask(samples_store, anew)[1]) == [("A1", done.certification_number, "")]
    assert _delivery_of(samples_store, NORAS_ADMISSION) == "delivered"  # it was shown
    again, response, _ = ask(samples_store, text, LATER + timedelta(hours=1))
    assert again.disposition == "updated"
    assert said(response) == [("A1", done.certification_number, "")]


def _delivery_of(engine, reference: str) -> str:
    from edi278.store.tables import deliveries

    with engine.connect() as connection:
        return connection.execute(
            select(deliveries.c.status)
            .join(cases, cases.c.id == deliveries.c.case_id)
            .where(cases.c.administrative_reference == reference)
        ).scalar_one()


def test_services_asked_about_narrow_the_cases_and_their_lines(samples_store):
    every = said(ask(samples_store, x215(inquiry(JANE, "DTP*AAH*RD8*20261201-20261231"), 960))[1])
    body = inquiry(JANE, "DTP*AAH*RD8*20261201-20261231")
    body[body.index("HL*4*3*EV*0")] = "HL*4*3*EV*1"
    body += ["HL*5*4*SS*0", "TRN*1*INQSV1*9SUBMIT001", "SV1*HC:27447**UN*1"]
    _, response, text = ask(samples_store, x215(body, 961))
    valid(text)
    # DOE JANE's December: the knee's cases stay (33, 32, 31, 01); the extension (30, no
    # line) and the lumbar MRI (24, 72148) go.
    assert ("A4", "", "0V") in every and ("AAA", "71") in every
    assert said(response) == [("AAA", "AA"), ("C", JANES_KNEE, ""), ("AAA", "33"),
                              ("C", JANES_KNEE, "")]  # fmt: skip
    procedures = {_procedure(line) for event in response.events for line in event.children}
    assert procedures == {"27447"}


def _procedure(line: Level) -> str:
    service = next(r for r in line.records if r.SEGMENT in ("SV1", "SV2"))
    return service.procedure[1]


# --- the core alone -------------------------------------------------------------------


def _inquiry(*event: str, member: list[str] | None = None):
    text = x215(inquiry(member or JOHN, *event))
    (transaction,) = read_requests(io.BytesIO(text.encode()))
    return transaction


def test_the_question_reads_every_key_the_inquiry_gives():
    asked = _inquiry(
        "REF*BB*C1",
        "REF*NT*R1",
        "REF*NT*R1",
        "DTP*AAH*RD8*20261201-20261231",
        "NM1*SJ*2*LAKESIDE IMAGING*****XX*1528067142",
    )
    (question,) = questions_of(asked)
    assert question == Question(
        certification_numbers=("C1",),
        references=("R1",),
        traces=(("INQTRACE1", "9SUBMIT001"),),
        member_id="W555000111",
        providers=("1234567893", "1528067142"),
        start=date(2026, 12, 1),
        end=date(2026, 12, 31),
    )


def _found(action: str = "A1", number: str = "C1", member: str = "W555000111") -> FoundCase:
    outcome = Outcome(action, certification_number=number, administrative_reference="R1")
    return FoundCase(None, EventDecision(outcome), "R1", member, ReviewInformation("HS", "I", "62"))


def test_at_most_matches_cases_are_answered_per_question():
    asked = _inquiry("DTP*AAH*RD8*20261201-20261231")
    found = [[_found(number=f"C{n}") for n in range(MATCHES + 5)]]
    response = answer_inquiry(asked, found, LATER)
    assert len(response.events) == MATCHES
    assert [e.decision.certification_number for e in response.events][:2] == ["C0", "C1"]


def test_a_question_without_a_key_or_a_patient_is_answered_15():
    body = [s for s in inquiry(["NM1*IL*1******MI*"]) if not s.startswith("TRN")]
    (asked,) = read_requests(io.BytesIO(x215(body).encode()))
    (question,) = questions_of(asked)
    assert not question.searchable
    response = answer_inquiry(asked, [[]], LATER)
    assert said(response) == [("AAA", "15")]


def test_a_cancelled_case_answers_c_on_the_event_and_its_certified_lines():
    certified = Outcome("A1", certification_number="C1")
    pended = Outcome("A4", reason="0V")
    case = replace(_found(), decision=EventDecision(certified, (certified, pended)), cancelled=True)
    event = Level(level="EV", children=[Level(level="SS"), Level(level="SS")])
    response = answer_inquiry(_inquiry("REF*BB*C1"), [[replace(case, event=event)]], LATER)
    (answered,) = response.events
    assert answered.decision.action == "C"
    assert [line.decision.action for line in answered.children] == ["C", "A4"]


# --- the JSON and XML forms -------------------------------------------------------------

SAMPLES = Path(__file__).parents[1] / "samples"
# The X215 and X216 samples and their answers.
FAMILY_FILES = sorted(
    path
    for folder, pattern in ((SAMPLES / "requests", "*.x12"), (SAMPLES / "expected", "*.278"))
    for path in folder.glob(pattern)
    if "*005010X215~" in path.read_text() or "*005010X216~" in path.read_text()
)


@pytest.mark.parametrize("path", FAMILY_FILES, ids=lambda p: p.name)
def test_inquiries_notices_and_their_answers_round_trip_through_json_and_xml(path):
    """Each valid X215 and X216 set (the samples and their answers) to JSON and back,
    and to XML and back, gives the same segments; the JSON is valid against the schema
    of its guide and direction, which names them."""
    from edi278.jsonform import check_document, from_json, to_json
    from edi278.writer import write_transaction
    from edi278.xmlform import from_xml, to_xml

    with open(path, "rb") as source:
        (report,) = examine(source, GUIDE)
    if not report.accepted or not all(t.accepted for g in report.groups for t in g.transactions):
        pytest.skip("refused in its 999: no set to carry")
    (transaction,) = read_requests(io.BytesIO(path.read_bytes()))
    segments = write_transaction(transaction)
    document = json.loads(json.dumps(to_json(transaction)))
    check_document(document)
    assert document["convention"] in ("005010X215", "005010X216")
    assert write_transaction(from_json(document)) == segments
    (again,) = from_xml(to_xml([transaction]))  # valid against schemas/278.xsd
    assert write_transaction(again) == segments


def test_a_json_inquiry_is_held_to_the_inquiry_schema():
    from edi278.jsonform import JsonFormError, check_document, to_json

    (transaction,) = read_requests(
        io.BytesIO((SAMPLES / "requests" / "45-inquiry-by-certification-number.x12").read_bytes())
    )
    document = json.loads(json.dumps(to_json(transaction)))
    document["header"]["purpose"] = "13"  # a request's purpose under the inquiry guide
    with pytest.raises(JsonFormError, match="28 \\(inquiry\\)"):
        check_document(document)
