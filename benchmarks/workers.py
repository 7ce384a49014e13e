"""(f) End to end on PostgreSQL with 1, 2 and 4 `edi278 worker` processes.

    .venv/bin/python benchmarks/workers.py                          # 40 files of 50, recorded
    .venv/bin/python benchmarks/workers.py --files 8 --sets 10 --no-record
    EDI278_BENCH_POSTGRES_URL=postgresql+psycopg://user@host/db .venv/bin/python ...

The server defaults to postgresql+psycopg://postgres@127.0.0.1:5432/test (the CI one);
a database of its own is made for every run and dropped after. For each K in 1, 2, 4:
`edi278 db upgrade` and `edi278 reference load samples/reference` on a fresh database;
N inbox files (benchmarks/workloads.py: each its own interchanges and requests, none a
duplicate of another) enqueued with `edi278 process --queue --hold DIR --outbox DIR
--db URL` (timed apart; held and answered under var/bench/workers-K/); then K `edi278
worker --db URL` started together and timed until every file is answered (its
received_files row answered or failed; where that table cannot be read, a .999 for it in
the outbox), then stopped with SIGTERM. On a machine with fewer
cores than workers the workers (and PostgreSQL) share them: say so with the figures.
Prints "skipped: edi278 worker not available" while the commands are not there.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure
import workloads

ROOT = Path(__file__).resolve().parent.parent
EDI278 = Path(sys.executable).parent / "edi278"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WORKERS = (1, 2, 4)
TIMEOUT = 1800.0  # seconds a run may take before it is given up
ANSWERED = "SELECT count(*) FROM received_files WHERE status IN ('answered', 'failed')"
READY = "SELECT count(*) FROM procrastinate_workers"


def _help(*command: str) -> str:
    done = subprocess.run(
        [str(EDI278), *command, "--help"], capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else ""


def unavailable() -> str | None:
    """Why the worker commands cannot be benchmarked, or None when they can."""
    if not EDI278.exists():
        return f"skipped: {EDI278} not found"
    if not _help("worker"):
        return "skipped: edi278 worker not available"
    if "--queue" not in _help("process"):
        return "skipped: edi278 process --queue not available"
    return None


def _edi278(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDI278_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [str(EDI278), *args], capture_output=True, text=True, check=False, env=env, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"edi278 {' '.join(args[:2])} exited {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    return done


class Database:
    """A database of its own on the server, dropped afterwards."""

    def __init__(self, server: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.admin = create_engine(server, isolation_level="AUTOCOMMIT")
        self.name = f"edi278_bench_{secrets.token_hex(4)}"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
        self.url = make_url(server).set(database=self.name).render_as_string(hide_password=False)
        self.engine = create_engine(self.url)

    def count(self, sql: str) -> int | None:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with self.engine.connect() as connection:
                return int(connection.exec_driver_sql(sql).scalar() or 0)
        except SQLAlchemyError:
            return None

    def drop(self) -> None:
        self.engine.dispose()
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.dispose()


def inbox(files: int, sets: int) -> list[Path]:
    """N files of `sets` requests each, cached under var/bench/workers-inbox-NxS/."""
    folder = workloads.BENCH_DIR / f"workers-inbox-{files}x{sets}"
    made = []
    for n in range(files):
        path = folder / f"batch-{n + 1:04d}.x12"
        workloads.generate(
            path, transactions=sets, first_interchange=1 + n * 1000, first_serial=1 + n * sets
        )
        made.append(path)
    return made


def one_run(count: int, sources: list[Path], sets: int, server: str) -> dict:
    database = Database(server)
    folder = workloads.BENCH_DIR / f"workers-{count}"
    shutil.rmtree(folder, ignore_errors=True)
    outbox, logs, held = folder / "outbox", folder / "logs", folder / "held"
    logs.mkdir(parents=True)
    started_workers: list[subprocess.Popen] = []
    try:
        db = ["--db", database.url]
        _edi278("db", "upgrade", *db)
        _edi278("reference", "load", str(ROOT / "samples" / "reference"), *db)
        start = time.perf_counter()
        _edi278("process", "--queue", "--hold", str(held), "--outbox", str(outbox), "--quiet",
                *db, *map(str, sources))  # fmt: skip
        enqueue_seconds = time.perf_counter() - start
        env = {**os.environ, "EDI278_LOG_LEVEL": "WARNING"}
        load_before = measure.loadavg()
        start = time.perf_counter()
        for n in range(count):
            log = open(logs / f"worker-{n + 1}.log", "w")  # noqa: SIM115 - the worker's life
            command = [str(EDI278), "worker", *db]
            started_workers.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                    env=env, cwd=ROOT))  # fmt: skip
            log.close()  # the worker has its own copy of the descriptor
        ready = None  # when all K had registered with the queue (procrastinate_workers)
        while True:
            if ready is None and (database.count(READY) or 0) >= count:
                ready = time.perf_counter()
            answered = database.count(ANSWERED)
            if answered is None:
                answered = len(list(outbox.glob("*.999"))) if outbox.exists() else 0
            if answered >= len(sources):
                break
            if time.perf_counter() - start > TIMEOUT:
                raise RuntimeError(f"{answered} of {len(sources)} files answered in {TIMEOUT} s")
            if all(w.poll() is not None for w in started_workers):
                raise RuntimeError(f"every worker exited (see {logs.relative_to(ROOT)})")
            time.sleep(0.05)
        end = time.perf_counter()
        worker_cpu = sum(measure.cpu_seconds(w.pid) or 0.0 for w in started_workers)
        failed = database.count("SELECT count(*) FROM received_files WHERE status = 'failed'")
        cases = database.count("SELECT count(*) FROM cases")
        total = len(sources) * sets
        return {"workers": count, "files": len(sources), "sets": total,
                "enqueue_seconds": enqueue_seconds, "seconds": end - start,
                "rate": total / (end - start),
                "ready_seconds": None if ready is None else end - ready,
                "ready_rate": None if ready is None else total / (end - ready),
                "worker_cpu": worker_cpu, "failed": failed or 0, "cases": cases,
                "load_before": load_before, "load_after": measure.loadavg()}  # fmt: skip
    finally:
        for worker in started_workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in started_workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        database.drop()


def run(files: int, sets: int, server: str | None = None) -> dict:
    """Every worker count in turn; {"skipped": why} while the commands are missing."""
    why = unavailable()
    if why:
        print(why, flush=True)
        return {"skipped": why}
    server = server or DEFAULT_SERVER
    try:
        Database(server).drop()
    except Exception as error:
        why = f"skipped: no PostgreSQL at {server} ({type(error).__name__})"
        print(why, flush=True)
        return {"skipped": why}
    sources = inbox(files, sets)
    runs = []
    for count in WORKERS:
        print(f"  {count} worker(s) ...", end=" ", flush=True)
        figures = one_run(count, sources, sets, server)
        print(f"{figures['seconds']:.2f} s, {figures['rate']:,.0f} sets/s", flush=True)
        runs.append(figures)
    notes = [
        f"{files} files of {sets} requests (1 in {workloads.FAULT_EVERY} with a guide fault), "
        "each enqueued as one job (`process --queue`, timed apart) before the workers start; "
        "the time runs from starting the workers to the last file answered, so it includes "
        "their start-up; the time from all K registered with the queue is shown beside it",
        f"this machine has {os.cpu_count()} cores, shared by the workers, PostgreSQL and "
        "anything else running: more workers than cores cannot all run at once; load "
        "average before/after each run: "
        + "; ".join(f"{r['workers']}: {r['load_before']} / {r['load_after']}" for r in runs),
    ]
    if any(r["failed"] for r in runs):
        notes.append("files failed: " + ", ".join(f"{r['workers']}: {r['failed']}" for r in runs))
    return {"runs": runs, "notes": notes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40, help="inbox files")
    parser.add_argument("--sets", type=int, default=50, help="requests per file")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("EDI278_BENCH_POSTGRES_URL"),
        help=f"server URL (env EDI278_BENCH_POSTGRES_URL; default {DEFAULT_SERVER})",
    )
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args(argv)
    result = run(args.files, args.sets, args.postgres)
    if "skipped" in result:
        return 0
    from stream_memory import machine, record
    from suite import targets, workers_section

    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: workers on PostgreSQL",
        "",
        *(f"- {k}: {v}" for k, v in machine().items()),
        "- Command: `" + " ".join(["python benchmarks/workers.py", *sys.argv[1:]]) + "`",
        "",
        workers_section(result).split("\n", 2)[2],
        *(f"- {line}" for line in targets([], None, result)),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_record:
        record(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
