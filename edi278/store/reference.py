"""Loading reference data (plans, providers, networks, members, eligibility, and the
authorizations a previous system issued) from CSV.

The format is documented in samples/reference/README.md. A load is a snapshot: the
files together replace what was loaded before, in one transaction, and only when
every row of every file is good. Otherwise nothing changes and every bad row is named
with its file, line and reason. authorizations.csv may be left out: a plan with no
certifications from before has none to load.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path

from sqlalchemy import Engine, Table, delete

from edi278.store.tables import (
    eligibility_spans,
    members,
    network_spans,
    plans,
    providers,
    reference_authorizations,
)

MAX_REPORTED = 50  # problems listed; past that, a count

Parser = Callable[[str], object]


class ReferenceDataError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_REPORTED]
        more = len(problems) - len(shown)
        super().__init__(
            "reference data not loaded, nothing changed:\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )


class _Bad(ValueError):
    pass


def _text(limit: int) -> Parser:
    def parse(value: str) -> str:
        if len(value) > limit:
            raise _Bad(f"longer than {limit} characters")
        return value

    return parse


def _identifier(limit: int) -> Parser:
    pattern = re.compile(rf"[A-Za-z0-9]{{1,{limit}}}")

    def parse(value: str) -> str:
        if not pattern.fullmatch(value):
            raise _Bad(f"is not 1-{limit} letters or digits")
        return value

    return parse


def _choice(*allowed: str) -> Parser:
    def parse(value: str) -> str:
        if value not in allowed:
            raise _Bad(f"is not one of {', '.join(allowed)}")
        return value

    return parse


def _date(value: str) -> date:
    try:
        if len(value) == 10:  # fromisoformat would also take 20261122
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise _Bad("is not a date (YYYY-MM-DD)")


def _boolean(value: str) -> bool:
    if value not in ("yes", "no"):
        raise _Bad("is not yes or no")
    return value == "yes"


def _npi(value: str) -> str:
    if not re.fullmatch(r"[12]\d{9}", value):
        raise _Bad("is not an NPI (10 digits, the first 1 or 2)")
    return value


def _taxonomy(value: str) -> str:
    if not re.fullmatch(r"[0-9A-Z]{9}X", value):
        raise _Bad("is not a NUCC taxonomy code (9 digits or capitals, then X)")
    return value


def _state(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise _Bad("is not a state code (two capital letters)")
    return value


def _zip(value: str) -> str:
    if not re.fullmatch(r"\d{5}(-\d{4})?", value):
        raise _Bad("is not a ZIP code (5 digits, or ZIP+4)")
    return value


def _tier(value: str) -> int:
    if value not in ("1", "2", "3"):
        raise _Bad("is not a cost tier (1, 2 or 3)")
    return int(value)


def _service_type(value: str) -> str:
    if not re.fullmatch(r"[0-9A-Z]{1,2}", value):
        raise _Bad("is not a service type code (UM03: 1-2 digits or capitals)")
    return value


def _procedures(value: str) -> str:
    codes = value.split()
    if not all(re.fullmatch(r"[0-9A-Z]{5}", code) for code in codes):
        raise _Bad("is not procedure codes (CPT or HCPCS, 5 characters each, space-separated)")
    return " ".join(codes)


def _count(value: str) -> int:
    if not re.fullmatch(r"[1-9]\d{0,5}", value):
        raise _Bad("is not a whole number from 1 to 999999")
    return int(value)


# A number as the previous system issued it, in its own format: what a REF02 can carry,
# save the characters X12 files commonly use as delimiters.
def _issued_number(value: str) -> str:
    if not re.fullmatch(r"[\x20-\x7e]{1,50}", value) or re.search(r"[*~^:|]", value):
        raise _Bad("is not 1-50 printable characters without * ~ ^ : |")
    return value


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    parse: Parser
    required: bool = True
    absent: object = None  # stored for an empty optional field
    phi: bool = False  # never quoted in a message: names, member IDs, birth dates


@dataclass(frozen=True, slots=True)
class FileSpec:
    name: str
    table: Table
    columns: tuple[Column, ...]
    optional: bool = False  # left out: no rows (the table is emptied all the same)


FILES = (
    FileSpec(
        "plans.csv",
        plans,
        (
            Column("plan_id", _identifier(20)),
            Column("name", _text(120)),
            Column("product_type", _choice("HMO", "EPO", "IFP", "OAP", "PPO", "MEDICARE")),
            Column("medical_management", _choice("inpatient", "inpatient-outpatient")),
            Column("referral_required", _boolean),
            Column("out_of_network_benefit", _boolean),
        ),
    ),
    FileSpec(
        "providers.csv",
        providers,
        (
            Column("npi", _npi),
            Column("name", _text(120)),
            Column("kind", _choice("individual", "facility")),
            Column("taxonomy", _taxonomy),
            Column("cost_tier", _tier),
            Column("group_npi", _npi, required=False),
        ),
    ),
    FileSpec(
        "networks.csv",
        network_spans,
        (
            Column("npi", _npi),
            Column("status", _choice("in-network", "out-of-network")),
            Column("start_date", _date),
            Column("end_date", _date, required=False),
        ),
    ),
    FileSpec(
        "members.csv",
        members,
        (
            Column("member_id", _identifier(30), phi=True),
            Column("subscriber_id", _identifier(30), phi=True),
            Column("relationship", _choice("subscriber", "spouse", "child", "other")),
            Column("last_name", _text(60), phi=True),
            Column("first_name", _text(35), phi=True),
            Column("birth_date", _date, phi=True),
            Column("gender", _choice("M", "F", "U")),
            Column("plan_id", _identifier(20)),
            Column("pcp_npi", _npi, required=False),
            Column("medicare_primary", _boolean),
            Column("medicare_product", _choice("original", "risk", "supplement"), False, ""),
            Column("medicare_exhausted_from", _date, required=False),
            Column("coordination_notes", _text(500), False, ""),
            # Where letters go (PHI: named by place, never quoted).
            Column("address_line1", _text(55), phi=True),
            Column("address_line2", _text(55), required=False, phi=True),
            Column("city", _text(30), phi=True),
            Column("state", _state),
            Column("zip", _zip, phi=True),
        ),
    ),
    FileSpec(
        "eligibility.csv",
        eligibility_spans,
        (
            Column("member_id", _identifier(30), phi=True),
            Column("plan_id", _identifier(20)),
            Column("start_date", _date),
            Column("end_date", _date, required=False),
        ),
    ),
    FileSpec(
        "authorizations.csv",
        reference_authorizations,
        (
            Column("number", _issued_number),
            Column("member_id", _identifier(30), phi=True),
            Column("service_type", _service_type),
            Column("procedures", _procedures, False, ""),
            Column("facility_npi", _npi, required=False),
            Column("start_date", _date),
            Column("end_date", _date),
            Column("quantity", _count, required=False),
            Column("unit", _choice("days", "units", "visits"), False, ""),
            Column("status", _choice("certified", "modified", "cancelled")),
        ),
        optional=True,
    ),
)


@dataclass(frozen=True, slots=True)
class Row:
    file: str
    line: int
    values: dict[str, object]

    def where(self) -> str:
        return f"{self.file} line {self.line}"


@dataclass(frozen=True, slots=True)
class LoadResult:
    rows: dict[str, int]  # per file


def load_reference(engine: Engine, directory: Path) -> LoadResult:
    """Read, check and load the files in `directory`, all or nothing."""
    problems: list[str] = []
    rows = {spec.name: list(_read(directory / spec.name, spec, problems)) for spec in FILES}
    if not problems:
        problems.extend(_cross_check(rows))
    if problems:
        raise ReferenceDataError(problems)
    with engine.begin() as connection:
        for spec in reversed(FILES):  # dependents first
            connection.execute(delete(spec.table))
        for spec in FILES:
            if rows[spec.name]:
                connection.execute(spec.table.insert(), [row.values for row in rows[spec.name]])
    return LoadResult({name: len(found) for name, found in rows.items()})


def _read(path: Path, spec: FileSpec, problems: list[str]) -> Iterator[Row]:
    if not path.is_file():
        if spec.optional:
            return
        problems.append(f"{spec.name}: missing from {path.parent}")
        return
    expected = [column.name for column in spec.columns]
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != expected:
            problems.append(
                f"{spec.name} line 1: the header must be {','.join(expected)}"
                f" (found {','.join(header or []) or 'nothing'})"
            )
            return
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue  # a blank line
            if len(fields) != len(expected):
                problems.append(
                    f"{spec.name} line {line}: {len(fields)} fields, {len(expected)} expected"
                )
                continue
            values, bad = {}, False
            for column, text in zip(spec.columns, fields, strict=True):
                text = text.strip()
                if not text:
                    if column.required:
                        problems.append(f"{spec.name} line {line}: {column.name} is required")
                        bad = True
                    values[column.name] = column.absent
                    continue
                try:
                    values[column.name] = column.parse(text)
                except _Bad as reason:
                    quoted = "" if column.phi else f"{text!r} "
                    problems.append(f"{spec.name} line {line}: {column.name}: {quoted}{reason}")
                    bad = True
            if not bad:
                yield Row(spec.name, line, values)


def _cross_check(rows: dict[str, list[Row]]) -> Iterator[str]:
    """The rules between rows and files: unique keys, references that resolve, spans
    that make sense."""
    plan_rows = {r.values["plan_id"]: r for r in rows["plans.csv"]}
    provider_rows = {r.values["npi"]: r for r in rows["providers.csv"]}
    member_rows = {r.values["member_id"]: r for r in rows["members.csv"]}
    yield from _unique(rows["plans.csv"], "plan_id")
    yield from _unique(rows["providers.csv"], "npi")
    yield from _unique(rows["members.csv"], "member_id", quoted=False)
    for row in rows["providers.csv"]:
        npi = row.values["group_npi"]
        group = provider_rows.get(npi)
        if npi and (group is None or group.values["kind"] != "facility"):
            yield f"{row.where()}: group_npi {npi} is not an organisation in providers.csv"
    for row in rows["networks.csv"]:
        if row.values["npi"] not in provider_rows:
            yield f"{row.where()}: npi {row.values['npi']} is not in providers.csv"
    for row in rows["members.csv"]:
        values = row.values
        plan = plan_rows.get(values["plan_id"])
        if plan is None:
            yield f"{row.where()}: plan_id {values['plan_id']} is not in plans.csv"
        elif plan.values["referral_required"] and not values["pcp_npi"]:
            yield f"{row.where()}: pcp_npi is required on plan {values['plan_id']}"
        if values["pcp_npi"] and values["pcp_npi"] not in provider_rows:
            yield f"{row.where()}: pcp_npi {values['pcp_npi']} is not in providers.csv"
        yield from medicare_faults(row)
        subscriber = member_rows.get(values["subscriber_id"])
        if subscriber is None or subscriber.values["relationship"] != "subscriber":
            yield f"{row.where()}: subscriber_id is not a subscriber's member_id"
        elif (values["relationship"] == "subscriber") != (
            values["subscriber_id"] == values["member_id"]
        ):
            yield f"{row.where()}: a subscriber's subscriber_id is its own member_id"
    for row in rows["eligibility.csv"]:
        if row.values["member_id"] not in member_rows:
            yield f"{row.where()}: member_id is not in members.csv"
        if row.values["plan_id"] not in plan_rows:
            yield f"{row.where()}: plan_id {row.values['plan_id']} is not in plans.csv"
    yield from _spans(rows["networks.csv"], "npi")
    yield from _spans(rows["eligibility.csv"], "member_id")
    yield from _authorizations(rows["authorizations.csv"], member_rows, provider_rows)


def _authorizations(
    rows: list[Row], member_rows: dict[object, Row], provider_rows: dict[object, Row]
) -> Iterator[str]:
    yield from _unique(rows, "number")
    for row in rows:
        values = row.values
        if values["member_id"] not in member_rows:
            yield f"{row.where()}: member_id is not in members.csv"
        if values["facility_npi"] and values["facility_npi"] not in provider_rows:
            yield f"{row.where()}: facility_npi {values['facility_npi']} is not in providers.csv"
        end = _end(row)
        if end is not None and end < _start(row):
            yield f"{row.where()}: end_date is before start_date"
        if (values["quantity"] is None) != (values["unit"] == ""):
            yield f"{row.where()}: quantity and unit are given together or not at all"


def _unique(rows: list[Row], key: str, quoted: bool = True) -> Iterator[str]:
    first: dict[object, Row] = {}
    for row in rows:
        value = row.values[key]
        if value in first:
            shown = f"{key} {value}" if quoted else key
            yield f"{row.where()}: {shown} repeats line {first[value].line}"
        first.setdefault(value, row)


def _spans(rows: list[Row], key: str) -> Iterator[str]:
    """End not before start; one owner's spans never overlap."""
    by_owner: dict[object, list[Row]] = {}
    for row in rows:
        start, end = _start(row), _end(row)
        if end is not None and end < start:
            yield f"{row.where()}: end_date is before start_date"
            continue
        by_owner.setdefault(row.values[key], []).append(row)
    for spans in by_owner.values():
        spans.sort(key=_start)
        for before, after in pairwise(spans):
            end = _end(before)
            if end is None or end >= _start(after):
                yield f"{after.where()}: overlaps the span on line {before.line}"


def _start(row: Row) -> date:
    """A span's start_date, read as a date by its column's parser."""
    start = row.values["start_date"]
    assert isinstance(start, date)
    return start


def _end(row: Row) -> date | None:
    end = row.values["end_date"]
    assert end is None or isinstance(end, date)
    return end


def medicare_faults(row: Row) -> Iterator[str]:
    """What a member row says of Medicare that does not hold together, on loading and on
    a change alike."""
    values = row.values
    if bool(values["medicare_product"]) != values["medicare_primary"]:
        yield f"{row.where()}: medicare_product is given exactly when medicare_primary is yes"
    if values["medicare_exhausted_from"] and not values["medicare_primary"]:
        yield f"{row.where()}: medicare_exhausted_from needs medicare_primary yes"
