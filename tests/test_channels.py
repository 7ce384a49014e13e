"""One interchange, four channels (a file, a watched folder, the HTTP API, an SFTP
mailbox), one store: the same bytes make one set of cases and get the same answer on
each; the same ISA13 with other bytes is refused with TA1 025 on each."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import httpx

from tests.conftest import stop_server, wait_until_serving
from tests.test_api import EDI278, _free_port, _key
from tests.test_sftp import SftpServer, run_once, write_config

ROOT = Path(__file__).parents[1]
SOURCE = ROOT / "samples" / "requests" / "08-mri-lumbar-auto.x12"


def test_the_same_bytes_are_one_case_on_every_channel_and_a_reused_isa13_is_refused(tmp_path):
    state = ["--state-dir", str(tmp_path / "var")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(EDI278), *args, *state], capture_output=True, text=True)

    assert run("reference", "load", str(ROOT / "samples" / "reference")).returncode == 0
    key = _key(state, "SUBMITTER01")
    original = SOURCE.read_bytes().replace(b"000000208", b"000000808")
    other = original.replace(b"S08REQ", b"S88REQ")  # other bytes, the same ISA13
    (tmp_path / "first.x12").write_bytes(original)
    (tmp_path / "second.x12").write_bytes(other)
    mailbox = SftpServer(tmp_path)
    mailbox.start()
    config = write_config(tmp_path, mailbox)
    port = _free_port()
    server = subprocess.Popen([str(EDI278), "serve", "--port", str(port), *state],
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(server, base)
        # 1. a file
        assert run("process", str(tmp_path / "first.x12"), "--outbox", str(tmp_path / "a"),
                   "-q").returncode == 0  # fmt: skip
        answer = (tmp_path / "a" / "first.278").read_text()
        # 2. a watched folder
        inbox = tmp_path / "box" / "inbox"
        inbox.mkdir(parents=True)
        (inbox / "again.x12").write_bytes(original)
        watched = run("watch", "--inbox", str(inbox), "--outbox", str(tmp_path / "b"),
                      "--once", "--settle", "0")  # fmt: skip
        assert watched.returncode == 0, watched.stderr
        assert (tmp_path / "b" / "again.278").read_text() == answer
        # 3. the API
        headers = {"Content-Type": "application/edi-x12", "X-API-Key": key}
        posted = httpx.post(f"{base}/v1/x12/278", content=original, headers=headers, timeout=30)
        assert posted.status_code == 200 and posted.text == answer
        # 4. an SFTP mailbox
        (mailbox.root / "inbox" / "mailed.x12").write_bytes(original)
        mailed = run_once(config, tmp_path / "var")
        assert mailed.returncode == 0, mailed.stderr
        assert (mailbox.root / "outbox" / "mailed.278").read_text() == answer
        with sqlite3.connect(tmp_path / "var" / "edi278.db") as db:
            assert db.execute("SELECT count(*) FROM cases").fetchone() == (1,)
            assert db.execute("SELECT count(*) FROM interchanges").fetchone() == (1,)
        # the same ISA13 with other bytes: TA1 025 on every channel, nothing processed
        assert run("process", str(tmp_path / "second.x12"), "--outbox", str(tmp_path / "a"),
                   "-q").returncode == 0  # fmt: skip
        assert "*R*025" in (tmp_path / "a" / "second.ta1").read_text()
        assert not (tmp_path / "a" / "second.999").exists()
        (inbox / "other.x12").write_bytes(other)
        assert run("watch", "--inbox", str(inbox), "--outbox", str(tmp_path / "b"), "--once",
                   "--settle", "0").returncode == 0  # fmt: skip
        assert "*R*025" in (tmp_path / "b" / "other.ta1").read_text()
        refused = httpx.post(f"{base}/v1/x12/278", content=other, headers=headers, timeout=30)
        assert refused.status_code == 400 and "*R*025" in refused.text
        (mailbox.root / "inbox" / "mailed-other.x12").write_bytes(other)
        assert run_once(config, tmp_path / "var").returncode == 0
        assert "*R*025" in (mailbox.root / "outbox" / "mailed-other.ta1").read_text()
        assert not (mailbox.root / "outbox" / "mailed-other.999").exists()
        with sqlite3.connect(tmp_path / "var" / "edi278.db") as db:
            assert db.execute("SELECT count(*) FROM cases").fetchone() == (1,)
    finally:
        stop_server(server)
        mailbox.stop()
