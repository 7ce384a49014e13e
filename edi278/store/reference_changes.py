"""Effective-dated changes to the reference data, applied without replacing the rest: a
plan with a million members sends the day's changes, not everything again.

A change directory holds any of providers.csv, networks.csv, members.csv and
eligibility.csv, each with the columns of the full file (samples/reference/README.md)
after a first column `change`:

- providers.csv and members.csv: `add` (a key not on file) or `change` (a key on file,
  the whole row given again).
- networks.csv and eligibility.csv: `add` a span from its start_date (to its end_date,
  or open-ended): from then it replaces what was on file for those days; `terminate`
  (the key and end_date only): nothing on file after end_date any more. Terminating a
  member is terminating the member's eligibility.

The files are applied in that order in one transaction, each checked against what is
on file with the files before it applied: all or nothing, every bad row named with its
file, line and reason, as a full load names them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, select, update

from edi278.store.reference import (
    FILES,
    Column,
    FileSpec,
    ReferenceDataError,
    Row,
    _choice,
    _read,
    medicare_faults,
)
from edi278.store.tables import members, plans, providers

CHUNK = 2000  # keys per IN list: under every database's limit on parameters


@dataclass(frozen=True, slots=True)
class ChangeResult:
    rows: dict[str, int]  # per file present


@dataclass(frozen=True, slots=True)
class Kind:
    """What one change file changes: a table of rows by key, or an owner's spans."""

    spec: FileSpec
    key: str
    actions: tuple[str, ...]


SPEC = {spec.name: spec for spec in FILES}
KINDS = (  # in the order they are applied: what a later file refers to comes first
    Kind(SPEC["providers.csv"], "npi", ("add", "change")),
    Kind(SPEC["networks.csv"], "npi", ("add", "terminate")),
    Kind(SPEC["members.csv"], "member_id", ("add", "change")),
    Kind(SPEC["eligibility.csv"], "member_id", ("add", "terminate")),
)


def change_reference(engine: Engine, directory: Path) -> ChangeResult:
    """Apply the change files in `directory`, all or nothing."""
    present = [kind for kind in KINDS if (directory / kind.spec.name).is_file()]
    if not present:
        names = ", ".join(kind.spec.name for kind in KINDS)
        raise ReferenceDataError([f"{directory}: none of {names}"])
    problems: list[str] = []
    counts = {}
    with engine.begin() as connection:
        for kind in present:
            found: list[str] = []
            rows = list(_read(directory / kind.spec.name, _change_spec(kind), found))
            if not found:
                found.extend(_required(kind, rows))
            if not found:
                apply = APPLY[kind.spec.name]
                found.extend(apply(connection, kind, rows))
            problems.extend(found)
            counts[kind.spec.name] = len(rows)
        if problems:  # raised inside: the transaction rolls back
            raise ReferenceDataError(problems)
    return ChangeResult(counts)


def _change_spec(kind: Kind) -> FileSpec:
    """The full file's columns after `change`, each optional: what a change needs
    depends on the change (`_required`)."""
    columns = tuple(replace(column, required=False) for column in kind.spec.columns)
    return replace(kind.spec, columns=(Column("change", _choice(*kind.actions)), *columns))


def _required(kind: Kind, rows: list[Row]) -> Iterator[str]:
    for row in rows:
        if row.values["change"] == "terminate":
            needed: Iterable[str] = (kind.key, "end_date")
        else:
            needed = (c.name for c in kind.spec.columns if c.required)
        for name in needed:
            if row.values[name] in (None, ""):
                yield f"{row.where()}: {name} is required to {row.values['change']}"


def _on_file(
    connection: Connection, table: Table, key: str, wanted: Iterable[object]
) -> dict[object, Any]:
    """The rows of `table` whose `key` is wanted, by key."""
    column = table.c[key]
    keys = sorted({k for k in wanted if k}, key=str)
    found: dict[object, Any] = {}
    for at in range(0, len(keys), CHUNK):
        query = select(table).where(column.in_(keys[at : at + CHUNK]))
        found.update((row._mapping[key], row) for row in connection.execute(query))
    return found


# --- providers and members: rows added or changed by key ----------------------------------


def _apply_rows(
    connection: Connection,
    kind: Kind,
    rows: list[Row],
    check: Callable[[Connection, list[Row], dict[object, Any]], Iterator[str]],
) -> Iterator[str]:
    table = kind.spec.table
    on_file = _on_file(connection, table, kind.key, (r.values[kind.key] for r in rows))
    problems = list(_keys(kind, rows, on_file))
    problems += check(connection, rows, on_file)
    if problems:
        yield from problems
        return
    columns = [column.name for column in kind.spec.columns]
    added = [{c: r.values[c] for c in columns} for r in rows if r.values["change"] == "add"]
    if added:
        connection.execute(table.insert(), added)
    # Bound under names of their own: SQLAlchemy keeps the columns' names for itself.
    changed = [
        {**{f"new_{c}": r.values[c] for c in columns}, "_key": r.values[kind.key]}
        for r in rows
        if r.values["change"] == "change"
    ]
    if changed:
        values: dict[str, Any] = {c: bindparam(f"new_{c}") for c in columns if c != kind.key}
        statement = update(table).where(table.c[kind.key] == bindparam("_key")).values(values)
        connection.execute(statement, changed)


def _keys(kind: Kind, rows: list[Row], on_file: dict[object, Any]) -> Iterator[str]:
    quoted = not any(c.phi for c in kind.spec.columns if c.name == kind.key)
    first: dict[object, Row] = {}
    for row in rows:
        key = row.values[kind.key]
        shown = f"{kind.key} {key}" if quoted else kind.key
        if key in first:
            yield f"{row.where()}: {shown} repeats line {first[key].line}"
        first.setdefault(key, row)
        if row.values["change"] == "add" and key in on_file:
            yield f"{row.where()}: {shown} is on file already (change it, not add)"
        if row.values["change"] == "change" and key not in on_file:
            yield f"{row.where()}: {shown} is not on file (add it, not change)"


def _check_providers(
    connection: Connection, rows: list[Row], on_file: dict[object, Any]
) -> Iterator[str]:
    groups = _on_file(connection, providers, "npi", (r.values["group_npi"] for r in rows))
    kinds = {npi: row.kind for npi, row in groups.items()}
    kinds |= {r.values["npi"]: r.values["kind"] for r in rows}
    for row in rows:
        group = row.values["group_npi"]
        if group and kinds.get(group) != "facility":
            yield f"{row.where()}: group_npi {group} is not an organisation on file"


def _check_members(
    connection: Connection, rows: list[Row], on_file: dict[object, Any]
) -> Iterator[str]:
    values = [row.values for row in rows]
    plan_rows = _on_file(connection, plans, "plan_id", (v["plan_id"] for v in values))
    pcps = _on_file(connection, providers, "npi", (v["pcp_npi"] for v in values))
    subscribers = _on_file(connection, members, "member_id", (v["subscriber_id"] for v in values))
    relationship = {k: row.relationship for k, row in subscribers.items()}
    relationship |= {v["member_id"]: v["relationship"] for v in values}
    for row in rows:
        v, where = row.values, row.where()
        plan = plan_rows.get(v["plan_id"])
        if plan is None:
            yield f"{where}: plan_id {v['plan_id']} is not on file"
        elif plan.referral_required and not v["pcp_npi"]:
            yield f"{where}: pcp_npi is required on plan {v['plan_id']}"
        if v["pcp_npi"] and v["pcp_npi"] not in pcps:
            yield f"{where}: pcp_npi {v['pcp_npi']} is not on file"
        yield from medicare_faults(row)
        if relationship.get(v["subscriber_id"]) != "subscriber":
            yield f"{where}: subscriber_id is not a subscriber's member_id"
        elif (v["relationship"] == "subscriber") != (v["subscriber_id"] == v["member_id"]):
            yield f"{where}: a subscriber's subscriber_id is its own member_id"


# --- networks and eligibility: spans from a day on ----------------------------------------


@dataclass(frozen=True, slots=True)
class SpanOf:
    value: str  # the network status or the plan
    start: date
    end: date | None


def _apply_spans(
    connection: Connection,
    kind: Kind,
    rows: list[Row],
    owners: Table,
    value: str,
) -> Iterator[str]:
    table = kind.spec.table
    keys = sorted({row.values[kind.key] for row in rows}, key=str)
    known = _on_file(connection, owners, kind.key, keys)
    spans: dict[object, list[SpanOf]] = defaultdict(list)
    for at in range(0, len(keys), CHUNK):
        chunk = keys[at : at + CHUNK]
        query = select(table).where(table.c[kind.key].in_(chunk)).order_by(table.c.id)
        for stored in connection.execute(query):
            spans[stored._mapping[kind.key]].append(
                SpanOf(stored._mapping[value], stored.start_date, stored.end_date)
            )
    problems = []
    plan_ids = set()
    if value == "plan_id":
        wanted = (r.values["plan_id"] for r in rows)
        plan_ids = set(_on_file(connection, plans, "plan_id", wanted))
    quoted = kind.key == "npi"
    for row in rows:
        key, end = row.values[kind.key], row.values["end_date"]
        shown = f"{kind.key} {key}" if quoted else kind.key
        if key not in known:
            problems.append(f"{row.where()}: {shown} is not on file")
            continue
        if row.values["change"] == "terminate":
            assert isinstance(end, date)
            if not any(s.end is None or s.end >= end for s in spans[key]):
                problems.append(f"{row.where()}: nothing on file on or after {end} to end")
            spans[key] = _ended(spans[key], end)
            continue
        start = row.values["start_date"]
        assert isinstance(start, date) and (end is None or isinstance(end, date))
        if end is not None and end < start:
            problems.append(f"{row.where()}: end_date is before start_date")
            continue
        if value == "plan_id" and row.values["plan_id"] not in plan_ids:
            problems.append(f"{row.where()}: plan_id {row.values['plan_id']} is not on file")
        new = SpanOf(str(row.values[value]), start, end)
        spans[key] = _over(spans[key], new)
    if problems:
        yield from problems
        return
    for at in range(0, len(keys), CHUNK):
        connection.execute(delete(table).where(table.c[kind.key].in_(keys[at : at + CHUNK])))
    written = [
        {kind.key: key, value: s.value, "start_date": s.start, "end_date": s.end}
        for key in keys
        for s in spans[key]
    ]
    if written:
        connection.execute(table.insert(), written)


def _ended(spans: Sequence[SpanOf], last: date) -> list[SpanOf]:
    """Nothing after `last`: spans that start later go, the one across it ends there."""
    return [
        replace(s, end=last) if s.end is None or s.end > last else s
        for s in spans
        if s.start <= last
    ]


def _over(spans: Sequence[SpanOf], new: SpanOf) -> list[SpanOf]:
    """`new` in place of what the spans said for its days: the parts before and after
    it stay, in start order."""
    kept = []
    for s in spans:
        before = s.end is not None and s.end < new.start
        after = new.end is not None and s.start > new.end
        if before or after:
            kept.append(s)
            continue
        if s.start < new.start:
            kept.append(replace(s, end=new.start - timedelta(days=1)))
        if new.end is not None and (s.end is None or s.end > new.end):
            kept.append(replace(s, start=new.end + timedelta(days=1)))
    return sorted([*kept, new], key=lambda s: s.start)


APPLY: dict[str, Callable[[Connection, Kind, list[Row]], Iterable[str]]] = {
    "providers.csv": lambda c, k, r: _apply_rows(c, k, r, _check_providers),
    "members.csv": lambda c, k, r: _apply_rows(c, k, r, _check_members),
    "networks.csv": lambda c, k, r: _apply_spans(c, k, r, providers, "status"),
    "eligibility.csv": lambda c, k, r: _apply_spans(c, k, r, members, "plan_id"),
}
