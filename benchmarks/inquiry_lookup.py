"""X215 inquiries answered per second against a store of a million cases (issue 24).

    .venv/bin/python benchmarks/inquiry_lookup.py                    # recorded in RESULTS.md
    .venv/bin/python benchmarks/inquiry_lookup.py --cases 20000 --no-record
    EDI278_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres ...

A store is filled with --cases cases written straight into its tables (each with its
request kept as received, a service line, its decisions, tracking numbers and
providers, as the intake writes them), once per database and cached under var/bench/
for SQLite. Then --inquiries inquiries, one interchange each (the real-time shape), a
quarter each by certification number (REF BB), administrative reference (REF NT), the
request's trace number and member + provider + dates, are examined and answered by
`Intake.answer`; each must find its case. Reported: inquiries per second answered
(`Intake.answer` alone) and end to end (examined and answered), per search. The index
each search uses is pinned by tests/test_query_plans.py.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from stream_memory import machine, record

from edi278.decide.tracking import Kind, format_number
from edi278.ig import Guide
from edi278.intake import Fingerprint, Intake
from edi278.pipeline import examine
from edi278.store.database import connect, open_database, upgrade
from edi278.store.tables import (
    case_providers,
    cases,
    decisions,
    interchanges,
    service_lines,
    tracking_numbers,
)

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench"
SENDER = "ZZ:SUBMITTER01"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
YEAR = NOW.year
BATCH = 10_000  # rows written per statement batch
MEMBERS_EVERY = 5  # cases per member: a member search finds a few
REQUESTER, FACILITY = "1234567893", "1528067142"
SEARCHES = ("certification number", "administrative reference", "trace number", "member")
REQUEST = (
    "ISA*00*          *00*          *ZZ*SUBMITTER01    *ZZ*UMO12345       *261120*0930*^"
    "*00501*{control:09d}*0*T*:~GS*HI*SUBMITTER01*UMO12345*20261120*0930*{control}*X*"
    "005010X217~ST*278*0001*005010X217~BHT*0007*13*B{n}*20261120*0930~HL*1**20*1~"
    "NM1*X3*2*ACME HEALTH PLAN*****PI*12345~HL*2*1*21*1~"
    "NM1*1P*2*RIVERSIDE ORTHOPEDICS*****XX*1234567893~HL*3*2*22*1~"
    "NM1*IL*1*MEMBER*M{member}****MI*{member_id}~DMG*D8*19780922*M~HL*4*3*EV*1~"
    "TRN*1*T{n}*9SUBMIT001~UM*HS*I*62*22:B~HI*ABK:M5416~"
    "NM1*FA*2*LAKESIDE IMAGING*****XX*1528067142~HL*5*4*SS*0~TRN*1*L{n}*9SUBMIT001~UM*HS*I~"
    "DTP*472*RD8*{start:%Y%m%d}-{end:%Y%m%d}~SV1*HC:72148**UN*1~SE*21*0001~GE*1*{control}~"
    "IEA*1*{control:09d}~"
)


def member_id(member: int) -> str:
    return f"B{member:09d}"


def dates_of(n: int) -> tuple[date, date]:
    start = date(2026, 1, 1) + timedelta(days=n % 330)
    return start, start + timedelta(days=30)


def fill(url: str, count: int) -> None:
    """`count` cases of SUBMITTER01, certified one in two, written in batches."""
    engine = connect(url)
    upgrade(engine)
    with engine.begin() as connection:
        interchange = connection.execute(
            interchanges.insert().returning(interchanges.c.id),
            {"sender": SENDER, "group_control_numbers": "", "sha256": "0" * 64, "size": 0,
             "received_at": NOW, "channel": "file", "source": "bench", "status": "accepted",
             "claims_control_number": False},
        ).scalar_one()  # fmt: skip
    for first in range(1, count + 1, BATCH):
        numbers = range(first, min(first + BATCH, count + 1))
        with engine.begin() as connection:
            connection.execute(cases.insert(), [_case(n, interchange) for n in numbers])
            connection.execute(service_lines.insert(), [_line(n) for n in numbers])
            connection.execute(decisions.insert(), [d for n in numbers for d in _decisions(n)])
            connection.execute(tracking_numbers.insert(), [t for n in numbers for t in _issued(n)])
            connection.execute(case_providers.insert(), [p for n in numbers for p in _providers(n)])
        print(f"  {numbers[-1]:,} cases", end="\r", flush=True)
    print()
    with engine.begin() as connection:  # a store in use has its statistics
        connection.execute(text("ANALYZE"))
    engine.dispose()


def _case(n: int, interchange: int) -> dict:
    member = n // MEMBERS_EVERY
    start, end = dates_of(n)
    return {
        "id": n, "interchange_id": interchange, "sender": SENDER,
        "transaction_control_number": "0001", "submitter_reference": f"B{n}",
        "trace_number": f"T{n}", "trace_originator": "9SUBMIT001", "requester_npi": REQUESTER,
        "requester_name": "RIVERSIDE ORTHOPEDICS", "member_id": member_id(member),
        "member_last_name": "MEMBER", "member_first_name": f"M{member}",
        "member_birth_date": date(1978, 9, 22), "patient_last_name": "MEMBER",
        "patient_first_name": f"M{member}", "patient_birth_date": date(1978, 9, 22),
        "patient_is_dependent": False, "category": "HS", "certification_type": "I",
        "service_type": "62", "level_of_service": None, "urgency": "standard",
        "event_start": start, "event_end": end,
        "administrative_reference": format_number(Kind.REFERENCE, YEAR, n),
        "status": "certified" if n % 2 else "pended", "received_at": NOW,
        "regulatory_due_at": NOW + timedelta(days=7),
        "request": REQUEST.format(control=n % 10**9, n=n, member=member,
                                  member_id=member_id(member), start=start, end=end),
    }  # fmt: skip


def _line(n: int) -> dict:
    start, end = dates_of(n)
    return {"id": n, "case_id": n, "line_number": 1, "trace_number": f"L{n}",
            "procedure": "HC:72148", "quantity": "1", "unit": "UN", "start_date": start,
            "end_date": end}  # fmt: skip


def _decisions(n: int) -> list[dict]:
    certified = n % 2 == 1
    number = format_number(Kind.CERTIFICATION, YEAR, n) if certified else None
    start, end = dates_of(n)
    common = {"case_id": n, "action": "A1" if certified else "A4",
              "reason": "" if certified else "0V", "certification_number": number,
              "administrative_reference": format_number(Kind.REFERENCE, YEAR, n),
              "message": "", "issued": NOW.date() if certified else None,
              "effective": start if certified else None, "expires": end if certified else None,
              "decided_at": NOW, "decided_by": "engine:bench"}  # fmt: skip
    return [{**common, "service_line_id": None}, {**common, "service_line_id": n}]


def _issued(n: int) -> list[dict]:
    issued = [{"number": format_number(Kind.REFERENCE, YEAR, n), "kind": "reference",
               "sequence": n, "issued_at": NOW, "case_id": n}]  # fmt: skip
    if n % 2:
        issued.append({"number": format_number(Kind.CERTIFICATION, YEAR, n),
                       "kind": "certification", "sequence": n, "issued_at": NOW,
                       "case_id": n})  # fmt: skip
    return issued


def _providers(n: int) -> list[dict]:
    return [
        {"case_id": n, "loop_id": "2010B", "role": "1P", "npi": REQUESTER,
         "name": "RIVERSIDE ORTHOPEDICS"},
        {"case_id": n, "loop_id": "2010EA", "role": "FA", "npi": FACILITY,
         "name": "LAKESIDE IMAGING"},
    ]  # fmt: skip


def inquiry(k: int, n: int, search: str) -> bytes:
    """Inquiry `k` about case `n`, by one search."""
    member = n // MEMBERS_EVERY
    start, _ = dates_of(n)
    event = {
        "certification number": f"REF*BB*{format_number(Kind.CERTIFICATION, YEAR, n)}~",
        "administrative reference": f"REF*NT*{format_number(Kind.REFERENCE, YEAR, n)}~",
        "trace number": "",
        "member": f"DTP*AAH*RD8*{start:%Y%m%d}-{start:%Y%m%d}~",
    }[search]
    trace = f"T{n}" if search == "trace number" else f"Q{k}"
    body = (
        f"BHT*0007*28*Q{k}*20261122*1200~HL*1**20*1~NM1*X3*2*ACME HEALTH PLAN*****PI*12345~"
        "HL*2*1*21*1~NM1*1P*2*RIVERSIDE ORTHOPEDICS*****XX*1234567893~HL*3*2*22*1~"
        f"NM1*IL*1*MEMBER*M{member}****MI*{member_id(member)}~DMG*D8*19780922*M~"
        f"HL*4*3*EV*0~TRN*1*{trace}*9SUBMIT001~{event}"
    )
    control = 500_000_000 + k
    sets = f"ST*278*0001*005010X215~{body}SE*{body.count('~') + 2}*0001~"
    return (
        "ISA*00*          *00*          *ZZ*SUBMITTER01    *ZZ*UMO12345       *261122*1200*^"
        f"*00501*{control:09d}*0*T*:~GS*HI*SUBMITTER01*UMO12345*20261122*1200*{control}*X*"
        f"005010X215~{sets}GE*1*{control}~IEA*1*{control:09d}~"
    ).encode()


@dataclass
class Timed:
    search: str
    inquiries: int
    answering: float  # seconds in Intake.answer
    total: float  # examined and answered
    found: int


def ask(url: str, count: int, inquiries: int) -> list[Timed]:
    engine = open_database(url)
    intake, guide = Intake(engine), Guide()
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(cases)) == count
    results = []
    for s, search in enumerate(SEARCHES):
        timed = Timed(search, 0, 0.0, 0.0, 0)
        for k in range(inquiries // len(SEARCHES)):
            n = ((k * 7919 + s) * 2) % count + 1  # odd: a certified case
            data = inquiry(s * inquiries + k, n, search)
            began = time.perf_counter()
            (report,) = examine(io.BytesIO(data), guide)
            examined = time.perf_counter()
            answer = intake.answer(report, Fingerprint.of_bytes(data), "bench", NOW)
            done = time.perf_counter()
            timed.inquiries += 1
            timed.answering += done - examined
            timed.total += done - began
            responses = answer.acknowledgements.responses
            assert isinstance(responses, str), answer.acknowledgements.functional
            timed.found += "HCR*A1*" in responses
        results.append(timed)
    engine.dispose()
    return results


def run(cases_count: int, inquiries: int, postgres: str | None) -> dict[str, list[Timed]]:
    """Fill the stores (SQLite cached by size) and time the inquiries on each."""
    measured = {}
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"inquiries-{cases_count}.db"
    if not cached.exists():
        print(f"filling SQLite with {cases_count:,} cases ...", flush=True)
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        fill(f"sqlite:///{partial}", cases_count)
        partial.rename(cached)
    working = CACHE / "inquiries-working.db"
    working.write_bytes(cached.read_bytes())  # what the inquiries write starts afresh
    measured["SQLite"] = ask(f"sqlite:///{working}", cases_count, inquiries)
    working.unlink()
    if postgres:
        server = make_url(postgres)
        name = f"edi278_bench_inquiries_{os.getpid()}"
        admin = open_admin(server)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
        try:
            print(f"filling PostgreSQL with {cases_count:,} cases ...", flush=True)
            fill(url, cases_count)
            measured["PostgreSQL"] = ask(url, cases_count, inquiries)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return measured


def open_admin(server):
    from sqlalchemy import create_engine

    return create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")


def section(measured: dict[str, list[Timed]], cases_count: int, inquiries: int) -> str:
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: X215 inquiries against "
        f"{cases_count:,} cases (issue 24)",
        "",
        *(f"- {k}: {v}" for k, v in machine().items()),
        "- Command: `" + " ".join(["python benchmarks/inquiry_lookup.py", *sys.argv[1:]]) + "`",
        f"- {inquiries:,} inquiries, one interchange each, a quarter per search; every one "
        "must find its certified case",
        "",
        "| database | search | inquiries | found | answered/s (`Intake.answer`) "
        "| end to end/s (examined + answered) | ms per inquiry |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for database, rows in measured.items():
        for row in rows:
            lines.append(
                f"| {database} | {row.search} | {row.inquiries:,} | {row.found:,} "
                f"| {row.inquiries / row.answering:,.0f} | {row.inquiries / row.total:,.0f} "
                f"| {1000 * row.total / row.inquiries:.1f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--inquiries", type=int, default=2_000)
    parser.add_argument("--postgres", default=os.environ.get("EDI278_BENCH_POSTGRES_URL"))
    parser.add_argument("--no-record", action="store_true")
    options = parser.parse_args(argv)
    measured = run(options.cases, options.inquiries, options.postgres)
    text_ = section(measured, options.cases, options.inquiries)
    print(text_)
    missing = [r for rows in measured.values() for r in rows if r.found != r.inquiries]
    if not options.no_record:
        record(text_)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
