"""The SFTP channel against a real SFTP server: asyncssh's, run as a subprocess (`serve`
below) chrooted to a temporary folder, which can be told to die mid-transfer."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest
import yaml

ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "samples"
EDI278 = ROOT / ".venv" / "bin" / "edi278"
REQUESTS = [
    "01-inpatient-elective-knee-auto.x12",
    "02-inpatient-elective-review.x12",
    "08-mri-lumbar-auto.x12",
    "18-out-of-network-no-benefit.x12",
    "23-member-not-found.x12",
]  # one case each
REJECTED = "referral-wrong-segment-count.x12"  # samples/inbox: a 999 only, no case
DIED = 70  # the exit status of a server told to die


# --- the server (a subprocess) -----------------------------------------------------------


def serve() -> None:
    """An SFTP server on 127.0.0.1 over ROOT, printing "listening PORT" once ready. With
    --die read|write|remove it exits abruptly (like a crash or a dropped link) after
    --after bytes served or written, or at the first remove."""
    parser = argparse.ArgumentParser()
    for option in ("--root", "--host-key", "--client-key"):
        parser.add_argument(option, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--die", choices=("read", "write", "remove"))
    parser.add_argument("--after", type=int, default=0)
    parser.add_argument("--no-posix-rename", action="store_true")
    asyncio.run(_listen(parser.parse_args()))


async def _listen(args: argparse.Namespace) -> None:
    moved = {"read": 0, "write": 0}

    def die_past(kind: str, size: int) -> int:
        """How many of `size` bytes may still move before dying; dies when none may."""
        room = args.after - moved[kind] if args.die == kind else size
        if room <= 0:
            os._exit(DIED)
        moved[kind] += min(room, size)
        return min(room, size)

    class Server(asyncssh.SFTPServer):
        def __init__(self, chan: asyncssh.SSHServerChannel) -> None:
            super().__init__(chan, chroot=args.root.encode())

        def read(self, file_obj, offset, size):  # type: ignore[no-untyped-def]
            data = super().read(file_obj, offset, size)
            die_past("read", len(data) or 1)  # an EOF read counts as a byte
            return data

        def write(self, file_obj, offset, data):  # type: ignore[no-untyped-def]
            allowed = die_past("write", len(data))
            written = super().write(file_obj, offset, data[:allowed])
            if allowed < len(data):
                file_obj.flush()  # a partial temporary file stays behind
                os._exit(DIED)
            return written

        def remove(self, path):  # type: ignore[no-untyped-def]
            if args.die == "remove":
                os._exit(DIED)
            return super().remove(path)

        def posix_rename(self, oldpath, newpath):  # type: ignore[no-untyped-def]
            if args.no_posix_rename:
                raise asyncssh.SFTPOpUnsupported("posix-rename is turned off")
            return super().posix_rename(oldpath, newpath)

    server = await asyncssh.listen(
        "127.0.0.1",
        args.port,
        server_host_keys=[args.host_key],
        authorized_client_keys=args.client_key,
        sftp_factory=Server,
        allow_scp=False,
    )
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Future()


class SftpServer:
    """The server subprocess: started, waited for, killed, restarted on the same port."""

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "remote"
        for folder in ("inbox", "outbox", "archive"):
            (self.root / folder).mkdir(parents=True)
        keys = tmp / "keys"
        keys.mkdir()
        self.host_key = _key_pair(keys / "host")
        self.client_key = _key_pair(keys / "client")
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    def start(self, *options: str) -> None:
        command = [
            sys.executable, "-c", "from tests.test_sftp import serve; serve()",
            "--root", str(self.root), "--port", str(self.port),
            "--host-key", str(self.host_key), "--client-key", f"{self.client_key}.pub",
            *options,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = _read_line(self.process, deadline=time.monotonic() + 20)
        assert line.startswith("listening "), line
        self.port = int(line.split()[1])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
        if self.process:
            self.process.wait(timeout=10)
            assert self.process.stdout is not None
            self.process.stdout.close()

    def died(self) -> bool:
        assert self.process is not None
        return self.process.wait(timeout=10) == DIED

    def inbox(self) -> list[str]:
        return sorted(p.name for p in (self.root / "inbox").iterdir())

    def outbox(self) -> list[str]:
        return sorted(p.name for p in (self.root / "outbox").iterdir())


def _key_pair(path: Path) -> Path:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(path)
    key.write_public_key(f"{path}.pub")
    return path


def _read_line(process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            return process.stdout.readline()
        if process.poll() is not None:
            pytest.fail(f"the SFTP server exited with {process.returncode}")
    pytest.fail("the SFTP server did not start in time")


# --- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SftpServer]:
    server = SftpServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def reference_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state folder with the demo reference data, copied for each test (loading it takes
    about a second)."""
    state = tmp_path_factory.mktemp("reference") / "var"
    loaded = subprocess.run(
        [str(EDI278), "reference", "load", "samples/reference", "--state-dir", str(state)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert loaded.returncode == 0, loaded.stderr
    return state


@pytest.fixture
def state(tmp_path: Path, reference_db: Path) -> Path:
    return Path(shutil.copytree(reference_db, tmp_path / "var"))


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("EDI278_")}


def write_config(tmp: Path, server: SftpServer, **changes: object) -> Path:
    mailbox = {
        "name": "riverside",
        "host": "127.0.0.1",
        "port": server.port or 22,  # the config tests start no server
        "username": "partner",
        "private_key": "keys/client",
        "known_host_key": "keys/host.pub",
        "remote_inbox": "/inbox",
        "remote_outbox": "/outbox",
        "poll_seconds": 0.2,
        "senders": ["ZZ:SUBMITTER01"],
        **changes,
    }
    config = {
        "work_dir": "work",
        "retry": {"first_seconds": 0.1, "max_seconds": 0.4},
        "mailboxes": [mailbox],
    }
    path = tmp / "sftp.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def drop(server: SftpServer, *names: str) -> None:
    for name in names:
        source = SAMPLES / ("inbox" if name == REJECTED else "requests") / name
        shutil.copy(source, server.root / "inbox" / name)


def run_once(config: Path, state: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-c", "from edi278.cli_channels import sftp; sftp()",
        "--config", str(config), "--once", "--json", "--state-dir", str(state), *options,
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=60)


def handled(result: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return {line["file"]: line for line in lines}


def cases(state: Path) -> int:
    with sqlite3.connect(state / "edi278.db") as connection:
        return connection.execute("SELECT count(*) FROM cases").fetchone()[0]


def answered(names: list[str]) -> list[str]:
    """Each request answered by a 999 and a 278, under its own name."""
    return sorted(f"{Path(name).stem}.{kind}" for name in names for kind in ("999", "278"))


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- the tests ---------------------------------------------------------------------------


def as_sender(name: str, sender: str, control: int) -> str:
    """A sample request sent under another ISA06 and GS02, under an ISA13 of its own."""
    text = (SAMPLES / "requests" / name).read_text()
    text = text.replace("*SUBMITTER01    *", f"*{sender.ljust(15)}*", 1)
    text = text.replace("GS*HI*SUBMITTER01*", f"GS*HI*{sender}*", 1)
    isa13 = text.split("*")[13]
    return text.replace(isa13, f"{control:09d}")


def test_a_mailbox_takes_only_its_partners_senders(tmp_path, server, state):
    server.start()
    own = (SAMPLES / "requests" / REQUESTS[0]).read_text()
    foreign = as_sender(REQUESTS[1], "OTHERCLEARING", 701)
    inbox = server.root / "inbox"
    (inbox / "a-theirs.x12").write_text(foreign)
    (inbox / "b-own-then-theirs.x12").write_text(own + foreign)
    (inbox / "c-junk-then-theirs.x12").write_text("\t\x01junk" + foreign)
    (inbox / "d-own.x12").write_text(own)
    result = run_once(write_config(tmp_path, server), state)

    assert result.returncode == 1, result.stderr  # a file refused, as watch --once says
    refused = ["a-theirs.x12", "b-own-then-theirs.x12", "c-junk-then-theirs.x12"]
    assert server.outbox() == sorted([*(f"{Path(n).stem}.reason" for n in refused),
                                      *answered(["d-own.x12"])])  # fmt: skip
    assert server.inbox() == []  # each retired: answered, or refused with its reason
    by_file = handled(result)
    for name in refused:
        assert by_file[name]["status"] == "refused"
        assert by_file[name]["uploaded"] == [f"{Path(name).stem}.reason"]
        reason = (server.root / "outbox" / f"{Path(name).stem}.reason").read_text()
        assert "ZZ:OTHERCLEARING is not ZZ:SUBMITTER01" in reason
        assert "nothing in the file was processed" in reason
    assert by_file["d-own.x12"]["status"] == "accepted"
    assert cases(state) == 1  # the refused files made none, not even the own part of b
    with sqlite3.connect(state / "edi278.db") as connection:
        senders = connection.execute("SELECT DISTINCT sender FROM interchanges").fetchall()
    assert senders == [("ZZ:SUBMITTER01",)]


@pytest.mark.parametrize("archive", [False, True], ids=["delete", "archive-no-posix-rename"])
def test_a_round_answers_every_file_and_retires_it(tmp_path, server, state, archive):
    server.start(*(["--no-posix-rename"] if archive else []))
    drop(server, *REQUESTS[:3], REJECTED)
    (server.root / "inbox" / "04-coming.x12.part").write_text("ISA*")  # still being written
    changes = {"remote_archive": "/archive"} if archive else {}
    result = run_once(write_config(tmp_path, server, **changes), state)

    assert result.returncode == 0, result.stderr
    assert server.outbox() == sorted([*answered(REQUESTS[:3]), "referral-wrong-segment-count.999"])
    assert server.inbox() == ["04-coming.x12.part"]
    archived = sorted(p.name for p in (server.root / "archive").iterdir())
    assert archived == (sorted([*REQUESTS[:3], REJECTED]) if archive else [])
    by_file = handled(result)
    assert sorted(by_file) == sorted([*REQUESTS[:3], REJECTED])
    assert by_file[REQUESTS[0]]["status"] == "accepted"
    assert by_file[REQUESTS[0]]["uploaded"] == answered(REQUESTS[:1])[::-1]  # 999, then 278
    assert by_file[REJECTED] | {"decisions": None} == {
        "partner": "riverside",
        "file": REJECTED,
        "status": "rejected",
        "uploaded": ["referral-wrong-segment-count.999"],
        "resumed": False,
        "decisions": None,
    }
    assert "ST*278" in (server.root / "outbox" / "01-inpatient-elective-knee-auto.278").read_text()
    assert cases(state) == 3
    with sqlite3.connect(state / "edi278.db") as connection:
        recorded = connection.execute("SELECT channel, source FROM interchanges").fetchall()
    where = f"sftp://partner@127.0.0.1:{server.port}/inbox/"
    assert sorted(recorded) == [
        ("sftp", where + name) for name in sorted([*REQUESTS[:3], REJECTED])
    ]
    staging = tmp_path / "work" / "riverside"
    assert [p for p in staging.rglob("*") if p.is_file() and p.name != "ledger.json"] == []

    again = run_once(write_config(tmp_path, server, **changes), state)  # nothing left to do
    assert (again.returncode, again.stdout) == (0, "")


def test_a_host_key_other_than_the_pinned_one_is_refused(tmp_path, server, state):
    server.start()
    drop(server, *REQUESTS[:2])
    before = {name: (server.root / "inbox" / name).read_bytes() for name in server.inbox()}
    _key_pair(tmp_path / "keys" / "impostor")
    config = write_config(tmp_path, server, known_host_key="keys/impostor.pub")

    result = run_once(config, state)

    assert result.returncode == 1
    assert "host key not verifiable" in result.stderr
    assert "keys/impostor.pub" in result.stderr
    assert result.stdout == ""
    assert {name: (server.root / "inbox" / name).read_bytes() for name in server.inbox()} == before
    assert server.outbox() == []
    assert not (tmp_path / "work" / "riverside" / "incoming").exists()
    assert cases(state) == 0


KNEE = Path(REQUESTS[0]).stem  # file 01


@pytest.mark.parametrize(
    ("die", "after", "leftover", "lose_ledger", "first_again"),
    [
        # during a later download, with file 01 done
        ("read", 1600, "work/riverside/incoming/*.partial", False, None),
        # mid 278 of file 01 (its 999 is 296 bytes): the 278 alone is uploaded next round
        ("write", 296 + 400, "remote/outbox/.01-*.278.tmp", False, (True, [f"{KNEE}.278"])),
        # the same with the ledger lost: file 01 is answered again, the store replays the same
        # bytes, and the 999 found in the outbox with those bytes is not uploaded again
        ("write", 296 + 400, "remote/outbox/.01-*.278.tmp", True, (False, [f"{KNEE}.278"])),
        # file 01 answered, not yet removed: only removed next round
        ("remove", 0, f"remote/inbox/{REQUESTS[0]}", False, (True, [])),
    ],
    ids=["mid-download", "mid-upload", "mid-upload-ledger-lost", "before-remove"],
)
def test_a_dropped_server_loses_nothing_and_answers_once(
    tmp_path, server, state, die, after, leftover, lose_ledger, first_again
):
    server.start("--die", die, "--after", str(after))
    drop(server, *REQUESTS)
    config = write_config(tmp_path, server)

    failed = run_once(config, state)
    assert failed.returncode == 1, failed.stdout
    assert "connection to 127.0.0.1" in failed.stderr
    assert server.died()
    for name in REQUESTS:  # each input is still there, or all its answers are
        assert name in server.inbox() or set(answered([name])) <= set(server.outbox())
    assert list(tmp_path.glob(leftover)), f"the server died elsewhere: {failed.stdout}"
    sent = {p.name: p.read_bytes() for p in (server.root / "outbox").glob("[!.]*")}
    if lose_ledger:
        (tmp_path / "work" / "riverside" / "ledger.json").unlink()

    server.start()  # the same port, behaving
    result = run_once(config, state)

    assert result.returncode == 0, result.stderr
    assert server.inbox() == []
    assert server.outbox() == answered(REQUESTS)  # no NAME-2, no .NAME.tmp
    assert {name: (server.root / "outbox" / name).read_bytes() for name in sent} == sent
    assert cases(state) == len(REQUESTS)
    first = handled(result).get(REQUESTS[0])
    if first_again is None:
        assert first is None  # done by the first round
    else:
        assert (first["resumed"], first["uploaded"]) == first_again
    lines = (failed.stdout + result.stdout).splitlines()
    uploads = sum(len(json.loads(line)["uploaded"]) for line in lines)
    assert uploads == len(answered(REQUESTS))


def test_a_file_still_settling_is_left_for_a_later_round(tmp_path, server, state):
    server.start()
    drop(server, *REQUESTS[:2])
    an_hour_ago = time.time() - 3600
    os.utime(server.root / "inbox" / REQUESTS[0], (an_hour_ago, an_hour_ago))

    result = run_once(write_config(tmp_path, server, min_age_seconds=600), state)

    assert result.returncode == 0, result.stderr
    assert list(handled(result)) == [REQUESTS[0]]
    assert server.inbox() == [REQUESTS[1]]
    assert server.outbox() == answered(REQUESTS[:1])


def test_a_missing_remote_folder_is_named_and_the_input_kept(tmp_path, server, state):
    server.start()
    drop(server, REQUESTS[0])

    result = run_once(write_config(tmp_path, server, remote_outbox="/nowhere"), state)

    assert result.returncode == 1
    assert handled(result)[REQUESTS[0]]["status"] == "failed"
    assert "remote_outbox /nowhere" in handled(result)[REQUESTS[0]]["error"]
    assert server.inbox() == [REQUESTS[0]]
    missing_inbox = run_once(write_config(tmp_path, server, remote_inbox="/gone"), state)
    assert missing_inbox.returncode == 1
    assert "refused: SFTPNoSuchFile: remote_inbox /gone" in missing_inbox.stderr


def test_polls_until_the_server_comes_and_stops_on_sigterm(tmp_path, server, state):
    with socket.socket() as probe:  # a free port, with nobody listening yet
        probe.bind(("127.0.0.1", 0))
        server.port = probe.getsockname()[1]
    drop(server, *REQUESTS[:2])
    command = [
        sys.executable, "-c", "from edi278.cli_channels import sftp; sftp()",
        "--config", str(write_config(tmp_path, server)), "--state-dir", str(state),
    ]  # fmt: skip
    poller = subprocess.Popen(
        command, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert poller.stderr is not None
        _read_until(poller.stderr, "retrying in 0.1 s", time.monotonic() + 20)
        server.start()
        wait_for(lambda: server.inbox() == [], 20, "the inbox to be answered")
        wait_for(lambda: server.outbox() == answered(REQUESTS[:2]), 20, "the answers")
        poller.send_signal(signal.SIGTERM)
        stdout, _ = poller.communicate(timeout=20)
    finally:
        if poller.poll() is None:
            poller.kill()
            poller.communicate()
    assert poller.returncode == 0
    assert stdout.splitlines() == [
        f"riverside: {name}: accepted -> uploaded {', '.join(answered([name])[::-1])}"
        for name in REQUESTS[:2]
    ]


def _read_until(stream, text: str, deadline: float) -> None:  # type: ignore[no-untyped-def]
    """Lines of `stream` read until one holds `text` (the log lines around it skipped)."""
    while time.monotonic() < deadline:
        if not select.select([stream], [], [], 0.1)[0]:
            continue
        line = stream.readline()
        if not line:
            pytest.fail(f"the output ended before {text!r}")
        if text in line:
            return
    pytest.fail(f"no {text!r} in time")


@dataclass
class Bad:
    change: dict[str, object]
    message: str


@pytest.mark.parametrize(
    "bad",
    [
        Bad({"port": "22"}, "mailboxes[0] (riverside).port: an integer is required"),
        Bad({"port": 70000}, "mailboxes[0] (riverside).port: 70000 is out of range"),
        Bad({"remote_inbox": None}, "mailboxes[0] (riverside).remote_inbox: a non-empty"),
        Bad({"remote_inbx": "/in"}, "mailboxes[0]: unknown field 'remote_inbx'"),
        Bad({"name": "../up"}, "mailboxes[0].name: '../up' must be letters"),
        Bad({"known_host_key": "keys/none.pub"}, "(riverside).known_host_key: cannot read"),
        Bad({"private_key": "keys/host.pub"}, "(riverside).private_key: cannot use"),
        Bad({"senders": None}, "(riverside).senders: a list of the partner's ISA05:ISA06"),
        Bad({"senders": []}, "(riverside).senders: a list of the partner's ISA05:ISA06"),
        Bad({"senders": ["SUBMITTER01"]}, "(riverside).senders: 'SUBMITTER01' is not ISA05"),
    ],
    ids=lambda bad: bad.message.split(": ")[0],
)
def test_a_config_error_names_the_field(tmp_path, server, bad):
    from edi278.channels.sftp import ConfigError, load_config  # here: the server is lighter

    path = write_config(tmp_path, server, **bad.change)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert bad.message in str(raised.value)


def test_the_sample_config_is_valid(tmp_path):
    from edi278.channels.sftp import load_config

    keys = tmp_path / "var" / "keys"
    keys.mkdir(parents=True)
    _key_pair(keys / "id_ed25519")
    for partner in ("riverside-ortho", "general-hospital"):
        shutil.copy(_key_pair(keys / partner).with_suffix(".pub"), keys / f"{partner}-host.pub")
    (tmp_path / "samples").mkdir()
    shutil.copy(SAMPLES / "sftp.yaml", tmp_path / "samples" / "sftp.yaml")
    settings = load_config(tmp_path / "samples" / "sftp.yaml")
    assert [box.name for box in settings.mailboxes] == ["riverside-ortho", "general-hospital"]
    assert settings.work_dir == tmp_path / "samples" / ".." / "var" / "sftp"
    assert [box.remote_archive for box in settings.mailboxes] == ["/edi/to-acme/done", None]
    assert [sorted(box.senders) for box in settings.mailboxes] == [
        ["ZZ:RIVERSIDEORTHO"],
        ["30:123456789", "ZZ:GENHOSP"],
    ]


@pytest.mark.parametrize(
    ("name", "taken"),
    [("in.x12", True), ("../escape.x12", False), ("/etc/passwd", False), ("a/b.x12", False),
     ("a\\b.x12", False), ("nul\0.x12", False), ("..", False), (".hidden", False), ("", False)],
)  # fmt: skip
def test_a_listed_name_that_could_leave_its_folder_is_never_taken(name, taken):
    from edi278.channels.sftp import safe_name

    assert safe_name(name) is taken


def test_queued_files_are_answered_by_a_worker_and_uploaded_by_a_later_round(
    tmp_path, server, postgres
):
    """--queue on PostgreSQL: a round holds and queues each file and retires it; a worker
    answers it into the mailbox's answers folder; the next round uploads the answers."""
    url = postgres.create()
    for command in (["db", "upgrade"], ["reference", "load", "samples/reference"]):
        subprocess.run([str(EDI278), *command, "--db", url], cwd=ROOT, check=True,
                       capture_output=True, env=_env(), timeout=60)  # fmt: skip
    server.start()
    drop(server, *REQUESTS[:3])
    config = write_config(tmp_path, server)
    queue = ["--queue", "--db", url, "--hold", str(tmp_path / "held")]
    first = run_once(config, tmp_path / "var", *queue)
    assert first.returncode == 0, first.stderr
    assert {name: line["status"] for name, line in handled(first).items()} == dict.fromkeys(
        REQUESTS[:3], "queued"
    )
    assert (server.inbox(), server.outbox()) == ([], [])  # retired; not answered yet
    answers = tmp_path / "work" / "riverside" / "answers"
    command = [str(EDI278), "worker", "--db", url, "--outbox", str(answers)]
    with open(tmp_path / "worker.err", "w") as log:
        worker = subprocess.Popen(command, stderr=log, env=_env())
    try:
        wait_for(lambda: len(list(answers.glob("[!.]*"))) == 6, 60, "the worker's answers")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    second = run_once(config, tmp_path / "var", *queue)
    assert second.returncode == 0, second.stderr
    assert server.outbox() == answered(REQUESTS[:3])
    assert list(answers.iterdir()) == []  # uploaded, then removed here
    third = run_once(config, tmp_path / "var", *queue)  # nothing left to do
    assert (third.returncode, third.stdout) == (0, "")
    assert server.outbox() == answered(REQUESTS[:3])
