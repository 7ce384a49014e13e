"""Peak memory and throughput of streaming a ~1 GB multi-interchange X12 file.

Three measurements, each in a fresh child process so that its peak RSS is its own:

    split     the ceiling: 1 MiB reads split on the segment terminator, nothing parsed
    reader    edi278.x12.reader.read_interchanges, down to every transaction set's segments
    pipeline  edi278.pipeline.examine + acknowledge: envelope checks and the 999 per interchange

Usage:

    .venv/bin/python benchmarks/stream_memory.py                          # 1 GiB, recorded
    .venv/bin/python benchmarks/stream_memory.py --size-mb 20 --no-record  # smoke run

"MB" means MiB (2**20 bytes) throughout, so the default --size-mb 1024 is 1 GiB.
Exits 1 when a check fails (the reader's peak RSS is the one that matters), 2 when a
measurement could not be taken.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
RESULTS = SCRIPT.parent / "RESULTS.md"
DEFAULT_PATH = ROOT / "var" / "bench" / "stream-1gb.x12"

MB = 1 << 20
READ_CHUNK = 1 << 20  # the ceiling's read size
WRITE_CHUNK = 8 << 20  # generation writes this much at a time
RSS_LIMIT_MB = 150  # the streaming reader must stay under this whatever the file size

MODES = ("split", "reader", "pipeline")
LABELS = {
    "split": "(a) ceiling: 1 MiB reads split on `~`",
    "reader": "(b) `read_interchanges` to every segment",
    "pipeline": "(c) envelope checks + 999 (`examine` without the guide, `acknowledge`)",
}

RESULTS_HEADER = """# Benchmarks

`stream_memory.py` streams a generated ~1 GB file of many X12 278 interchanges (with
varying delimiters) three ways, each in a fresh process so its peak RSS is its own: a plain
1 MiB read split on the terminator (the ceiling no parser can beat), the streaming reader
down to every segment, and the whole envelope-check and 999 path. The reader's peak RSS must
stay under 150 MB however large the file. MB means MiB; newest run first.
"""


# --- the file ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Style:
    """One interchange's delimiters. The terminator stays `~` in every style so that the
    ceiling's plain split counts the same segments the reader finds."""

    name: str
    element: str
    component: str
    repetition: str
    line_break: str = ""
    terminator: str = "~"


STYLES = (
    Style("`*:^~`", "*", ":", "^"),
    Style("`|>!~`", "|", ">", "!"),
    Style("`*:^~` + LF", "*", ":", "^", "\n"),
    Style("`!>^~` + CRLF", "!", ">", "^", "\r\n"),
)

# Written with `*` and `:`, translated per style; {ref} keeps every set's size fixed.
BODY = (
    "BHT*0007*13*REQ{ref}*20261120*0930",
    "HL*1**20*1",
    "NM1*X3*2*ACME HEALTH PLAN*****PI*12345",
    "HL*2*1*21*1",
    "NM1*1P*2*RIVERSIDE ORTHOPEDICS*****XX*1234567893",
    "HL*3*2*22*1",
    "NM1*IL*1*DOE*JANE****MI*W123456789",
    "DMG*D8*19600415*F",
    "HL*4*3*EV*1",
    "TRN*1*PE{ref}*9SUBMIT001",
    "UM*AR*I*48*21:B**E",
    "DTP*435*D8*20261210",
    "HI*ABK:M1711*ABF:E669",
    "HSD*DY*3",
    "HL*5*4*SS*0",
    "TRN*1*SVC{ref}*9SUBMIT001",
    "UM*HS*I",
    "DTP*472*D8*20261210",
    "SV1*HC:27447**UN*1",
)
SEGMENTS_PER_SET = len(BODY) + 2  # with ST and SE
SENDER, RECEIVER = "SUBMITTER01", "UMO12345"
ISA_LENGTH = 106


def _sets_in(number: int) -> int:
    return 5 + number % 8  # 5..12: interchanges of different lengths


@dataclass(frozen=True, slots=True)
class Templates:
    isa: str  # {ctl}
    group: str  # {gs}: GS segment
    transaction: str  # {st}, {ref}
    trailers: str  # {sets}, {gs}, {ctl}: GE and IEA


def templates(style: Style) -> Templates:
    e, end = style.element, style.terminator + style.line_break

    def segments(*texts: str) -> str:
        table = str.maketrans({"*": e, ":": style.component})
        return "".join(text.translate(table) + end for text in texts)

    isa = e.join([
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", SENDER.ljust(15), "ZZ",
        RECEIVER.ljust(15), "261120", "0930", style.repetition, "00501", "{ctl}", "0", "T",
        style.component,
    ])  # fmt: skip
    assert len(isa.format(ctl="0" * 9)) + 1 == ISA_LENGTH, "an ISA is 106 characters"
    return Templates(
        isa=isa + end,
        group=segments(f"GS*HI*{SENDER}*{RECEIVER}*20261120*0930*{{gs}}*X*005010X217"),
        transaction=segments("ST*278*{st}*005010X217", *BODY, f"SE*{SEGMENTS_PER_SET}*{{st}}"),
        trailers=segments("GE*{sets}*{gs}", "IEA*1*{ctl}"),
    )


TEMPLATES = [templates(style) for style in STYLES]


def interchange(number: int, sets: int) -> str:
    """Interchange `number` (1-based) with its own control numbers: ISA13 = IEA02,
    GS06 = GE02, ST02 = SE02 unique within the group."""
    t = TEMPLATES[(number - 1) % len(TEMPLATES)]
    ctl, gs = f"{number:09d}", str(number)
    body = "".join(
        t.transaction.format(st=f"{n:04d}", ref=f"{number:09d}{n:04d}") for n in range(1, sets + 1)
    )
    return (
        t.isa.format(ctl=ctl) + t.group.format(gs=gs) + body
        + t.trailers.format(sets=sets, gs=gs, ctl=ctl)
    )  # fmt: skip


@dataclass(slots=True)
class Generated:
    interchanges: int = 0
    transactions: int = 0

    @property
    def segments(self) -> int:
        return self.transactions * SEGMENTS_PER_SET + self.interchanges * 4


def generate(path: Path, size: int) -> Generated:
    """Write exactly `size` bytes: whole interchanges, the last one shortened to fit, then
    newlines (whitespace between interchanges is allowed). Written under a temporary
    name, so an interrupted run never leaves a file of the right size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    try:
        counts = _write(temporary, size)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)
    return counts


def _write(out_path: Path, size: int) -> Generated:
    counts = Generated()
    remaining = size
    with open(out_path, "wb") as out:
        buffer: list[str] = []
        buffered = 0
        while True:
            number = counts.interchanges + 1
            sets = _sets_in(number)
            text = interchange(number, sets)
            while len(text) > remaining and sets > 1:  # only ever at the very end
                sets -= 1
                text = interchange(number, sets)
            if len(text) > remaining:
                break
            buffer.append(text)
            buffered += len(text)
            remaining -= len(text)
            counts.interchanges += 1
            counts.transactions += sets
            if buffered >= WRITE_CHUNK:
                out.write("".join(buffer).encode("ascii"))
                buffer, buffered = [], 0
        buffer.append("\n" * remaining)
        out.write("".join(buffer).encode("ascii"))
    return counts


def warm(path: Path) -> None:
    """Read the file once so every measurement starts from the same (warm) page cache."""
    with open(path, "rb") as f:
        while f.read(WRITE_CHUNK):
            pass


# --- the measurements, each run in its own process --------------------------------------


def measure_split(path: Path) -> dict[str, int]:
    segments = 0
    tail = b""
    with open(path, "rb") as f:
        while chunk := f.read(READ_CHUNK):
            pieces = (tail + chunk).split(b"~")
            tail = pieces.pop()  # a segment cut by the chunk boundary
            segments += len(pieces)
    return {"segments": segments + bool(tail.strip())}


def measure_reader(path: Path) -> dict[str, int]:
    from edi278.x12.reader import read_interchanges

    interchanges = transactions = segments = 0
    with open(path, "rb") as f:
        for interchange in read_interchanges(f):
            interchanges += interchange.header is not None
            for group in interchange.groups:
                for transaction in group.transactions:
                    transactions += 1
                    segments += len(transaction.segments)
                segments += 1 + (group.trailer is not None)  # GS, GE
            # ISA, IEA: the trailer is known once the groups are read
            segments += (interchange.header is not None) + (interchange.trailer is not None)
    return {"interchanges": interchanges, "transactions": transactions, "segments": segments}


def measure_pipeline(path: Path) -> dict[str, int]:
    from edi278.pipeline import acknowledge, examine
    from edi278.x12.control import MemoryControlNumbers

    numbers = MemoryControlNumbers()
    now = datetime(2026, 11, 22, 12, 0)
    counts = dict.fromkeys(("interchanges", "transactions", "accepted", "faults", "ack_bytes"), 0)
    with open(path, "rb") as f:
        for report in examine(f):
            acks = acknowledge(report, now, numbers)
            received, accepted = report.transaction_counts()
            counts["interchanges"] += report.header is not None
            counts["transactions"] += received
            counts["accepted"] += accepted
            counts["faults"] += len(report.all_faults())
            counts["ack_bytes"] += len(acks.functional or "") + len(acks.ta1 or "")
    return counts


MEASURES: dict[str, Callable[[Path], dict[str, int]]] = {
    "split": measure_split,
    "reader": measure_reader,
    "pipeline": measure_pipeline,
}


def child(mode: str, path: Path) -> None:
    """Run one measurement and print its figures as one JSON line."""
    sys.path.insert(0, str(ROOT))  # edi278 even when the venv has no editable install
    started = time.perf_counter()
    figures: dict[str, float] = dict(MEASURES[mode](path))
    figures["seconds"] = time.perf_counter() - started
    figures["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps(figures))


# ru_maxrss survives exec: a child spawned straight from here (subprocess uses vfork) would
# report at least this process's own peak, e.g. the generator's buffers. A tiny Python that
# fork()s before exec gives the measured process a fresh count, floored at its ~8 MB.
FORK_SHIM = """import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def run_child(mode: str, path: Path) -> dict[str, float]:
    measured = [sys.executable, str(SCRIPT), "--child", mode, "--path", str(path)]
    command = [sys.executable, "-I", "-S", "-c", FORK_SHIM, *measured]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        sys.stderr.write(f"{done.stderr}measurement {mode!r} failed (exit {done.returncode})\n")
        raise SystemExit(2)
    return json.loads(done.stdout.splitlines()[-1])


# --- reporting --------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine() -> dict[str, str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
         if line.startswith("model name")),
        platform.processor() or platform.machine(),
    )  # fmt: skip
    memory = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
         if line.startswith("MemTotal:")),
        0,
    )  # fmt: skip
    os_name = next(
        (line.split("=", 1)[1].strip('"') for line in _read("/etc/os-release").splitlines()
         if line.startswith("PRETTY_NAME=")),
        platform.system(),
    )  # fmt: skip
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "Memory": f"{memory / MB:.1f} GiB total" if memory else "unknown",
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "OS": f"{os_name}, kernel {platform.release()}",
    }


def table(results: dict[str, dict[str, float]], segments: int, size: int) -> str:
    ceiling = results["split"]
    rows = [
        "| measurement | wall s | MB/s | segments/s | peak RSS MB | time vs (a) | RSS vs (a) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for mode, figures in results.items():
        seconds, rss = figures["seconds"], figures["peak_kib"] / 1024
        rows.append(
            f"| {LABELS[mode]} | {seconds:.2f} | {size / MB / seconds:,.1f} | "
            f"{segments / seconds:,.0f} | {rss:.1f} | {seconds / ceiling['seconds']:.1f}x | "
            f"{figures['peak_kib'] / ceiling['peak_kib']:.1f}x |"
        )
    return "\n".join(rows)


def checks(results: dict[str, dict[str, float]]) -> list[tuple[str, bool]]:
    split, reader, pipeline = results["split"], results["reader"], results["pipeline"]
    rss = reader["peak_kib"] / 1024
    return [
        (f"peak RSS of (b) {rss:.1f} MB under {RSS_LIMIT_MB} MB", rss < RSS_LIMIT_MB),
        (
            f"(b) read the {split['segments']:,} segments (a) counted "
            f"(read {reader['segments']:,})",
            reader["segments"] == split["segments"],
        ),
        (
            f"(c) accepted all {reader['transactions']:,} transaction sets without a fault "
            f"(accepted {pipeline['accepted']:,}, {pipeline['faults']:,} faults)",
            pipeline["accepted"] == reader["transactions"] and pipeline["faults"] == 0,
        ),
    ]


def section(results: dict[str, dict[str, float]], size: int, lines: list[str], command: str) -> str:
    reader, segments = results["reader"], results["split"]["segments"]
    facts = {
        **machine(),
        "Command": f"`{command}`",
        "File": (
            f"{size:,} bytes ({size / MB:,.0f} MB), {reader['interchanges']:,} interchanges, "
            f"{reader['transactions']:,} transaction sets, {segments:,} "
            f"segments; delimiters rotate per interchange: " + ", ".join(s.name for s in STYLES)
        ),
    }
    body = "\n".join(f"- {key}: {value}" for key, value in facts.items())
    return (
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n{body}\n\n{table(results, segments, size)}"
        "\n\nOne run each, warm page cache; segments/s of (c) uses the segment count of (a).\n\n"
        + "\n".join(f"- {line}" for line in lines)
        + "\n"
    )


def record(text: str) -> None:
    """Insert a section above the earlier ones, under the title and description."""
    current = RESULTS.read_text() if RESULTS.exists() else RESULTS_HEADER
    lines = current.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
    head, rest = "".join(lines[:at]).rstrip("\n"), "".join(lines[at:])
    RESULTS.write_text(head + "\n\n" + text + ("\n" + rest if rest else ""))


# --- main -------------------------------------------------------------------------------


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB")
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH, help="the file to stream")
    parser.add_argument("--keep", action="store_true", help="keep the file afterwards")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parsed = parser.parse_args(argv)
    if parsed.size_mb < 1:
        parser.error("--size-mb must be at least 1")
    return parsed


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if args.child:
        child(args.child, args.path)
        return 0

    size = args.size_mb * MB
    path: Path = args.path
    if path.exists() and path.stat().st_size == size:
        print(f"reusing {path} ({size:,} bytes)")
    else:
        started = time.perf_counter()
        made = generate(path, size)
        print(
            f"wrote {path}: {size:,} bytes, {made.interchanges:,} interchanges, "
            f"{made.transactions:,} transaction sets, {made.segments:,} segments "
            f"in {time.perf_counter() - started:.1f} s"
        )
    try:
        warm(path)
        results: dict[str, dict[str, float]] = {}
        for mode in MODES:
            print(f"measuring {mode} ...", flush=True)
            results[mode] = run_child(mode, path)
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)

    print()
    print(table(results, results["split"]["segments"], size))
    outcome = checks(results)
    lines = [f"{'PASS' if passed else 'FAIL'}: {what}" for what, passed in outcome]
    print()
    print("\n".join(lines))
    if not args.no_record:
        command = "python benchmarks/stream_memory.py " + " ".join(sys.argv[1:])
        record(section(results, size, lines, command.strip()))
        print(f"\nrecorded in {RESULTS.relative_to(ROOT)}")
    return 0 if all(passed for _, passed in outcome) else 1


if __name__ == "__main__":
    sys.exit(main())
