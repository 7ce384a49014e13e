"""Distributed workers on PostgreSQL, as real processes: files queued with `edi278 process
--queue` (or `watch --queue`) are answered by `edi278 worker` processes exactly once, also
when a worker is killed mid-job; the job itself retries, gives up and never answers twice;
on SQLite --queue answers in-process and `edi278 worker` refuses. The PostgreSQL tests
need EDI278_TEST_POSTGRES_URL (skipped, saying so, without it)."""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from edi278.channels.worker import RETRIES, Retryable, Services, run_job
from edi278.clock import fixed_clock
from edi278.decide.policy import default_policy
from edi278.ig import Guide
from edi278.queue import TASK, Queue
from edi278.store.database import open_database
from tests.conftest import NOW, REQUEST_BODY, group, interchange, transaction

ROOT = Path(__file__).parents[1]
EDI278 = str(ROOT / ".venv" / "bin" / "edi278")
# The requests for review among the samples: each makes one case (an inquiry makes none).
SAMPLES = sorted(
    p for p in (ROOT / "samples" / "requests").glob("*.x12") if "*005010X217~" in p.read_text()
)
STALLED_AFTER = "2"  # seconds: a killed worker's job is retried soon after


def request(number: int) -> bytes:
    """A valid request of its own: ISA13, GS06, BHT03 and TRN02 all from `number`."""
    body = [s.replace("*REQ1*", f"*REQ{number}*").replace("*PE1*", f"*PE{number}*")
            for s in REQUEST_BODY]  # fmt: skip
    return interchange([group(number, [transaction(1, body)])], control=number).encode()


def edi278(*args: str, db: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run([EDI278, *args, "--db", db], capture_output=True, text=True,
                          timeout=120, **options)  # fmt: skip


@pytest.fixture(scope="module")
def stocked_template(postgres) -> str:
    """A PostgreSQL database upgraded as an operator would, with the demo reference
    data: the template of each test's own database."""
    url = postgres.create()
    for command in (["db", "upgrade"], ["reference", "load", str(ROOT / "samples" / "reference")]):
        done = edi278(*command, db=url)
        assert done.returncode == 0, done.stderr
    return url


@pytest.fixture
def database(postgres, stocked_template) -> str:
    """A new database, a copy of the template (quicker than loading it again)."""
    template = make_url(stocked_template)
    name = f"{template.database}_{secrets.token_hex(3)}"
    with postgres.admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"')
    postgres.created.append(name)  # dropped when the run ends
    return template.set(database=name).render_as_string(hide_password=False)


@contextmanager
def workers(url: str, count: int, logs: Path, *options: str) -> Iterator[list[subprocess.Popen]]:
    """`edi278 worker` processes, stopped with SIGTERM at the end (killed if they hang)."""
    logs.mkdir(exist_ok=True)
    started = []
    try:
        for number in range(count):
            started.append(start_worker(url, logs / f"worker-{number}", *options))
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_worker(url: str, log: Path, *options: str) -> subprocess.Popen:
    command = [EDI278, "worker", "--db", url, "--stalled-after", STALLED_AFTER, *options]
    with open(f"{log}.out", "w") as out, open(f"{log}.err", "w") as err:  # not pipes: never full
        return subprocess.Popen(command, stdout=out, stderr=err)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def wait_for_progress(done: Callable[[], int], total: int, what: str, quiet: float = 30) -> None:
    """Until `done()` reaches `total`, failing once it has not moved for `quiet` seconds
    (a stalled job is retried within seconds: a longer silence is a job never retried)."""
    last, since = done(), time.monotonic()
    while last < total:
        assert time.monotonic() - since < quiet, f"stuck at {last} of {total}: {what}"
        time.sleep(0.2)
        now = done()
        if now != last:
            last, since = now, time.monotonic()


def query(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def count(url: str, sql: str) -> int:
    return query(url, sql)[0][0]


def taker(logs: Path) -> int | None:
    """Which worker (by its log) has started the file's job, if one has."""
    for number, log in enumerate(sorted(logs.glob("worker-*.err"))):
        if "Starting job edi278.answer_received_file" in log.read_text():
            return number
    return None


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_four_workers_answer_two_hundred_queued_files_exactly_once(database, tmp_path):
    inbox, outbox, hold = tmp_path / "inbox", tmp_path / "outbox", tmp_path / "held"
    inbox.mkdir()
    for sample in SAMPLES:
        shutil.copy(sample, inbox / sample.name)
    for number in range(1, 201 - len(SAMPLES)):
        (inbox / f"request-{number}.x12").write_bytes(request(number))
    inputs = names(inbox)
    assert len(inputs) == 200
    with workers(database, 4, tmp_path / "logs", "--concurrency", "2") as running:
        queued = edi278("process", "--queue", str(inbox), "--outbox", str(outbox),
                        "--hold", str(hold), "--json", db=database)  # fmt: skip
        assert queued.returncode == 0, queued.stderr
        printed = [json.loads(line) for line in queued.stdout.splitlines()]
        assert [line["status"] for line in printed] == ["queued"] * 200  # not answered here
        answered = "SELECT count(*) FROM received_files WHERE status = 'answered'"
        wait_until(lambda: count(database, answered) == 200, "every file is answered", 90)
        assert all(process.poll() is None for process in running)
    assert all(process.returncode == 0 for process in running)  # SIGTERM: a clean stop
    # Exactly one 999 and one 278 per input, each holding one answer: nothing twice.
    stems = [Path(name).stem for name in inputs]
    assert names(outbox) == sorted([f"{stem}.999" for stem in stems] +
                                   [f"{stem}.278" for stem in stems])  # fmt: skip
    for name in names(outbox):
        answer = (outbox / name).read_text()
        assert answer.count("ISA*") == 1, name
    # One interchange and one case per request; every held copy is the input's bytes.
    assert count(database, "SELECT count(*) FROM interchanges") == 200
    assert count(database, "SELECT count(*) FROM cases") == 200
    rows = query(database, "SELECT original_name, held_at, job_id, worker FROM received_files")
    assert sorted(row[0] for row in rows) == inputs
    for original, held, _job, _worker in rows:
        assert Path(held).read_bytes() == (inbox / original).read_bytes()
    assert len({row[2] for row in rows}) == 200  # one job per file
    assert len({row[3] for row in rows}) > 1  # the work was shared
    left = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'edi278.answer_received_file'"
    assert count(database, left) == 0  # every job succeeded (and was deleted)


def test_a_job_of_a_worker_killed_mid_job_is_retried_by_another_and_answered_once(
    database, tmp_path
):
    inbox, outbox, hold = tmp_path / "inbox", tmp_path / "outbox", tmp_path / "held"
    inbox.mkdir()
    interchanges = 80  # one file, one job, a few seconds of work
    (inbox / "big.x12").write_bytes(b"".join(request(n) for n in range(1000, 1000 + interchanges)))
    logs = tmp_path / "logs"
    with workers(database, 2, logs) as running:  # started together: their start-ups overlap
        queued = edi278("process", "--queue", str(inbox / "big.x12"), "--outbox", str(outbox),
                        "--hold", str(hold), db=database)  # fmt: skip
        assert queued.returncode == 0, queued.stderr
        wait_until(lambda: taker(logs) is not None, "a worker takes the job")
        first, second = running if taker(logs) == 0 else running[::-1]
        wait_until(
            lambda: count(database, "SELECT count(*) FROM interchanges") >= 5,
            "the first worker is some way into the file",
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert count(database, "SELECT count(*) FROM interchanges") < interchanges  # mid-job
        status = "SELECT status FROM received_files"
        assert query(database, status) == [("queued",)]
        wait_until(
            lambda: query(database, status) == [("answered",)],
            "the other worker answers the file",
        )
        (worker,) = query(database, "SELECT worker FROM received_files")[0]
        assert worker.endswith(f":{second.pid}")
        assert "file.answered" not in (logs / f"worker-{running.index(first)}.err").read_text()
    assert first.returncode == -signal.SIGKILL
    # One set of answers, complete, under the file's own name (no -2, no leftovers).
    assert names(outbox) == ["big.278", "big.999"]
    acknowledgements = (outbox / "big.999").read_text()
    assert acknowledgements.count("ST*999*") == interchanges
    assert acknowledgements.count("AK9*A*1*1*1~") == interchanges
    assert (outbox / "big.278").read_text().count("ST*278*") == interchanges
    # What the killed worker committed was replayed, not made again.
    assert count(database, "SELECT count(*) FROM interchanges") == interchanges
    assert count(database, "SELECT count(*) FROM cases") == interchanges
    assert not list(hold.rglob(".answering"))  # the scratch folder is gone


def test_on_sqlite_queue_answers_in_process_and_the_worker_refuses(tmp_path):
    state = tmp_path / "var"
    subprocess.run([EDI278, "reference", "load", str(ROOT / "samples" / "reference"),
                    "--state-dir", str(state)], check=True, capture_output=True)  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key != "EDI278_DB"}
    done = subprocess.run(
        [EDI278, "process", "--queue", str(SAMPLES[0]), str(SAMPLES[7]), "--outbox",
         str(tmp_path / "outbox"), "--state-dir", str(state), "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["status"] for line in printed] == ["accepted", "accepted"]
    assert [line["cases_created"] for line in printed] == [1, 1]
    stems = [SAMPLES[0].stem, SAMPLES[7].stem]
    assert names(tmp_path / "outbox") == sorted(f"{s}.{k}" for s in stems for k in ("278", "999"))
    assert not (state / "held").exists()  # nothing held: answered here
    refused = subprocess.run([EDI278, "worker", "--state-dir", str(state)], capture_output=True,
                             text=True, env=env, timeout=60)  # fmt: skip
    assert refused.returncode == 2
    assert "edi278 worker needs PostgreSQL" in refused.stderr


def test_the_folder_watcher_queues_each_file_once_across_a_crash(database, tmp_path):
    inbox, processing, archive = tmp_path / "inbox", tmp_path / "processing", tmp_path / "archive"
    inbox.mkdir()
    for number in (1, 2):
        (inbox / f"request-{number}.x12").write_bytes(request(number))
    watch = ["watch", "--inbox", str(inbox), "--outbox", str(tmp_path / "outbox"), "--queue",
             "--hold", str(tmp_path / "held"), "--once", "--settle", "0.1", "--json"]  # fmt: skip
    done = edi278(*watch, db=database)
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["status"] for line in printed] == ["queued", "queued"]
    assert names(archive) == ["request-1.x12", "request-2.x12"]
    assert names(tmp_path / "outbox") == []  # the workers answer them
    # A crash after queueing, before archiving: the claimed file is back in processing.
    processing.mkdir(exist_ok=True)
    os.link(archive / "request-1.x12", processing / "request-1.x12")
    (archive / "request-1.x12").unlink()
    again = edi278(*watch, db=database)
    assert again.returncode == 0, again.stderr
    (recovered,) = [json.loads(line) for line in again.stdout.splitlines()]
    assert (recovered["status"], recovered["recovered"]) == ("queued", True)
    assert recovered["held_at"] == printed[0]["held_at"]  # found queued: not queued again
    assert names(archive) == ["request-1.x12", "request-2.x12"]
    rows = query(database, "SELECT channel, original_name, status FROM received_files")
    assert sorted(rows) == [("folder", "request-1.x12", "queued"),
                            ("folder", "request-2.x12", "queued")]  # fmt: skip


def test_a_job_retries_what_is_out_of_reach_gives_up_at_last_and_never_answers_twice(
    database, tmp_path
):
    """The job itself, in-process: a held file gone is retried, then marked failed with
    its reason after the last retry; a job run again for an answered file writes nothing."""
    engine = open_database(database)
    services = Services(engine, default_policy(), Guide(), 30.0, "test:1", fixed_clock(NOW))
    queue, outbox = Queue(engine, tmp_path / "held", "file"), tmp_path / "outbox"
    status = "SELECT status, error FROM received_files WHERE id = {}"
    (tmp_path / "gone.x12").write_bytes(request(7))
    gone = queue.submit(tmp_path / "gone.x12", outbox, "gone.x12")
    gone.held_at.unlink()
    for attempts in (0, RETRIES):
        with pytest.raises(Retryable, match="FileNotFoundError"):
            run_job(services, gone.file_id, attempts)
        if attempts == 0:
            assert query(database, status.format(gone.file_id)) == [("queued", None)]
    assert query(database, status.format(gone.file_id)) == [
        ("failed", "FileNotFoundError: No such file or directory")
    ]
    (tmp_path / "fine.x12").write_bytes(request(8))
    fine = queue.submit(tmp_path / "fine.x12", outbox, "fine.x12")
    assert run_job(services, fine.file_id, 0) == "accepted"
    answers = {path.name: path.read_bytes() for path in outbox.iterdir()}
    assert sorted(answers) == ["fine.278", "fine.999"]
    assert run_job(services, fine.file_id, 1) == "answered before"  # a retry writes nothing
    assert {path.name: path.read_bytes() for path in outbox.iterdir()} == answers
    assert query(database, status.format(fine.file_id)) == [("answered", None)]
    engine.dispose()


# CI: 100 files and 15 kills; `make soak` runs 200 files and 30 kills.
WORKER_FILES = int(os.environ.get("EDI278_SOAK_WORKER_FILES", "100"))
WORKER_KILLS = int(os.environ.get("EDI278_SOAK_WORKER_KILLS", "15"))
PER_FILE = 8  # interchanges: a job of a second or so, for the kills to land inside one


def test_a_worker_killed_again_and_again_still_answers_every_queued_file_exactly_once(
    database, tmp_path
):
    """The worker's version of tests/test_soak.py: a worker SIGKILLed at random moments
    and started again, each time finding its predecessor's job stalled and retrying it."""
    inbox, outbox, hold, logs = (tmp_path / name for name in ("inbox", "outbox", "held", "logs"))
    inbox.mkdir()
    logs.mkdir()
    for number in range(1, WORKER_FILES + 1):
        data = b"".join(request(5000 + PER_FILE * number + n) for n in range(PER_FILE))
        (inbox / f"request-{number}.x12").write_bytes(data)
    queued = edi278("process", "--queue", str(inbox), "--outbox", str(outbox), "--hold",
                    str(hold), "--quiet", db=database)  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    answered = "SELECT count(*) FROM received_files WHERE status = 'answered'"
    newest_worker = "SELECT coalesce(max(id), 0) FROM procrastinate_workers"
    to_do = (
        f"SELECT count(*) FROM procrastinate_jobs WHERE task_name = '{TASK}' AND status = 'todo'"
    )
    in_hand = (  # files whose job a worker registered after {} has started and not finished
        "SELECT count(*) FROM procrastinate_jobs j JOIN received_files f ON f.job_id = j.id"
        " WHERE j.status = 'doing' AND f.status = 'queued' AND j.worker_id > {}"
    )
    probe = create_engine(database)

    def number(sql: str) -> int:
        with probe.connect() as connection:
            return connection.execute(text(sql)).scalar_one()

    def in_a_job(worker: subprocess.Popen, answers: int, after: int) -> Callable[[], bool]:
        """Once `answers` files are answered, whether a worker registered after `after`
        is in a job."""

        def busy() -> bool:
            assert worker.poll() is None, "the worker ended by itself"
            return number(answered) >= answers and number(in_hand.format(after)) > 0

        return busy

    rng = random.Random(278)
    kills = mid_job = 0
    try:
        while mid_job < WORKER_KILLS:
            assert kills < 2 * WORKER_KILLS, f"only {mid_job} of {kills} kills landed mid-job"
            done, waiting, to_go = number(answered), number(to_do), WORKER_KILLS - mid_job
            assert waiting > 0, f"no job left to cut short with {to_go} kills to go"
            # A share of the jobs waiting goes through first: the kills spread over the
            # batch by the workers' own progress, not a guess of their speed.
            let_through = rng.randint(0, 2 * max(0, waiting - to_go) // (to_go + 1))
            before = number(newest_worker)
            worker = start_worker(database, logs / f"worker-{kills:02d}")
            wait_until(
                in_a_job(worker, done + let_through, before),
                f"worker {kills} is in a job after {let_through} files",
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            kills += 1
            mid_job += number(in_hand.format(before)) > 0  # its job was cut short
        before_last = number(answered)
        last_log = logs / "worker-last"
        with workers(database, 1, last_log) as (last,):
            wait_for_progress(lambda: number(answered), WORKER_FILES, "every file is answered")
            assert last.poll() is None
        assert last.returncode == 0  # SIGTERM: a clean stop
    finally:
        probe.dispose()
    retried = sum(log.read_text().count("job.stalled_retried") for log in logs.rglob("*.err"))
    assert retried >= mid_job, "a job cut short was not retried as stalled"
    print(f"{kills} kills, {mid_job} mid-job, {retried} stalled jobs retried, "
          f"{before_last} answered before the last")  # fmt: skip

    # Every file answered once: one 999 and one 278 under its own name, no -2, no
    # temporary file; each answer holds one answer per interchange, never two.
    stems = sorted(Path(name).stem for name in names(inbox))
    assert names(outbox) == sorted(f"{stem}.{kind}" for stem in stems for kind in ("278", "999"))
    for stem in stems:
        assert (outbox / f"{stem}.999").read_text().count("ST*999*") == PER_FILE
        assert (outbox / f"{stem}.278").read_text().count("ST*278*") == PER_FILE
    requests = PER_FILE * WORKER_FILES
    assert count(database, "SELECT count(*) FROM interchanges") == requests
    assert count(database, "SELECT count(*) FROM cases") == requests
    unanswered = ("SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM interchange_answers"
                  " a WHERE a.interchange_id = c.interchange_id AND a.kind = '278')")  # fmt: skip
    assert count(database, unanswered) == 0
    assert not list(hold.rglob(".answering"))
    left = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'edi278.answer_received_file'"
    assert count(database, left) == 0
