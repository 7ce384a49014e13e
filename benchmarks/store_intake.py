"""What remembering costs: answering examined requests with and without the store.

    .venv/bin/python benchmarks/store_intake.py               # recorded in RESULTS.md
    .venv/bin/python benchmarks/store_intake.py --no-record   # printed only
    EDI278_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test ...

2,000 distinct requests (20 interchanges of 100, each with its own BHT03 and TRN) are
examined with the guide once; then only the answering is timed: the core alone
(`acknowledge` with the determination engine on facts read beforehand and counters in
memory: the baseline), and
`Intake.answer` recording interchanges, answers, cases, decisions, tracking numbers and
audit rows, on SQLite and (when a server is given) PostgreSQL; then the same interchanges
again, byte-identical, which the store answers by replay.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from guide_latency import requests_file
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from stream_memory import machine, record

from edi278.decide.engine import decide as engine_decide
from edi278.decide.outcome import Tracking
from edi278.decide.policy import default_policy
from edi278.ig import Guide
from edi278.intake import Fingerprint, Intake
from edi278.pipeline import acknowledge, examine
from edi278.store.database import open_database, upgrade
from edi278.store.facts import facts_for
from edi278.store.reference import load_reference
from edi278.x12.control import MemoryControlNumbers

INTERCHANGES, SETS_PER_INTERCHANGE = 20, 100
REFERENCE = Path(__file__).parents[1] / "samples" / "reference"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def core_only(reports, _data, facts_url: str) -> float:
    """The engine and the response writer with facts read once beforehand: no store."""
    numbers = MemoryControlNumbers()
    counter = iter(range(1, 10**9))
    policy = default_policy()
    engine = open_database(facts_url)
    with engine.connect() as connection:
        facts = facts_for(connection, [reports[0].groups[0].transactions[0].request])
    engine.dispose()

    def decide(request):
        references = [f"R{next(counter):011d}" for _ in request.events]
        tracking = Tracking(references, lambda: f"C{next(counter):011d}")
        return engine_decide(request, facts, policy, NOW, tracking)

    start = time.perf_counter()
    for report in reports:
        acknowledge(report, NOW, numbers, decide)
    return time.perf_counter() - start


def with_store(url: str, reports, data: bytes) -> tuple[float, float]:
    engine = open_database(url)
    load_reference(engine, REFERENCE)
    intake = Intake(engine)
    timings = []
    for _ in range(2):  # first: processed; second: replayed
        start = time.perf_counter()
        for report in reports:
            begin, end = report.span
            intake.answer(report, Fingerprint.of_bytes(data[begin:end]), "bench", NOW)
        timings.append(time.perf_counter() - start)
    engine.dispose()
    return timings[0], timings[1]


def postgres_database(server: str) -> tuple[str, callable]:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"edi278_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')

    return url, drop


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    arguments = options.parse_args(argv)
    data = requests_file(INTERCHANGES, SETS_PER_INTERCHANGE, distinct=True)
    guide = Guide()
    reports = list(examine(io.BytesIO(data), guide))
    total = INTERCHANGES * SETS_PER_INTERCHANGE
    assert sum(r.transaction_counts()[1] for r in reports) == total, "every request valid"
    with tempfile.TemporaryDirectory() as folder:
        first, again = with_store(f"sqlite:///{folder}/bench.db", reports, data)
        baseline = core_only(reports, data, f"sqlite:///{folder}/bench.db")
        rows = [("core only (baseline)", baseline, None)]
        rows += [("SQLite, recorded", first, None), ("SQLite, replayed", again, None)]
    server = os.environ.get("EDI278_BENCH_POSTGRES_URL")
    if server:
        url, drop = postgres_database(server)
        try:
            first, again = with_store(url, reports, data)
        finally:
            drop()
        rows += [("PostgreSQL, recorded", first, None), ("PostgreSQL, replayed", again, None)]
    baseline = rows[0][1]
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: store intake",
        "",
        *(f"- {key}: {value}" for key, value in machine().items()),
        "- Command: `python benchmarks/store_intake.py`"
        + (" (with EDI278_BENCH_POSTGRES_URL)" if server else ""),
        f"- {total:,} distinct requests in {INTERCHANGES} interchanges, examined with the guide "
        "once; only the answering is timed (999 + 278, and for the store everything recorded)",
        "",
        "| answering | requests/s | time | vs core only |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {label} | {total / seconds:,.0f} | {seconds:.2f} s | {seconds / baseline:.1f}x |"
            for label, seconds, _ in rows
        ),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not arguments.no_record:
        record(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
