"""The API under abuse, through a real server process (`edi278 serve`, uvicorn):

- bodies far over --max-body, chunked or with a Content-Length that lies: the key is
  checked before a byte is read (401), reading stops at the limit (413), the server's
  memory does not grow by the body;
- slow uploads: without a key they hold nothing (401 at once); with one they hold only
  their partner's share (--max-per-partner) and only for --read-timeout (408), while
  other partners are answered;
- 20 requests at once under one Idempotency-Key, on SQLite and PostgreSQL: one case,
  every answer the same 200 or a 409 to come back, never a 5xx;
- JSON bombs (deep, wide numbers, long strings): 4xx, never a 500;
- every error {"error", "code"} without the input echoed; no-store and nosniff on every
  answer; /metrics behind --metrics-key;
- a fault inside (the answer cannot be stored): 500 {"code": "internal"}, and the
  server's stderr and log hold no traceback and no member data.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from edi278.decide.tracking import Kind
from tests.conftest import issued, stop_server, wait_until_serving
from tests.test_api import EDI278, REQUESTS, X12, _free_port, _key
from tests.test_logging import member_data_in

pytestmark = pytest.mark.dates

MRI = (REQUESTS / "08-mri-lumbar-auto.x12").read_bytes()
MAX_BODY = 200_000
READ_TIMEOUT = 2.0
PER_PARTNER = 3
METRICS_KEY = "metrics-secret-1"


class Server:
    def __init__(self, base: str, process: subprocess.Popen, stderr: Path, log: Path) -> None:
        self.base, self.process, self.stderr, self.log = base, process, stderr, log

    def rss_kb(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1])

    def said(self) -> str:
        return self.stderr.read_text() + self.log.read_text()


def start(folder: Path, state: list[str], *options: str) -> Server:
    port = _free_port()
    stderr, log = folder / "stderr.txt", folder / "server.log"
    log.touch()
    with stderr.open("w") as sink:
        process = subprocess.Popen(
            [str(EDI278), "serve", "--port", str(port), *options, *state],
            stderr=sink,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "EDI278_LOG_FILE": str(log), "EDI278_LOG_LEVEL": "DEBUG"},
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, base)
    return Server(base, process, stderr, log)


@pytest.fixture(scope="module")
def abused(tmp_path_factory):
    folder = tmp_path_factory.mktemp("abused")
    state = ["--state-dir", str(folder / "var")]
    keys = {"a": _key(state, "SUBMITTER01"), "b": _key(state, "OTHERCLEARING"),
            "reviewer": _key(state, "UMOREVIEW", "reviewer")}  # fmt: skip
    server = start(folder, state, "--max-body", str(MAX_BODY), "--read-timeout",
                   str(READ_TIMEOUT), "--max-inflight", "8", "--max-per-partner",
                   str(PER_PARTNER), "--metrics-key", METRICS_KEY)  # fmt: skip
    yield server, keys
    stop_server(server.process)


# --- raw HTTP: what httpx will not send ----------------------------------------------


class Raw:
    """One connection, written by hand; what the server answers is read beside it."""

    def __init__(self, base: str, head: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)))
        self.answer = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.sock.sendall(head.encode("latin-1"))

    def _read(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self.answer += chunk
        except OSError:
            pass

    def send(self, data: bytes) -> bool:
        """False once the server has closed the connection."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def status(self, timeout: float = 15) -> int:
        """The answer's status, once the whole answer is in."""
        deadline = time.monotonic() + timeout
        while not self._whole() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self._whole(), f"no whole answer: {self.answer[:200]!r}"
        return int(self.answer.split(b" ", 2)[1])

    def _whole(self) -> bool:
        head, found, body = self.answer.partition(b"\r\n\r\n")
        length = [line.split(b":")[1] for line in head.lower().split(b"\r\n")
                  if line.startswith(b"content-length:")]  # fmt: skip
        return bool(found) and len(body) >= int(length[0]) if length else bool(found)

    def body(self) -> dict:
        return json.loads(self.answer.split(b"\r\n\r\n", 1)[1])

    def close(self) -> None:
        self.sock.close()


def head(path: str, key: str | None, *extra: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: test", "Content-Type: application/edi-x12",
             *([f"X-API-Key: {key}"] if key else []), *extra]  # fmt: skip
    return "\r\n".join(lines) + "\r\n\r\n"


def push_chunked(raw: Raw, total: int) -> int:
    """Up to `total` bytes as 64 KB chunks, until the server closes: what was sent."""
    piece = b"ISA*" + b"A" * (65536 - 4)
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    sent = 0
    while sent < total and raw.send(chunk):
        sent += len(piece)
    return sent


# --- 1. size: the key first, then the limit while reading ------------------------------


@pytest.mark.parametrize("who", ["a", None, "wrong"])
def test_a_huge_chunked_body_is_refused_unread_and_memory_stays_flat(abused, who):
    server, keys = abused
    key = keys.get(who, "e278_not-a-key") if who else None
    before = server.rss_kb()
    raw = Raw(server.base, head("/v1/x12/278", key, "Transfer-Encoding: chunked"))
    sent = push_chunked(raw, 64_000_000)
    status = raw.status()
    grown_mb = (server.rss_kb() - before) / 1024
    raw.close()
    assert status == (413 if who == "a" else 401), raw.answer[:300]
    assert raw.body()["code"] == ("too_large" if who == "a" else "unauthorized")
    # what the server took in before it answered and closed: far less than was pushed
    assert sent < 16_000_000, sent
    assert grown_mb < 16, f"the server grew {grown_mb:.0f} MB reading a body it refused"
    assert server.process.poll() is None


def test_a_content_length_that_lies_is_held_to_the_limit_and_the_time(abused):
    server, keys = abused
    over = Raw(server.base, head("/v1/x12/278", keys["a"], f"Content-Length: {MAX_BODY + 1}"))
    assert over.status() == 413 and over.body()["code"] == "too_large"  # refused unread
    over.close()
    # claims less than the limit, sends a little, stops: the read times out
    short = Raw(server.base, head("/v1/x12/278", keys["a"], "Content-Length: 40000"))
    started = time.monotonic()
    short.send(MRI[:100])
    assert short.status(timeout=READ_TIMEOUT + 10) == 408
    assert READ_TIMEOUT - 0.5 <= time.monotonic() - started < READ_TIMEOUT + 5
    assert short.body()["code"] == "read_timeout"
    short.close()


# --- 2. slow uploads: no slot without a key, a partner's share, a read timeout ----------


def _post(server: Server, key: str, data: bytes = MRI, **headers: str) -> httpx.Response:
    sent = {**X12, "X-API-Key": key, **headers}
    return httpx.post(f"{server.base}/v1/x12/278", content=data, headers=sent, timeout=30)


def test_slow_uploads_without_a_key_hold_no_slot_and_a_partner_is_answered(abused):
    server, keys = abused
    strangers = [
        Raw(server.base, head("/v1/x12/278", key, "Content-Length: 100000"))
        for key in [None, "e278_guessed"] * 20  # 40 slow uploads: five times --max-inflight
    ]
    for raw in strangers:
        raw.send(b"ISA*")  # and then nothing
    started = time.monotonic()
    answer = _post(server, keys["a"])
    took = time.monotonic() - started
    assert answer.status_code == 200 and answer.text.startswith("ISA"), answer.text[:200]
    assert took < READ_TIMEOUT, f"a partner waited {took:.1f} s behind strangers"
    assert {raw.status() for raw in strangers} == {401}
    for raw in strangers:
        raw.close()


def test_one_partner_flooding_gets_503_while_another_is_served(abused):
    server, keys = abused
    # B holds its whole share with slow uploads (keyed, so counted)
    slow = [Raw(server.base, head("/v1/x12/278", keys["b"], "Content-Length: 100000"))
            for _ in range(PER_PARTNER)]  # fmt: skip
    for raw in slow:
        raw.send(b"ISA*")
    time.sleep(0.3)
    with ThreadPoolExecutor(6) as pool:
        flood = list(pool.map(lambda _: _post(server, keys["b"], b"ISA*"), range(6)))
    assert {r.status_code for r in flood} == {503}
    assert all(r.headers["Retry-After"] == "1" and r.json()["code"] == "busy" for r in flood)
    started = time.monotonic()
    served = _post(server, keys["a"], MRI.replace(b"*000000208*", b"*000000209*"))
    assert served.status_code == 200 and time.monotonic() - started < READ_TIMEOUT
    # B's slow uploads end at the read timeout, and its share is free again
    assert {raw.status(timeout=READ_TIMEOUT + 10) for raw in slow} == {408}
    for raw in slow:
        raw.close()
    time.sleep(0.2)
    again = _post(server, keys["b"], b"ISA*")
    assert again.status_code not in (503, 408), again.text


# --- 4. JSON bombs -------------------------------------------------------------------


BOMBS = {
    "deep arrays": b"[" * 100_000,
    "deep objects": b'{"a":' * 30_000,
    "deep but parseable": b"[" * 500 + b"]" * 500,
    "deep inside a document": b'{"header": {"purpose": "13"}, "x": '
    + b"[" * 300
    + b"]" * 300
    + b"}",
    "huge integer": b'{"header": {"purpose": ' + b"9" * 100_000 + b"}}",
    "huge float": b'{"header": {"purpose": 1e999999}}',
    "long string": b'{"header": {"purpose": "' + b"A" * 150_000 + b'"}}',
    "many keys": b"{" + b",".join(b'"k%d": 1' % i for i in range(15_000)) + b"}",
}


@pytest.mark.parametrize("name", BOMBS)
def test_json_bombs_are_refused_with_a_4xx(abused, name):
    server, keys = abused
    bomb = BOMBS[name]
    assert len(bomb) <= MAX_BODY
    headers = {"Content-Type": "application/json"}
    form = httpx.post(f"{server.base}/v1/reviews", content=bomb, timeout=30,
                      headers={**headers, "X-API-Key": keys["a"]})  # fmt: skip
    decision = httpx.post(f"{server.base}/v1/reviews/X/decision", content=bomb, timeout=30,
                          headers={**headers, "X-API-Key": keys["reviewer"]})  # fmt: skip
    for answer in (form, decision):
        assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
        assert set(answer.json()) == {"error", "code"}
        assert len(answer.text) < 1000  # the input is not echoed
    assert form.status_code == 422


# --- 5. the shape of every error, headers, /metrics ------------------------------------


def test_every_error_is_error_and_code_and_never_echoes_the_input(abused):
    server, keys = abused
    member = "W123456789"
    key = {"X-API-Key": keys["reviewer"]}
    with httpx.Client(base_url=server.base, timeout=30) as client:
        answers = [
            client.get(f"/nowhere/{member}"),  # 404 of the router
            client.get("/v1/x12/278", headers=key),  # 405
            client.get(
                "/v1/reviews", params={"member_id": member, "start": member}, headers=key
            ),  # 422 of the validation of FastAPI
            client.get("/v1/reviews", params={"last_name": member}, headers=key),  # 400
            client.get(f"/v1/reviews/{member}", headers=key),  # a mistyped number
            client.post(
                "/v1/reviews",
                content=b'{"header": {"purpose": "13", "member": "W123456789"}}',
                headers={**key, "Content-Type": "application/json"},
            ),
            client.post("/v1/reviews/X/decision", content=b'{"action": "W123456789"}', headers=key),
            client.post("/v1/x12/278", content=b"x", headers={"X-API-Key": member}),  # 401
            client.post(
                f"/v1/reviews/{member}/decision",
                headers=key,
                content=json.dumps(
                    {"action": "A1", "quantity": 1, "note": "n", "reviewer": "nurse"}
                ).encode(),
            ),  # no such case
            client.post(
                f"/v1/reviews/{member}/decision",
                headers=key,
                content=json.dumps(
                    {"action": "A3", "reason": member, "note": "n", "reviewer": "nurse"}
                ).encode(),
            ),
        ]
    statuses = [a.status_code for a in answers]
    assert statuses == [404, 405, 422, 400, 400, 422, 422, 401, 422, 422], statuses
    unissued = issued(Kind.REFERENCE, 999)  # well formed, but no such case
    decision = {"action": "A1", "quantity": 1, "note": "n", "reviewer": "nurse"}
    answers.append(httpx.post(f"{server.base}/v1/reviews/{unissued}/decision", headers=key,
                              content=json.dumps(decision).encode()))  # fmt: skip
    assert answers[-1].status_code == 409 and unissued not in answers[-1].text
    answers.append(_post(server, keys["a"], MRI, **{"Idempotency-Key": "K" * 201}))
    assert answers[-1].status_code == 400, answers[-1].text  # not a 500 from the column
    for answer in answers:
        assert set(answer.json()) == {"error", "code"}, answer.text
        assert member not in answer.text, answer.text
        assert answer.json()["code"] not in ("", "error"), answer.text


def test_every_answer_is_no_store_and_nosniff(abused):
    server, keys = abused
    with httpx.Client(base_url=server.base, timeout=30) as client:
        answers = [
            client.get(
                "/v1/reviews", params={"member_id": "W123456789"}, headers={"X-API-Key": keys["a"]}
            ),
            _post(server, keys["a"], MRI.replace(b"*000000208*", b"*000000210*")),
            client.get("/v1/reviews"),
            client.get("/healthz"),
            client.get("/nowhere"),
        ]
    assert [a.status_code for a in answers] == [200, 200, 401, 200, 404]
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_metrics_answer_only_with_the_metrics_key(abused):
    server, keys = abused
    url = f"{server.base}/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(url, headers={"X-API-Key": keys["reviewer"]}).status_code == 401
    shown = httpx.get(url, headers={"Authorization": f"Bearer {METRICS_KEY}"})
    assert shown.status_code == 200 and "edi278_http_requests" in shown.text


def test_the_abused_servers_stderr_and_log_hold_no_traceback_or_member_data(abused):
    server, _ = abused
    said = server.said()
    assert '"http.request"' in said
    assert "Traceback" not in said and member_data_in(said) == []


# --- 3. one Idempotency-Key, 20 at once; a fault inside ---------------------------------


def _load_reference(state: list[str]) -> None:
    subprocess.run([str(EDI278), "reference", "load", str(REQUESTS.parent / "reference"),
                    *state], check=True, capture_output=True)  # fmt: skip


def test_twenty_at_once_under_one_idempotency_key_are_answered_once(database_url, tmp_path):
    state = ["--state-dir", str(tmp_path / "var"), "--db", database_url]
    _load_reference(state)
    key = _key(state, "SUBMITTER01")
    # two processes: on SQLite one alone answers one request at a time, and the race is
    # between processes
    server = start(tmp_path, state, "--workers", "2", "--max-per-partner", "24")
    try:
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(
                lambda _: _post(server, key, MRI, **{"Idempotency-Key": "same-one"}), range(20)
            ))  # fmt: skip
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {200, 409}, statuses
        done = [a for a in answers if a.status_code == 200]
        assert done and len({a.text for a in done}) == 1
        for busy in (a for a in answers if a.status_code == 409):
            assert busy.json()["code"] == "idempotency_in_progress"
            assert busy.headers["Retry-After"] == "1"
        later = _post(server, key, MRI, **{"Idempotency-Key": "same-one"})
        assert later.status_code == 200 and later.text == done[0].text
        assert later.headers["Idempotent-Replayed"] == "true"
    finally:
        stop_server(server.process)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM cases")).scalar() == 1
    engine.dispose()
    said = server.said()
    assert "Traceback" not in said and member_data_in(said) == []


def test_a_fault_inside_is_500_internal_with_nothing_on_stderr(tmp_path):
    state = ["--state-dir", str(tmp_path / "var")]
    _load_reference(state)
    key = _key(state, "SUBMITTER01")
    # the answer (a 278 naming the member) cannot be stored: the failing statement's
    # parameters hold it
    with sqlite3.connect(tmp_path / "var" / "edi278.db") as database:
        for event in ("INSERT", "UPDATE"):  # an answer stored, whichever way
            database.execute(
                f"CREATE TRIGGER refuse_{event} BEFORE {event} ON idempotency_keys "
                "WHEN NEW.status <> 0 BEGIN SELECT RAISE(ABORT, 'injected'); END"
            )
    server = start(tmp_path, state)
    try:
        answer = _post(server, key, MRI, **{"Idempotency-Key": "k1"})
        assert answer.status_code == 500, answer.text
        assert answer.json() == {"error": "internal error; see the server's log",
                                 "code": "internal"}  # fmt: skip
        assert httpx.get(f"{server.base}/healthz").status_code == 200  # still up
    finally:
        stop_server(server.process)
    said = server.said()
    assert '"http.failed"' in said and "IntegrityError" in said
    assert "Traceback" not in said and "NM1" not in said
    assert member_data_in(said) == [], member_data_in(said)
