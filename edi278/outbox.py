"""Writing answers into an outbox: temporary name, fsync, rename, never overwrite, and
never the same answer twice."""

from __future__ import annotations

import filecmp
import os
from collections.abc import Iterable, Iterator
from itertools import count
from pathlib import Path


def answer_stem(outbox: Path, input_path: Path, suffixes: Iterable[str]) -> Path:
    """The stem under which every answer to `input_path` can be written without
    replacing an earlier answer: NAME, else NAME-2, NAME-3, ..."""
    suffixes = list(suffixes)
    for stem in _stems(outbox, input_path):
        if not any(stem.with_name(stem.name + suffix).exists() for suffix in suffixes):
            return stem
    raise AssertionError("_stems never ends")


def earlier_answers(
    outbox: Path, input_path: Path, suffix: str, suffixes: Iterable[str]
) -> Iterator[Path]:
    """The answers of this kind (`suffix`) already written for an input of this name:
    NAME.999, NAME-2.999, ... up to the first stem under which no answer is."""
    suffixes = list(suffixes)
    for stem in _stems(outbox, input_path):
        if not any(stem.with_name(stem.name + each).exists() for each in suffixes):
            return
        answer = stem.with_name(stem.name + suffix)
        if answer.exists():
            yield answer


def _stems(outbox: Path, input_path: Path) -> Iterator[Path]:
    base = input_path.stem if input_path.suffix else input_path.name
    yield outbox / base
    for copy in count(2):
        yield outbox / f"{base}-{copy}"


class AtomicFile:
    """A file that appears under its final name complete or not at all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = path.with_name(f".{path.name}.partial")
        self._handle = open(self.temporary, "wb")  # noqa: SIM115 - closed in commit/abort

    def write(self, data: bytes) -> None:
        self._handle.write(data)

    def commit(self, unless_in: Iterable[Path] = ()) -> Path:
        """The file under its final name; or, when one of `unless_in` holds exactly
        these bytes already, that one, and nothing is written."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        written = self.temporary.stat().st_size
        for earlier in unless_in:
            if earlier.stat().st_size == written and filecmp.cmp(
                earlier, self.temporary, shallow=False
            ):
                self.temporary.unlink()
                return earlier
        os.link(self.temporary, self.path)  # fails, rather than replaces, if the name is taken
        self.temporary.unlink()
        _sync_directory(self.path.parent)
        return self.path

    def abort(self) -> None:
        self._handle.close()
        self.temporary.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
