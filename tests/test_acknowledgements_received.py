"""Acknowledgements are never acknowledged (X12): a TA1, 999 or 997 received gets no TA1
and no 999 back, and is recorded as received. Through `edi278 process` on real files,
the public corpus's 997s among them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import group, interchange, isa

EDI278 = Path(sys.executable).parent / "edi278"
CORPUS_997 = ("pyx12_multiple_trn_res997.txt", "pyx12_mult_isa_res997.txt",
              "bots_testx12005_997.x12.base")  # fmt: skip

ACK_999 = [
    "ST*999*0001*005010X231A1",
    "AK1*HI*1*005010X217",
    "AK2*278*0001*005010X217",
    "IK5*A",
    "AK9*A*1*1*1",
    "SE*6*0001",
]


def wrapped(segments: list[str], control: int = 7, **options: str) -> str:
    """An interchange of bare segments (no group), as a TA1 travels."""
    lines = [isa(control, **options), *segments, f"IEA*0*{control:09d}"]
    return "".join(line + "~\n" for line in lines)


def an_ack_999(control: int = 7) -> str:
    return interchange(
        [group(3, [ACK_999], functional="FA", version="005010X231A1")], control=control
    )


def a_ta1(control: int = 8) -> str:
    return wrapped(["TA1*000000001*261120*0930*A*000"], control)


def process(workdir: Path, *sources: Path, json_summary: bool = True) -> list[dict] | str:
    (workdir / "var").mkdir(exist_ok=True)
    done = subprocess.run(
        [str(EDI278), "process", *map(str, sources), "--outbox", str(workdir / "outbox"),
         *(["--json"] if json_summary else [])],
        capture_output=True, text=True, cwd=workdir, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    if not json_summary:
        return done.stdout
    return [json.loads(line) for line in done.stdout.splitlines()]


def recorded(workdir: Path) -> list[tuple]:
    with sqlite3.connect(workdir / "var" / "edi278.db") as db:
        rows = db.execute("SELECT sender, control_number, status, partner_id FROM interchanges")
        return rows.fetchall()


def outbox(workdir: Path) -> list[str]:
    folder = workdir / "outbox"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("name", CORPUS_997)
def test_a_997_from_the_corpus_gets_nothing_back_and_is_recorded(tmp_path, corpus, name):
    (summary,) = process(tmp_path, corpus / name)
    assert outbox(tmp_path) == []  # no .999, and no .ta1 for its 4010 envelope either
    assert summary["status"] == "acknowledgement received"
    assert summary["acknowledgement_interchanges"] == 1 and summary["faults"] == []
    (row,) = recorded(tmp_path)
    assert row[0] == "ZZ:ZZ001" and row[2] == "acknowledgement"
    assert row[3] is None  # an acknowledgement registers no partner


@pytest.mark.parametrize(
    "text", [pytest.param(an_ack_999(), id="999"), pytest.param(a_ta1(), id="bare TA1")]
)
def test_a_5010_acknowledgement_gets_nothing_back_and_is_recorded(tmp_path, text):
    source = tmp_path / "ack.x12"
    source.write_text(text)
    (summary,) = process(tmp_path, source)
    assert outbox(tmp_path) == [] and summary["status"] == "acknowledgement received"
    assert [row[1:3] for row in recorded(tmp_path)] == [(text[90:99], "acknowledgement")]
    line = process(tmp_path, source, json_summary=False)  # the same bytes again
    assert "1 acknowledgement interchange(s) received, not answered" in line
    assert outbox(tmp_path) == []


def test_a_group_of_acknowledgements_beside_requests_is_left_out_of_the_999(tmp_path):
    text = interchange([group(3, [ACK_999], functional="FA", version="005010X231A1"), group(4)])
    source = tmp_path / "mixed.x12"
    source.write_text(text)
    (summary,) = process(tmp_path, source)
    assert outbox(tmp_path) == ["mixed.278", "mixed.999"]
    answered = (tmp_path / "outbox" / "mixed.999").read_text()
    assert [s for s in answered.split("~\n") if s.startswith("AK1")] == ["AK1*HI*4*005010X217"]
    assert summary["status"] == "accepted" and summary["groups"] == 1
