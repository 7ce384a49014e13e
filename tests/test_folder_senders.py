"""A partner's inbox folder (`watch --sender`) and a partner's files (`process --sender`)
take only that partner's interchanges: a file with any other sender's, wherever it lies
in the file, is not processed at all and gets a .reason. Real processes, real folders."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from tests.conftest import group, interchange, transaction
from tests.test_watch import EDI278, REQUEST_BODY, names, request, watch_once


def theirs(number: int, sender: str = "OTHERCLEARING") -> bytes:
    """A valid request of another sender's."""
    body = [s.replace("*REQ1*", f"*REQ{number}*").replace("*PE1*", f"*PE{number}*")
            for s in REQUEST_BODY]  # fmt: skip
    text = interchange([group(number, [transaction(1, body)])], control=number, sender=sender)
    return text.encode()


def recorded(state: Path) -> tuple[int, int]:
    with sqlite3.connect(state / "edi278.db") as connection:
        interchanges = connection.execute("SELECT count(*) FROM interchanges").fetchone()[0]
        return interchanges, connection.execute("SELECT count(*) FROM cases").fetchone()[0]


FOREIGN = {
    "theirs.x12": theirs(11),
    "own-then-theirs.x12": request(12) + theirs(13),
    "junk-then-theirs.x12": b"\xef\xbb\xbf\t\x01" + theirs(14),
    "own-in-lower-case.x12": request(15).replace(b"SUBMITTER01", b"submitter01", 1),
}


def test_a_partners_inbox_takes_only_its_senders(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in FOREIGN.items():
        (inbox / name).write_bytes(data)
    (inbox / "own.x12").write_bytes(b"\t" + request(16) + request(17))
    status, printed = watch_once(tmp_path, "--sender", "ZZ:SUBMITTER01")
    assert status == 1  # files went into the error folder
    assert names(tmp_path / "error") == sorted([*FOREIGN, *(f"{n}.reason" for n in FOREIGN)])
    for name in FOREIGN:
        reason = (tmp_path / "error" / f"{name}.reason").read_text()
        assert "is not ZZ:SUBMITTER01" in reason and "nothing in the file was processed" in reason
    assert names(tmp_path / "archive") == ["own.x12"]
    assert names(tmp_path / "outbox") == ["own.278", "own.999"]
    by_file = {Path(line["input"]).name: line["status"] for line in printed}
    assert by_file == {**dict.fromkeys(FOREIGN, "refused"), "own.x12": "accepted"}
    assert recorded(tmp_path / "var") == (2, 2)  # own.x12's two interchanges, nothing else


def test_without_sender_an_inbox_takes_any_sender(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "theirs.x12").write_bytes(theirs(21))
    status, printed = watch_once(tmp_path)
    assert status == 0 and [line["status"] for line in printed] == ["accepted"]


def test_process_with_sender_refuses_a_file_of_another_sender(tmp_path):
    sent = tmp_path / "sent"
    sent.mkdir()
    for name, data in FOREIGN.items():
        (sent / name).write_bytes(data)
    (sent / "own.x12").write_bytes(request(31))
    state, outbox = tmp_path / "var", tmp_path / "outbox"
    done = subprocess.run(
        [str(EDI278), "process", str(sent), "--outbox", str(outbox), "--state-dir", str(state),
         "--sender", "ZZ:SUBMITTER01", "--sender", "ZZ:SUBMITTER02"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert names(outbox) == sorted(["own.278", "own.999", *(f"{n}.reason" for n in FOREIGN)])
    for name in FOREIGN:
        assert f"{name}: refused: interchange sender" in done.stderr
    assert "4 file(s) unanswered" in done.stdout and "5 file(s)" in done.stdout
    assert recorded(state) == (1, 1)
    as_json = subprocess.run(
        [str(EDI278), "process", str(sent / "theirs.x12"), "--outbox", str(outbox), "--json",
         "--state-dir", str(state), "--sender", "ZZ:SUBMITTER01"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    (line,) = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert as_json.returncode == 1 and line["status"] == "refused"
    assert line["input"] == str(sent / "theirs.x12") and "OTHERCLEARING" in line["error"]
    assert line["reason"] == str(outbox / "theirs-2.x12.reason")  # the first one kept
    assert not [name for name in names(outbox) if name.startswith(".")]
    bad = subprocess.run([str(EDI278), "process", str(sent), "--outbox", str(outbox),
                          "--state-dir", str(state), "--sender", "SUBMITTER01"],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "give ISA05:ISA06" in bad.stderr
