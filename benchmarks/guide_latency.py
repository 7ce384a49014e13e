"""Guide-level validation: how long one 278 takes, and how many a file of 10,000 go through.

    .venv/bin/python benchmarks/guide_latency.py               # recorded in RESULTS.md
    .venv/bin/python benchmarks/guide_latency.py --no-record   # printed only

Single transaction: Guide.validate (pyx12 walking our X217 map, plus the rules in code)
on the knee-admission sample, after a warm-up, as a real-time request meets it.
Batch: `examine` with the guide, then `acknowledge`, over a generated file of 10,000
requests in 100 interchanges, end to end from bytes to 999s. The baseline in the same
run is the same file through `examine` without the guide (envelope checks only).
Target: a single transaction under 10 ms after warm-up.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from stream_memory import machine, record

from edi278.ig import Guide
from edi278.pipeline import acknowledge, examine
from edi278.x12.control import MemoryControlNumbers
from edi278.x12.reader import read_interchanges

SAMPLE = Path(__file__).parents[1] / "samples" / "inbox" / "elective-knee-admission.x12"
TARGET_MS = 10.0
WARM_UP, RUNS = 30, 300
INTERCHANGES, SETS_PER_INTERCHANGE = 100, 100


def single_transaction(guide: Guide) -> list[float]:
    with open(SAMPLE, "rb") as source:
        for interchange in read_interchanges(source):
            for group in interchange.groups:
                for transaction in group.transactions:
                    isa, gs, segments = interchange.isa, group.header, transaction.segments
    for _ in range(WARM_UP):
        assert guide.validate(isa, gs, segments) == [], "the sample must be valid"
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        guide.validate(isa, gs, segments)
        timings.append((time.perf_counter() - start) * 1000)
    return sorted(timings)


def batch_file(distinct: bool = False) -> bytes:
    """10,000 copies of the sample's transaction set, 100 to an interchange; with
    `distinct`, each its own request (its own BHT03 and TRN02)."""
    return requests_file(INTERCHANGES, SETS_PER_INTERCHANGE, distinct)


def requests_file(interchanges: int, sets_per_interchange: int, distinct: bool) -> bytes:
    text = SAMPLE.read_text()
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("ST*"))
    end = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    body = lines[start + 1 : end]
    out = []
    for number in range(1, interchanges + 1):
        out.append(lines[0].replace("*000000101*", f"*{number:09d}*").replace("*1*T*", "*0*T*"))
        out.append(lines[1].replace("*101*X*", f"*{number}*X*"))
        for n in range(1, sets_per_interchange + 1):
            out.append(f"ST*278*{n:04d}*005010X217~\n")
            unique = f"{number:03d}{n:04d}"  # BHT03 REQ..., TRN02 PE...
            out.extend(line.replace("20261120001", unique) if distinct else line for line in body)
            out.append(f"SE*{len(body) + 2}*{n:04d}~\n")
        out.append(f"GE*{sets_per_interchange}*{number}~\n")
        out.append(f"IEA*1*{number:09d}~\n")
    return "".join(out).encode()


def through(data: bytes, guide: Guide | None) -> tuple[float, int]:
    numbers, now = MemoryControlNumbers(), datetime(2026, 11, 22, 12, 0)
    accepted = 0
    start = time.perf_counter()
    for report in examine(io.BytesIO(data), guide):
        acknowledge(report, now, numbers)
        accepted += report.transaction_counts()[1]
    return time.perf_counter() - start, accepted


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    arguments = options.parse_args(argv)

    guide = Guide()
    timings = single_transaction(guide)
    p50, p95, p99 = (timings[int(len(timings) * q)] for q in (0.50, 0.95, 0.99))
    data = batch_file()
    total = INTERCHANGES * SETS_PER_INTERCHANGE
    envelope_seconds, envelope_accepted = through(data, None)
    guide_seconds, guide_accepted = through(data, guide)
    passed = p50 < TARGET_MS
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: guide validation",
        "",
        *(f"- {key}: {value}" for key, value in machine().items()),
        "- Command: `python benchmarks/guide_latency.py`",
        f"- Single transaction: `{SAMPLE.name}` ({WARM_UP} warm-up runs, {RUNS} timed)",
        f"- Batch: {total:,} transaction sets in {INTERCHANGES} interchanges, "
        f"{len(data):,} bytes, bytes to 999s",
        "",
        "| measurement | result |",
        "| --- | ---: |",
        f"| one transaction, p50 | {p50:.2f} ms |",
        f"| one transaction, p95 | {p95:.2f} ms |",
        f"| one transaction, p99 | {p99:.2f} ms |",
        f"| one transaction, mean | {statistics.mean(timings):.2f} ms |",
        f"| batch with the guide | {total / guide_seconds:,.0f} transaction sets/s "
        f"({guide_seconds:.1f} s, {guide_accepted:,} accepted) |",
        f"| batch, envelope only (baseline) | {total / envelope_seconds:,.0f} transaction sets/s "
        f"({envelope_seconds:.1f} s, {envelope_accepted:,} accepted) |",
        f"| guide vs envelope only | {guide_seconds / envelope_seconds:.1f}x the time |",
        "",
        f"- {'PASS' if passed else 'FAIL'}: one transaction p50 {p50:.2f} ms, target under "
        f"{TARGET_MS:.0f} ms",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not arguments.no_record:
        record(text)
    return 0 if passed and guide_accepted == total else 1


if __name__ == "__main__":
    sys.exit(main())
