"""`make run`, the README's demo, answers exactly as samples/expected/ says on any day:
it states when its files were received (--received-at), so a request for next week's
MRI is still ahead of its receipt in any year. CI runs this module again under a clock
moved years ahead (.ci/run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edi278.clock import CLOCK_VARIABLE

ROOT = Path(__file__).parents[1]
EXPECTED = ROOT / "samples" / "expected"

pytestmark = pytest.mark.dates


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The outbox of `make run` into a state folder of its own, on the wall clock (the
    demo must not need EDI278_CLOCK: it is what a new user runs)."""
    state = tmp_path_factory.mktemp("demo")
    environment = {**os.environ, "EDI278_STATE_DIR": str(state)}
    environment.pop(CLOCK_VARIABLE)  # wall clock on purpose
    ran = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed-base", "run",
         f"BIN={Path(sys.executable).parent}", f"OUTBOX={state / 'outbox'}"],
        cwd=ROOT, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == ""
    return state / "outbox"


def expected_answers() -> list[Path]:
    return sorted(path for path in EXPECTED.rglob("*") if path.is_file())


@pytest.mark.parametrize("expected", expected_answers(), ids=lambda p: p.name)
def test_the_demo_answers_every_request_as_the_expected_file_says(demo, expected):
    """Byte for byte: control and tracking numbers, dates and times included."""
    answer = demo / expected.name
    assert answer.read_bytes() == expected.read_bytes()
