"""Writing answers into an outbox: temporary name, fsync, rename, never overwrite."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def answer_stem(outbox: Path, input_path: Path, suffixes: Iterable[str]) -> Path:
    """The stem under which every answer to `input_path` can be written without
    replacing an earlier answer: NAME, else NAME-2, NAME-3, ..."""
    suffixes = list(suffixes)
    base = input_path.stem if input_path.suffix else input_path.name
    attempt = 1
    while True:
        stem = outbox / (base if attempt == 1 else f"{base}-{attempt}")
        if not any(stem.with_name(stem.name + suffix).exists() for suffix in suffixes):
            return stem
        attempt += 1


class AtomicFile:
    """A file that appears under its final name complete or not at all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = path.with_name(f".{path.name}.partial")
        self._handle = open(self.temporary, "wb")  # noqa: SIM115 - closed in commit/abort

    def write(self, data: bytes) -> None:
        self._handle.write(data)

    def commit(self) -> Path:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
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
