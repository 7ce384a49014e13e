"""Deliveries (SQLite and PostgreSQL): a reviewer's decision on a pended case goes back
the way its request came, once: into the partner's outbox folder, into the SFTP
mailbox's staging folder, or POSTed, signed, to the partner's HTTPS callback (a real
server on 127.0.0.1 with a certificate of a CA made here). Failures are retried at the
times the backoff says (the clock is the tests'), then failed, listed and retried; a
sender that dies between sending and marking sends again under the same name or id."""

from __future__ import annotations

import io
import ipaddress
import json
import os
import shutil
import sqlite3
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import Engine, select, update

from edi278.channels.deliveries import (
    DELIVERY,
    SENDERS,
    SIGNATURE,
    Sending,
    attempt,
    post_callback,
    run_due,
    sign,
    verify,
    write_file,
)
from edi278.decide.policy import default_policy
from edi278.intake import Fingerprint, Intake
from edi278.pipeline import examine
from edi278.review import Review, decide_case
from edi278.store.database import open_database
from edi278.store.deliveries import (
    DELIVERED,
    FAILED,
    HELD,
    LEASE,
    PENDING,
    DeliveryError,
    Mailbox,
    Routes,
    check_callback_url,
    claim,
    configure_partner,
    listing,
    record,
    retry,
    retry_delay,
    route_for,
    shown_in_inquiry,
)
from edi278.store.reference import load_reference
from edi278.store.tables import cases, deliveries
from tests.conftest import EDI278, SAMPLES_RECEIVED
from tests.test_review import add_reviewers
from tests.test_samples import GUIDE
from tests.test_sftp import SftpServer, write_config

pytestmark = pytest.mark.dates

SAMPLES = Path(__file__).parents[1] / "samples"
ELECTIVE = "02-inpatient-elective-review.x12"  # pended for medical review
MRI_BRAIN = "09-mri-brain-review.x12"  # pended, documents asked for
RECEIVED = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
DECIDED = RECEIVED + timedelta(hours=20)
# Sample 02's member, as the request names her: none of it may be listed or logged.
PHI = ("FARRELL", "NORA", "W541253651", "19810917", "1981-09-17")


def receive(engine: Engine, channel: str, sample: str = ELECTIVE) -> str:
    """The sample answered as a channel answers it (the intake, told its channel); the
    reference of the case it made."""
    data = (SAMPLES / "requests" / sample).read_bytes()
    (report,) = examine(io.BytesIO(data), GUIDE)
    start, end = report.span
    Intake(engine, channel=channel).answer(
        report, Fingerprint.of_bytes(data[start:end]), f"{channel}:{sample}", RECEIVED
    )
    with engine.connect() as connection:
        return connection.execute(
            select(cases.c.administrative_reference).order_by(cases.c.id.desc()).limit(1)
        ).scalar_one()


def certify(engine: Engine, reference: str, routes: Routes | None = None):
    review = Review("A1", "", "criteria met on review", "rn.jones")
    return decide_case(engine, reference, review, default_policy(), DECIDED, routes)


def row(engine: Engine, delivery_id: int):
    with engine.connect() as connection:
        return connection.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()


@pytest.fixture
def store(stocked: Engine) -> Engine:
    add_reviewers(stocked)
    return stocked


# --- a real HTTPS receiver -------------------------------------------------------------------


def certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for 127.0.0.1 it signs: (CA, certificate, key)."""
    now = datetime.now(UTC)  # wall clock on purpose: TLS checks the certificate by it
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edi278 test CA")])
    signing = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
    host = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(signing, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    issuer = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(host), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(issuer, False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return paths


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTPS server on 127.0.0.1 that keeps every POST and answers `status`."""

    ca: Path
    port: int = 0
    status: int = 200
    posts: list[Post] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/edi278/278?token=s3cr3t-query"

    def kept(self) -> dict[str, Post]:
        """What a receiver that dedupes by X-EDI278-Delivery keeps: one per delivery."""
        return {post.headers[DELIVERY]: post for post in self.posts}


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    ca, certificate, key = certificates(tmp_path)
    found = Receiver(ca)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            found.posts.append(Post(self.path, dict(self.headers.items()), body))
            self.send_response(found.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def callback_partner(engine: Engine, url: str) -> str:
    _, secret = configure_partner(engine, "ZZ", "SUBMITTER01", RECEIVED, callback_url=url)
    assert secret is not None and secret.startswith("e278whsec_")
    return secret


# --- file and folder requests -------------------------------------------------------------


def test_a_decision_on_a_file_request_is_written_once_into_the_partners_outbox(store, tmp_path):
    reference = receive(store, "file")
    configure_partner(store, "ZZ", "SUBMITTER01", RECEIVED, outbox=tmp_path / "partner")
    done = certify(store, reference, Routes(outbox=tmp_path / "fallback"))
    assert done.delivery is not None
    assert (done.delivery.status, done.delivery.channel) == (PENDING, "file")
    assert done.delivery.destination == str(tmp_path / "partner")

    (sent,) = run_due(store, DECIDED)
    assert (sent.status, sent.attempts) == (DELIVERED, 1)
    assert sent.where == str(tmp_path / "partner" / f"{reference}.278")
    assert [p.name for p in (tmp_path / "partner").iterdir()] == [f"{reference}.278"]
    assert (tmp_path / "partner" / f"{reference}.278").read_text() == done.response
    assert not (tmp_path / "fallback").exists()  # the partner's own outbox comes first
    assert run_due(store, DECIDED + timedelta(days=1)) == []  # delivered: never again
    assert [p.name for p in (tmp_path / "partner").iterdir()] == [f"{reference}.278"]
    delivered = row(store, done.delivery.id)
    assert (delivered.status, delivered.attempts, delivered.delivered_at) == (
        DELIVERED, 1, DECIDED)  # fmt: skip


def test_without_a_partner_outbox_the_commands_outbox_is_the_fallback(store, tmp_path):
    reference = receive(store, "folder")
    done = certify(store, reference, Routes(outbox=tmp_path / "out"))
    assert done.delivery is not None and done.delivery.destination == str(tmp_path / "out")
    assert [a.status for a in run_due(store, DECIDED)] == [DELIVERED]
    assert [p.name for p in (tmp_path / "out").iterdir()] == [f"{reference}.278"]


def test_with_nowhere_to_go_it_is_held_until_a_place_is_given(store, tmp_path):
    reference = receive(store, "file")
    done = certify(store, reference)  # as the API decides: no --outbox
    assert done.delivery is not None and done.delivery.status == HELD
    assert "has no outbox" in done.delivery.why and "--outbox" in done.delivery.why
    assert run_due(store, DECIDED) == []
    with store.begin() as connection, pytest.raises(DeliveryError, match="stays held"):
        retry(connection, done.delivery.id, DECIDED)
    configure_partner(store, "ZZ", "SUBMITTER01", DECIDED, outbox=tmp_path / "partner")
    with store.begin() as connection:
        again = retry(connection, done.delivery.id, DECIDED)
    assert (again.status, again.destination) == (PENDING, str(tmp_path / "partner"))
    assert [a.status for a in run_due(store, DECIDED)] == [DELIVERED]
    assert (tmp_path / "partner" / f"{reference}.278").read_text() == done.response


def test_a_delivery_is_recorded_with_its_decision_and_only_once(store, tmp_path):
    reference = receive(store, "file")
    done = certify(store, reference, Routes(outbox=tmp_path))
    with store.connect() as connection:
        found = connection.execute(select(deliveries)).all()
    assert len(found) == 1 and found[0].content == done.response
    assert found[0].name == f"{reference}.278" and found[0].last_error is None
    with store.begin() as connection:  # the same decision again: the same delivery
        case = connection.execute(
            select(cases).where(cases.c.administrative_reference == reference)
        ).one()
        same = record(connection, decision_id=found[0].decision_id, case_id=case.id,
                      reference=reference, content="other",
                      route=route_for(connection, case.interchange_id, case.sender, Routes()),
                      now=DECIDED)  # fmt: skip
        assert same.id == found[0].id
        assert len(connection.execute(select(deliveries)).all()) == 1


def test_one_claim_wins_and_the_other_finds_nothing(store, tmp_path):
    done = certify(store, receive(store, "file"), Routes(outbox=tmp_path))
    assert done.delivery is not None
    with store.begin() as connection:
        first = claim(connection, done.delivery.id, DECIDED)
    with store.begin() as connection:
        second = claim(connection, done.delivery.id, DECIDED)
    assert first is not None and first.attempts == 1 and second is None
    assert row(store, done.delivery.id).next_attempt_at == DECIDED + LEASE


class Crash(BaseException):
    """The sender's process dying: nothing after it runs."""


def crashing(send):
    def sender(claimed, sending, now):
        send(claimed, sending, now)
        raise Crash

    return sender


def test_a_crash_between_writing_and_marking_writes_the_same_file_again(store, tmp_path):
    reference = receive(store, "file")
    done = certify(store, reference, Routes(outbox=tmp_path / "out"))
    assert done.delivery is not None
    with pytest.raises(Crash):
        run_due(store, DECIDED, senders={**SENDERS, "file": crashing(write_file)})
    left = row(store, done.delivery.id)
    assert (left.status, left.attempts, left.next_attempt_at) == (PENDING, 1, DECIDED + LEASE)
    assert run_due(store, DECIDED + LEASE - timedelta(seconds=1)) == []  # its lease runs
    (again,) = run_due(store, DECIDED + LEASE)
    assert (again.status, again.attempts) == (DELIVERED, 2)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [f"{reference}.278"]  # one file
    assert (tmp_path / "out" / f"{reference}.278").read_text() == done.response


# --- SFTP requests ------------------------------------------------------------------------------


def test_a_decision_on_an_sftp_request_is_staged_once_for_its_mailbox(store, tmp_path):
    reference = receive(store, "sftp")
    staging = tmp_path / "work" / "riverside" / "answers"
    mailboxes = (Mailbox("other", frozenset({"ZZ:OTHER"}), tmp_path / "work" / "other"),
                 Mailbox("riverside", frozenset({"ZZ:SUBMITTER01"}), staging))  # fmt: skip
    done = certify(store, reference, Routes(outbox=tmp_path / "out", mailboxes=mailboxes))
    assert done.delivery is not None
    assert (done.delivery.channel, done.delivery.destination) == ("sftp", str(staging))
    assert [a.status for a in run_due(store, DECIDED)] == [DELIVERED]
    assert run_due(store, DECIDED + timedelta(hours=1)) == []
    assert [p.name for p in staging.iterdir()] == [f"{reference}.278"]
    assert not (tmp_path / "out").exists()  # not a file request: not the fallback


def test_an_sftp_request_without_its_mailbox_known_is_held(store, tmp_path):
    done = certify(store, receive(store, "sftp"), Routes(outbox=tmp_path))
    assert done.delivery is not None and done.delivery.status == HELD
    assert "--sftp-config" in done.delivery.why


# --- HTTP requests: a signed callback ------------------------------------------------------------


def test_a_decision_on_an_http_request_is_posted_once_signed(store, receiver):
    reference = receive(store, "http")
    secret = callback_partner(store, receiver.url)
    done = certify(store, reference)
    assert done.delivery is not None and done.delivery.channel == "http"
    sending = Sending(ca_bundle=receiver.ca)

    (sent,) = run_due(store, DECIDED, sending)
    assert sent.status == DELIVERED, sent.error
    assert sent.where == f"https://127.0.0.1:{receiver.port}/edi278/278"  # no query shown
    assert run_due(store, DECIDED + timedelta(hours=2), sending) == []
    (post,) = receiver.posts
    assert post.path == "/edi278/278?token=s3cr3t-query"
    assert post.body == done.response.encode()
    assert post.headers["Content-Type"] == "application/edi-x12"
    assert post.headers[DELIVERY] == str(done.delivery.id)
    stamp = int(DECIDED.timestamp())
    assert post.headers[SIGNATURE] == sign(secret, stamp, post.body)
    assert post.headers[SIGNATURE].startswith(f"t={stamp},v1=")
    assert verify(secret, post.headers[SIGNATURE], post.body, stamp + 10)
    assert not verify(secret, post.headers[SIGNATURE], post.body + b" ", stamp)
    assert not verify("e278whsec_another", post.headers[SIGNATURE], post.body, stamp)
    assert not verify(secret, post.headers[SIGNATURE], post.body, stamp + 3600)  # a replay


def test_a_failing_callback_is_retried_with_backoff_then_failed_and_retried(store, receiver):
    reference = receive(store, "http")
    callback_partner(store, receiver.url)
    done = certify(store, reference)
    assert done.delivery is not None
    receiver.status = 500
    sending = Sending(ca_bundle=receiver.ca, max_attempts=4)
    at, tried = DECIDED, []
    for number in range(1, 5):
        assert run_due(store, at - timedelta(seconds=1), sending) == []  # not due yet
        (failed,) = run_due(store, at, sending)
        tried.append(at)
        assert failed.attempts == number
        assert failed.error == "CallbackRefused: HTTP 500 Internal Server Error"
        if number < 4:
            assert failed.status == PENDING
            assert failed.next_attempt_at == at + retry_delay(number)
            at = at + retry_delay(number)
    assert failed.status == FAILED and failed.next_attempt_at is None
    assert [tried[i + 1] - tried[i] for i in range(3)] == [
        timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]  # fmt: skip
    assert run_due(store, at + timedelta(days=1), sending) == []  # failed: left alone
    assert len(receiver.posts) == 4 and set(receiver.kept()) == {str(done.delivery.id)}
    with store.connect() as connection:
        (listed,) = listing(connection, FAILED)
    assert (listed["reference"], listed["status"], listed["attempts"]) == (reference, FAILED, 4)
    assert listed["last_error"] == "CallbackRefused: HTTP 500 Internal Server Error"
    assert "s3cr3t" not in str(listed)  # the URL's query is not listed

    receiver.status = 204
    later = at + timedelta(days=1)
    with store.begin() as connection:
        assert retry(connection, done.delivery.id, later).status == PENDING
    (sent,) = run_due(store, later, sending)
    assert (sent.status, sent.attempts) == (DELIVERED, 1)
    assert len(receiver.kept()) == 1 and len(receiver.posts) == 5


def test_a_callback_server_that_is_down_is_tried_again_later(store, receiver):
    reference = receive(store, "http")
    callback_partner(store, receiver.url.replace(str(receiver.port), "1"))  # nobody there
    done = certify(store, reference)
    assert done.delivery is not None
    (failed,) = run_due(store, DECIDED, Sending(ca_bundle=receiver.ca, timeout=5))
    assert failed.status == PENDING and failed.error is not None
    assert failed.error.startswith("ConnectionRefusedError:")
    assert failed.next_attempt_at == DECIDED + timedelta(minutes=1)


def test_a_callback_whose_certificate_is_not_trusted_is_not_sent(store, receiver):
    reference = receive(store, "http")
    callback_partner(store, receiver.url)
    done = certify(store, reference)
    assert done.delivery is not None
    (failed,) = run_due(store, DECIDED)  # the system's CAs: not the one made here
    assert failed.status == PENDING and failed.error is not None
    assert failed.error.startswith("SSLCertVerificationError:")
    assert receiver.posts == []


def test_a_crash_after_posting_posts_again_under_the_same_delivery_id(store, receiver):
    reference = receive(store, "http")
    callback_partner(store, receiver.url)
    done = certify(store, reference)
    assert done.delivery is not None
    sending = Sending(ca_bundle=receiver.ca)
    with pytest.raises(Crash):
        run_due(store, DECIDED, sending, {**SENDERS, "http": crashing(post_callback)})
    assert row(store, done.delivery.id).status == PENDING
    (again,) = run_due(store, DECIDED + LEASE, sending)
    assert again.status == DELIVERED
    assert len(receiver.posts) == 2  # sent twice, but as one delivery:
    assert list(receiver.kept()) == [str(done.delivery.id)]
    assert receiver.posts[0].body == receiver.posts[1].body


def test_an_http_partner_without_a_callback_is_held_for_its_inquiry(store):
    first = receive(store, "http")
    done = certify(store, first)
    assert done.delivery is not None and done.delivery.status == HELD
    assert "no callback URL" in done.delivery.why and "X215 inquiry" in done.delivery.why
    assert run_due(store, DECIDED) == []
    with store.begin() as connection:
        case_id = connection.execute(
            select(cases.c.id).where(cases.c.administrative_reference == first)
        ).scalar_one()
        assert shown_in_inquiry(connection, [], DECIDED) == 0
        assert shown_in_inquiry(connection, [case_id + 1000], DECIDED) == 0
        assert shown_in_inquiry(connection, [case_id], DECIDED + timedelta(hours=1)) == 1
        assert shown_in_inquiry(connection, [case_id], DECIDED + timedelta(hours=2)) == 0
    shown = row(store, done.delivery.id)
    assert (shown.status, shown.delivered_at) == (DELIVERED, DECIDED + timedelta(hours=1))


def test_an_inquiry_does_not_mark_a_delivery_being_sent(store, receiver):
    callback_partner(store, receiver.url)
    done = certify(store, receive(store, "http"))
    assert done.delivery is not None and done.delivery.status == PENDING
    with store.begin() as connection:
        case_id = connection.execute(
            select(deliveries.c.case_id).where(deliveries.c.id == done.delivery.id)
        ).scalar_one()
        assert shown_in_inquiry(connection, [case_id], DECIDED) == 0
    assert row(store, done.delivery.id).status == PENDING


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:8080/hook", "must be https://"),
        ("ftp://partner.example/", "must be https://"),
        ("https:///no-host", "needs a host"),
        ("https://user:pass@partner.example/hook", "may not hold credentials"),
    ],
)
def test_a_callback_url_must_be_https_to_a_host(url, message):
    with pytest.raises(DeliveryError, match=message):
        check_callback_url(url)


def test_a_callback_url_is_checked_when_set_and_a_secret_made_once(store):
    with pytest.raises(DeliveryError, match="must be https"):
        configure_partner(store, "ZZ", "SUBMITTER01", RECEIVED, callback_url="http://x/y")
    settings, secret = configure_partner(store, "ZZ", "SUBMITTER01", RECEIVED,
                                         callback_url="https://pm.example/278")  # fmt: skip
    assert settings.has_secret and secret is not None
    _, unchanged = configure_partner(store, "ZZ", "SUBMITTER01", RECEIVED,
                                     callback_url="https://pm.example/other")  # fmt: skip
    assert unchanged is None  # the secret stays until a new one is asked for
    _, renewed = configure_partner(store, "ZZ", "SUBMITTER01", RECEIVED, new_secret=True)
    assert renewed is not None and renewed != secret


def test_a_delivery_not_due_or_not_pending_is_not_attempted(store, tmp_path):
    done = certify(store, receive(store, "file"), Routes(outbox=tmp_path))
    assert done.delivery is not None
    assert attempt(store, done.delivery.id, DECIDED - timedelta(seconds=1)) is None
    with store.begin() as connection:
        connection.execute(
            update(deliveries).where(deliveries.c.id == done.delivery.id).values(status=FAILED)
        )
    assert attempt(store, done.delivery.id, DECIDED) is None
    with store.begin() as connection, pytest.raises(DeliveryError, match="no delivery"):
        retry(connection, done.delivery.id + 1, DECIDED)


def test_retry_delays_double_from_a_minute_to_an_hour():
    assert [retry_delay(n) for n in (1, 2, 3, 6, 7, 8, 20)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 32, 60, 60, 60)]  # fmt: skip


# --- the commands ------------------------------------------------------------------------------


def edi278(*args: str, state: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed command on the store in `state`, on the tests' clock unless `env`
    moves it (EDI278_CLOCK), with `env`'s settings."""
    return subprocess.run([*EDI278, *args, "--state-dir", str(state)], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)  # fmt: skip


def sqlite_state(tmp_path: Path, *channels: tuple[str, str]) -> Path:
    """A state folder with the reference data, the reviewers, and the samples received
    over the channels given: (channel, sample) each."""
    state = tmp_path / "var"
    engine = open_database(f"sqlite:///{state / 'edi278.db'}")
    load_reference(engine, SAMPLES / "reference")
    add_reviewers(engine)
    for channel, sample in channels:
        receive(engine, channel, sample)
    engine.dispose()
    return state


def reference_of(state: Path, sample: str) -> str:
    submitter = {ELECTIVE: "S02REQ20261120", MRI_BRAIN: "S09REQ20261120"}[sample]
    with sqlite3.connect(state / "edi278.db") as connection:
        (found,) = connection.execute(
            "SELECT administrative_reference FROM cases WHERE submitter_reference = ?",
            (submitter,),
        ).fetchone()
    return found


def decide(state: Path, reference: str, outbox: Path, *options: str, **env: str):
    return edi278("review", "decide", reference, "--action", "A1", "--note", "criteria met",
                  "--reviewer", "rn.jones", "--outbox", str(outbox), *options, state=state,
                  **env)  # fmt: skip


def no_phi(text: str) -> None:
    for value in PHI:
        assert value not in text, value


def test_review_decide_delivers_into_the_partners_outbox_once_and_lists_it_without_phi(
    tmp_path,
):
    state = sqlite_state(tmp_path, ("file", ELECTIVE))
    reference = reference_of(state, ELECTIVE)
    partner = tmp_path / "partner"
    set_ = edi278("partner", "set", "--isa-id", "SUBMITTER01", "--outbox", str(partner),
                  state=state)  # fmt: skip
    assert set_.returncode == 0, set_.stderr
    assert f"ZZ:SUBMITTER01: outbox {partner}, callback none" in set_.stdout
    logged = tmp_path / "log.jsonl"
    logs = {"EDI278_LOG_FILE": str(logged), "EDI278_LOG_LEVEL": "DEBUG"}

    decided = decide(state, reference, tmp_path / "out", **logs)
    assert decided.returncode == 0, decided.stderr
    assert f"-> {partner / (reference + '.278')}" in decided.stdout
    assert [p.name for p in partner.iterdir()] == [f"{reference}.278"]
    assert not (tmp_path / "out").exists()  # the partner's outbox, not the fallback
    again = edi278("deliveries", "run", "--once", state=state, **logs)
    assert (again.returncode, again.stdout) == (0, "")  # delivered: nothing to send twice
    assert [p.name for p in partner.iterdir()] == [f"{reference}.278"]

    listed = edi278("deliveries", "list", state=state)
    as_json = edi278("deliveries", "list", "--json", state=state)
    assert listed.returncode == as_json.returncode == 0, listed.stderr + as_json.stderr
    assert reference in listed.stdout and "delivered" in listed.stdout
    (item,) = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {key: item[key] for key in ("reference", "channel", "status", "attempts",
            "sender", "name")} == {"reference": reference, "channel": "file",
            "status": "delivered", "attempts": 1, "sender": "ZZ:SUBMITTER01",
            "name": f"{reference}.278"}  # fmt: skip
    assert item["delivered_at"].endswith("-05:00")  # the plan's time
    assert "content" not in item
    for text in (listed.stdout, as_json.stdout, decided.stdout, decided.stderr,
                 logged.read_text()):  # fmt: skip
        no_phi(text)
    assert "delivery.delivered" in logged.read_text()


def test_a_delivery_that_cannot_be_written_is_retried_failed_and_retried_by_command(tmp_path):
    state = sqlite_state(tmp_path, ("folder", ELECTIVE))
    reference = reference_of(state, ELECTIVE)
    (tmp_path / "blocked").write_text("a file where a folder should be")
    blocked = tmp_path / "blocked" / "out"
    assert edi278("partner", "set", "--isa-id", "SUBMITTER01", "--outbox", str(blocked),
                  state=state).returncode == 0  # fmt: skip

    decided = decide(state, reference, tmp_path / "out")
    assert decided.returncode == 0, decided.stderr  # the decision stands
    assert "was not sent (NotADirectoryError" in decided.stderr
    assert "stays pending: `edi278 deliveries run` sends it" in decided.stderr
    soon = {"EDI278_CLOCK": (SAMPLES_RECEIVED + timedelta(seconds=30)).isoformat()}
    early = edi278("deliveries", "run", "--once", state=state, **soon)
    assert (early.returncode, early.stdout) == (0, "")  # not due before a minute
    later = {"EDI278_CLOCK": (SAMPLES_RECEIVED + timedelta(minutes=2)).isoformat()}
    failed = edi278("deliveries", "run", "--once", "--max-attempts", "2", state=state, **later)
    assert failed.returncode == 1, failed.stderr
    assert f": {reference} folder -> {blocked}: failed (attempt 2: NotADirectoryError" in (
        failed.stdout)  # fmt: skip
    listed = edi278("deliveries", "list", "--status", "failed", "--json", state=state)
    (item,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (item["reference"], item["attempts"]) == (reference, 2)
    assert item["last_error"].startswith("NotADirectoryError: [Errno 20] Not a directory")
    assert edi278("deliveries", "list", "--status", "pending", state=state).stdout.startswith(
        "no delivery pending")  # fmt: skip

    good = tmp_path / "good"
    assert edi278("partner", "set", "--isa-id", "SUBMITTER01", "--outbox", str(good),
                  state=state).returncode == 0  # fmt: skip
    retried = edi278("deliveries", "retry", str(item["id"]), state=state, **later)
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout == f"{item['id']}: pending, to {good}\n"
    sent = edi278("deliveries", "run", "--once", state=state, **later)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip().endswith(f"-> {good / (reference + '.278')}: delivered")
    assert [p.name for p in good.iterdir()] == [f"{reference}.278"]
    twice = edi278("deliveries", "retry", str(item["id"]), state=state)
    assert twice.returncode == 1 and "is delivered: only a failed or held one" in twice.stderr


def test_review_decide_posts_to_the_partners_callback_at_once(tmp_path, receiver):
    state = sqlite_state(tmp_path, ("http", ELECTIVE), ("http", MRI_BRAIN))
    made = edi278("partner", "set", "--isa-id", "SUBMITTER01", "--callback-url", receiver.url,
                  state=state)  # fmt: skip
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("e278whsec_") and "shown once" in made.stderr
    assert "s3cr3t-query" not in made.stderr
    trust = ("--callback-ca", str(receiver.ca))

    decided = decide(state, reference_of(state, ELECTIVE), tmp_path / "out", *trust)
    assert decided.returncode == 0, decided.stderr
    assert f"-> https://127.0.0.1:{receiver.port}/edi278/278\n" in decided.stdout
    (post,) = receiver.posts
    stamp = int(post.headers[SIGNATURE].split(",")[0].removeprefix("t="))
    assert verify(secret, post.headers[SIGNATURE], post.body, stamp)
    assert b"HCR*A1*" in post.body

    receiver.status = 500
    refused = decide(state, reference_of(state, MRI_BRAIN), tmp_path / "out", *trust)
    assert refused.returncode == 0, refused.stderr
    assert "was not sent (CallbackRefused: HTTP 500 Internal Server Error)" in refused.stderr
    assert len(receiver.posts) == 2 and len(receiver.kept()) == 2
    assert not (tmp_path / "out").exists()


def test_a_decision_on_an_sftp_request_is_uploaded_by_the_next_round_once(tmp_path):
    sftp = SftpServer(tmp_path)
    try:
        sftp.start()
        config = write_config(tmp_path, sftp)
        state = sqlite_state(tmp_path)
        shutil.copy(SAMPLES / "requests" / ELECTIVE, sftp.root / "inbox" / ELECTIVE)
        answered = edi278("sftp", "--config", str(config), "--once", state=state)
        assert answered.returncode == 0, answered.stderr
        stem = Path(ELECTIVE).stem
        assert sftp.outbox() == [f"{stem}.278", f"{stem}.999"]
        reference = reference_of(state, ELECTIVE)

        decided = decide(state, reference, tmp_path / "out", "--sftp-config", str(config))
        assert decided.returncode == 0, decided.stderr
        staging = tmp_path / "work" / "riverside" / "answers"
        assert [p.name for p in staging.iterdir()] == [f"{reference}.278"]
        for _ in range(2):  # the next round uploads it; the one after finds nothing to do
            polled = edi278("sftp", "--config", str(config), "--once", state=state)
            assert polled.returncode == 0, polled.stderr
            assert sftp.outbox() == sorted([f"{stem}.278", f"{stem}.999", f"{reference}.278"])
        assert not list(staging.iterdir())
        uploaded = (sftp.root / "outbox" / f"{reference}.278").read_text()
        assert "HCR*A1*" in uploaded
    finally:
        sftp.stop()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--callback-url", "http://pm.example/278"], "must be https://"),
        (["--outbox", "a", "--no-outbox"], "give --outbox or --no-outbox, not both"),
        ([], "say what to set"),
    ],
)
def test_partner_set_refuses_what_cannot_be_set(tmp_path, options, message):
    refused = edi278("partner", "set", "--isa-id", "PMVENDOR", *options, state=tmp_path / "var")
    assert refused.returncode == 2 and message in refused.stderr, refused.stderr
