"""Who may speak for whom, through a real server process (SQLite store): a partner's key
files only its own interchanges, wherever another's lies in the body, and what it is
told never names another partner's cases."""

from __future__ import annotations

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
