"""The HTTP API through a real uvicorn process on a loopback port (SQLite store)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select

from edi278.decide.tracking import Kind, parse_number
from edi278.store import tables
from edi278.store.database import database_url
from tests.conftest import (
    SAMPLES_RECEIVED,
    group,
    interchange,
    issued,
    stop_server,
    wait_until_serving,
)

pytestmark = pytest.mark.dates

ROOT = Path(__file__).parents[1]
EDI278 = ROOT / ".venv" / "bin" / "edi278"
REQUESTS = ROOT / "samples" / "requests"
X12 = {"Content-Type": "application/edi-x12"}
API_STATE: list[str] = []  # the running server's --state-dir, for commands beside it
FIRST_REFERENCE = issued(Kind.REFERENCE, 1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _key(state: list[str], isa_id: str, role: str = "partner") -> str:
    made = subprocess.run([str(EDI278), "partner", "add", "--isa-id", isa_id, "--role", role,
                           *state], capture_output=True, text=True, check=True)  # fmt: skip
    return made.stdout.strip()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    state = ["--state-dir", str(tmp_path_factory.mktemp("var"))]
    API_STATE[:] = state
    subprocess.run([str(EDI278), "reference", "load", str(ROOT / "samples" / "reference"),
                    *state], check=True, capture_output=True)  # fmt: skip
    keys = {
        "submitter": _key(state, "SUBMITTER01"),
        "other": _key(state, "OTHERCLEARING"),
        "reviewer": _key(state, "UMOREVIEW", "reviewer"),
    }
    port = _free_port()
    logfile = tmp_path_factory.mktemp("log") / "api.log"
    server = subprocess.Popen(
        [str(EDI278), "serve", "--port", str(port), "--max-body", "50000", *state],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EDI278_LOG_FILE": str(logfile), "EDI278_LOG_LEVEL": "DEBUG"},
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(server, base)
    with httpx.Client(base_url=base, timeout=30) as client:
        client.logfile = logfile  # type: ignore[attr-defined]
        yield client, keys
    stop_server(server)


def post_x12(client, key: str | None, data: bytes, **headers):
    sent = {**X12, **({"X-API-Key": key} if key else {}), **headers}
    return client.post("/v1/x12/278", content=data, headers=sent)


def reference_in(text: str) -> str:
    """The REF NT of a response: the case's tracking number."""
    segments = (s.strip() for s in text.split("~"))
    return next(s for s in segments if s.startswith("REF*NT")).split("*")[2]


def hcr(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip().startswith(("HCR", "AAA"))]


def test_an_x12_request_is_answered_with_its_278(api):
    client, keys = api
    answer = post_x12(client, keys["submitter"], (REQUESTS / "08-mri-lumbar-auto.x12").read_bytes())
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/edi-x12"
    assert answer.text.startswith("ISA")
    action, number = hcr(answer.text)[0].split("*")[1:3]
    certification = parse_number(number)
    assert action == "A1" and certification.kind == Kind.CERTIFICATION
    assert certification.year == SAMPLES_RECEIVED.year % 100  # the server's clock, not ours


def test_an_x215_inquiry_is_answered_with_the_case_it_names_and_only_to_its_sender(api):
    from tests.test_inquiries import JOHN, inquiry, x215

    client, keys = api
    answer = post_x12(client, keys["submitter"], (REQUESTS / "08-mri-lumbar-auto.x12").read_bytes())
    number = hcr(answer.text)[0].split("*")[2]
    asked = x215(inquiry(JOHN, f"REF*BB*{number}"), 7215).encode()
    mine = post_x12(client, keys["submitter"], asked)
    assert mine.status_code == 200 and "*005010X215~" in mine.text
    assert hcr(mine.text) == [f"HCR*A1*{number}"] * 2  # the event and its line
    theirs = x215(inquiry(JOHN, f"REF*BB*{number}"), 7216, sender="OTHERCLEARING").encode()
    refused = post_x12(client, keys["other"], theirs)
    assert refused.status_code == 200 and hcr(refused.text) == ["AAA*N**AA*C"]


def test_no_key_is_401_and_another_partners_case_is_404(api):
    client, keys = api
    assert post_x12(client, None, b"ISA").status_code == 401
    assert client.get(f"/v1/reviews/{FIRST_REFERENCE}").json()["code"] == "unauthorized"
    data = (REQUESTS / "02-inpatient-elective-review.x12").read_bytes()
    answer = post_x12(client, keys["submitter"], data)
    reference = reference_in(answer.text)
    mine = client.get(f"/v1/reviews/{reference}", headers={"X-API-Key": keys["submitter"]})
    assert mine.status_code == 200 and mine.json()["administrative_reference"] == reference
    theirs = client.get(f"/v1/reviews/{reference}", headers={"X-API-Key": keys["other"]})
    assert theirs.status_code == 404 and theirs.json()["code"] == "not_found"
    # One digit wrong: the Damm check digit catches every such mistake.
    mistyped = reference[:-1] + str((int(reference[-1]) + 1) % 10)
    typo = client.get(f"/v1/reviews/{mistyped}", headers={"X-API-Key": keys["submitter"]})
    assert typo.status_code == 400 and typo.json()["code"] == "mistyped_tracking_number"
    assert typo.json()["error"] == (  # what was sent is not echoed
        "this fails its check digit: a digit is mistyped or two are swapped"
    )


def test_a_partner_cannot_send_under_another_senders_id(api):
    client, keys = api
    data = (REQUESTS / "29-service-not-requiring-precert.x12").read_bytes()
    refused = post_x12(client, keys["other"], data)
    assert refused.status_code == 403 and refused.json()["code"] == "wrong_sender"


def test_idempotency_key_replays_and_a_new_body_under_it_is_a_conflict(api):
    client, keys = api
    data = (REQUESTS / "11-ct-head-emergency-room.x12").read_bytes()
    first = post_x12(client, keys["submitter"], data, **{"Idempotency-Key": "k-11"})
    again = post_x12(client, keys["submitter"], data, **{"Idempotency-Key": "k-11"})
    assert first.status_code == again.status_code == 200 and first.text == again.text
    assert again.headers.get("idempotent-replayed") == "true"
    other = (REQUESTS / "12-mri-knee-inpatient-only-plan.x12").read_bytes()
    conflict = post_x12(client, keys["submitter"], other, **{"Idempotency-Key": "k-11"})
    assert conflict.status_code == 422 and conflict.json()["code"] == "idempotency_conflict"


def test_bad_input_gets_a_4xx_with_the_acknowledgement_never_a_500(api):
    client, keys = api
    too_big = post_x12(client, keys["submitter"], b"ISA" + b" " * 60_000)
    assert too_big.status_code == 413 and too_big.json()["code"] == "too_large"
    good = (REQUESTS / "40-speech-therapy.x12").read_text()
    bad_count = good.replace("SE*", "SE*9", 1).replace("000000240", "000000940")
    rejected = post_x12(client, keys["submitter"], bad_count.encode())
    assert rejected.status_code == 422 and "ST*999" in rejected.text
    garbage = post_x12(client, keys["submitter"], b"this is not X12 at all")
    assert garbage.status_code == 400 and "TA1*" in garbage.text
    wrong_type = client.post("/v1/x12/278", content=good.encode(),
                             headers={"X-API-Key": keys["submitter"],
                                      "Content-Type": "application/json"})  # fmt: skip
    assert wrong_type.status_code == 415


def test_the_json_form_round_trips(api):
    client, keys = api
    parsed = subprocess.run([str(EDI278), "parse", str(REQUESTS / "20-referral-hmo-from-pcp.x12")],
                            capture_output=True, text=True, check=True)  # fmt: skip
    document = json.loads(parsed.stdout.splitlines()[0])
    answer = client.post("/v1/reviews", json=document, headers={"X-API-Key": keys["submitter"]})
    assert answer.status_code == 200, answer.text
    response = answer.json()
    assert response["header"]["purpose"] == "11"
    invalid = client.post("/v1/reviews", content=b"{}", headers={"X-API-Key": keys["submitter"]})
    assert invalid.status_code == 422 and invalid.json()["code"] == "invalid"


def _user(name: str, role: str) -> None:
    subprocess.run([str(EDI278), "user", "add", "--name", name, "--role", role,
                    "--password-stdin", *API_STATE], input="a long and secret passphrase\n",
                   capture_output=True, text=True, check=True)  # fmt: skip


def test_inquiry_by_member_and_a_reviewers_decision(api):
    client, keys = api
    _user("api.md", "medical-director")
    _user("api.rn", "nurse")
    data = (REQUESTS / "09-mri-brain-review.x12").read_bytes()
    reference = reference_in(post_x12(client, keys["submitter"], data).text)
    member = client.get("/v1/reviews", params={"member_id": "W159483132"},
                        headers={"X-API-Key": keys["submitter"]})  # fmt: skip
    assert [case["administrative_reference"] for case in member.json()] == [reference]
    body = {"action": "A3", "reason": "0F", "note": "not indicated", "criteria": "ACR 1"}

    def decide(key: str, **given: str) -> httpx.Response:
        return client.post(f"/v1/reviews/{reference}/decision", json={**body, **given},
                           headers={"X-API-Key": keys[key]})  # fmt: skip

    assert decide("submitter", reviewer="api.md").status_code == 403
    unnamed = decide("reviewer")
    assert (unnamed.status_code, unnamed.json()["code"]) == (422, "invalid")
    nurse = decide("reviewer", reviewer="api.rn")  # the same rule as `review decide`
    assert (nurse.status_code, nurse.json()) == (403, {
        "error": "user api.rn is a nurse: only a medical director may deny (A3); nothing was "
                 "recorded, pass the case to a medical director", "code": "forbidden"})  # fmt: skip
    pend_code = decide("reviewer", reviewer="api.md", reason="0V")
    assert (pend_code.status_code, pend_code.json()["code"]) == (422, "invalid")
    still = client.get(f"/v1/reviews/{reference}", headers={"X-API-Key": keys["reviewer"]})
    assert [d["action"] for d in still.json()["decisions"] if d["line_number"] is None] == ["A4"]
    decided = decide("reviewer", reviewer="api.md")
    assert decided.status_code == 200
    assert hcr(decided.json()["response"])[0] == "HCR*A3**0F"
    assert "member-letter.txt" in decided.json()["notices"]
    metrics = client.get("/metrics").text
    assert 'edi278_outcomes_total{action="A3"}' in metrics and "edi278_http_seconds" in metrics
    assert "edi278_interchanges_answering 0.0" in metrics  # none left half answered


def test_the_openapi_document_is_kept_in_schemas(api):
    client, _ = api
    served = client.get("/openapi.json").json()
    kept = json.loads((ROOT / "schemas" / "openapi.json").read_text())
    assert served == kept, "run: python -m edi278.channels.http > schemas/openapi.json"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(
        [
            "/v1/x12/278",
            "/v1/reviews",
            f"/v1/reviews/{FIRST_REFERENCE}",
            f"/v1/reviews/{FIRST_REFERENCE}/decision",
        ]
    ),
    body=st.binary(max_size=300),
    query=st.dictionaries(
        st.sampled_from(["member_id", "last_name", "first_name", "provider_npi", "start", "end"]),
        st.text(max_size=12),
        max_size=4,
    ),
    method=st.sampled_from(["GET", "POST"]),
)
def test_nothing_anyone_sends_gets_a_5xx(api, path, body, query, method):
    client, keys = api
    headers = {"X-API-Key": keys["reviewer"], "Content-Type": "application/edi-x12"}
    answer = client.request(method, path, content=body if method == "POST" else None,
                            params=query, headers=headers)  # fmt: skip
    assert answer.status_code < 500, (method, path, answer.text)


def _stored(table: str) -> int:
    """Rows in a table of the running server's store."""
    engine = create_engine(database_url(None, API_STATE[1]))
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(getattr(tables, table)))
    engine.dispose()
    return count


@pytest.mark.parametrize(
    "trailer", ["GE*2*1", "GE*1*9", ""], ids=["GE01 wrong", "GE02 not GS06", "no GE"]
)
def test_a_group_whose_ge_does_not_match_its_gs_gets_its_999_with_422_and_no_case(api, trailer):
    client, keys = api
    control = {"GE*2*1": 9101, "GE*1*9": 9102, "": 9103}[trailer]
    data = interchange(control=control).replace("GE*1*1~\n", trailer and trailer + "~\n")
    before = {table: _stored(table) for table in ("cases", "decisions", "tracking_numbers")}
    answer = post_x12(client, keys["submitter"], data.encode())
    assert answer.status_code == 422 and answer.text.startswith("ISA")
    assert "AK9*R*" in answer.text and "ST*278" not in answer.text
    assert {table: _stored(table) for table in before} == before


def test_an_acknowledgement_gets_a_receipt_not_an_acknowledgement(api):
    client, keys = api
    ack = [
        "ST*999*0001*005010X231A1", "AK1*HI*1*005010X217", "AK2*278*0001*005010X217",
        "IK5*A", "AK9*A*1*1*1", "SE*6*0001",
    ]  # fmt: skip
    data = interchange([group(5, [ack], functional="FA", version="005010X231A1")], control=9110)
    for _ in range(2):  # and the same bytes again
        answer = post_x12(client, keys["submitter"], data.encode())
        assert answer.status_code == 202
        assert answer.json() == {"received": "acknowledgement", "interchanges": 1}


def test_the_servers_log_holds_no_member_name_id_or_birth_date(api):
    client, _ = api
    written = client.logfile.read_text()
    assert '"http.request"' in written and '"interchange.answered"' in written
    for secret in ("W159483132", "GRANT", "W555000111", "DOE", "W123456789", "19600415"):
        assert secret not in written, secret


def test_a_revoked_key_is_refused(api):
    client, _ = api
    key = _key(API_STATE, "SUBMITTER01")
    query = {"member_id": "W000000000"}
    assert client.get("/v1/reviews", params=query, headers={"X-API-Key": key}).status_code == 200
    revoked = subprocess.run([str(EDI278), "partner", "revoke", key, *API_STATE],
                             capture_output=True, text=True)  # fmt: skip
    assert revoked.returncode == 0
    assert client.get("/v1/reviews", params=query, headers={"X-API-Key": key}).status_code == 401
    again = subprocess.run([str(EDI278), "partner", "revoke", key, *API_STATE],
                           capture_output=True, text=True)  # fmt: skip
    assert again.returncode == 1 and "no live API key" in again.stderr
