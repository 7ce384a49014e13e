"""Reference data from CSV, on SQLite and PostgreSQL: the demo data loads, a bad row is
named by file, line and reason, and a failed load changes nothing."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edi278.store.reference import FILES, ReferenceDataError, load_reference
from edi278.store.tables import (
    REFERENCE_TABLES,
    eligibility_spans,
    members,
    plans,
    providers,
    reference_authorizations,
)

DEMO = Path(__file__).parents[1] / "samples" / "reference"
EDI278 = Path(__file__).parents[1] / ".venv" / "bin" / "edi278"
SAMPLE_MEMBERS = {"W123456789", "W555000111", "W55500011101", "H998877665"}
SAMPLE_NPIS = {"1234567893", "1528067142", "1987654321", "1112223334", "1245319599", "1679576722"}


@pytest.fixture
def demo(tmp_path) -> Path:
    folder = tmp_path / "reference"
    shutil.copytree(DEMO, folder)
    return folder


def rows_in(path: Path) -> int:
    with open(path, newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def set_field(path: Path, line: int, column: str, value: str) -> None:
    with open(path, newline="") as handle:
        table = list(csv.reader(handle))
    table[line - 1][table[0].index(column)] = value
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(table)


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table))


def test_the_demo_data_loads_whole_and_covers_the_samples(engine):
    result = load_reference(engine, DEMO)
    assert result.rows == {spec.name: rows_in(DEMO / spec.name) for spec in FILES}
    assert result.rows["members.csv"] >= 250 and result.rows["providers.csv"] >= 100
    for table, spec in zip(REFERENCE_TABLES, FILES, strict=True):
        assert count(engine, table) == result.rows[spec.name]
    with engine.connect() as connection:
        known = set(connection.scalars(select(members.c.member_id)))
        npis = set(connection.scalars(select(providers.c.npi)))
        sam = connection.execute(select(members).where(members.c.member_id == "H998877665")).one()
    assert known >= SAMPLE_MEMBERS and npis >= SAMPLE_NPIS
    assert (sam.plan_id, sam.pcp_npi, sam.birth_date.isoformat()) == (
        "HMO01",
        "1245319599",
        "1985-11-02",
    )


def test_a_bad_date_on_line_17_names_line_17_and_loads_nothing(engine, demo):
    set_field(demo / "members.csv", 17, "birth_date", "1985-02-30")
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(engine, demo)
    # the bad value is a birth date: named by its place, never quoted
    assert raised.value.problems == ["members.csv line 17: birth_date: is not a date (YYYY-MM-DD)"]
    for table in REFERENCE_TABLES:
        assert count(engine, table) == 0  # not even the good files before it


def test_a_failed_load_leaves_the_previous_load_in_place(engine, demo):
    load_reference(engine, DEMO)
    before = count(engine, members)
    row = "X1,X1,subscriber,NEW,ROW,2000-01-01,M,NOPLAN,,no,,,,1 ELM ST,,HARTFORD,CT,06103\n"
    (demo / "members.csv").write_text((demo / "members.csv").read_text() + row)
    with pytest.raises(ReferenceDataError, match=r"members\.csv line \d+: plan_id NOPLAN"):
        load_reference(engine, demo)
    assert count(engine, members) == before


@pytest.mark.parametrize(
    ("file", "line", "column", "value", "reason"),
    [
        ("plans.csv", 2, "product_type", "POS", "product_type: 'POS' is not one of HMO"),
        ("providers.csv", 3, "npi", "123", "npi: '123' is not an NPI"),
        ("providers.csv", 3, "taxonomy", "207x00000x", "is not a NUCC taxonomy code"),
        ("members.csv", 5, "medicare_primary", "Y", "medicare_primary: 'Y' is not yes or no"),
        ("members.csv", 5, "last_name", "", "last_name is required"),
        ("networks.csv", 2, "end_date", "2001-01-01", "end_date is before start_date"),
        ("eligibility.csv", 4, "member_id", "Z000000000", "member_id is not in members.csv"),
        # issue 23: a group is an organisation on file; Medicare exhausted only when primary;
        # an authorization from before names a member on file, in dates that make sense.
        ("providers.csv", 6, "group_npi", "1112223334", "group_npi 1112223334 is not an organ"),
        ("members.csv", 2, "medicare_exhausted_from", "2026-10-01", "needs medicare_primary yes"),
        ("members.csv", 2, "medicare_exhausted_from", "10/01/2026", "is not a date"),
        ("authorizations.csv", 2, "member_id", "Z000000000", "member_id is not in members.csv"),
        ("authorizations.csv", 2, "end_date", "2026-01-01", "end_date is before start_date"),
        ("authorizations.csv", 2, "number", "UM*1", "is not 1-50 printable characters"),
        ("authorizations.csv", 2, "unit", "", "quantity and unit are given together"),
        ("authorizations.csv", 2, "procedures", "27130,27447", "is not procedure codes"),
    ],
)
def test_each_rule_names_its_row(engine, demo, file, line, column, value, reason):
    set_field(demo / file, line, column, value)
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(engine, demo)
    assert any(p.startswith(f"{file} line {line}: ") and reason in p for p in raised.value.problems)


def test_overlapping_spans_and_repeated_keys_are_refused(engine, demo):
    with open(demo / "networks.csv", "a") as handle:
        handle.write("1234567893,out-of-network,2020-01-01,2020-12-31\n")  # inside its open span
    with open(demo / "plans.csv", "a") as handle:
        handle.write("PPO01,Again,PPO,inpatient,no,yes\n")
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(engine, demo)
    problems = "\n".join(raised.value.problems)
    assert "plans.csv line 12: plan_id PPO01 repeats line 2" in problems
    assert f"networks.csv line {rows_in(demo / 'networks.csv') + 1}: overlaps the span" in problems


def test_a_wrong_header_or_a_missing_file_is_named(engine, demo):
    (demo / "eligibility.csv").unlink()
    text = (demo / "plans.csv").read_text().replace("plan_id,name", "id,name", 1)
    (demo / "plans.csv").write_text(text)
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(engine, demo)
    assert raised.value.problems[0].startswith("plans.csv line 1: the header must be plan_id,")
    assert raised.value.problems[1] == f"eligibility.csv: missing from {demo}"


def test_the_cli_load_reports_counts_or_the_bad_row(tmp_path, demo):
    state = ["--state-dir", str(tmp_path / "var")]
    good = subprocess.run(
        [str(EDI278), "reference", "load", str(DEMO), *state], capture_output=True, text=True
    )
    assert good.returncode == 0 and "312 members.csv" in good.stdout
    set_field(demo / "members.csv", 17, "birth_date", "17/03/1990")
    bad = subprocess.run(
        [str(EDI278), "reference", "load", str(demo), *state], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "nothing changed" in bad.stderr and "members.csv line 17: birth_date" in bad.stderr


def test_a_family_comes_with_its_coverage_in_span_order_and_only_the_plans_covering_it(stocked):
    from datetime import date

    from edi278.decide.facts import Plan, Span
    from edi278.store.facts import _members, _providers

    person = {"relationship": "child", "last_name": "ROE", "birth_date": date(1980, 1, 2),
              "gender": "F", "plan_id": "PPO02", "pcp_npi": None, "medicare_primary": False,
              "medicare_product": "", "coordination_notes": ""}  # fmt: skip
    with stocked.begin() as connection:
        connection.execute(
            members.insert(),
            [
                {
                    **person,
                    "member_id": "X1",
                    "subscriber_id": "X1",
                    "first_name": "ANN",
                    "relationship": "subscriber",
                },
                {**person, "member_id": "X101", "subscriber_id": "X1", "first_name": "BO"},
            ],
        )
        span = {"member_id": "X101", "end_date": None}
        connection.execute(  # loaded in this order, read back in it
            eligibility_spans.insert(),
            [
                {
                    **span,
                    "plan_id": "PPO02",
                    "start_date": date(2020, 1, 1),
                    "end_date": date(2020, 12, 31),
                },
                {**span, "plan_id": "PPO01", "start_date": date(2021, 1, 1)},
            ],
        )
        connection.execute(
            providers.insert(),
            dict(
                npi="9999999991",
                name="NOWHERE CLINIC",
                kind="facility",
                taxonomy="261QR0200X",
                cost_tier=1,
            ),
        )
        all_plans = {row.plan_id: row for row in connection.execute(select(plans))}
    with stocked.connect() as connection:
        family, covering = _members(connection, {"X1"})
        found = _providers(connection, {"9999999991", "1234567893"})

    assert set(family) == {"X1", "X101"}
    assert family["X1"].eligibility == ()  # on file, covered by nothing
    assert family["X101"].first_name == "BO" and family["X101"].subscriber_id == "X1"
    assert family["X101"].eligibility == (
        Span("PPO02", date(2020, 1, 1), date(2020, 12, 31)),
        Span("PPO01", date(2021, 1, 1), None),
    )
    assert len(all_plans) > 2 and set(covering) == {"PPO01", "PPO02"}
    for plan_id, plan in covering.items():
        row = all_plans[plan_id]
        assert plan == Plan(plan_id, row.product_type, row.medical_management,
                            row.referral_required, row.out_of_network_benefit)  # fmt: skip
    assert found["9999999991"].name == "NOWHERE CLINIC" and found["9999999991"].network == ()
    assert found["1234567893"].network[0].value == "in-network"
    assert _members(connection, set()) == ({}, {}) and _providers(connection, set()) == {}


def test_authorizations_from_a_previous_system_are_read_as_certifications_on_file(stocked):
    """Issue 23: "Load them (`reference load` with an `authorizations.csv`: number as
    issued, member, service, procedure codes, dates, days or units, status), and honour
    them exactly as certifications issued here. Numbers in a foreign format are kept as
    they are." Read back as the cases on file a REF BB names: under the subscriber, with
    the patient's first name, the number as issued, cancelled when the old system says."""
    from datetime import date

    from edi278.decide.facts import PriorCase
    from edi278.store.facts import _certified

    with stocked.connect() as connection:
        found = _certified(connection, {"UM-2026-004417", "UM-2026-003981", "UM-0000"}, None)
    assert found == {
        "UM-2026-004417": PriorCase(
            "", "W900000015", "ELLIS", "UM-2026-004417", "A1", ("1987654321",), ("27130",),
            "48", date(2026, 11, 18), date(2026, 11, 21), expires=date(2026, 11, 21),
        ),
        "UM-2026-003981": PriorCase(
            "", "W900000015", "ELLIS", "UM-2026-003981", "C", ("1528067142",), ("73721",),
            "62", date(2026, 9, 1), date(2026, 10, 30), cancelled=True, expires=date(2026, 10, 30),
        ),
    }  # fmt: skip


def test_without_authorizations_csv_none_are_on_file_and_the_rest_loads(engine, demo):
    """A plan with no certifications from a previous system leaves the file out; a load
    is a snapshot, so the ones loaded before are gone."""
    load_reference(engine, DEMO)
    assert count(engine, reference_authorizations) == 2
    (demo / "authorizations.csv").unlink()
    result = load_reference(engine, demo)
    assert result.rows["authorizations.csv"] == 0 and result.rows["members.csv"] == 312
    assert count(engine, reference_authorizations) == 0


def test_the_pcp_group_and_medicare_exhausted_come_with_the_member(stocked):
    """001: "HMO, Individual and Family Plans (IFP), and EPO plans often require patients
    to choose a PCP and get a referral to see a specialist": the PCP's group practice comes
    with the member, so a referral the group sends can be recognised. 004: "Medicare
    coverage exhausted; when CIGNA becomes primary": the day it is exhausted too."""
    from datetime import date

    from edi278.store.facts import _members

    with stocked.connect() as connection:
        larkin, _ = _members(connection, {"H900000013"})
        halvorsen, _ = _members(connection, {"W900000016"})
        doe, _ = _members(connection, {"W123456789"})
    assert larkin["H900000013"].pcp_group_npi == "1900000054"
    assert halvorsen["W900000016"].medicare_exhausted_from == date(2026, 10, 1)
    assert doe["W123456789"].pcp_group_npi is None
    assert doe["W123456789"].medicare_exhausted_from is None
