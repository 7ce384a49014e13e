"""A request sent again after its case was decided is answered with the case's current
decision, not the pended answer stored at receipt: through the file channel (`edi278
process`) and a real `edi278 serve`. A retry under the same Idempotency-Key still gets
the answer stored for it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from edi278.decide.policy import default_policy
from edi278.review import Review, decide_case
from edi278.store.database import open_database
from edi278.store.users import add_user
from tests.conftest import SAMPLES_RECEIVED, stop_server, wait_until_serving

pytestmark = pytest.mark.dates

ROOT = Path(__file__).parents[1]
EDI278 = Path(sys.executable).parent / "edi278"
# Sample 02: an elective admission pended for a clinician (A4 0V).
PENDED = ROOT / "samples" / "requests" / "02-inpatient-elective-review.x12"
REVIEWED = SAMPLES_RECEIVED + timedelta(hours=3)
RECEIVED = "2026-11-20T10:00:00-05:00"
PASSWORD = "a long and secret passphrase"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EDI278), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)  # fmt: skip


def segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


def decision_of(text: str) -> tuple[str, str]:
    """The event's HCR and its REF NT (the case's reference) in a 278 response."""
    found = segments(text)
    hcr = next(s for s in found if s.startswith("HCR*"))
    return hcr, next(s for s in found if s.startswith("REF*NT*")).split("*")[2]


def isa13(text: str) -> str:
    return segments(text)[0].split("*")[13]


def anew(data: bytes, control: int) -> bytes:
    """The same request in a new interchange: only its ISA13 and GS06 differ."""
    text = data.decode("latin-1").replace("000000202", f"{control:09d}")
    return text.replace("*202*X*", f"*{control}*X*").replace("GE*1*202", f"GE*1*{control}").encode()


def process(path: Path, cwd: Path) -> dict:
    done = run("process", str(path), "--outbox", "out", "--json", "--received-at", RECEIVED,
               cwd=cwd)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (summary,) = map(json.loads, done.stdout.splitlines())
    return summary


def review_as_certified(database: Path, reference: str) -> str:
    engine = open_database(f"sqlite:///{database}")
    try:
        add_user(engine, "rn.lee", "nurse", PASSWORD, REVIEWED)
        review = Review("A1", "", "criteria met on the operative note", "rn.lee")
        done = decide_case(engine, reference, review, default_policy(), REVIEWED)
    finally:
        engine.dispose()
    return done.certification_number


def test_the_same_bytes_after_a_review_get_the_current_decision_through_process(tmp_path):
    assert (
        run("reference", "load", str(ROOT / "samples" / "reference"), cwd=tmp_path).returncode == 0
    )
    first = process(PENDED, tmp_path)
    answered = (tmp_path / first["outputs"]["278"]).read_text()
    hcr, reference = decision_of(answered)
    assert hcr == "HCR*A4**0V"
    certification = review_as_certified(tmp_path / "var" / "edi278.db", reference)

    again = process(PENDED, tmp_path)  # the same bytes: the sender's retry, or a resend
    response = (tmp_path / again["outputs"]["278"]).read_text()
    assert decision_of(response) == (f"HCR*A1*{certification}", reference)
    assert isa13(response) != isa13(answered)  # a new interchange of ours
    assert again["outputs"]["278"] != first["outputs"]["278"]  # beside the first, not over it
    assert (tmp_path / again["outputs"]["999"]).read_text() == (
        tmp_path / first["outputs"]["999"]
    ).read_text()  # the 999 stands as it was sent
    assert [(d["outcome"], d["number"]) for d in again["decisions"]] == [("A1", certification)]
    assert (again["cases_created"], again["decisions_replayed"]) == (0, 1)

    # sent once more, nothing was decided since: the new answer again, byte for byte
    third = process(PENDED, tmp_path)
    assert (tmp_path / third["outputs"]["278"]).read_text() == response

    # in a new interchange, the request already a case: its current decision too
    other = tmp_path / "02-again.x12"
    other.write_bytes(anew(PENDED.read_bytes(), 902))
    resent = process(other, tmp_path)
    assert decision_of((tmp_path / resent["outputs"]["278"]).read_text()) == (
        f"HCR*A1*{certification}",
        reference,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    state = ["--state-dir", str(tmp_path / "var")]
    assert run("reference", "load", str(ROOT / "samples" / "reference"), *state,
               cwd=tmp_path).returncode == 0  # fmt: skip
    keys = {}
    for role, isa_id in (("partner", "SUBMITTER01"), ("reviewer", "UMOREVIEW")):
        made = run("partner", "add", "--isa-id", isa_id, "--role", role, *state, cwd=tmp_path)
        keys[role] = made.stdout.strip()
    subprocess.run([str(EDI278), "user", "add", "--name", "rn.lee", "--role", "nurse",
                    "--password-stdin", *state], input=f"{PASSWORD}\n", cwd=tmp_path,
                   capture_output=True, text=True, check=True)  # fmt: skip
    port = _free_port()
    server = subprocess.Popen(
        [str(EDI278), "serve", "--port", str(port), *state],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EDI278_LOG_LEVEL": "WARNING"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(server, base)
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client, keys
    finally:
        stop_server(server)


def test_the_same_bytes_after_a_review_get_the_current_decision_over_http(served):
    client, keys = served
    data = PENDED.read_bytes()
    sent = {"Content-Type": "application/edi-x12", "X-API-Key": keys["partner"]}
    first = client.post("/v1/x12/278", content=data, headers={**sent, "Idempotency-Key": "k-02"})
    assert first.status_code == 200
    hcr, reference = decision_of(first.text)
    assert hcr == "HCR*A4**0V"
    decided = client.post(
        f"/v1/reviews/{reference}/decision",
        json={"action": "A1", "note": "criteria met", "reviewer": "rn.lee"},
        headers={"X-API-Key": keys["reviewer"]},
    )
    assert decided.status_code == 200, decided.text
    certification = decided.json()["certification_number"]

    retry = client.post("/v1/x12/278", content=data, headers={**sent, "Idempotency-Key": "k-02"})
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.text == first.text  # a retry of that very call: what it was answered

    resent = client.post("/v1/x12/278", content=data, headers=sent)
    assert resent.status_code == 200 and "idempotent-replayed" not in resent.headers
    assert decision_of(resent.text) == (f"HCR*A1*{certification}", reference)
    assert isa13(resent.text) != isa13(first.text)
