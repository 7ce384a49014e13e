"""The public corpus as a conformance suite: every file answered, each answer pinned.

What a strict-but-useful service does with each file, decided here:
- a UTF-8 byte-order mark before the ISA is tolerated;
- ISA12 00401 (every 4010 file, and the OopFactory transcriptions, whose ISA is 4010
  around a 5010 group) is rejected with TA1 003: we speak 00501 only;
- bare ST..SE without an envelope is rejected with TA1 022;
- the 997s (4010 acknowledgements) get nothing back, not even a TA1 for their version:
  acknowledgements are not acknowledged (X12), only recorded as received;
- GS01 HC (EdiFabric) rejects the group with AK905 1; GS08 005010 without the guide
  (OBOE) rejects it with AK905 2;
- an SE01 off by one (two stupidedi transcriptions) rejects the set with IK502 4: the
  count is how a receiver knows nothing was lost, so it is not silently corrected;
- service lines chained to one another (HL*6*5*SS, HL*7*6*SS in the non-emergency
  transportation request) reject the set with IK403 I12 on HL02: a 2000F's parent is
  the event (the response to the same example parents every line on it).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from edi278.ig import Guide
from edi278.pipeline import acknowledge, examine
from edi278.x12.control import MemoryControlNumbers
from tests.conftest import NOW
from tests.test_cli import EDI278

pytestmark = pytest.mark.corpus
GUIDE = Guide()

ACCEPTED = ("999", "A", [["A"]])
REJECTED_4010 = ("TA1", "R", "003")
NOT_ANSWERED: list[tuple] = []  # acknowledgements: never acknowledged, whatever their version

EXPECTED: dict[str, list[tuple]] = {
    "BROKEN_bots_testx12020.x12.txt": [REJECTED_4010, REJECTED_4010],
    "BROKEN_bots_testx12021.x12.txt": [REJECTED_4010],
    "BROKEN_oboe_test278WithTooManyDEsInCompositeField.txt": [("999", "R", [], "2")],
    "BROKEN_pyx12_mult_isa_source.txt": [REJECTED_4010, REJECTED_4010],
    "BROKEN_pyx12_multiple_trn_source.txt": [REJECTED_4010],
    "bots_testx12005_997.x12.base": NOT_ANSWERED,
    "davinci_pas_2019_referral_request_noenv.txt": [("TA1", "R", "022")],
    "davinci_pas_2019_referral_response_noenv.txt": [("TA1", "R", "022")],
    "edifabric_x12net_ServicesReview.txt": [("TA1", "A", "000"), ("999", "R", [], "1")],
    "oopfactory_278_5010_Example_3_1_1_Request.txt": [REJECTED_4010],
    "oopfactory_278_5010_Example_3_1_2_Response.txt": [REJECTED_4010],
    "oopfactory_278_5010_Example_3_2_1_Request.txt": [REJECTED_4010],
    "oopfactory_278_5010_Example_3_2_2_Response.txt": [REJECTED_4010],
    "oopfactory_278_5010_Example_3_3_1_Request.txt": [REJECTED_4010],
    "oopfactory_278_5010_Example_3_3_2_Response.txt": [REJECTED_4010],
    "pyx12_mult_isa_res997.txt": NOT_ANSWERED,
    "pyx12_multiple_trn_res997.txt": NOT_ANSWERED,
    "stupidedi_X217_admission-request-for-review.edi": [("999", "R", [["R", "4"]])],
    "stupidedi_X217_admission-response-to-request-for-review.edi": [ACCEPTED],
    "stupidedi_X217_emergency-admission-request-for-review.edi": [ACCEPTED],
    "stupidedi_X217_emergency-admission-response-to-request-for-review.edi": [ACCEPTED],
    "stupidedi_X217_referral-request-for-review.edi": [ACCEPTED],
    "stupidedi_X217_referral-response-to-request-for-review.edi": [ACCEPTED],
    "stupidedi_X217_request-for-home-health-care.edi": [("999", "R", [["R", "4"]])],
    "stupidedi_X217_request-for-medical-services-reservation.edi": [ACCEPTED],
    "stupidedi_X217_request-for-non-emergency-transportation.edi": [("999", "R", [["R", "5"]])],
    "stupidedi_X217_response-to-medical-services-reservation.edi": [ACCEPTED],
    "stupidedi_X217_response-to-non-emergency-transportation.edi": [ACCEPTED],
}
NOT_X12 = {"README.md", "PROVENANCE.tsv"}


def outcome(path: Path) -> list[tuple]:
    """Per interchange: the TA1 (ack, note) when one is owed, then the 999's AK9 code,
    the IK5 of each set and the AK905 codes."""
    answers = []
    with open(path, "rb") as source:
        for report in examine(source, GUIDE):
            acks = acknowledge(report, NOW, MemoryControlNumbers())
            if acks.ta1:
                answers.append(("TA1", report.ack_code, report.note_code))
            for group in report.groups if acks.functional else []:
                answer = (
                    "999",
                    group.ack_code,
                    [[t.ack_code, *t.trailer_codes()] for t in group.transactions],
                )
                answers.append((*answer, *group.trailer_codes()))
    return answers


def test_the_table_names_every_file_of_the_corpus(corpus):
    assert sorted(p.name for p in corpus.iterdir()) == sorted([*EXPECTED, *NOT_X12])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_corpus_file_gets_its_pinned_answer(corpus, name):
    assert outcome(corpus / name) == EXPECTED[name]


def test_process_answers_every_file_of_the_corpus_without_a_traceback(corpus, tmp_path):
    files = sorted(str(p) for p in corpus.iterdir())
    result = subprocess.run(
        [
            str(EDI278),
            "process",
            *files,
            "--outbox",
            str(tmp_path / "out"),
            "--json",
            "--state-dir",
            str(tmp_path / "var"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stderr == ""
    summaries = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(summaries) == len(files)
    for summary in summaries:
        if summary["status"] == "acknowledgement received":  # the 997s: answered by silence
            assert not summary["outputs"] and "997" in summary["input"]
            continue
        assert summary["outputs"], summary["input"]  # a TA1 or a 999 for every file
        assert summary["status"] != "unanswered"


def test_validate_tells_valid_from_invalid_corpus_files(corpus):
    for name, expected in EXPECTED.items():
        valid = all(answer in (ACCEPTED,) for answer in expected)
        result = subprocess.run(
            [str(EDI278), "validate", str(corpus / name)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == (0 if valid else 1), (name, result.stdout)
        assert "Traceback" not in result.stderr
