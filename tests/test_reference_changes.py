"""Effective-dated changes to the reference data, on SQLite and PostgreSQL (issue 23):
"Add effective-dated changes (add, change, terminate members, eligibility spans,
providers, networks) without replacing the rest, all or nothing per file, with the same
named errors." """

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from edi278.decide.facts import Span
from edi278.store.facts import _members, _providers
from edi278.store.reference import ReferenceDataError
from edi278.store.reference_changes import SpanOf, _ended, _over, change_reference
from edi278.store.tables import REFERENCE_TABLES

EDI278 = Path(__file__).parents[1] / ".venv" / "bin" / "edi278"
MEMBER_COLUMNS = (
    "member_id,subscriber_id,relationship,last_name,first_name,birth_date,gender,plan_id,"
    "pcp_npi,medicare_primary,medicare_product,medicare_exhausted_from,coordination_notes,"
    "address_line1,address_line2,city,state,zip"
)
HEADERS = {
    "providers.csv": "change,npi,name,kind,taxonomy,cost_tier,group_npi",
    "networks.csv": "change,npi,status,start_date,end_date",
    "members.csv": f"change,{MEMBER_COLUMNS}",
    "eligibility.csv": "change,member_id,plan_id,start_date,end_date",
}


def write(folder: Path, name: str, *rows: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("\n".join([HEADERS[name], *rows]) + "\n")


def counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t.name: connection.scalar(select(func.count()).select_from(t)) for t in REFERENCE_TABLES
        }


def test_the_days_changes_are_applied_and_the_rest_is_kept(stocked, tmp_path):
    before = counts(stocked)
    changes = tmp_path / "changes"
    write(changes, "providers.csv",
          "add,1900000070,BIRCHWOOD PEDIATRICS,individual,208000000X,1,1900000054",
          "change,1679576722,WATTS DANA,individual,207RC0000X,3,1900000054")  # fmt: skip
    write(changes, "networks.csv",
          "add,1900000070,in-network,2026-12-01,",
          "add,1679576722,out-of-network,2027-01-01,",  # leaves the network on January 1
          "terminate,1528067142,,,2026-12-31")  # fmt: skip
    write(changes, "members.csv",
          "add,H900000090,H900000090,subscriber,NEWMAN,ROSE,1990-01-02,F,HMO01,1900000070,"
          "no,,,,1 ELM ST,,HARTFORD,CT,06103",
          "change,W123456789,W123456789,subscriber,DOE,JANE,1960-04-15,F,PPO01,,yes,original,"
          "2027-03-01,,5117 HAWTHORN RD,,PROVIDENCE,RI,02903")  # fmt: skip
    write(changes, "eligibility.csv",
          "add,H900000090,HMO01,2026-12-01,",
          "add,W123456789,OAP01,2027-01-01,",  # a plan change on January 1
          "terminate,H998877665,,,2026-12-31")  # fmt: skip

    result = change_reference(stocked, changes)

    assert result.rows == {"providers.csv": 2, "networks.csv": 3, "members.csv": 2,
                           "eligibility.csv": 3}  # fmt: skip
    after = counts(stocked)
    assert after["members"] == before["members"] + 1
    assert after["providers"] == before["providers"] + 1
    assert after["eligibility_spans"] == before["eligibility_spans"] + 2
    assert after["network_spans"] == before["network_spans"] + 2
    with stocked.connect() as connection:
        family, _ = _members(connection, {"H900000090", "W123456789", "H998877665"})
        found = _providers(connection, {"1900000070", "1679576722", "1528067142"})
    assert family["H900000090"].pcp_npi == "1900000070"
    assert family["H900000090"].eligibility == (Span("HMO01", date(2026, 12, 1), None),)
    jane = family["W123456789"]
    assert jane.medicare_primary and jane.medicare_exhausted_from == date(2027, 3, 1)
    assert jane.eligibility == (
        Span("PPO01", date(2019, 1, 1), date(2026, 12, 31)),
        Span("OAP01", date(2027, 1, 1), None),
    )
    assert family["H998877665"].eligibility == (
        Span("HMO01", date(2021, 1, 1), date(2026, 12, 31)),
    )
    assert found["1679576722"].network == (
        Span("in-network", date(2015, 1, 1), date(2026, 12, 31)),
        Span("out-of-network", date(2027, 1, 1), None),
    )
    assert found["1528067142"].network == (
        Span("in-network", date(2015, 1, 1), date(2026, 12, 31)),
    )
    assert found["1900000070"].name == "BIRCHWOOD PEDIATRICS"


def test_a_bad_row_is_named_and_nothing_changes_in_any_file(stocked, tmp_path):
    before = counts(stocked)
    changes = tmp_path / "changes"
    write(
        changes, "providers.csv", "add,1900000070,BIRCHWOOD PEDIATRICS,individual,208000000X,1,"
    )  # good: kept out too
    write(
        changes,
        "networks.csv",
        "add,1900000070,in-network,2026-12-01,2026-01-01",  # ends before it starts
        "terminate,1999999992,,,2026-12-31",
    )  # not on file
    write(changes, "members.csv",
          "add,W123456789,W123456789,subscriber,DOE,JANE,1960-04-15,F,PPO01,,no,,,,"
          "5117 HAWTHORN RD,,PROVIDENCE,RI,02903",  # on file already
          "change,W000000001,W000000001,subscriber,NOBODY,NED,1960-04-15,M,PPO01,,no,,,,"
          "1 ELM ST,,HARTFORD,CT,06103",  # not on file
          "add,H900000090,H900000090,subscriber,NEWMAN,ROSE,1990-01-02,F,HMO01,,no,,,,"
          "1 ELM ST,,HARTFORD,CT,06103")  # HMO: needs a PCP  # fmt: skip
    write(changes, "eligibility.csv",
          "terminate,W900000001,,,2025-01-01",  # her coverage ended 2024-06-30
          "add,W555000111,NOPLAN,2027-01-01,",
          "retire,W555000111,OAP01,2027-01-01,")  # fmt: skip

    with pytest.raises(ReferenceDataError) as raised:
        change_reference(stocked, changes)

    assert raised.value.problems == [
        "networks.csv line 2: end_date is before start_date",
        "networks.csv line 3: npi 1999999992 is not on file",
        "members.csv line 2: member_id is on file already (change it, not add)",
        "members.csv line 3: member_id is not on file (add it, not change)",
        "members.csv line 4: pcp_npi is required on plan HMO01",
        "eligibility.csv line 4: change: 'retire' is not one of add, terminate",
    ]
    assert counts(stocked) == before
    assert "W123456789" not in str(raised.value)  # a member ID is PHI: never quoted


def test_the_eligibility_of_a_bad_file_is_checked_once_it_parses(stocked, tmp_path):
    changes = tmp_path / "changes"
    write(changes, "eligibility.csv",
          "terminate,W900000001,,,2025-01-01",
          "add,W555000111,NOPLAN,2027-01-01,",
          "add,W555000111,OAP01,,")  # fmt: skip
    with pytest.raises(ReferenceDataError) as raised:
        change_reference(stocked, changes)
    assert raised.value.problems == [
        "eligibility.csv line 4: start_date is required to add",
    ]
    (changes / "eligibility.csv").unlink()
    write(changes, "eligibility.csv",
          "terminate,W900000001,,,2025-01-01",
          "add,W555000111,NOPLAN,2027-01-01,")  # fmt: skip
    with pytest.raises(ReferenceDataError) as raised:
        change_reference(stocked, changes)
    assert raised.value.problems == [
        "eligibility.csv line 2: nothing on file on or after 2025-01-01 to end",
        "eligibility.csv line 3: plan_id NOPLAN is not on file",
    ]


def test_the_cli_reports_what_changed_or_the_bad_row(tmp_path):
    state = ["--state-dir", str(tmp_path / "var")]
    reference = Path(__file__).parents[1] / "samples" / "reference"
    subprocess.run([str(EDI278), "reference", "load", str(reference), *state], check=True,
                   capture_output=True)  # fmt: skip
    changes = tmp_path / "changes"
    write(changes, "eligibility.csv", "terminate,H998877665,,,2026-12-31")
    good = subprocess.run([str(EDI278), "reference", "change", str(changes), *state],
                          capture_output=True, text=True)  # fmt: skip
    assert (good.returncode, good.stdout) == (0, "changed 1 eligibility.csv\n")
    write(changes, "eligibility.csv", "terminate,H998877665,,,31/12/2026")
    bad = subprocess.run([str(EDI278), "reference", "change", str(changes), *state],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 1
    assert "eligibility.csv line 2: end_date: '31/12/2026' is not a date" in bad.stderr


def test_a_span_takes_the_place_of_what_was_on_file_for_its_days():
    """The span algebra of the changes: a new span cuts what it overlaps, keeping the
    days before and after it; a termination keeps nothing after its day."""
    a, b = SpanOf("P1", date(2020, 1, 1), None), SpanOf("P2", date(2026, 3, 1), date(2026, 5, 31))
    assert _over([a], b) == [
        SpanOf("P1", date(2020, 1, 1), date(2026, 2, 28)),
        b,
        SpanOf("P1", date(2026, 6, 1), None),
    ]
    assert _over(
        [a, SpanOf("P3", date(2019, 1, 1), date(2019, 12, 31))],
        SpanOf("P4", date(2019, 6, 1), None),
    ) == [
        SpanOf("P3", date(2019, 1, 1), date(2019, 5, 31)),
        SpanOf("P4", date(2019, 6, 1), None),
    ]
    assert _ended([a, SpanOf("P2", date(2027, 1, 1), None)], date(2026, 12, 31)) == [
        SpanOf("P1", date(2020, 1, 1), date(2026, 12, 31))
    ]
