"""Write samples/expected/NAME.278: what the engine answers each request in
samples/requests/, processed in name order into a fresh store holding samples/reference/
with the default policy, as received on 2026-11-20 at 10:00 in New York.

    .venv/bin/python samples/make_expected.py

tests/test_samples.py checks every answer against samples/requests/README.md (the
outcome each request must get) and against these files (numbers aside); rerun this after
a change to the policy or the engine that is meant to change an answer, and review the
diff.
"""

from __future__ import annotations

import io
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from edi278.ig import Guide
from edi278.intake import Fingerprint, Intake
from edi278.pipeline import examine
from edi278.store.database import open_database
from edi278.store.reference import load_reference

HERE = Path(__file__).parent
RECEIVED = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 10:00 America/New_York


def answer_samples(url: str, now: datetime = RECEIVED) -> dict[str, str]:
    """Each request's 278 response (or TA1/999 when no response), by file name."""
    engine = open_database(url)
    load_reference(engine, HERE / "reference")
    intake, guide, answers = Intake(engine), Guide(), {}
    for path in sorted((HERE / "requests").glob("*.x12")):
        data = path.read_bytes()
        (report,) = examine(io.BytesIO(data), guide)
        start, end = report.span
        taken = intake.answer(report, Fingerprint.of_bytes(data[start:end]), path.name, now)
        acknowledgements = taken.acknowledgements
        answers[path.name] = acknowledgements.responses or acknowledgements.functional or ""
    engine.dispose()
    return answers


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        answers = answer_samples(f"sqlite:///{folder}/samples.db")
    target = HERE / "expected"
    target.mkdir(exist_ok=True)
    for name, text in answers.items():
        (target / name.replace(".x12", ".278")).write_text(text)
    print(f"{len(answers)} expected responses written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
