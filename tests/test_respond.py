"""The 278 model, its reader and writer, and the responses `edi278 process` writes."""

from __future__ import annotations

import json
import re
import shutil
import string
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi278.ig import Guide
from edi278.model import RECORDS, HierarchicalLevel, RequestValidation, record_of, segment_of
from edi278.pipeline import examine
from edi278.reader import read_requests, read_transaction
from edi278.writer import write_transaction
from edi278.x12.reader import read_interchanges
from edi278.x12.segment import Segment
from tests.test_cli import EDI278

pytestmark = pytest.mark.dates

SAMPLES_DIR = Path(__file__).parents[1] / "samples"
SAMPLES = SAMPLES_DIR / "inbox"
REFERENCE = Path(__file__).parents[1] / "samples" / "reference"
GUIDE = Guide()


def valid_transaction_sets(paths):
    """(name, segments) of every transaction set that passes guide validation."""
    for path in paths:
        with open(path, "rb") as source:
            reports = list(examine(source, GUIDE))
        accepted = [
            t.control_number
            for r in reports
            for g in r.groups
            for t in g.transactions
            if t.accepted and r.accepted
        ]
        with open(path, "rb") as source:
            for interchange in read_interchanges(source):
                for group in interchange.groups:
                    for transaction in group.transactions:
                        if transaction.control_number in accepted:
                            yield path.name, transaction.segments


def x217_files(corpus: Path) -> list[Path]:
    return sorted([*corpus.glob("*X217*"), *SAMPLES.iterdir()])


def test_every_valid_transaction_reads_and_writes_back_to_the_same_segments(corpus):
    checked = 0
    for name, segments in valid_transaction_sets(x217_files(corpus)):
        assert write_transaction(read_transaction(segments)) == segments, name
        checked += 1
    assert checked == 12  # 8 corpus X217 examples and 4 sample requests pass the guide


def test_the_model_answers_in_names_not_positions():
    with open(SAMPLES / "dependent-mri-batch.edi", "rb") as source:
        request = next(read_requests(source))
    (event,) = request.events
    assert event.review.category == "HS" and event.review.facility == ("22", "B")
    assert [t.reference for t in event.traces] == ["IMG42"]
    (line,) = event.children
    assert line.level == HierarchicalLevel.SERVICE
    assert line.period("472").value == "20261207-20261231"
    (dependent,) = request.levels(HierarchicalLevel.DEPENDENT)
    assert dependent.parties[0].loop_id == "2010D"
    assert dependent.parties[0].name.first == "MILO"


text = st.text(string.ascii_uppercase + string.digits + " ", max_size=6)


ALL_KINDS = sorted(RECORDS.values(), key=lambda k: k.SEGMENT)


@st.composite
def records(draw, kinds=None):
    kind = draw(st.sampled_from(kinds or ALL_KINDS))
    values = []
    for item in fields(kind):
        annotation = str(item.type)
        if annotation == "Composite":
            values.append(draw(st.lists(text, min_size=2, max_size=3).map(tuple)))
        elif annotation.startswith("tuple[Composite"):
            values.append(
                draw(
                    st.lists(
                        st.lists(text, min_size=2, max_size=3).map(tuple), min_size=1, max_size=3
                    ).map(tuple)
                )
            )
        else:
            values.append(draw(text))
    return kind(*values)


@given(records())
def test_a_record_survives_the_trip_through_a_segment(record):
    segment = segment_of(record)
    again = record_of(Segment(segment.id, segment.elements))
    assert segment_of(again) == segment
    if type(again) is type(record):
        # only trailing empty elements, dropped on the wire, may differ
        assert [getattr(again, f.name) or "" for f in fields(record)] == [
            getattr(record, f.name) or "" for f in fields(record)
        ]


def answered_each(requests: list[Path], tmp_path_factory) -> Path:
    """Each request file answered by the CLI with a store of its own holding the demo
    reference data: the corpus files come from unrelated senders' examples, several of
    which reuse one sender ID and ISA13 (in one store, all but the first would be
    duplicates: see test_intake), and the inbox's knee admission repeats a trace of the
    MRI batch. The corpus members are not on file; the samples' are."""
    outbox = tmp_path_factory.mktemp("outbox")
    template = tmp_path_factory.mktemp("template")
    loaded = subprocess.run(
        [str(EDI278), "reference", "load", str(REFERENCE), "--state-dir", str(template)],
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 0, loaded.stderr
    states = []
    for _ in requests:
        state = tmp_path_factory.mktemp("var")
        shutil.copy(template / "edi278.db", state / "edi278.db")
        states.append(state)
    runs = [
        subprocess.Popen(
            [
                str(EDI278),
                "process",
                str(request),
                "--outbox",
                str(outbox),
                "--quiet",
                "--state-dir",
                str(state),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for request, state in zip(requests, states, strict=True)
    ]
    for request, run in zip(requests, runs, strict=True):
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, (request, stderr)
    return outbox


def corpus_requests(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.glob("*X217*") if "response" not in p.name)


@pytest.fixture(scope="module")
def inbox_responses(tmp_path_factory) -> Path:
    """samples/inbox answered: needs no corpus."""
    return answered_each(sorted(SAMPLES.iterdir()), tmp_path_factory)


@pytest.fixture(scope="module")
def corpus_responses(tmp_path_factory, corpus) -> Path:
    return answered_each(corpus_requests(corpus), tmp_path_factory)


def assert_responses_validate(requests: list[Path], outbox: Path) -> None:
    taken = {name for name, _ in valid_transaction_sets(requests)}
    written = {p.stem for p in outbox.glob("*.278")}
    assert written == {Path(name).stem for name in taken}
    for path in outbox.glob("*.278"):
        with open(path, "rb") as source:
            reports = list(examine(source, GUIDE))  # envelope counts and the response map
        assert [f.as_dict() for r in reports for f in r.all_faults()] == [], path.name
        (report,) = reports
        assert all(t.request is None for g in report.groups for t in g.transactions)


def test_every_inbox_request_taken_gets_a_response_that_validates_as_one(inbox_responses):
    assert_responses_validate(sorted(SAMPLES.iterdir()), inbox_responses)


def test_every_corpus_request_taken_gets_a_response_that_validates_as_one(corpus_responses, corpus):
    assert_responses_validate(corpus_requests(corpus), corpus_responses)


def traces(level) -> list[tuple[str, str, str, str]]:
    return [(t.trace_type, t.reference, t.originator, t.division) for t in level.traces]


def referenced(level) -> list[tuple[str, str, str, str]]:
    """The request's traces as a response echoes them: TRN01 2, the rest as sent."""
    return [("2", reference, originator, division) for _, reference, originator, division
            in traces(level)]  # fmt: skip


def assert_echoed(request_path: Path, response_path: Path) -> None:
    """BHT03 and every TRN of the request, in the response as referenced (TRN01 2)."""
    with open(request_path, "rb") as request_file, open(response_path, "rb") as response_file:
        requests = list(read_requests(request_file))
        answers = list(read_requests(response_file))
    assert len(answers) == len(requests) >= 1, response_path.name
    for request, answer in zip(requests, answers, strict=True):
        assert answer.header.purpose == "11"
        assert answer.header.submitter_reference == request.header.submitter_reference
        answered = {tuple(referenced(event)): event for event in answer.events}
        for asked in request.events:
            event = answered.get(tuple(referenced(asked)))
            if event is None:  # not processed: the fault is at a party loop above it
                assert _party_rejections(answer), response_path.name
                continue
            assert traces(event) == referenced(asked) != [], response_path.name
            assert (event.decision is None) != (event.first(RequestValidation) is None)
            # A decided event answers each line, echoing its traces; a rejected one none.
            lines = asked.children if event.decision is not None else []
            assert [traces(line) for line in event.children] == [
                referenced(line) for line in lines
            ], response_path.name


X217_SAMPLES = sorted(
    p.name for p in (SAMPLES_DIR / "requests").glob("*.x12") if "*005010X217~" in p.read_text()
)  # the X215 inquiries' echo is tests/test_samples.py's


@pytest.mark.parametrize("name", X217_SAMPLES)
def test_a_sample_response_echoes_bht03_and_every_trace_as_referenced(name):
    """samples/expected holds what the engine answers today (test_samples checks it)."""
    response = SAMPLES_DIR / "expected" / name.replace(".x12", ".278")
    assert_echoed(SAMPLES_DIR / "requests" / name, response)


def test_an_inbox_response_echoes_bht03_and_every_trace_as_referenced(inbox_responses):
    for path in sorted(inbox_responses.glob("*.278")):
        assert_echoed(next(SAMPLES.glob(f"{path.stem}.*")), path)


def test_a_corpus_response_echoes_bht03_and_every_trace_as_referenced(corpus_responses, corpus):
    for path in sorted(corpus_responses.glob("*.278")):
        source = next(p for p in corpus_requests(corpus) if p.stem == path.stem)
        assert_echoed(source, path)


def _party_rejections(answer) -> list[RequestValidation]:
    levels = [answer.root, *answer.root.descendants()]
    return [r for level in levels for party in level.parties for r in party.all(RequestValidation)]


def test_the_corpus_requests_name_no_member_on_file(corpus_responses):
    """The corpus examples' requesters and members are not in the demo reference data:
    their answer is an AAA at 2010B (provider not on file)."""
    with open(corpus_responses / "stupidedi_X217_referral-request-for-review.278", "rb") as source:
        (answer,) = list(read_requests(source))
    assert [(r.reason, r.follow_up) for r in _party_rejections(answer)] == [("51", "C")]
    assert answer.events == []


def test_the_inbox_referral_is_decided(inbox_responses):
    with open(inbox_responses / "specialist-referral.278", "rb") as source:
        (answer,) = list(read_requests(source))
    assert [e.decision.action for e in answer.events] == ["A1"]


def test_a_dependent_patient_keeps_the_event_under_the_dependent(inbox_responses):
    with open(inbox_responses / "dependent-mri-batch.278", "rb") as source:
        answer = next(read_requests(source))
    (dependent,) = answer.levels(HierarchicalLevel.DEPENDENT)
    assert [child.level for child in dependent.children] == [HierarchicalLevel.EVENT]


def test_a_request_without_service_lines_gets_none_back(inbox_responses):
    with open(inbox_responses / "specialist-referral.278", "rb") as source:
        (answer,) = list(read_requests(source))
    (event,) = answer.events
    assert event.children == []
    assert answer.levels(HierarchicalLevel.SERVICE) == []


def acknowledged(path: Path) -> list[str]:
    """The segments of a 999 from AK1 to AK9: what it says of the group received."""
    segments = [s.strip() for s in path.read_text().split("~") if s.strip()]
    first = next(i for i, s in enumerate(segments) if s.startswith("AK1*"))
    last = next(i for i, s in enumerate(segments) if s.startswith("AK9*"))
    return segments[first : last + 1]


@pytest.mark.parametrize(
    ("stem", "rejection"),
    [
        # SE01 counts one segment too many: IK5 4, the number of included segments
        ("referral-wrong-segment-count", ["AK1*HI*104*005010X217", "AK2*278*0001*005010X217",
                                          "IK5*R*4", "AK9*R*1*1*0"]),
        # an appeal without UM06: IK3 8 (a segment has data element errors) at UM, the
        # 11th segment; IK4 I9 (implementation dependent data element missing) at UM06
        ("appeal-without-level-of-service", ["AK1*HI*107*005010X217", "AK2*278*0001*005010X217",
                                             "IK3*UM*11**8", "IK4*6*1338*I9", "IK5*R*5",
                                             "AK9*R*1*1*0"]),
    ],
)  # fmt: skip
def test_a_rejected_request_gets_a_999_that_rejects_it_and_no_278(inbox_responses, stem, rejection):
    written = sorted(p.name for p in inbox_responses.glob(f"{stem}.*"))
    assert written == [f"{stem}.999"]
    assert acknowledged(inbox_responses / f"{stem}.999") == rejection


def test_x12_to_json_to_x12_gives_the_same_segments_and_valid_documents(corpus):
    from edi278.jsonform import check_document, from_json, to_json

    checked = 0
    for name, segments in valid_transaction_sets(x217_files(corpus)):
        document = json.loads(json.dumps(to_json(read_transaction(segments))))
        check_document(document)  # valid against the schema of its purpose
        assert write_transaction(from_json(document)) == segments, name
        checked += 1
    assert checked == 12


def test_the_json_schemas_are_generated_from_the_model():
    from edi278.jsonform import FORMS, schema_text

    for name in FORMS:
        checked_in = (Path(__file__).parents[1] / "schemas" / name).read_text()
        assert checked_in == schema_text(name), "run: python -m edi278.jsonform"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["header"].update(purpose="22"), "header.purpose must be 13"),
        (lambda d: d["root"].update(level="99"), "$.root.level: '99' is not one of"),
        (lambda d: d["root"]["parties"][0]["records"][0].update(colour="red"), "$.root.parties[0]"),
        (lambda d: d.pop("root"), "'root' is a required property"),
    ],
)
def test_a_bad_document_is_refused_with_its_place(change, message):
    from edi278.jsonform import JsonFormError, check_document, to_json

    with open(SAMPLES / "specialist-referral.x12", "rb") as source:
        document = json.loads(json.dumps(to_json(next(read_requests(source)))))
    change(document)
    with pytest.raises(JsonFormError, match=re.escape(message)):
        check_document(document)


def test_parse_and_build_through_the_command(tmp_path):
    source = SAMPLES / "dependent-mri-batch.edi"
    parsed = subprocess.run(
        [str(EDI278), "parse", str(source)], capture_output=True, text=True, timeout=60
    )
    assert parsed.returncode == 0
    documents = [json.loads(line) for line in parsed.stdout.splitlines()]
    assert [d["header"]["submitter_reference"] for d in documents] == [
        "IMG20261120042",
        "IMG20261120043",
    ]
    (tmp_path / "batch.json").write_text(parsed.stdout)
    built = subprocess.run(
        [str(EDI278), "build", str(tmp_path / "batch.json"), "--out", str(tmp_path / "batch.x12")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert built.returncode == 0, built.stderr

    def unbroken(text: str) -> str:
        return text.replace("\r", "").replace("\n", "")

    assert unbroken((tmp_path / "batch.x12").read_text()) == unbroken(source.read_text())
    (tmp_path / "bad.json").write_text('{"header": {"purpose": "13"}}')
    refused = subprocess.run(
        [str(EDI278), "build", str(tmp_path / "bad.json"), "--out", str(tmp_path / "bad.x12")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and "is a required property" in refused.stderr
    assert not (tmp_path / "bad.x12").exists()


def test_x12_to_xml_to_x12_gives_the_same_segments_valid_against_the_xsd(corpus):
    from lxml import etree

    from edi278.xmlform import XSD_FILE, from_xml, to_xml

    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parents[1] / "schemas" / XSD_FILE)))
    transactions = [read_transaction(s) for _, s in valid_transaction_sets(x217_files(corpus))]
    document = to_xml(transactions)
    assert schema.validate(etree.fromstring(document)), schema.error_log
    back = from_xml(document)
    assert [write_transaction(t) for t in back] == [write_transaction(t) for t in transactions]


def test_the_xsd_is_generated_from_the_model():
    from edi278.xmlform import XSD_FILE, xsd

    assert (Path(__file__).parents[1] / "schemas" / XSD_FILE).read_bytes() == xsd(), (
        "run: python -m edi278.xmlform"
    )


def test_a_bad_xml_document_is_refused_with_its_line():
    from edi278.xmlform import XmlFormError, from_xml

    with pytest.raises(XmlFormError, match=r"line 1: .*Expected is one of"):
        from_xml(b"<transactions278><transaction278/></transactions278>")
    with pytest.raises(XmlFormError, match="not XML"):
        from_xml(b"<transactions278>")


@st.composite
def transactions(draw):
    """A random request tree within the model: levels 20 > 21 > 22 (> 23) > EV (> SS),
    each with a party and random records."""
    from edi278.model import Header, Level, Party, Transaction

    inside = [k for k in ALL_KINDS if k.SEGMENT not in ("NM1", "BHT")]

    def party(loop_id: str) -> Party:
        name = draw(records([RECORDS["NM1"]]))
        rest = draw(st.lists(records(inside), max_size=3))
        return Party([name, *rest], loop_id=loop_id)

    def level(code: str, loop_id: str, children: list) -> Level:
        own = draw(st.lists(records(inside), max_size=3))
        return Level(own, code, [party(loop_id)], children)

    services = [level("SS", "2010FA", []) for _ in range(draw(st.integers(0, 2)))]
    event = level("EV", "2010EA", services)
    patient = [level("23", "2010D", [event])] if draw(st.booleans()) else [event]
    tree = level("20", "2010A", [level("21", "2010B", [level("22", "2010C", patient)])])
    return Transaction("0001", "005010X217", Header("0007", "13", "REF1", "20261120", "0930"), tree)


@settings(max_examples=50, deadline=None)
@given(transactions())
def test_a_model_survives_x12_and_back(transaction):
    """model -> X12 -> model -> X12 is stable, and the second model writes as the first."""
    segments = write_transaction(transaction)
    again = read_transaction([Segment(s.id, s.elements) for s in segments])
    assert write_transaction(again) == segments
    assert [level.level for level in again.root.descendants()] == [
        level.level for level in transaction.root.descendants()
    ]
