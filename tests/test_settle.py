"""When a file in the inbox is finished, for real: a writer process that pauses longer
than --settle with the file open is not taken until it closes it; a sender's done
marker (NAME.EXT.done) has the file taken at once; and the two checks of an open writer
(a read lease, the open files in /proc) each see a real writer process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from edi278.channels.folder import Settler, lease_refused, open_for_writing_in_proc, signature
from tests.test_watch import names, request, wait_until, watch_command

SETTLE = 0.5  # seconds: the watcher's --settle
PAUSE = 4 * SETTLE  # the writer's pause, file open, in the middle of the file

WRITER = textwrap.dedent("""
    import sys, time
    path, pause, data = sys.argv[1], float(sys.argv[2]), sys.stdin.buffer.read()
    with open(path, "wb") as handle:
        handle.write(data[: len(data) // 2])
        handle.flush()
        print("paused", flush=True)
        time.sleep(pause)
        handle.write(data[len(data) // 2 :])
        handle.flush()
        print("resumed", flush=True)
        time.sleep(float(sys.argv[3]))  # open a while longer, all written
""")


def writer(path: Path, data: bytes, pause: float, linger: float = 0.0) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(pause), str(linger)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(data)
    process.stdin.close()
    assert process.stdout.readline() == b"paused\n"
    return process


def test_a_writer_pausing_longer_than_settle_with_the_file_open_is_waited_for(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = subprocess.Popen(
        watch_command(tmp_path, "--settle", str(SETTLE), "--rescan", "0.2"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: (tmp_path / "archive").exists(), "the watcher is up")
        paused_at = time.monotonic()
        slow = writer(inbox / "slow.x12", request(1), PAUSE, linger=PAUSE)
        # A file that stands still with its writer gone is taken as before, meanwhile.
        (inbox / "other.x12").write_bytes(request(2))
        wait_until(lambda: "other.x12" in names(tmp_path / "archive"), "other is answered")
        assert slow.stdout is not None and slow.stdout.readline() == b"resumed\n"
        paused = time.monotonic() - paused_at
        # What the test rests on: the half file stood still for far longer than --settle.
        assert paused > 3 * SETTLE, paused
        # Complete now, but still open: not taken either.
        time.sleep(2 * SETTLE)
        assert names(inbox) == ["slow.x12"] and "slow.x12" not in names(tmp_path / "archive")
        slow.wait(timeout=30)
        wait_until(lambda: "slow.x12" in names(tmp_path / "archive"), "slow is answered")
    finally:
        watcher.terminate()
        stdout, stderr = watcher.communicate(timeout=30)
    assert (tmp_path / "archive" / "slow.x12").read_bytes() == request(1)  # taken whole
    assert "AK9*A*1*1*1~" in (tmp_path / "outbox" / "slow.999").read_text()
    outcomes = {Path(o["input"]).name: o for o in map(json.loads, stdout.splitlines())}
    assert outcomes["slow.x12"]["status"] == "accepted", stderr
    assert sorted(outcomes) == ["other.x12", "slow.x12"]


def test_a_file_marked_done_is_taken_at_once_and_its_marker_removed(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "marked.x12").write_bytes(request(1))
    (inbox / "marked.x12.done").write_bytes(b"")
    (inbox / "waiting.x12").write_bytes(request(2))  # no marker: settles for 60 s first
    (inbox / "alone.x12.ready").write_bytes(b"")  # a marker whose file is yet to come
    started = time.monotonic()
    watcher = subprocess.Popen(
        watch_command(tmp_path, "--settle", "60", "--rescan", "0.2"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until(lambda: "marked.x12" in names(tmp_path / "archive"), "the marked file")
        assert time.monotonic() - started < 30
        (inbox / "alone.x12").write_bytes(request(3))  # its marker was there first
        wait_until(lambda: "alone.x12" in names(tmp_path / "archive"), "the file of the marker")
        assert names(inbox) == ["waiting.x12"]  # markers gone with their files
    finally:
        watcher.terminate()
        stdout, _stderr = watcher.communicate(timeout=30)
    assert names(tmp_path / "outbox") == ["alone.278", "alone.999", "marked.278", "marked.999"]
    assert [Path(json.loads(line)["input"]).name for line in stdout.splitlines()] == [
        "marked.x12",
        "alone.x12",
    ]


def test_an_open_writer_is_seen_by_a_read_lease_and_in_proc(tmp_path):
    path = tmp_path / "upload.x12"
    slow = writer(path, request(1), pause=30)
    descriptor = os.open(path, os.O_RDONLY)
    try:
        assert lease_refused(descriptor) is True
        assert open_for_writing_in_proc(os.fstat(descriptor))
        slow.kill()
        slow.wait()
        assert lease_refused(descriptor) is False
        assert not open_for_writing_in_proc(os.fstat(descriptor))
        reader = open(path, "rb")  # noqa: SIM115 - open for reading is no writer
        try:
            assert not open_for_writing_in_proc(os.fstat(descriptor))
        finally:
            reader.close()
    finally:
        os.close(descriptor)


def test_a_rewrite_that_keeps_size_and_modification_time_is_still_a_change(tmp_path):
    """rsync -t or touch -r can put the modification time back; the change time (and
    three looks over the settle time) still tell that the file was written to."""
    path = tmp_path / "same-size.x12"
    path.write_bytes(b"A" * 100)
    settler = Settler(0.2, in_use=lambda _path: False)
    first = settler.observe({path: signature(path.stat())})
    assert first == []  # seen once: not yet
    time.sleep(0.25)
    before = path.stat()
    path.write_bytes(b"B" * 100)  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # the old time put back
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert settler.observe({path: signature(after)}) == []  # changed: settling again
    time.sleep(0.25)
    assert settler.observe({path: signature(path.stat())}) == []  # two looks only
    assert settler.observe({path: signature(path.stat())}) == [(path, signature(path.stat()))]
