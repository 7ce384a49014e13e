"""The folder channel as a real process on real folders, with SQLite: files are taken once
settled, answered exactly once, then archived or put aside with a reason, and what a
crash left in the processing folder is answered without answering anything twice."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from edi278.batch import stateless
from edi278.channels.folder import Folders, Settler, Wakeups, Watcher, run
from edi278.x12.control import MemoryControlNumbers
from tests.conftest import NOW, REQUEST_BODY, group, interchange, transaction

ROOT = Path(__file__).parents[1]
EDI278 = ROOT / ".venv" / "bin" / "edi278"
WATCH = [str(EDI278), "watch"]  # the real command, in a process of its own
MADE_A_FOLDER = "edi278 watch: made the folder "
TEMPORARY = [".hidden.x12", "upload.x12.part", "b.tmp", "c.partial", "d.filepart", "E.PART"]


def request(number: int) -> bytes:
    """A valid request of its own: ISA13, GS06, BHT03 and TRN02 all from `number`."""
    body = [s.replace("*REQ1*", f"*REQ{number}*") for s in REQUEST_BODY]
    body = [s.replace("*PE1*", f"*PE{number}*") for s in body]
    return interchange([group(number, [transaction(1, body)])], control=number).encode()


def miscounted(number: int) -> bytes:
    """A request whose SE01 is one too many: answered with a 999 that rejects it."""
    sets = [transaction(1, count_adjust=1)]
    return interchange([group(number, sets)], control=number).encode()


def garbage(number: int) -> bytes:
    return f"\x00not X12 at all, number {number}\n".encode() * 3


def load_reference(state: Path) -> None:
    subprocess.run(
        [str(EDI278), "reference", "load", str(ROOT / "samples" / "reference"),
         "--state-dir", str(state)],
        check=True, capture_output=True,
    )  # fmt: skip


def watch_command(tmp_path: Path, *options: str) -> list[str]:
    return [*WATCH, "--inbox", str(tmp_path / "inbox"), "--outbox", str(tmp_path / "outbox"),
            "--state-dir", str(tmp_path / "var"), "--json", *options]  # fmt: skip


def watch_once(tmp_path: Path, *options: str) -> tuple[int, list[dict]]:
    done = subprocess.run(
        watch_command(tmp_path, "--once", "--settle", "0.2", *options),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    said = [line for line in done.stderr.splitlines() if not line.startswith(MADE_A_FOLDER)]
    assert not said, done.stderr  # nothing but the folders it made (test_watch_folders.py)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


SETTLE = 1.0  # seconds: --settle of the running watcher
CHUNKS = 8  # a slow writer's pieces, SETTLE / 4 apart: it writes for 2 * SETTLE


def write_slowly(path: Path, data: bytes, written: list[float]) -> None:
    """In CHUNKS pieces, SETTLE / 4 apart; the time of each write goes into `written`."""
    size = len(data) // CHUNKS + 1
    with open(path, "wb") as handle:
        for start in range(0, len(data), size):
            if start:
                time.sleep(SETTLE / 4)
            handle.write(data[start : start + size])
            handle.flush()
            written.append(time.monotonic())


def drop(inbox: Path) -> dict[str, set[str]]:
    """48 files of every kind, fast, as a sender would; each name with the answers owed."""
    owed: dict[str, set[str]] = {}
    for number in range(3, 35):  # valid requests, two written under a temporary name first
        name = f"request-{number}.x12"
        target = inbox / (f"{name}.part" if number % 16 == 0 else name)
        target.write_bytes(request(number))
        if target.name != name:
            target.rename(inbox / name)
        owed[name] = {"999", "278"}
    for number in range(500, 506):
        (inbox / f"miscounted-{number}.x12").write_bytes(miscounted(number))
        owed[f"miscounted-{number}.x12"] = {"999"}
    for number in range(4):
        (inbox / f"garbage-{number}.dat").write_bytes(garbage(number))
        owed[f"garbage-{number}.dat"] = {"ta1"}
    for number in range(3, 9):  # byte for byte again, under other names
        (inbox / f"again-{number}.x12").write_bytes(request(number))
        owed[f"again-{number}.x12"] = {"999", "278"}
    return owed


def answers_owed(owed: dict[str, set[str]]) -> list[str]:
    return sorted(f"{Path(name).stem}.{kind}" for name, kinds in owed.items() for kind in kinds)


def test_a_running_watcher_answers_every_file_dropped_exactly_once(tmp_path):
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    load_reference(tmp_path / "var")
    # --rescan 60: files dropped after the first is answered are found through file events.
    watcher = subprocess.Popen(
        watch_command(tmp_path, "--settle", str(SETTLE), "--rescan", "60"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        (inbox / "first.x12").write_bytes(request(1))
        wait_until(lambda: names(tmp_path / "archive") == ["first.x12"], "the first is archived")
        written: list[float] = []
        slow = threading.Thread(target=write_slowly, args=(inbox / "slow.x12", request(2), written))
        slow.start()
        owed = {"first.x12": {"999", "278"}, "slow.x12": {"999", "278"}, **drop(inbox)}
        slow.join()
        # What the test rests on, as it happened: the file grew for longer than the settle
        # time, never pausing as long (else taking it unfinished would be right).
        gaps = [later - earlier for earlier, later in itertools.pairwise(written)]
        assert len(written) == CHUNKS and written[-1] - written[0] > SETTLE, written
        assert max(gaps) < SETTLE, f"the writer stalled {max(gaps):.2f} s: a loaded machine"
        assert len(owed) == 50
        wait_until(
            lambda: (
                len(names(tmp_path / "archive")) + len(names(tmp_path / "error")) >= 50
                and not names(inbox)
                and not names(tmp_path / "processing")
            ),
            "every file is archived or put aside",
        )
        watcher.send_signal(signal.SIGTERM)
        stdout, stderr = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 0, stderr
    said = [line for line in stderr.splitlines() if not line.startswith(MADE_A_FOLDER)]
    assert said == []  # nothing but the folders it made
    # Every input archived once (all were answered, garbage with a TA1); answers exactly once.
    assert names(tmp_path / "archive") == sorted(owed)
    assert names(tmp_path / "error") == []
    assert names(outbox) == answers_owed(owed)
    printed = [json.loads(line) for line in stdout.splitlines()]
    assert sorted(Path(line["input"]).name for line in printed) == sorted(owed)
    assert all("archived_to" in line for line in printed)
    # The slow file was taken whole; resubmissions got the very answers sent before.
    assert (tmp_path / "archive" / "slow.x12").read_bytes() == request(2)
    assert "IK5*A~" in (outbox / "slow.999").read_text()
    assert "AK9*A*1*1*1~" in (outbox / "slow.999").read_text()
    for number in range(3, 9):
        for kind in ("999", "278"):
            again = (outbox / f"again-{number}.{kind}").read_bytes()
            assert again == (outbox / f"request-{number}.{kind}").read_bytes()
    assert "IK5*R*4~" in (outbox / "miscounted-500.999").read_text()
    assert "TA1*000000000*" in (outbox / "garbage-0.ta1").read_text()


def test_a_file_over_the_size_limit_is_put_aside_unread_with_its_reason(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "big.x12").write_bytes(request(1) * 4)
    (inbox / "small.x12").write_bytes(request(2))
    assert len(request(2)) < 1000 < 4 * len(request(1))
    status, printed = watch_once(tmp_path, "--max-size", "1000")
    assert status == 1  # something went into the error folder
    assert names(tmp_path / "error") == ["big.x12", "big.x12.reason"]
    reason = (tmp_path / "error" / "big.x12.reason").read_text()
    assert f"{4 * len(request(1))} bytes is over the limit of 1000 bytes" in reason
    assert names(tmp_path / "archive") == ["small.x12"]
    assert names(tmp_path / "outbox") == ["small.278", "small.999"]
    assert [line["status"] for line in printed] == ["too large", "accepted"]
    assert printed[0]["error_to"] == str(tmp_path / "error" / "big.x12")


def test_a_symbolic_link_in_the_inbox_is_put_aside_as_itself_never_followed(tmp_path):
    """A link could lead the watcher to read (and then move) a file outside the inbox."""
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    inbox.mkdir()
    outside.mkdir()
    secret = outside / "someone-elses.x12"
    secret.write_bytes(request(1))
    (inbox / "link.x12").symlink_to(secret)
    (inbox / "dangling.x12").symlink_to(outside / "missing.x12")
    (inbox / "own.x12").write_bytes(request(2))
    status, printed = watch_once(tmp_path)
    assert status == 1  # something went into the error folder
    error = tmp_path / "error"
    assert names(error) == ["dangling.x12", "dangling.x12.reason", "link.x12", "link.x12.reason"]
    assert (error / "link.x12").is_symlink() and (error / "link.x12").readlink() == secret
    assert "symbolic link, not followed" in (error / "link.x12.reason").read_text()
    # What it pointed to is where it was, unread: no answer was made from it.
    assert secret.read_bytes() == request(1) and names(outside) == ["someone-elses.x12"]
    assert names(tmp_path / "archive") == ["own.x12"]
    assert names(tmp_path / "outbox") == ["own.278", "own.999"]
    assert names(inbox) == []
    refused = {Path(line["input"]).name: line for line in printed if line["status"] == "refused"}
    assert sorted(refused) == ["dangling.x12", "link.x12"]
    assert refused["link.x12"]["error_to"] == str(error / "link.x12")


def test_what_a_crash_left_in_processing_is_answered_once_on_start(tmp_path):
    inbox, outbox, processing = tmp_path / "inbox", tmp_path / "outbox", tmp_path / "processing"
    sent, earlier = tmp_path / "sent", tmp_path / "earlier-outbox"
    for folder in (inbox, processing, sent):
        folder.mkdir()
    load_reference(tmp_path / "var")
    for number, name in enumerate(["fresh", "delivered", "stored", "partial", "twin"], 1):
        (sent / f"{name}.x12").write_bytes(request(number))
    state = ["--state-dir", str(tmp_path / "var"), "--quiet"]
    # Crashed after the answers were written; after stored only; after the 999 only.
    for paths, into in ((["delivered", "partial"], outbox), (["stored"], earlier)):
        subprocess.run([str(EDI278), "process", *(str(sent / f"{p}.x12") for p in paths),
                        "--outbox", str(into), *state], check=True)  # fmt: skip
    before = {name: (outbox / name).read_bytes() for name in names(outbox)}
    (outbox / "partial.278").unlink()
    for name in ("fresh", "delivered", "stored", "partial"):
        (processing / f"{name}.x12").write_bytes((sent / f"{name}.x12").read_bytes())
    # Crashed in the middle of a claim: linked into processing, not yet unlinked.
    (inbox / "twin.x12").write_bytes((sent / "twin.x12").read_bytes())
    os.link(inbox / "twin.x12", processing / "twin.x12")

    status, printed = watch_once(tmp_path)

    assert status == 0
    assert names(inbox) == names(processing) == []
    assert names(tmp_path / "archive") == [
        "delivered.x12", "fresh.x12", "partial.x12", "stored.x12", "twin.x12",
    ]  # fmt: skip
    assert names(outbox) == [f"{name}.{kind}" for name in ("delivered", "fresh", "partial",
                             "stored", "twin") for kind in ("278", "999")]  # fmt: skip
    for name, data in before.items():  # what was there is untouched, the lost part replayed
        assert (outbox / name).read_bytes() == data
    for name in ("stored.999", "stored.278"):  # replayed byte for byte: nothing made anew
        assert (outbox / name).read_bytes() == (earlier / name).read_bytes()
    assert all(line["recovered"] and line["status"] == "accepted" for line in printed)
    assert len(printed) == 5


def test_files_under_temporary_names_are_left_alone(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in TEMPORARY:
        (inbox / name).write_bytes(request(1))
    (inbox / "done.x12").write_bytes(request(2))
    status, printed = watch_once(tmp_path)
    assert status == 0
    assert names(inbox) == sorted(TEMPORARY)
    assert all((inbox / name).read_bytes() == request(1) for name in TEMPORARY)
    assert names(tmp_path / "archive") == ["done.x12"]
    assert names(tmp_path / "processing") == []
    assert [Path(line["input"]).name for line in printed] == ["done.x12"]


def test_a_file_that_raises_goes_to_error_with_the_exception_and_the_watcher_goes_on(tmp_path):
    folders = Folders.beside(tmp_path / "inbox", tmp_path / "outbox")
    for folder in (*folders.moved_between, folders.outbox):
        folder.mkdir()
    plain = stateless(NOW, MemoryControlNumbers())

    def answer(report, fingerprint, source):
        if "boom" in source:
            raise RuntimeError("the store is on fire")
        return plain(report, fingerprint, source)

    (folders.inbox / "boom.x12").write_bytes(request(1))
    (folders.inbox / "calm.x12").write_bytes(request(2))
    outcomes = []
    watcher = Watcher(folders, answer, None, 10_000, outcomes.append)
    run(watcher, Settler(0), Wakeups(), once=True, rescan=1)
    assert [(o.input.name, o.status) for o in outcomes] == [
        ("boom.x12", "failed"),
        ("calm.x12", "accepted"),
    ]
    assert names(folders.error) == ["boom.x12", "boom.x12.reason"]
    assert "RuntimeError: the store is on fire" in (folders.error / "boom.x12.reason").read_text()
    assert names(folders.archive) == ["calm.x12"]
    assert names(folders.outbox) == ["calm.999"]
