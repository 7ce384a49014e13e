"""What is rejected is not decided: a set in a rejected group or interchange never becomes
a case, a decision or a 278 response, and no tracking number is used for it. Through
`edi278 process` on real files, each with a store of its own."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REQUEST_BODY, group, interchange, transaction

EDI278 = Path(sys.executable).parent / "edi278"


def request(number: int, trn: str, count_adjust: int = 0) -> list[str]:
    """A request of its own (its own TRN), so that no two are one case."""
    body = [f"TRN*1*{trn}*9SUBMIT001" if s.startswith("TRN") else s for s in REQUEST_BODY]
    return transaction(number, body, count_adjust=count_adjust)


def one_group(*sets: list[str], control: int = 1) -> list[str]:
    return group(control, list(sets))


def processed(workdir: Path, name: str, text: str) -> tuple[dict, dict[str, int], Path]:
    """`edi278 process` on one file in a store of its own: its summary, what the store
    holds afterwards, and the outbox."""
    workdir.mkdir()
    (workdir / "var").mkdir()
    source = workdir / name
    source.write_text(text)
    outbox = workdir / "outbox"
    done = subprocess.run(
        [str(EDI278), "process", str(source), "--outbox", str(outbox), "--json"],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(workdir / "var" / "edi278.db") as db:
        held = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("cases", "decisions", "tracking_numbers")
        }
    return json.loads(done.stdout), held, outbox


def ak9(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip().startswith("AK9")]


NOTHING = {"cases": 0, "decisions": 0, "tracking_numbers": 0}


def without_ge(text: str) -> str:
    return text.replace("GE*1*1~\n", "")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param(
            interchange([one_group(request(1, "TRACE001"))]).replace("GE*1*1", "GE*2*1"),
            "5",
            id="GE01 too high",
        ),
        pytest.param(
            interchange([one_group(request(1, "TRACE001"), request(2, "TRACE002"))]).replace(
                "GE*2*", "GE*1*"
            ),
            "5",
            id="GE01 too low",
        ),
        pytest.param(
            interchange([one_group(request(1, "TRACE001"))]).replace("GE*1*1", "GE*1*7"),
            "4",
            id="GE02 not GS06",
        ),
        pytest.param(without_ge(interchange([one_group(request(1, "TRACE001"))])), "3", id="no GE"),
        pytest.param(
            without_ge(interchange([one_group(request(1, "TRACE001"))])) + "GE*1*1~\n",
            "3",
            id="GE after the IEA",
        ),
    ],
)
def test_a_group_whose_ge_does_not_match_its_gs_is_rejected_and_nothing_in_it_decided(
    tmp_path, text, code
):
    summary, held, outbox = processed(tmp_path / "w", "in.x12", text)
    assert held == NOTHING
    assert summary["cases_created"] == 0 and summary["decisions"] == []
    assert sorted(p.name for p in outbox.iterdir() if p.suffix != ".ta1") == ["in.999"]
    (trailer,) = ak9((outbox / "in.999").read_text())
    assert trailer.startswith("AK9*R*") and trailer.endswith(f"*{code}")
    assert "278" not in summary["outputs"]


def test_only_the_accepted_group_of_an_interchange_is_decided(tmp_path):
    rejected = one_group(request(1, "TRACE001"), control=1)
    rejected[-1] = "GE*1*9"  # GE02 names another group
    text = interchange([rejected, one_group(request(1, "TRACE002"), control=2)])
    summary, held, outbox = processed(tmp_path / "w", "in.x12", text)
    assert ak9((outbox / "in.999").read_text()) == ["AK9*R*1*1*0*4", "AK9*A*1*1*1"]
    assert [d["trace_number"] for d in summary["decisions"]] == ["TRACE002"]
    assert held["cases"] == 1 and held["decisions"] == 1
    responses = (outbox / "in.278").read_text()
    assert responses.count("ST*278*") == 1 and "TRACE001" not in responses


# Guards that held before the change too: they pin that the change left them so.


def test_a_partially_accepted_group_decides_its_accepted_sets_only(tmp_path):
    text = interchange([one_group(request(1, "TRACE001"), request(2, "TRACE002", count_adjust=1))])
    summary, held, outbox = processed(tmp_path / "w", "in.x12", text)
    assert ak9((outbox / "in.999").read_text()) == ["AK9*P*2*2*1"]
    assert [d["trace_number"] for d in summary["decisions"]] == ["TRACE001"]
    assert held["cases"] == 1
    assert "TRACE002" not in (outbox / "in.278").read_text()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(interchange([one_group(request(1, "TRACE001", count_adjust=-1))]), id="SE01"),
        pytest.param(
            interchange([one_group(request(1, "TRACE001"))]).replace("SE*13*0001", "SE*13*0002"),
            id="SE02",
        ),
    ],
)
def test_a_set_rejected_by_its_trailer_is_not_decided(tmp_path, text):
    summary, held, outbox = processed(tmp_path / "w", "in.x12", text)
    assert held == NOTHING and summary["cases_created"] == 0
    assert ak9((outbox / "in.999").read_text())[0].startswith("AK9*R*")
    assert not (outbox / "in.278").exists()


def test_an_interchange_rejected_by_its_iea_count_has_no_set_decided(tmp_path):
    text = interchange([one_group(request(1, "TRACE001"))]).replace("IEA*1*", "IEA*2*")
    summary, held, outbox = processed(tmp_path / "w", "in.x12", text)
    assert held == NOTHING and summary["cases_created"] == 0
    assert sorted(p.name for p in outbox.iterdir()) == ["in.ta1"]
    assert "*R*021~" in (outbox / "in.ta1").read_text()


@pytest.mark.parametrize("repetition", [":", "~"], ids=["ISA11 is ISA16", "ISA11 ends segments"])
def test_a_delimiter_collision_is_an_envelope_fault_and_nothing_is_decided(tmp_path, repetition):
    text = interchange([one_group(request(1, "TRACE001"))], r=repetition)
    summary, held, outbox = processed(tmp_path / "w", "in.x12", text)
    assert held == NOTHING and summary["status"] == "rejected"
    assert sorted(p.name for p in outbox.iterdir()) == ["in.ta1"]
    assert "*R*026~" in (outbox / "in.ta1").read_text()
