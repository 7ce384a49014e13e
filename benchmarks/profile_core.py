"""Where the time goes on the way from bytes to answers, the guide validator left out.

    .venv/bin/python benchmarks/profile_core.py              # rates, then the top functions
    .venv/bin/python benchmarks/profile_core.py --no-profile # rates only
    .venv/bin/python benchmarks/profile_core.py intake process --members --sort cumulative

The workload is store_intake.py's: 2,000 distinct requests (20 interchanges of 100), all
for one member, so that the store answers nearly all of them as business duplicates.
With --members, each request is for another subscriber of the demo reference data, on
dates of its own: certifications, pends and rejections as the members' plans decide.
Each stage is timed on its own, then run again under cProfile for its top functions:

    examine     bytes -> reports: envelope checks without the guide (`examine(guide=None)`)
    read        the same with a guide that finds nothing (`NullGuide`), so that every
                request is also read into the model: what `examine` costs a valid file
                apart from the validator itself
    acknowledge `acknowledge` with the determination engine on facts read beforehand and
                control numbers in memory: the pure core (999 + decisions + 278)
    intake      `Intake.answer` on SQLite on pre-examined reports: everything recorded
    process     `process_file` on SQLite with the NullGuide: the file read, examined,
                answered, recorded and written to an outbox, as `edi278 process` does

Rates are requests per CPU second of this process (the best of --repeat runs): what "per
core" means, and what a busy machine disturbs least; wall time is printed beside it.
Logging is configured as `edi278 process` configures it (WARNING unless EDI278_LOG_LEVEL).
Nothing is recorded in RESULTS.md: this is a tool for finding what to speed up.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from guide_latency import requests_file

from edi278 import log
from edi278.batch import process_file
from edi278.channels import answerer, intake_for
from edi278.clock import fixed_clock
from edi278.decide.engine import decide as engine_decide
from edi278.decide.outcome import Tracking
from edi278.decide.policy import default_policy
from edi278.intake import Fingerprint, Intake
from edi278.pipeline import acknowledge, examine
from edi278.store.database import open_database
from edi278.store.facts import facts_for
from edi278.store.reference import load_reference
from edi278.x12.control import MemoryControlNumbers
from edi278.x12.report import InterchangeReport

INTERCHANGES, SETS_PER_INTERCHANGE = 20, 100
REQUESTS = INTERCHANGES * SETS_PER_INTERCHANGE
REFERENCE = Path(__file__).parents[1] / "samples" / "reference"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class NullGuide:
    """A guide that finds every transaction set valid: `examine` then reads each
    request into the model as it would after the real validator, at none of its cost."""

    def validate(self, isa: object, gs: object, segments: object) -> list:
        return []


def examined(data: bytes) -> list[InterchangeReport]:
    reports = list(examine(io.BytesIO(data), NullGuide()))  # type: ignore[arg-type]
    assert sum(r.transaction_counts()[1] for r in reports) == REQUESTS, "every request valid"
    return reports


def members_file() -> bytes:
    """The workload with each request for the next subscriber of the reference data, its
    dates moved a week further each time round the members (never a duplicate)."""
    with open(REFERENCE / "members.csv", newline="") as members:
        subscribers = [m for m in csv.DictReader(members) if m["member_id"] == m["subscriber_id"]]
    text = requests_file(INTERCHANGES, SETS_PER_INTERCHANGE, distinct=True).decode()
    requests = text.split("ST*278*")
    for number in range(1, len(requests)):
        member = subscribers[(number - 1) % len(subscribers)]
        day = date(2026, 12, 10) + timedelta(weeks=(number - 1) // len(subscribers))
        born = member["birth_date"].replace("-", "")
        requests[number] = (
            requests[number]
            .replace("DOE*JANE****MI*W123456789", f"{member['last_name']}*"
                     f"{member['first_name']}****MI*{member['member_id']}")
            .replace("DMG*D8*19600415*F", f"DMG*D8*{born}*{member['gender']}")
            .replace("20261210", f"{day:%Y%m%d}")
        )  # fmt: skip
    return "ST*278*".join(requests).encode()


def fresh_database(folder: str, name: str) -> str:
    url = f"sqlite:///{folder}/{name}.db"
    engine = open_database(url)
    load_reference(engine, REFERENCE)
    engine.dispose()
    return url


# --- the stages: each makes, per run, what is to be timed --------------------------------

Run = Callable[[], object]


def stage_examine(data: bytes, _folder: str) -> Callable[[], Run]:
    return lambda: lambda: list(examine(io.BytesIO(data)))


def stage_read(data: bytes, _folder: str) -> Callable[[], Run]:
    return lambda: lambda: examined(data)


def stage_acknowledge(data: bytes, folder: str) -> Callable[[], Run]:
    reports = examined(data)
    engine = open_database(fresh_database(folder, "facts"))
    with engine.connect() as connection:
        requests = [t.request for r in reports for g in r.groups for t in g.transactions]
        facts = facts_for(connection, requests)
    engine.dispose()
    policy = default_policy()

    def run() -> None:
        numbers, counter = MemoryControlNumbers(), iter(range(1, 10**9))

        def decide(request):  # type: ignore[no-untyped-def]
            references = [f"R{next(counter):011d}" for _ in request.events]
            tracking = Tracking(references, lambda: f"C{next(counter):011d}")
            return engine_decide(request, facts, policy, NOW, tracking)

        for report in reports:
            acknowledge(report, NOW, numbers, decide)

    return lambda: run


def stage_intake(data: bytes, folder: str) -> Callable[[], Run]:
    runs = iter(range(1, 1000))

    def setup() -> Run:
        # Fresh reports (the intake adds to what it answers) and a fresh store each run.
        reports = examined(data)
        intake = Intake(open_database(fresh_database(folder, f"intake{next(runs)}")))
        prints = [Fingerprint.of_bytes(data[r.span[0] : r.span[1]]) for r in reports]

        def run() -> None:
            for report, fingerprint in zip(reports, prints, strict=True):
                intake.answer(report, fingerprint, "bench", NOW)

        return run

    return setup


def stage_process(data: bytes, folder: str) -> Callable[[], Run]:
    path = Path(folder) / "requests.x12"
    path.write_bytes(data)
    runs = iter(range(1, 1000))

    def setup() -> Run:
        number = next(runs)
        engine = open_database(fresh_database(folder, f"process{number}"))
        answer = answerer(intake_for(engine, "file", "bench"), fixed_clock(NOW))

        def run() -> None:
            outbox = Path(folder) / f"outbox{number}"
            summary = process_file(path, outbox, answer, NullGuide())  # type: ignore[arg-type]
            assert summary.cases_created == REQUESTS, summary.as_dict()

        return run

    return setup


STAGES = {
    "examine": stage_examine,
    "read": stage_read,
    "acknowledge": stage_acknowledge,
    "intake": stage_intake,
    "process": stage_process,
}


def timed(setup: Callable[[], Run]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run. The rate is reckoned on CPU time, which
    is what "per core" means and what a busy machine disturbs least."""
    run = setup()
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - cpu, time.perf_counter() - wall


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("stages", nargs="*", help=f"some of {', '.join(STAGES)} (default: all)")
    options.add_argument("--repeat", type=int, default=3, help="timed runs, best kept")
    options.add_argument("--no-profile", action="store_true", help="rates only")
    options.add_argument("--top", type=int, default=25, help="functions listed per stage")
    options.add_argument("--sort", default="tottime", help="pstats key: tottime, cumulative")
    options.add_argument("--members", action="store_true", help="a request per subscriber")
    arguments = options.parse_args(argv)
    unknown = set(arguments.stages) - set(STAGES)
    if unknown:
        options.error(f"unknown stage(s): {', '.join(sorted(unknown))}")
    log.configure()
    data = (
        members_file()
        if arguments.members
        else requests_file(INTERCHANGES, SETS_PER_INTERCHANGE, distinct=True)
    )
    rates = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in arguments.stages or STAGES:
            setup = STAGES[name](data, folder)
            timed(setup)  # warm-up: imports, caches, the first connection
            cpu, wall = min(timed(setup) for _ in range(arguments.repeat))
            rates[name] = REQUESTS / cpu
            print(
                f"{name:12} {REQUESTS / cpu:8,.0f} requests/s per core  "
                f"({cpu:.3f} s CPU, {wall:.3f} s wall)",
                flush=True,
            )
            if not arguments.no_profile:
                profiler = cProfile.Profile()
                profiler.runcall(setup())
                stats = pstats.Stats(profiler, stream=sys.stdout)
                stats.strip_dirs().sort_stats(arguments.sort).print_stats(arguments.top)
    if len(rates) > 1:
        print("  ".join(f"{name} {rate:,.0f}/s" for name, rate in rates.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
