"""Shared helpers: build interchanges with chosen faults, and find the public corpus."""

from __future__ import annotations

import io
import os
from datetime import datetime
from pathlib import Path

import pytest

from edi278.pipeline import acknowledge, examine
from edi278.x12.control import MemoryControlNumbers
from edi278.x12.report import InterchangeReport

NOW = datetime(2026, 11, 22, 9, 30)

REQUEST_BODY = [
    "BHT*0007*13*REQ1*20261120*0930",
    "HL*1**20*1",
    "NM1*X3*2*ACME HEALTH PLAN*****PI*12345",
    "HL*2*1*21*1",
    "NM1*1P*2*RIVERSIDE ORTHOPEDICS*****XX*1234567893",
    "HL*3*2*22*1",
    "NM1*IL*1*DOE*JANE****MI*W123456789",
    "HL*4*3*EV*0",
    "TRN*1*PE1*9SUBMIT001",
    "UM*HS*I*62*22:B",
    "HI*ABK:M5416",
]


def isa(
    control: int = 1,
    *,
    sender: str = "SUBMITTER01",
    receiver: str = "UMO12345",
    version: str = "00501",
    ack: str = "0",
    usage: str = "T",
    e: str = "*",
    r: str = "^",
    c: str = ":",
) -> str:
    return e.join(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            sender.ljust(15),
            "ZZ",
            receiver.ljust(15),
            "261120",
            "0930",
            r,
            version,
            f"{control:09d}",
            ack,
            usage,
            c,
        ]
    )


def transaction(
    number: int = 1,
    body: list[str] | None = None,
    *,
    convention: str = "005010X217",
    count_adjust: int = 0,
) -> list[str]:
    body = REQUEST_BODY if body is None else body
    st = f"{number:04d}"
    segments = [f"ST*278*{st}*{convention}", *body]
    return [*segments, f"SE*{len(segments) + 1 + count_adjust}*{st}"]


def group(
    control: int = 1,
    sets: list[list[str]] | None = None,
    *,
    functional: str = "HI",
    version: str = "005010X217",
) -> list[str]:
    sets = [transaction()] if sets is None else sets
    return [
        f"GS*{functional}*SUBMITTER01*UMO12345*20261120*0930*{control}*X*{version}",
        *(segment for s in sets for segment in s),
        f"GE*{len(sets)}*{control}",
    ]


def interchange(groups: list[list[str]] | None = None, control: int = 1, **isa_options) -> str:
    groups = [group()] if groups is None else groups
    segments = [
        isa(control, **isa_options),
        *(s for g in groups for s in g),
        f"IEA*{len(groups)}*{control:09d}",
    ]
    return "".join(segment + "~\n" for segment in segments)


def report_of(text: str | bytes) -> InterchangeReport:
    data = text.encode("latin-1") if isinstance(text, str) else text
    reports = list(examine(io.BytesIO(data)))
    assert len(reports) == 1, reports
    return reports[0]


def reports_of(text: str | bytes) -> list[InterchangeReport]:
    data = text.encode("latin-1") if isinstance(text, str) else text
    return list(examine(io.BytesIO(data)))


def answer(text: str | bytes):
    return acknowledge(report_of(text), NOW, MemoryControlNumbers())


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The public corpus: skipped when absent, unless EDI278_CORPUS says it must be there."""
    configured = os.environ.get("EDI278_CORPUS")
    path = Path(configured or Path(__file__).parents[1] / ".." / "shared" / "corpus")
    if not path.is_dir():
        if configured:
            pytest.fail(f"EDI278_CORPUS={configured} is not a folder")
        pytest.skip("the public corpus (../shared/corpus) is not here")
    return path
