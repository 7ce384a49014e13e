"""Loading a large plan's reference data, then a day's changes (issue 23): a full
`edi278 reference load` of N members with their eligibility (default 1,000,000), then an
`edi278 reference change` of 10,000 rows, each a fresh measured process (wall, CPU, peak
RSS), on SQLite and, with --postgres URL, on PostgreSQL too.

    .venv/bin/python benchmarks/reference_load.py                       # 1,000,000, recorded
    .venv/bin/python benchmarks/reference_load.py --members 20000 --no-record

The members are generated (fixed seed, fictitious, subscribers only): the demo plans and
providers of samples/reference/, every HMO, EPO and IFP member with a PCP, one member in
ten with a plan change (two eligibility spans). The change file holds, in equal parts:
members added (with their eligibility), members changed (an address), plan changes from
January 1 and terminations at December 31.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO = ROOT / "samples" / "reference"
EDI278 = ROOT / ".venv" / "bin" / "edi278"
sys.path.insert(0, str(HERE))

from measure import loadavg, run  # noqa: E402
from stream_memory import machine, record  # noqa: E402

PLANS = ["PPO01", "PPO02", "OAP01", "OAP02", "HMO01", "HMO02", "EPO01", "EPO02", "IFP01"]
NEEDS_PCP = {"HMO01", "HMO02", "EPO01", "EPO02", "IFP01"}
PCPS = ["1245319599"]  # GARDNER ALEX, family medicine, in network
MEMBER_HEADER = [
    "member_id", "subscriber_id", "relationship", "last_name", "first_name", "birth_date",
    "gender", "plan_id", "pcp_npi", "medicare_primary", "medicare_product",
    "medicare_exhausted_from", "coordination_notes", "address_line1", "address_line2", "city",
    "state", "zip",
]  # fmt: skip
CHANGES = 10_000


def member_id(n: int) -> str:
    return f"B{n:09d}"


def member_row(n: int, plan: str, street: str = "ELM ST") -> list[str]:
    born = f"{1940 + n % 60}-{1 + n % 12:02d}-{1 + n % 28:02d}"
    pcp = PCPS[0] if plan in NEEDS_PCP else ""
    return [member_id(n), member_id(n), "subscriber", f"LAST{n % 997}", f"FIRST{n % 499}",
            born, "MF"[n % 2], plan, pcp, "no", "", "", "", f"{n % 9999 + 1} {street}", "",
            "HARTFORD", "CT", "06103"]  # fmt: skip


@contextmanager
def member_writers(folder: Path) -> Iterator[tuple[Any, Any]]:
    """CSV writers for members.csv and eligibility.csv in `folder`, closed together."""
    with (
        (folder / "members.csv").open("w", newline="") as members_file,
        (folder / "eligibility.csv").open("w", newline="") as spans_file,
    ):
        yield (
            csv.writer(members_file, lineterminator="\n"),
            csv.writer(spans_file, lineterminator="\n"),
        )


def write_load(folder: Path, members: int, rng: random.Random) -> None:
    """The demo's plans, providers and networks; `members` generated members."""
    folder.mkdir(parents=True)
    for name in ("plans.csv", "providers.csv", "networks.csv"):
        shutil.copy(DEMO / name, folder / name)
    with member_writers(folder) as (members_out, spans_out):
        members_out.writerow(MEMBER_HEADER)
        spans_out.writerow(["member_id", "plan_id", "start_date", "end_date"])
        for n in range(members):
            plan = rng.choice(PLANS)
            members_out.writerow(member_row(n, plan))
            if n % 10 == 0:  # a plan change some years ago
                spans_out.writerow([member_id(n), plan, "2018-01-01", "2021-12-31"])
                spans_out.writerow([member_id(n), plan, "2022-01-01", ""])
            else:
                spans_out.writerow([member_id(n), plan, "2020-01-01", ""])


def write_changes(folder: Path, members: int, rng: random.Random) -> None:
    """10,000 rows: a quarter each of members added (with eligibility), members changed,
    plan changes from January 1, terminations at December 31."""
    folder.mkdir(parents=True)
    quarter = CHANGES // 4
    chosen = rng.sample(range(members), 3 * quarter)
    changed, moved, ended = chosen[:quarter], chosen[quarter : 2 * quarter], chosen[2 * quarter :]
    with member_writers(folder) as (members_out, spans_out):
        members_out.writerow(["change", *MEMBER_HEADER])
        spans_out.writerow(["change", "member_id", "plan_id", "start_date", "end_date"])
        for n in range(members, members + quarter // 2):  # a member and a span: 2 rows
            plan = rng.choice(PLANS)
            members_out.writerow(["add", *member_row(n, plan)])
            spans_out.writerow(["add", member_id(n), plan, "2026-12-01", ""])
        for n in changed:
            members_out.writerow(["change", *member_row(n, "PPO01", "OAK AVE")])
        for n in moved:
            spans_out.writerow(["add", member_id(n), "PPO01", "2027-01-01", ""])
        for n in ended:
            spans_out.writerow(["terminate", member_id(n), "", "", "2026-12-31"])


def rows_in(folder: Path) -> int:
    return sum(sum(1 for _ in path.open()) - 1 for path in folder.glob("*.csv"))


def measure(url: str, load: Path, changes: Path, state: Path) -> list[str]:
    """The load, then the change, into the database at `url` (brought up to date first)."""
    upgrade = [str(EDI278), "db", "upgrade", "--db", url, "--state-dir", str(state)]
    subprocess.run(upgrade, check=True, capture_output=True)
    lines = []
    for what, command in (
        ("load", [str(EDI278), "reference", "load", str(load)]),
        ("change", [str(EDI278), "reference", "change", str(changes)]),
    ):
        done = run([*command, "--db", url, "--state-dir", str(state)])
        if done.exit != 0:
            raise RuntimeError(f"{what} failed: {done.stderr[-2000:]}")
        lines.append(f"| {what} | {done.wall:.1f} | {done.cpu:.1f} | {done.peak_mb:.0f} | "
                     f"{done.stdout.strip()} |")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="also on this PostgreSQL URL (its tables are replaced)")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args(argv)
    rng = random.Random(23)
    started = datetime.now(UTC)
    before = loadavg()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        write_load(folder / "load", args.members, rng)
        write_changes(folder / "changes", args.members, rng)
        sizes = (rows_in(folder / "load"), rows_in(folder / "changes"))
        targets = [("SQLite", f"sqlite:///{folder / 'edi278.db'}")]
        if args.postgres:
            targets.append(("PostgreSQL", args.postgres))
        results = {name: measure(url, folder / "load", folder / "changes", folder / "state")
                   for name, url in targets}  # fmt: skip
    about = machine()
    text = [
        f"## {started:%Y-%m-%d %H:%M} UTC: reference data, {args.members:,} members then a "
        f"{CHANGES:,}-row change (issue 23)",
        "",
        *(f"- {key}: {value}" for key, value in about.items()),
        f"- Command: `python benchmarks/reference_load.py --members {args.members}"
        f"{' --postgres URL' if args.postgres else ''}`",
        f"- Load average: {before} at the start, {loadavg()} at the end (1, 5, 15 min; other "
        "processes on the machine share its cores and are not stopped)",
        f"- Files: the load {sizes[0]:,} rows (the demo's plans, providers and networks, "
        f"{args.members:,} members, their eligibility); the change {sizes[1]:,} rows "
        "(members added with their eligibility, members changed, plan changes from January 1, "
        "terminations at December 31)",
        "",
        "Each command is a fresh `edi278` process (measure.py): wall and CPU seconds, peak RSS.",
        "",
    ]
    for name, lines in results.items():
        text += [f"### {name}", "", "| command | wall s | CPU s | peak RSS MB | output |",
                 "|---|---|---|---|---|", *lines, ""]  # fmt: skip
    report = "\n".join(text)
    print(report)
    if not args.no_record:
        record(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
