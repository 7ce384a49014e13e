"""The compiled validator against pyx12, the reference: every transaction set of the
corpus, the samples, the guide's negative cases and mutated files gets the same
findings from both engines (same codes, places, messages and values, in the same
order), and the same loop for every segment."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from edi278.ig import Guide
from edi278.ig.compiled import load
from edi278.ig.validator import validate
from edi278.pipeline import examine
from edi278.x12.reader import read_interchanges
from edi278.x12.segment import Segment
from tests import test_guide, test_guide_other
from tests.conftest import CORPUS, group, interchange, transaction
from tests.test_fuzz import mutated
from tests.test_guide import REQUEST, change, hostile_bodies, insert

ROOT = Path(__file__).parents[1]
COMPILED, REFERENCE = Guide(engine="compiled"), Guide(engine="pyx12")

Set = tuple[Segment, Segment, list[Segment]]


class _Recorder(Guide):
    """A guide that keeps every set it is asked about."""

    def __init__(self) -> None:
        super().__init__(engine="pyx12")
        self.sets: list[Set] = []

    def validate(self, isa, gs, segments):
        self.sets.append((isa, gs, list(segments)))
        return super().validate(isa, gs, segments)


def sets_in(data: bytes) -> list[Set]:
    recorder = _Recorder()
    for _ in examine(io.BytesIO(data), recorder):
        pass
    return recorder.sets


def assert_same_findings(isa: Segment, gs: Segment, segments: list[Segment]) -> None:
    ours = [fault.as_dict() for fault in COMPILED.validate(isa, gs, segments)]
    reference = [fault.as_dict() for fault in REFERENCE.validate(isa, gs, segments)]
    assert ours == reference


def sample_files() -> list[Path]:
    folders = ["requests", "inbox", "expected", "broken"]
    return sorted(p for f in folders for p in (ROOT / "samples" / f).glob("*") if p.is_file())


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.iterdir() if p.suffix not in (".md", ".tsv"))


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_every_sample_set_gets_the_same_findings(path):
    for isa, gs, segments in sets_in(path.read_bytes()):
        assert_same_findings(isa, gs, segments)


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_every_corpus_set_gets_the_same_findings(path):
    for isa, gs, segments in sets_in(path.read_bytes()):
        assert_same_findings(isa, gs, segments)


def test_the_corpus_reaches_the_guide(corpus):
    """The comparison above is not empty: the corpus's X217 sets (11 of them; the rest
    are 4010, other guides or unenveloped) are walked. Skipped without the corpus, failed
    when EDI278_CORPUS names a folder that is not there (the `corpus` fixture)."""
    files = corpus_files()
    assert files, f"no corpus files in {corpus}"
    assert sum(len(sets_in(p.read_bytes())) for p in files) >= 11


def _cases() -> dict[str, list[str]]:
    cases = {f"guide: {name}": body for name, (body, _) in test_guide.CASES.items()}
    cases.update(
        {
            "a date range with two dashes (pyx12 raises)": change(
                REQUEST, "DTP*472*D8*20261210", "DTP*472*RD8*20261210-20261211-20261212"
            ),
            "an element over 8 KB": insert(REQUEST, "HL*5", "MSG*" + "A" * 20_000),
            "a repeated element (read by pyx12)": change(
                REQUEST, "HI*ABK:M1711", "HI*ABK:M1711^ABF:M25"
            ),
            "a segment ID that is not one": insert(REQUEST, "HL*5", "MS*G*X"),
            "a time that is not one": change(REQUEST, "DTP*435*D8*20261210", "DTP*435*TM*2561"),
            "an empty segment": insert(REQUEST, "HL*5", "PWK"),
            "a lower-case segment ID": insert(REQUEST, "HL*5", "msg*TEXT"),
        }
    )
    return cases


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_every_negative_case_gets_the_same_findings(name):
    data = interchange(groups=[group(sets=[transaction(body=CASES[name])])]).encode()
    (found,) = sets_in(data)
    assert_same_findings(*found)


CHANGES = {"as is": "", "a decision added": "HCR*A1*X~\n", "a note added": "AAA*N**15*C~\n"}
FIRST_EVENT = re.compile(r"HL\*\d+\*\d+\*EV\*[01]~\n")


def assert_same_findings_in(guide: str, body: str, change: str) -> None:
    """Both engines agree on a body of a guide, as is or with a segment added at the
    start of its first event."""
    added = CHANGES[change]
    body = FIRST_EVENT.sub(lambda hl: hl.group() + added, body, count=1)
    text = test_guide_other.envelope(guide, body)
    for item in read_interchanges(io.BytesIO(text.encode())):
        for found in item.groups:
            for set_ in found.transactions:
                assert_same_findings(item.isa, found.header, set_.segments)


@pytest.mark.parametrize("name", list(test_guide_other.EXAMPLES))
@pytest.mark.parametrize("change", list(CHANGES))
def test_the_inquiry_and_notification_guides_get_the_same_findings(name, change):
    guide, body = test_guide_other.EXAMPLES[name]
    assert_same_findings_in(guide, body, change)


@pytest.mark.parametrize("name", list(test_guide_other.X215_SETS))
@pytest.mark.parametrize("change", list(CHANGES))
def test_the_inquiries_and_their_responses_get_the_same_findings(name, change):
    body, _ = test_guide_other.X215_SETS[name]
    assert_same_findings_in("X215", body, change)


@pytest.mark.parametrize("name", list(test_guide_other.X216_SETS))
@pytest.mark.parametrize("change", list(CHANGES))
def test_the_notifications_and_their_acknowledgments_get_the_same_findings(name, change):
    body, _ = test_guide_other.X216_SETS[name]
    assert_same_findings_in("X216", body, change)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_mutated_files_get_the_same_findings(data):
    for isa, gs, segments in sets_in(data):
        assert_same_findings(isa, gs, segments)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(hostile_bodies())
def test_hostile_sets_get_the_same_findings(body):
    data = interchange(groups=[group(sets=[transaction(body=body)])]).encode()
    for isa, gs, segments in sets_in(data):
        assert_same_findings(isa, gs, segments)


def test_the_walk_places_every_segment_in_the_same_loop():
    path = ROOT / "samples" / "inbox" / "elective-knee-admission.x12"
    for isa, gs, segments in sets_in(path.read_bytes()):
        filename = "278.5010.X217.xml"
        assert COMPILED.walk(filename, isa, gs, segments) == REFERENCE.walk(
            filename, isa, gs, segments
        )


def test_a_huge_element_is_judged_by_pyx12_too():
    """pyx12 used to stop reading at a segment longer than its 8 KB read, leaving the
    rest of the set unjudged; the bridge now hands it the whole text."""
    body = change(REQUEST, "GENERAL HOSPITAL", "G" * 10_000)
    body = change(body, "DTP*472*D8*20261210", "DTP*472*D8*20261310")  # after it
    data = interchange(groups=[group(sets=[transaction(body=body)])]).encode()
    ((isa, gs, segments),) = sets_in(data)
    codes = [(f.code, f.segment_id) for f in REFERENCE.validate(isa, gs, segments)]
    assert ("5", "NM1") in codes and ("8", "DTP") in codes


def test_what_the_compiled_engine_cannot_read_as_pyx12_does_is_left_to_pyx12():
    body = change(REQUEST, "HI*ABK:M1711", "HI*ABK:M1711^ABF:M25")
    data = interchange(groups=[group(sets=[transaction(body=body)])]).encode()
    ((isa, gs, segments),) = sets_in(data)
    assert validate(load(ROOT / "schemas" / "278.5010.X217.xml"), isa, gs, segments) is None


def test_an_unknown_engine_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="compiled, pyx12"):
        Guide(engine="fast")


def test_what_is_remembered_from_one_set_never_hides_the_faults_of_the_next():
    """Between sets the compiled engine remembers walks (by the segments' IDs and key
    values), segment findings, sound hierarchies and component counts; a set that
    differs from one remembered only where those memos look gets its own findings."""
    variants = {
        "": REQUEST,
        "I12": change(REQUEST, "HL*2*1*21*1", "HL*7*1*21*1"),  # the hierarchy
        "13": change(REQUEST, "UM*AR*I*48*21:B**E", "UM*AR*I*48*21:B:1:X**E"),  # components
        "7": change(REQUEST, "NM1*FA*2", "NM1*ZZ*2"),  # a key value: another walk
        "6": change(REQUEST, "TRN*1*PE1*9SUBMIT001", "TRN*1*PE1*9SUBMIT\x01"),  # a value
        "5": change(REQUEST, "TRN*1*PE1*", f"TRN*1*{'P' * 51}*"),  # an identifier, checked alone
        "1": change(REQUEST, "BHT*0007*13*REQ1*", "BHT*0007*13**"),  # an identifier missing
    }
    for expected, body in [*variants.items(), ("", REQUEST)]:
        data = interchange(groups=[group(sets=[transaction(body=body)])]).encode()
        ((isa, gs, segments),) = sets_in(data)
        assert_same_findings(isa, gs, segments)
        codes = {fault.code for fault in COMPILED.validate(isa, gs, segments)}
        assert (expected in codes) if expected else not codes


def test_an_interchange_pyx12_reads_otherwise_is_left_to_it_after_one_it_reads_alike():
    """Whether pyx12 reads an ISA as we do is remembered, for the very segment too:
    the answer for one interchange never stands for the next."""
    compiled = load(ROOT / "schemas" / "278.5010.X217.xml")
    data = interchange(groups=[group(sets=[transaction(body=REQUEST)])]).encode()
    ((isa, gs, segments),) = sets_in(data)
    values = [isa.value(position) for position in range(1, 17)]
    other = Segment.of("ISA", *values[:11], "00200", *values[12:])
    assert validate(compiled, isa, gs, segments) is not None
    assert validate(compiled, other, gs, segments) is None
    assert validate(compiled, isa, gs, segments) is not None


def _findings(body: list[str], **isa_options) -> set[tuple[str, str | None, str | None]]:
    """The compiled engine's findings of a set, checked against pyx12's first."""
    data = interchange(groups=[group(sets=[transaction(body=body)])], **isa_options).encode()
    ((isa, gs, segments),) = sets_in(data)
    assert_same_findings(isa, gs, segments)
    found = COMPILED.validate(isa, gs, segments)
    return {(fault.code, fault.segment_id, fault.bad_value) for fault in found}


def _with_component(body: list[str], separator: str) -> list[str]:
    return [line.replace(":", separator) for line in body]


def test_segments_remembered_as_read_are_read_afresh_with_other_separators():
    """What a segment reads as (and what it was found to hold) is remembered by its ID
    and texts; the same texts read with another component separator are another
    segment: UM04 "21:B" is one value, too long for a code, where ":" is data, and a code
    and qualifier where ":" separates components. Findings are remembered with each
    component separator the set is handed to pyx12 with."""
    body = _with_component(REQUEST, "@")
    as_value = change(body, "UM*AR*I*48*21@B**E", "UM*AR*I*48*21:B**E")
    for _ in range(2):
        assert ("5", "UM", "21:B") in _findings(as_value, c="@")
        assert not _findings(REQUEST)
    bad_code = change(body, "UM*AR*I*48*21@B**E", "UM*AR*I*48*21@Q**E")
    clashing = change(bad_code, "ACME HEALTH PLAN", "ACME:HEALTH PLAN")  # ">" given to pyx12
    for _ in range(2):
        assert ("7", "UM", "Q") in _findings(bad_code, c="@")
        assert ("7", "UM", "Q") in _findings(clashing, c="@")


def test_what_the_rules_find_is_asked_of_every_segment_remembered_without_its_identifier():
    """A segment with a reference identifier (TRN02) is remembered without it, but the
    rules read the identifier too: TRN02 "D8" makes TRN03 a date to check. Its second
    reference identifier (TRN04) is checked with the rest of the segment."""
    assert not _findings(REQUEST)
    dated = change(REQUEST, "TRN*1*PE1*9SUBMIT001", "TRN*1*D8*9SUBMIT001")
    assert ("8", "TRN", "9SUBMIT001") in _findings(dated)
    assert not _findings(change(REQUEST, "TRN*1*PE1*9SUBMIT001", "TRN*1*PE7*9SUBMIT001*AB"))
    long = change(REQUEST, "TRN*1*PE1*9SUBMIT001", f"TRN*1*PE8*9SUBMIT001*{'A' * 51}")
    assert "5" in {code for code, segment_id, _ in _findings(long) if segment_id == "TRN"}
    assert not _findings(REQUEST)
