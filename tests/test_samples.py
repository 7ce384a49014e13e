"""Every sample request gets exactly the outcome written here for it (HCR, or the AAA at
its loop), which samples/requests/README.md names too; the response is a valid X217
response and matches samples/expected/ numbers aside; on SQLite and PostgreSQL, one test
per sample so that one failure hides no other."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from edi278.decide.tracking import Kind
from edi278.ig import Guide
from edi278.model import RequestValidation, segment_of
from edi278.pipeline import examine
from edi278.reader import read_requests
from edi278.store.database import connect, upgrade
from tests.conftest import issued

pytestmark = pytest.mark.dates

SAMPLES = Path(__file__).parents[1] / "samples"
sys.path.insert(0, str(SAMPLES))
from make_expected import answer_samples, expected_name  # noqa: E402

GUIDE = Guide()
# What is numbered or stamped per run: control numbers, tracking numbers, times of day.
NUMBERED = [
    (re.compile(r"^(ISA(?:\*[^*]*){8}\*)[^*]*\*[^*]*(\*(?:[^*]*\*){2})[^*]*"), r"\1#*#\2#"),
    (re.compile(r"^(GS(?:\*[^*]*){3}\*)[^*]*\*[^*]*\*[^*]*"), r"\1#*#*#"),
    (re.compile(r"^(GE\*[^*]*\*).*"), r"\1#"),
    (re.compile(r"^(IEA\*[^*]*\*).*"), r"\1#"),
    (re.compile(r"^(BHT(?:\*[^*]*){3}\*).*"), r"\1#"),
    (re.compile(r"^(HCR\*[^*]*\*)[^*]+"), r"\1#"),
    (re.compile(r"^(REF\*NT\*).*"), r"\1#"),
    (re.compile(r"^(DTP\*102\*D8\*).*"), r"\1#"),
]


README = SAMPLES / "requests" / "README.md"
INQUIRIES_HEADING = "## Inquiries (005010X215)"
NOTICES_HEADING = "## Notifications (005010X216)"


def manifest() -> dict[str, tuple[str, ...]]:
    """file -> ("HCR", HCR01, HCR03) or ("AAA", loop, AAA03), from the README's table of
    requests for review."""
    expected = {}
    for line in README.read_text().split(INQUIRIES_HEADING)[0].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].endswith(".x12"):
            continue
        outcome = cells[-1].split()
        if outcome[0] == "AAA":
            expected[cells[0]] = ("AAA", outcome[3], outcome[1])
        else:
            reason = outcome[1] if len(outcome) > 1 and not outcome[1].startswith("(") else ""
            expected[cells[0]] = ("HCR", outcome[0], reason)
    return expected


def masked(text: str) -> list[str]:
    lines = []
    for segment in filter(None, (s.strip() for s in text.split("~"))):
        for pattern, replacement in NUMBERED:
            segment = pattern.sub(replacement, segment)
        lines.append(segment)
    return lines


C1, C2, C3, C4, C5 = (issued(Kind.CERTIFICATION, sequence) for sequence in (1, 2, 3, 4, 5))
# What each sample must get, written by hand (make_expected.py writes samples/expected/
# from the engine, never this): the HCR of the event, which each of its lines repeats, or
# the one AAA at its loop. Certification numbers in the order the samples are taken.
OUTCOMES = {
    "01-inpatient-elective-knee-auto.x12": ("2000E", f"HCR*A1*{C1}"),
    "02-inpatient-elective-review.x12": ("2000E", "HCR*A4**0V"),
    "03-inpatient-elective-late.x12": ("2000E", "HCR*A4**0V"),
    "04-emergency-admission-timely.x12": ("2000E", "HCR*A4**0V"),
    "05-emergency-admission-late-notice.x12": ("2000E", "HCR*A4**0V"),
    "06-maternity-vaginal-48h.x12": ("2000E", "HCR*NA**0H"),
    "07-maternity-cesarean-over-96h.x12": ("2000E", "HCR*A4**0V"),
    "08-mri-lumbar-auto.x12": ("2000E", f"HCR*A1*{C2}"),
    "09-mri-brain-review.x12": ("2000E", "HCR*A4**0U"),
    "10-ct-chest-urgent.x12": ("2000E", "HCR*A4**0V"),
    "11-ct-head-emergency-room.x12": ("2000E", "HCR*NA**0H"),
    "12-mri-knee-inpatient-only-plan.x12": ("2000E", "HCR*NA**0H"),
    "13-medicare-primary-original.x12": ("2000E", "HCR*NA**0H"),
    "14-medicare-risk-product.x12": ("2000E", "HCR*A4**0V"),
    "15-medicare-primary-transplant.x12": ("2000E", "HCR*A4**0V"),
    "16-dialysis-notification.x12": ("2000E", "HCR*NA**18"),
    "17-dialysis-late-notification.x12": ("2000E", "HCR*NA**18"),
    "18-out-of-network-no-benefit.x12": ("2000E", "HCR*A3**9"),
    "19-out-of-network-with-benefit.x12": ("2000E", "HCR*A4**0V"),
    "20-referral-hmo-from-pcp.x12": ("2000E", f"HCR*A1*{C3}"),
    "21-referral-hmo-not-from-pcp.x12": ("2010B", "AAA*N**49*C"),
    "22-referral-ppo-not-needed.x12": ("2000E", "HCR*NA**0H"),
    "23-member-not-found.x12": ("2010C", "AAA*N**75*C"),
    "24-birth-date-mismatch.x12": ("2010C", "AAA*N**71*C"),
    "25-not-eligible.x12": ("2010C", "AAA*N**95*N"),
    "26-dependent-not-found.x12": ("2010D", "AAA*N**77*C"),
    "27-requester-not-on-file.x12": ("2010B", "AAA*N**51*C"),
    "28-cosmetic-excluded.x12": ("2000E", "HCR*A3**19"),
    "29-service-not-requiring-precert.x12": ("2000E", "HCR*NA**0H"),
    "30-extension-of-knee.x12": ("2000E", "HCR*A4**0V"),
    "31-revision-changes-facility.x12": ("2000E", "AAA*N**33*C"),
    "32-cancel-knee.x12": ("2000E", f"HCR*C*{C1}"),  # the number it cancels
    "33-cancel-unknown.x12": ("2000E", "AAA*N**AA*C"),
    "34-appeal-immediate.x12": ("2000E", "HCR*A4**0V"),
    "35-appeal-standard.x12": ("2000E", "HCR*A4**0V"),
    "36-business-duplicate.x12": ("2000E", "HCR*A3**0Q"),
    "37-behavioral-health-delegated.x12": ("2000E", "HCR*A4**0B"),
    "38-experimental-procedure.x12": ("2000E", "HCR*A4**0V"),
    "39-transfer-between-facilities.x12": ("2000E", "HCR*A4**0V"),
    "40-speech-therapy.x12": ("2000E", "HCR*A4**0V"),
    "41-referral-hmo-from-pcp-group.x12": ("2000E", f"HCR*A1*{C4}"),
    "42-referral-hmo-out-of-network.x12": ("2000E", "HCR*A3**9"),
    "43-extension-of-legacy-authorization.x12": ("2000E", "HCR*A4**0V"),
    "44-medicare-exhausted-plan-primary.x12": ("2000E", f"HCR*A1*{C5}"),
}
# What each X215 inquiry sample is answered, written by hand: per 2000E of its response
# the HCR or the AAA, or the 999 fault it is refused with.
INQUIRY_OUTCOMES = {
    "45-inquiry-by-certification-number.x12": [f"HCR*A1*{C2}"],
    "46-inquiry-by-administrative-reference.x12": ["HCR*A4**0V"],
    "47-inquiry-by-trace-number.x12": ["HCR*A4**0V"],
    "48-inquiry-by-member-provider-dates.x12": [
        "AAA*N**AA*C",
        f"HCR*C*{C1}",
        "AAA*N**33*C",
        "HCR*A4**0V",
        "AAA*N**71*C",
        f"HCR*C*{C1}",
    ],
    "49-inquiry-for-a-dependent-by-name.x12": ["AAA*N**77*C"],
    "50-inquiry-nothing-in-the-dates.x12": ["AAA*N**NC*C"],
    "51-inquiry-number-never-issued.x12": ["AAA*N**AA*C"],
    "52-inquiry-another-senders-case.x12": ["AAA*N**AA*C"],
    "53-inquiry-number-of-another-member.x12": ["AAA*N**CI*C"],
    "54-inquiry-about-one-service.x12": [
        "AAA*N**AA*C",
        f"HCR*C*{C1}",
        "AAA*N**33*C",
        f"HCR*C*{C1}",
    ],
    "55-inquiry-two-events.x12": ["999 IK304 4"],
    "56-inquiry-bad-purpose-code.x12": ["999 IK403 7"],
    "57-inquiry-without-an-event.x12": ["999 IK403 7"],
    "58-inquiry-impossible-dates.x12": ["999 IK403 8"],
}
ALL_NAMES = sorted(path.name for path in (SAMPLES / "requests").glob("*.x12"))
# The X216 notifications (their cases and acknowledgments: tests/test_notifications.py).
NOTICE_NAMES = [n for n in ALL_NAMES if "*005010X216~" in (SAMPLES / "requests" / n).read_text()]
SAMPLE_NAMES = [n for n in ALL_NAMES if n not in INQUIRY_OUTCOMES and n not in NOTICE_NAMES]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def answers(request, tmp_path_factory) -> dict[str, str]:
    """Every sample answered, in name order into a fresh store: once per database."""
    if request.param == "sqlite":
        return answer_samples(f"sqlite:///{tmp_path_factory.mktemp('samples') / 'edi278.db'}")
    url = request.getfixturevalue("postgres").create()
    engine = connect(url)
    upgrade(engine)
    engine.dispose()
    return answer_samples(url)


def written(record) -> str:
    """A record as its segment reads, trailing empty elements dropped."""
    segment = segment_of(record)
    elements = ("^".join(":".join(parts) for parts in element) for element in segment.elements)
    return "*".join([segment.id, *elements]).rstrip("*")


def outcomes_in(answer) -> list[tuple[str, str]]:
    """(loop, segment) of every HCR and AAA of a response, in order."""
    found = []
    for level in [answer.root, *answer.root.descendants()]:
        found += [(party.loop_id, written(r)) for party in level.parties
                  for r in party.all(RequestValidation)]  # fmt: skip
        found += [(_loop(level), written(r)) for r in level.all(RequestValidation)]
        if level.decision is not None:
            found.append((_loop(level), written(level.decision)))
    return found


def test_the_samples_are_the_ones_with_an_outcome_here():
    assert sorted([*OUTCOMES, *INQUIRY_OUTCOMES, *NOTICE_NAMES]) == ALL_NAMES


def inquiry_manifest() -> dict[str, list[str]]:
    """file -> what each 2000E answers, from the README's table of inquiries."""
    expected = {}
    inquiries = README.read_text().split(INQUIRIES_HEADING)[1].split(NOTICES_HEADING)[0]
    for line in inquiries.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].endswith(".x12"):
            continue
        said = []
        for each in cells[-1].split("; "):
            code, rest = each.split(" ", 1)
            if code == "999":
                said.append(each)
            elif code == "AAA":
                said.append(f"AAA*N**{rest}*C")
            else:
                number = rest if rest.startswith("C") else ""  # else an HCR03 reason
                said.append(f"HCR*{code}*{number}" + ("" if number else f"*{rest}"))
        expected[cells[0]] = said
    return expected


def test_the_readme_table_names_the_inquiry_answers_written_here():
    assert inquiry_manifest() == INQUIRY_OUTCOMES


@pytest.mark.parametrize("name", sorted(INQUIRY_OUTCOMES))
def test_every_inquiry_gets_its_answer(answers, name):
    text = answers[name]
    expected = INQUIRY_OUTCOMES[name]
    if expected[0].startswith("999"):
        codes = {f"999 {fault}" for fault in _ack_codes(text)}
        assert set(expected) <= codes, codes
        return
    (answer,) = list(read_requests(io.BytesIO(text.encode())))
    assert (answer.convention, answer.header.purpose) == ("005010X215", "11")
    assert [segment for loop, segment in outcomes_in(answer) if loop == "2000E"] == expected
    # Echoed: BHT03, and the inquiry's trace leading every 2000E, as referenced (TRN01 2).
    with open(SAMPLES / "requests" / name, "rb") as source:
        (inquiry,) = list(read_requests(source))
    assert answer.header.submitter_reference == inquiry.header.submitter_reference
    (asked,) = inquiry.events
    theirs = [("2", t.reference, t.originator) for t in asked.traces]
    for event in answer.events:
        assert [("2", t.reference, t.originator) for t in event.traces][: len(theirs)] == theirs


def _ack_codes(text: str) -> list[str]:
    """IK304 and IK403 codes of a 999, as "IK304 4"."""
    found = []
    for segment in text.split("~"):
        elements = segment.strip().split("*")
        if elements[0] == "IK3" and len(elements) > 4:
            found.append(f"IK304 {elements[4]}")
        elif elements[0] == "IK4" and len(elements) > 3:
            found.append(f"IK403 {elements[3]}")
    return found


def test_the_readme_table_names_the_outcomes_written_here():
    """samples/requests/README.md and OUTCOMES say the same of every sample."""
    said = {}
    for name, (loop, segment) in OUTCOMES.items():
        elements = segment.split("*") + [""] * 4
        if elements[0] == "AAA":
            said[name] = ("AAA", loop, elements[3])
        else:
            said[name] = ("HCR", elements[1], elements[3])
    assert manifest() == said


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_sample_gets_its_outcome(answers, name):
    (answer,) = list(read_requests(io.BytesIO(answers[name].encode())))
    loop, segment = OUTCOMES[name]
    with open(SAMPLES / "requests" / name, "rb") as source:
        (request,) = list(read_requests(source))
    if segment.startswith("HCR"):  # the event decided, each of its lines alike
        lines = sum(len(event.children) for event in request.events)
        assert outcomes_in(answer) == [(loop, segment)] + [("2000F", segment)] * lines
    else:  # rejected where the fault is: nothing decided
        assert outcomes_in(answer) == [(loop, segment)]


def _loop(level) -> str:
    return {"EV": "2000E", "SS": "2000F"}.get(level.level, level.level)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_response_is_a_valid_response_and_matches_the_expected_file(answers, name):
    text = answers[name]
    (report,) = list(examine(io.BytesIO(text.encode()), GUIDE))
    assert [f.as_dict() for f in report.all_faults()] == []
    expected = (SAMPLES / "expected" / expected_name(name, text)).read_text()
    assert masked(text) == masked(expected)
