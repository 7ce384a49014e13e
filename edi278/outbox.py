"""Writing answers into an outbox: temporary name, fsync, rename, never overwrite, and
never the same answer twice.

Several processes may write into one outbox at once (two watchers, two `process` runs,
workers). Each writes under a temporary name of its own (pid and a random token), and
the final names are chosen and claimed while holding the outbox's lock (an flock on the
folder itself: released by the kernel when a process dies, and no file of its own in
the outbox), so that two inputs of one stem get NAME.999 and NAME-2.999, never one
file of both. A name that would not fit in a directory entry (NAME_MAX bytes, UTF-8
counted in bytes) is shortened to a recognisable prefix and a hash of the whole."""

from __future__ import annotations

import fcntl
import filecmp
import hashlib
import os
import re
import secrets
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from itertools import count
from pathlib import Path

NAME_MAX = 255  # bytes in one directory entry (Linux, macOS)
COPY_ROOM = 8  # "-" and up to seven digits: NAME-2 ... NAME-9999999
TEMPORARY_PREFIX = 48  # bytes of the final name kept in a temporary one, to tell it apart


def fitting(name: str, room: int = 0) -> str:
    """`name`, or, when it and `room` more bytes would not fit in a directory entry, its
    first bytes, "~", a hash of the whole name and its extension: still recognisable,
    and two long names that differ anywhere get different short ones."""
    encoded = os.fsencode(name)
    if len(encoded) + room <= NAME_MAX:
        return name
    digest = "~" + hashlib.sha256(encoded).hexdigest()[:12]
    stem, dot, extension = name.rpartition(".")
    suffix = f".{extension}" if dot and stem and len(os.fsencode(extension)) <= 16 else ""
    keep = NAME_MAX - room - len(digest) - len(os.fsencode(suffix))
    head = os.fsencode(name[: len(name) - len(suffix)])[: max(keep, 1)]
    return head.decode("utf-8", "ignore") + digest + suffix  # no character cut in two


def answer_stem(outbox: Path, input_path: Path, suffixes: Iterable[str]) -> Path:
    """The stem under which every answer to `input_path` can be written without
    replacing an earlier answer: NAME, else NAME-2, NAME-3, ... Only final while the
    outbox is `locked`."""
    suffixes = list(suffixes)
    for stem in stems(outbox, input_path):
        if not any(stem.with_name(stem.name + suffix).exists() for suffix in suffixes):
            return stem
    raise AssertionError("stems never ends")


def earlier_answers(
    outbox: Path, input_path: Path, suffix: str, suffixes: Iterable[str]
) -> Iterator[Path]:
    """The answers of this kind (`suffix`) already written for an input of this name:
    NAME.999, NAME-2.999, ... up to the first stem under which no answer is."""
    suffixes = list(suffixes)
    for stem in stems(outbox, input_path):
        if not any(stem.with_name(stem.name + each).exists() for each in suffixes):
            return
        answer = stem.with_name(stem.name + suffix)
        if answer.exists():
            yield answer


def stems(outbox: Path, input_path: Path) -> Iterator[Path]:
    """NAME, NAME-2, NAME-3 ... for an input NAME.EXT, each short enough to take an
    answer's suffix (".999", ".ta1", ".278")."""
    base = input_path.stem if input_path.suffix else input_path.name
    room = COPY_ROOM + len(".999")
    yield outbox / fitting(base, room)
    for copy in count(2):
        yield outbox / f"{fitting(base, room)}-{copy}"


@contextmanager
def locked(outbox: Path) -> Iterator[None]:
    """The outbox to ourselves while final names are chosen and claimed."""
    descriptor = os.open(outbox, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


class AtomicFile:
    """A file that appears under its final name complete or not at all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = path.with_name(temporary_name(path.name))
        # O_EXCL: a temporary name is this writer's alone, never one another writes to
        descriptor = os.open(self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._handle = os.fdopen(descriptor, "wb")
        self.size = 0

    def write(self, data: bytes) -> None:
        self._handle.write(data)
        self.size += len(data)

    def close(self) -> None:
        """Written through to the disk, ready to be published."""
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()

    def same_as(self, earlier: Path) -> bool:
        self.close()
        return earlier.stat().st_size == self.size and filecmp.cmp(
            earlier, self.temporary, shallow=False
        )

    def commit(self, unless_in: Iterable[Path] = ()) -> Path:
        """The file under its final name; or, when one of `unless_in` holds exactly
        these bytes already, that one, and nothing is written."""
        for earlier in unless_in:
            if self.same_as(earlier):
                self.abort()
                return earlier
        return self.publish(self.path)

    def publish(self, path: Path) -> Path:
        """Under `path`, which must be free: a link fails, rather than replaces, if the
        name is taken. Then checked: the name holds this file, whole."""
        self.close()
        os.link(self.temporary, path)
        try:
            linked, ours = os.stat(path), os.stat(self.temporary)
            if (linked.st_ino, linked.st_dev) != (ours.st_ino, ours.st_dev):
                raise OSError(f"{path.name} is not the file written")
            if linked.st_size != self.size:
                raise OSError(f"{path.name} holds {linked.st_size} of {self.size} bytes")
        finally:
            self.temporary.unlink()
        _sync_directory(path.parent)
        self.path = path
        return path

    def replace(self, path: Path) -> Path:
        """Under `path`, replacing whatever is there: for a name that is this file's own
        (a delivery sent again after its sender died writes the same bytes again)."""
        self.close()
        os.replace(self.temporary, path)
        _sync_directory(path.parent)
        self.path = path
        return path

    def abort(self) -> None:
        self._handle.close()
        self.temporary.unlink(missing_ok=True)


def temporary_name(final: str) -> str:
    """A leading dot (left alone by every reader of a folder), part of the final name,
    this host and process and a random token: unique to one writer, never too long."""
    head = os.fsencode(final)[:TEMPORARY_PREFIX].decode("utf-8", "ignore")
    return f".{head}.{HOST}-{os.getpid()}.{secrets.token_hex(6)}.partial"


HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]  # outboxes may be shared
TEMPORARY = re.compile(r"^\..*\.([0-9a-f]{6})-(\d+)\.[0-9a-f]{12}\.partial$", re.DOTALL)


def sweep(folder: Path) -> list[Path]:
    """Remove the temporary files that writers of this host left when they died (a
    kill, a crash): theirs by name, their process gone. Another host's are left alone."""
    removed = []
    with os.scandir(folder) as entries:
        for entry in entries:
            found = TEMPORARY.match(entry.name)
            if found is None or found.group(1) != HOST or _alive(int(found.group(2))):
                continue
            with suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def commit_answers(
    outbox: Path, input_path: Path, written: dict[str, AtomicFile], suffixes: Iterable[str]
) -> dict[str, Path]:
    """Publish one input's answers (by kind: "999", "278", ...) under one stem. An
    answer already in the outbox byte for byte is named instead of written again; the
    others go under the first stem free of every kind, chosen and claimed under the
    outbox's lock so that no other writer takes it meanwhile."""
    suffixes = list(suffixes)
    for handle in written.values():
        handle.close()  # the slow part, fsync, outside the lock
    published: dict[str, Path] = {}
    with locked(outbox):
        fresh = {}
        for kind, handle in written.items():
            earlier = earlier_answers(outbox, input_path, f".{kind}", suffixes)
            same = next((path for path in earlier if handle.same_as(path)), None)
            if same is None:
                fresh[kind] = handle
            else:
                handle.abort()
                published[kind] = same
        if fresh:
            stem = answer_stem(outbox, input_path, suffixes)
            for kind, handle in fresh.items():
                published[kind] = handle.publish(stem.with_name(f"{stem.name}.{kind}"))
    return {kind: published[kind] for kind in written}


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
