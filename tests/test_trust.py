"""Who may speak for whom, through a real server process (SQLite store): a partner's key
files only its own interchanges, wherever another's lies in the body, and what it is
told never names another partner's cases."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import stop_server, wait_until_serving
from tests.test_api import EDI278, REQUESTS, ROOT, _free_port, _key, hcr, post_x12, reference_in

pytestmark = pytest.mark.dates

VICTIM = "SUBMITTER01"  # the samples' sender
CALLER = "OTHERCLEARING"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("var")
    state = ["--state-dir", str(state_dir)]
    subprocess.run([str(EDI278), "reference", "load", str(ROOT / "samples" / "reference"),
                    *state], check=True, capture_output=True)  # fmt: skip
    keys = {"victim": _key(state, VICTIM), "caller": _key(state, CALLER)}
    port = _free_port()
    process = subprocess.Popen(
        [str(EDI278), "serve", "--port", str(port), "--max-body", "200000", *state],
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, base)
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client, keys, state_dir
    stop_server(process)


def sample(name: str, sender: str = VICTIM, control: int | None = None) -> bytes:
    """A sample request as `sender` sends it (ISA06 and GS02), under its own ISA13."""
    text = (REQUESTS / name).read_text()
    text = text.replace(f"*{VICTIM}    *", f"*{sender.ljust(15)}*", 1)
    text = text.replace(f"GS*HI*{VICTIM}*", f"GS*HI*{sender}*", 1)
    if control is not None:
        isa13 = text.split("*")[13]
        text = text.replace(f"*{isa13}*", f"*{control:09d}*", 1)
        text = text.replace(f"IEA*1*{isa13}", f"IEA*1*{control:09d}", 1)
    return text.encode("latin-1")


def rows(state_dir: Path) -> dict[str, int]:
    """How many rows every table of the store holds."""
    connection = sqlite3.connect(f"file:{state_dir / 'edi278.db'}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        connection.close()


def odd_delimiters(data: bytes) -> bytes:
    """The same interchange in other delimiters: | between elements, ! after segments."""
    return data.replace(b"*", b"|").replace(b"~", b"!")


def without_iea(data: bytes) -> bytes:
    text = data.decode("latin-1").rstrip()
    return text[: text.rindex("IEA")].encode("latin-1")


OWN = sample("08-mri-lumbar-auto.x12", CALLER, 801)
OWN_TOO = sample("11-ct-head-emergency-room.x12", CALLER, 802)
THEIRS = sample("29-service-not-requiring-precert.x12")

# The caller's body, each with the victim's interchange somewhere the first-ISA check
# did not look, or in a shape it did not read.
ATTACKS = {
    "a byte before it": b"X" + THEIRS,
    "a tab before it": b"\t" + THEIRS,
    "a byte-order mark and a tab before it": b"\xef\xbb\xbf\t" + THEIRS,
    "after the callers own interchange": OWN + THEIRS,
    "third, after two of the callers own": OWN + OWN_TOO + THEIRS,
    "after the callers own, its IEA missing": without_iea(OWN) + THEIRS,
    "in odd delimiters after a line break": b"\r\n" + odd_delimiters(THEIRS),
    "after a lower-case isa": b"isa*junk~" + THEIRS,
    "the callers ID under another qualifier": b" \t"
    + OWN.replace(b"*ZZ*OTHERCLEARING  *", b"*01*OTHERCLEARING  *", 1),
    "the callers ID in lower case": OWN_TOO
    + OWN.replace(b"OTHERCLEARING  *", b"otherclearing  *", 1),
    "an interchange of no readable sender": OWN
    + THEIRS.replace(b"*ZZ*SUBMITTER01    *", b"**               *", 1),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_every_interchange_in_a_body_must_be_the_callers_or_nothing_is_recorded(server, attack):
    client, keys, state_dir = server
    before = rows(state_dir)
    idempotency = {"Idempotency-Key": attack}
    refused = post_x12(client, keys["caller"], ATTACKS[attack], **idempotency)
    assert refused.status_code == 403, refused.text
    assert refused.json() == {
        "error": "an interchange's ISA sender is not this API key's partner; nothing was recorded",
        "code": "wrong_sender",
    }
    assert rows(state_dir) == before  # no case, interchange, control number or idempotency row
    # The key used with the refused body was not spent: the caller's own request takes it.
    own = post_x12(client, keys["caller"], OWN, **idempotency)
    assert own.status_code == 200 and hcr(own.text)


def test_the_callers_own_interchanges_pass_wherever_they_lie(server):
    client, keys, _ = server
    answer = post_x12(client, keys["caller"], b"\xef\xbb\xbf\t\r\n" + OWN + b"\n\t" + OWN_TOO)
    assert answer.status_code == 200, answer.text
    assert len(hcr(answer.text)) == 2
    junk_only = post_x12(client, keys["caller"], b"\tnothing like X12")
    assert junk_only.status_code == 400 and "TA1*" in junk_only.text  # names no one: a TA1


def test_a_refused_body_leaves_the_victims_case_unknown_to_its_own_key(server):
    client, keys, _ = server
    body = sample("02-inpatient-elective-review.x12", VICTIM, 901)
    assert post_x12(client, keys["caller"], OWN + body).status_code == 403
    # Had it been taken, the victim sending it now would get the stored answer back
    # (a replay) and no new case; it is its first time, and the case is its own.
    mine = post_x12(client, keys["victim"], body)
    reference = reference_in(mine.text)
    seen = client.get(f"/v1/reviews/{reference}", headers={"X-API-Key": keys["victim"]})
    assert seen.status_code == 200 and seen.json()["administrative_reference"] == reference


def msg(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip().startswith("MSG")]


def victims_knee(client: httpx.Client, keys: dict[str, str]) -> tuple[str, str]:
    """The victim's knee admission (sample 01), certified: its certification and reference."""
    answer = post_x12(client, keys["victim"], sample("01-inpatient-elective-knee-auto.x12",
                                                      VICTIM, 101))  # fmt: skip
    certified = hcr(answer.text)[0]
    assert certified.startswith("HCR*A1*")
    return certified.split("*")[2], reference_in(answer.text)


def test_a_duplicate_of_another_partners_case_names_nothing_of_it(server):
    client, keys, _ = server
    certification, reference = victims_knee(client, keys)
    # The same request from the caller: a duplicate of the victim's case, yet its answer
    # names neither number (it used to deny it as "Duplicate of request <theirs>"): a
    # plain pend, for a clinician to sort out beside the member's cases.
    same = post_x12(client, keys["caller"], sample("01-inpatient-elective-knee-auto.x12",
                                                   CALLER, 102))  # fmt: skip
    assert same.status_code == 200
    assert hcr(same.text)[0] == "HCR*A4**0V" and msg(same.text) == []
    assert certification not in same.text and reference not in same.text
    mine = client.get(f"/v1/reviews/{reference_in(same.text)}",
                      headers={"X-API-Key": keys["caller"]})  # fmt: skip
    assert mine.status_code == 200
    assert reference not in mine.text and certification not in mine.text  # nor its trace
    # The victim's own duplicate is named to it.
    again = sample("01-inpatient-elective-knee-auto.x12", VICTIM, 105)
    again = again.replace(b"BHT*0007*13*", b"BHT*0007*13*AGAIN", 1).replace(
        b"TRN*1*", b"TRN*1*9", 1
    )
    duplicate = post_x12(client, keys["victim"], again)
    assert hcr(duplicate.text)[0] == "HCR*A3**0Q"
    assert msg(duplicate.text) == [f"MSG*Duplicate of request {reference}."]


@pytest.mark.parametrize("name", ["32-cancel-knee.x12", "30-extension-of-knee.x12",
                                  "31-revision-changes-facility.x12"])  # fmt: skip
def test_another_partners_certification_cannot_be_cancelled_extended_or_revised(server, name):
    client, keys, _ = server
    certification, reference = victims_knee(client, keys)
    control = 110 + int(name[:2])
    body = sample(name, CALLER, control).replace(b"C26000000015", certification.encode())
    refused = post_x12(client, keys["caller"], body)
    # The same answer as for a number never issued (sample 33): nothing to learn from it.
    assert hcr(refused.text) == ["AAA*N**AA*C"], refused.text
    still = client.get(f"/v1/reviews/{reference}", headers={"X-API-Key": keys["victim"]})
    assert still.json()["status"] != "cancelled"


def test_a_partner_cancels_its_own_certification(server):
    client, keys, _ = server
    certification, reference = victims_knee(client, keys)
    cancel = sample("32-cancel-knee.x12", VICTIM, 106).replace(
        b"C26000000015", certification.encode()
    )
    assert hcr(post_x12(client, keys["victim"], cancel).text)[0] == f"HCR*C*{certification}"
    cancelled = client.get(f"/v1/reviews/{reference}", headers={"X-API-Key": keys["victim"]})
    assert cancelled.json()["status"] == "cancelled"


def edi278(state_dir: Path, *args: str, clock: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **({"EDI278_CLOCK": clock} if clock else {})}
    return subprocess.run([str(EDI278), *args, "--state-dir", str(state_dir)],
                          capture_output=True, text=True, env=env)  # fmt: skip


def works(client: httpx.Client, key: str) -> int:
    return client.get("/v1/reviews", params={"member_id": "W000000000"},
                      headers={"X-API-Key": key}).status_code  # fmt: skip


def test_a_partners_keys_are_listed_without_secrets_and_revoked_by_id(server):
    client, _, state_dir = server
    made = edi278(state_dir, "partner", "add", "--isa-id", "KEYLISTED", "--name", "Key Listed")
    key = made.stdout.strip()
    second = edi278(state_dir, "partner", "add", "--isa-id", "KEYLISTED").stdout.strip()
    listed = edi278(state_dir, "partner", "keys", "Key Listed", "--json")
    assert listed.returncode == 0, listed.stderr
    shown = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(k["role"], k["state"], k["expires"], k["ends"]) for k in shown] == [
        ("partner", "live", None, f"...{key[-4:]}"),
        ("partner", "live", None, f"...{second[-4:]}"),
    ]
    for secret in (key, second, hashlib.sha256(key.encode()).hexdigest(), key[:-4], key[5:-4]):
        assert secret not in listed.stdout + listed.stderr
    by_isa = edi278(state_dir, "partner", "keys", "ZZ:KEYLISTED")
    assert by_isa.returncode == 0 and f"...{key[-4:]}" in by_isa.stdout and key not in by_isa.stdout
    # Revoked by its id, without the secret: that key 401, the other still works.
    assert works(client, key) == works(client, second) == 200
    revoked = edi278(state_dir, "partner", "revoke", "--key-id", str(shown[0]["id"]))
    assert revoked.returncode == 0, revoked.stderr
    assert works(client, key) == 401 and works(client, second) == 200
    again = edi278(state_dir, "partner", "revoke", "--key-id", str(shown[0]["id"]))
    assert again.returncode == 1 and "no live API key" in again.stderr
    listed_again = edi278(state_dir, "partner", "keys", "KEYLISTED", "--json")
    after = [json.loads(line) for line in listed_again.stdout.splitlines()]
    assert [k["state"] for k in after] == ["revoked", "live"] and after[0]["revoked"]
    unknown = edi278(state_dir, "partner", "keys", "NOSUCHPARTNER")
    assert unknown.returncode == 1 and "no partner" in unknown.stderr
    both = edi278(state_dir, "partner", "revoke", second, "--key-id", str(shown[1]["id"]))
    assert both.returncode == 2 and works(client, second) == 200


def test_a_key_expires_by_the_services_clock(server):
    client, _, state_dir = server
    # The server's clock starts at SAMPLES_RECEIVED (EDI278_CLOCK): the first key ran out
    # an hour before it, the second runs out a day after it, a day the wall clock has
    # passed already: only the service's clock decides.
    expired = edi278(state_dir, "partner", "add", "--isa-id", "EXPIRING",
                     "--expires", "2026-11-20T14:00:00Z", clock="2026-11-20T13:00:00Z")  # fmt: skip
    assert expired.returncode == 0, expired.stderr
    lasting = edi278(state_dir, "partner", "add", "--isa-id", "EXPIRING", "--expires", "2026-11-21")
    assert lasting.returncode == 0, lasting.stderr
    assert works(client, expired.stdout.strip()) == 401
    refused = post_x12(client, expired.stdout.strip(), OWN)
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    assert works(client, lasting.stdout.strip()) == 200
    listed = edi278(state_dir, "partner", "keys", "EXPIRING", "--json")
    states = [json.loads(line)["state"] for line in listed.stdout.splitlines()]
    assert states == ["expired", "live"]
    past = edi278(state_dir, "partner", "add", "--isa-id", "EXPIRING", "--expires", "2026-11-01")
    assert past.returncode == 2 and "cannot expire before it is made" in past.stderr
    assert past.stdout == ""
