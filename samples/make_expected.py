"""Write samples/expected/NAME.278: what the engine answers each request in
samples/requests/, processed in name order into a fresh store holding samples/reference/
with the default policy, as received on 2026-11-20 at 10:00 in New York; and
samples/expected/inbox/: every answer `make run` writes for samples/inbox/, processed
after the numbered requests exactly as `make run` does.

    .venv/bin/python samples/make_expected.py

tests/test_samples.py checks every answer against samples/requests/README.md (the
outcome each request must get) and against these files (numbers aside); rerun this after
a change to the policy or the engine that is meant to change an answer, and review the
diff.
"""

from __future__ import annotations

import io
import re
import subprocess
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
RECEIVED_AT = "2026-11-20T10:00:00-05:00"  # the same, as the Makefile's `make run` says it


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


def expected_name(name: str, answer: str) -> str:
    """The file `make run` writes an answer to: NAME.278, or NAME.999 for a request
    refused whole (no 278 goes back: the answer's first group is GS01 FA)."""
    group = re.search(r"GS\W(\w\w)", answer)
    return name.replace(".x12", ".999" if group and group.group(1) == "FA" else ".278")


def answer_as_make_run(workdir: Path) -> Path:
    """`make run` in `workdir` (a fresh store under its var/): the reference data loaded,
    then the numbered requests and the inbox answered. Returns the outbox."""
    command = [sys.executable, "-m", "edi278.cli"]
    subprocess.run([*command, "reference", "load", str(HERE / "reference")], cwd=workdir,
                   check=True, capture_output=True)  # fmt: skip
    requests = sorted(str(path) for path in (HERE / "requests").glob("*.x12"))
    outbox = workdir / "outbox"
    subprocess.run([*command, "process", *requests, str(HERE / "inbox"), "--outbox",
                    str(outbox), "--received-at", RECEIVED_AT, "--quiet"],
                   cwd=workdir, check=True)  # fmt: skip
    return outbox


def inbox_answers(outbox: Path) -> dict[str, bytes]:
    """The answers to the files of samples/inbox/ in an outbox, by file name."""
    stems = {path.stem for path in (HERE / "inbox").iterdir()}
    return {p.name: p.read_bytes() for p in sorted(outbox.iterdir()) if p.stem in stems}


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        answers = answer_samples(f"sqlite:///{folder}/samples.db")
        inbox = inbox_answers(answer_as_make_run(Path(folder)))
    (HERE / "expected" / "inbox").mkdir(parents=True, exist_ok=True)
    for name, data in inbox.items():
        (HERE / "expected" / "inbox" / name).write_bytes(data)
    print(f"{len(inbox)} answers to samples/inbox written to {HERE / 'expected' / 'inbox'}")
    target = HERE / "expected"
    target.mkdir(exist_ok=True)
    for name, text in answers.items():
        (target / expected_name(name, text)).write_text(text)
    print(f"{len(answers)} expected responses written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
