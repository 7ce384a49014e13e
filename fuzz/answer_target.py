"""Coverage-guided fuzzing of the whole answering path with atheris (libFuzzer).

Every input, whatever its bytes, must be answered (a TA1, a 999 or a 278 for each
interchange found, a TA1 for bytes outside any) and nothing may raise. Seeded from
the sample requests and, when present, the public corpus (copied to a scratch folder,
never into the repository). A crash is written by libFuzzer as crash-<sha1> in the
working folder: copy it into tests/fuzz_regressions/ and it becomes a test.

    make fuzz                          # a fixed number of runs, as CI does
    make fuzz FUZZ_RUNS=0 FUZZ_TIME=600  # ten minutes, on demand
    .venv/bin/python fuzz/answer_target.py -runs=2000 var/fuzz/seeds
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["edi278"]):
    from edi278.channels import answer_bytes, intake_for
    from edi278.clock import fixed_clock
    from edi278.ig import Guide
    from edi278.store.database import open_database
    from edi278.store.reference import load_reference

ROOT = Path(__file__).parents[1]
CORPUS = Path(os.environ.get("EDI278_CORPUS", ROOT.parent / "shared" / "corpus"))
SCRATCH = Path(tempfile.mkdtemp(prefix="edi278-fuzz-"))
ENGINE = open_database(f"sqlite:///{SCRATCH}/fuzz.db")
load_reference(ENGINE, ROOT / "samples" / "reference")
INTAKE = intake_for(ENGINE, "fuzz", "fuzz")
GUIDE = Guide()
# The samples' receipt time: their dates stay ahead of it in any year.
CLOCK = fixed_clock(datetime(2026, 11, 20, 15, 0, tzinfo=UTC))


def answer(data: bytes) -> None:
    answers = answer_bytes(INTAKE, GUIDE, data, "fuzz", CLOCK)
    if not answers:
        raise AssertionError("an input was not answered at all")
    for given in answers:
        sent = given.acknowledgements
        if not (sent.ta1 or sent.functional or sent.responses):
            raise AssertionError("an interchange got no TA1, 999 or 278")


def seed_folder(folder: Path) -> Path:
    """The samples and the corpus, each as one seed file."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = [
        *(ROOT / "samples" / "requests").glob("*.x12"),
        *(ROOT / "samples" / "inbox").iterdir(),
    ]
    if CORPUS.is_dir():
        sources += [p for p in CORPUS.iterdir() if p.suffix not in (".md", ".tsv")]
    for source in sources:
        if source.is_file():
            shutil.copyfile(source, folder / source.name)
    return folder


def main() -> None:
    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):
        args.append(str(seed_folder(SCRATCH / "seeds")))
    atheris.Setup(args, answer)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
