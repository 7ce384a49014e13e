"""Outgoing control numbers (ISA13, GS06) that never repeat for a sender/receiver pair.

The counter is kept in a JSON file under `var/` until the database takes it over; a
lock file serialises processes, and each update is written to a temporary file, synced
and renamed, so a crash leaves the old value or the new one, never a torn file.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Protocol

Kind = Literal["interchange", "group", "reference"]
MAXIMUM = {"interchange": 999_999_999, "group": 999_999_999, "reference": 999_999_999}


class ControlNumbers(Protocol):
    def next(self, sender: str, receiver: str, kind: Kind) -> int: ...


class ControlNumbersExhausted(RuntimeError):
    pass


def _advance(current: int, sender: str, receiver: str, kind: Kind) -> int:
    value = current + 1
    if value > MAXIMUM[kind]:
        raise ControlNumbersExhausted(
            f"{kind} control numbers from {sender} to {receiver} are used up "
            f"({MAXIMUM[kind]}); they may never repeat, so a new sender ID is needed"
        )
    return value


class MemoryControlNumbers:
    """For tests and one-off runs that keep nothing."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def next(self, sender: str, receiver: str, kind: Kind) -> int:
        key = f"{sender}>{receiver}:{kind}"
        self._counters[key] = _advance(self._counters.get(key, 0), sender, receiver, kind)
        return self._counters[key]


class FileControlNumbers:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def next(self, sender: str, receiver: str, kind: Kind) -> int:
        key = f"{sender}>{receiver}:{kind}"
        with self._locked():
            counters = json.loads(self.path.read_text()) if self.path.exists() else {}
            counters[key] = _advance(counters.get(key, 0), sender, receiver, kind)
            temporary = self.path.with_suffix(".tmp")
            with open(temporary, "w") as handle:
                json.dump(counters, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
            return counters[key]
