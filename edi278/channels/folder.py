"""The folder channel: `edi278 watch` answers each file dropped into an inbox folder.

A file is taken once it has settled: size, modification and change times and inode
unchanged for --settle seconds over three looks at least, and no process has it open
for writing (a read lease refused, or its descriptor in /proc: see being_written). A
sender who can may say a file is complete with a marker beside it (NAME.EXT.done or
NAME.EXT.ready): it is taken at once and the marker removed. Names that tools write
under, a leading dot or .tmp/.part/.partial/.filepart, and the markers are left alone.
It is answered into the outbox as `edi278 process` would answer it, then moved out of
the way: into the archive when answered, into the error folder with NAME.reason when it
could not be (or is over --max-size, unread; a symbolic link is put there as itself,
never followed; a name too long for its .reason is shortened, edi278.outbox.fitting).
The processing, archive and error folders default to siblings of the inbox and must be
on its file system, so that moving a file between them is atomic.

Each file is answered exactly once and none is lost, across crashes and with several
watchers on one inbox:

- Claim. A file is moved into the processing folder before it is read. Every move is a
  hard link under the new name, then the unlink of the old one: a link never replaces
  a file (os.rename would, silently), so of two watchers only one claims a file, and a
  same-named file still in hand is never clobbered. The watcher holds an flock on the
  file while it works, so a watcher starting up leaves a peer's file alone.
- Answers. process_file writes them under a temporary name, fsyncs and links them into
  place, never overwriting; the store has recorded the interchange with the answers it
  sent in one transaction before then.
- Archive after commit. An input leaves the processing folder only once its answers are
  in the outbox, so a file still there is one whose answers may be missing.
- Recovery on start. What is in the processing folder is taken first. A move cut short
  between link and unlink (the same file also in the inbox, archive or error folder) is
  completed. Any other file is answered again into a scratch folder: the store replays a
  byte-identical interchange with the answers it stored, byte for byte, and creates no
  case or number. If the outbox already holds those answers (the crash came after they
  were written) nothing is written again, answers written only in part are completed
  under their own name, and otherwise they are written as for a new file. The outbox is
  compared by content, not by modification times: a sender's tool that keeps file times
  (rsync -t, scp -p), or two inputs with one stem (NAME.x12 and NAME.edi), would make a
  time comparison archive a file that was never answered.
- Replay on the store. Whatever else runs twice (an operator putting an archived file
  back, a byte-identical resubmission) gets the stored answers and creates nothing.
- With --queue (PostgreSQL), a claimed file is held and queued for `edi278 worker`
  (edi278.queue) instead of answered, then archived. Its holding slot comes from the
  claimed file itself, so one recovered after a crash between queueing and archiving
  is found queued and only archived.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import os
import queue
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import click
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from edi278 import heap, log
from edi278.batch import ANSWER_KINDS, ANSWER_SUFFIXES, Answerer, FileSummary, process_file
from edi278.channels import answerer, foreign_senders, intake_for
from edi278.cli_store import (
    DATABASE,
    POLICY,
    RECEIVED_AT,
    SENDERS,
    STATE_DIR,
    database,
    policy,
    received_time,
    service_clock,
)
from edi278.clock import system_clock
from edi278.ig import Guide
from edi278.outbox import AtomicFile, answer_stem, fitting, stems, sweep
from edi278.outbox import locked as outbox_locked
from edi278.queue import HOLD, QUEUE, Queue, queue_for, slot_of

LOG = log.get("edi278.watch")

REASON = ".reason"  # NAME.reason beside a file in the error folder: why it is there
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".filepart")
DEFAULT_MAX_SIZE = 100 * 1024 * 1024
SCRATCH = ".recovering"  # in the processing folder: answers made again after a crash
NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP}

MARKERS = (".done", ".ready")  # NAME.EXT.done: the sender says NAME.EXT is complete
SCANS = 3  # looks at a file, its signature unchanged, before it counts as settled

Signature = tuple[int, int, int, int]  # size, modification and change times (ns), inode


def is_temporary(name: str) -> bool:
    """Names upload tools and editors use while a file is still being written, and the
    markers senders put beside a finished file: never taken themselves."""
    return name.startswith(".") or name.lower().endswith((*TEMPORARY_SUFFIXES, *MARKERS))


def signature(stat: os.stat_result) -> Signature:
    # ctime too: a writer can set the modification time back (touch -r, rsync -t), not it
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


def markers_of(path: Path) -> list[Path]:
    return [path.with_name(path.name + marker) for marker in MARKERS]


# --- is anyone still writing? ---------------------------------------------------------------


def being_written(path: Path) -> bool:
    """Whether a process has `path` open for writing. Linux refuses a read lease on a
    file open for writing anywhere (fcntl F_SETLEASE; the file's owner or CAP_LEASE
    may ask); where a lease may not be asked for, the open files of the processes this
    one may see (/proc/PID/fd: its own user's, or all for root) are looked through.
    Elsewhere: False, and settling alone decides."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False  # gone, or not ours to open: the claim finds out
    try:
        refused = lease_refused(descriptor)
        if refused is not None:
            return refused
        return open_for_writing_in_proc(os.fstat(descriptor))
    finally:
        os.close(descriptor)


def lease_refused(descriptor: int) -> bool | None:
    """True when a read lease is refused because the file is open for writing, False
    when granted (and at once given back); None when one may not be asked for."""
    setlease = getattr(fcntl, "F_SETLEASE", None)
    if setlease is None:
        return None
    try:
        fcntl.fcntl(descriptor, setlease, fcntl.F_RDLCK)
    except BlockingIOError:
        return True  # EAGAIN: someone has it open for writing
    except OSError:
        return None  # not the file's owner, or no leases on this file system
    fcntl.fcntl(descriptor, setlease, fcntl.F_UNLCK)  # held for no longer than this
    return False


def open_for_writing_in_proc(stat: os.stat_result, proc: Path = Path("/proc")) -> bool:
    """Whether a process visible in /proc has this file (device and inode) open for
    writing: its fd links name the file, its fdinfo the access mode."""
    wanted = (stat.st_dev, stat.st_ino)
    try:
        processes = [entry for entry in os.listdir(proc) if entry.isdigit()]
    except OSError:
        return False  # no /proc here
    for pid in processes:
        descriptors = proc / pid / "fd"
        try:
            numbers = os.listdir(descriptors)
        except OSError:
            continue  # gone, or another user's
        for number in numbers:
            try:
                found = os.stat(descriptors / number)
                if (found.st_dev, found.st_ino) != wanted:
                    continue
                info = (proc / pid / "fdinfo" / number).read_text()
            except OSError:
                continue
            flags = next((line.split()[1] for line in info.splitlines()
                          if line.startswith("flags:")), "0")  # fmt: skip
            if int(flags, 8) & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                return True
    return False


# --- moving files without ever replacing one ------------------------------------------------


def move_new(source: Path, target: Path) -> bool:
    """Move `source` to `target` unless `target` exists (False then). Raises
    FileNotFoundError when `source` is gone, e.g. taken by another watcher."""
    try:
        os.link(source, target, follow_symlinks=False)  # a link moves as itself
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in NO_HARD_LINKS:
            raise
        # No hard links on this file system: rename, which would replace, so look first.
        if os.path.lexists(target):
            return False
        os.rename(source, target)
        return True
    os.unlink(source)
    return True


def numbered(first: Path) -> Iterator[Path]:
    """NAME.EXT, then NAME-2.EXT, NAME-3.EXT, ...; each shortened (a prefix and a hash,
    edi278.outbox.fitting) where it and its NAME.reason would not fit in a directory
    entry."""
    yield first.with_name(fitting(first.name, len(REASON)))
    for copy in itertools.count(2):
        yield first.with_name(fitting(f"{first.stem}-{copy}{first.suffix}", len(REASON)))


def reason_file(path: Path) -> Path:
    return path.with_name(path.name + REASON)


def place(source: Path, folder: Path) -> Path:
    """Move `source` into `folder` under its name, numbered if that name is taken (or
    its .reason is: a reason only ever speaks of the file under its own name)."""
    return next(
        target
        for target in numbered(folder / source.name)
        if not reason_file(target).exists() and move_new(source, target)
    )


def moved_twin(folder: Path, path: Path) -> Path | None:
    """The name in `folder` under which `path` also is, when a move was cut short."""
    for target in numbered(folder / path.name):
        if not target.exists() and not reason_file(target).exists():
            return None
        if same_file(target, path):
            return target
    raise AssertionError("numbered() never ends")


def same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except FileNotFoundError:
        return False


def write_reason(path: Path, reason: str) -> None:
    handle = AtomicFile(reason_file(path))
    handle.write(f"{system_clock().isoformat(timespec='seconds')} {reason}\n".encode())
    handle.commit()


@contextmanager
def held(path: Path) -> Iterator[bool]:
    """An exclusive lock on the file at `path` for as long as the block runs; False when
    another watcher holds it or the file left `path` before the lock was taken."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield False
        return
    try:
        yield locked(descriptor) and same_inode(path, descriptor)
    finally:
        os.close(descriptor)


def locked(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def same_inode(path: Path, descriptor: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(descriptor).st_ino
    except FileNotFoundError:
        return False


# --- answering again after a crash ----------------------------------------------------------


def answer_again(
    path: Path, outbox: Path, answer: Answerer, guide: Guide | None, scratch: Path
) -> FileSummary:
    """Answer a recovered file into `scratch`, then deliver only what the outbox lacks."""
    shutil.rmtree(scratch, ignore_errors=True)  # left by an earlier crash, if any
    scratch.mkdir(parents=True)
    try:
        summary = process_file(path, scratch, answer, guide, listed=0)
        if summary.answered:
            summary.outputs = deliver(summary.outputs, outbox, path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with suppress(OSError):  # another watcher may be recovering a file too
            scratch.parent.rmdir()
    return summary


def deliver(outputs: dict[str, Path], outbox: Path, source: Path) -> dict[str, Path]:
    answers = {kind: path.read_bytes() for kind, path in outputs.items()}
    delivered = {}
    with outbox_locked(outbox):  # no other writer claims the stem meanwhile
        stem = delivered_stem(outbox, source, answers) or answer_stem(
            outbox, source, ANSWER_SUFFIXES
        )
        for kind, data in answers.items():
            target = stem.with_name(f"{stem.name}.{kind}")
            if not target.exists():  # else delivered_stem found these very bytes there
                handle = AtomicFile(target)
                handle.write(data)
                handle.commit()
            delivered[kind] = target
    return delivered


def delivered_stem(outbox: Path, source: Path, answers: dict[str, bytes]) -> Path | None:
    """The stem under which these answers already are, all or some (answer_stem's
    stems: NAME, NAME-2, ... up to the first free one)."""
    for stem in stems(outbox, source):
        present = {kind: stem.with_name(f"{stem.name}.{kind}") for kind in ANSWER_KINDS}
        present = {kind: path for kind, path in present.items() if path.exists()}
        if not present:
            return None
        if present.keys() <= answers.keys() and all(
            holds(path, answers[kind]) for kind, path in present.items()
        ):
            return stem
    raise AssertionError("stems() never ends")


def holds(path: Path, data: bytes) -> bool:
    return path.stat().st_size == len(data) and path.read_bytes() == data


# --- the watcher ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Folders:
    inbox: Path
    outbox: Path
    processing: Path
    archive: Path
    error: Path

    @classmethod
    def beside(
        cls, inbox: Path, outbox: Path, archive: Path | None = None, error: Path | None = None
    ) -> Folders:
        """Processing, archive and error default to siblings of the inbox."""
        parent = inbox.resolve().parent
        return cls(
            inbox,
            outbox,
            parent / "processing",
            archive or parent / "archive",
            error or parent / "error",
        )

    @property
    def moved_between(self) -> tuple[Path, ...]:
        return self.inbox, self.processing, self.archive, self.error


@dataclass(slots=True)
class Outcome:
    """What became of one input: a line, or a JSON object with --json."""

    input: Path
    status: str
    outputs: dict[str, Path] = field(default_factory=dict)
    archived_to: Path | None = None
    error_to: Path | None = None
    error: str | None = None
    recovered: bool = False
    held_at: Path | None = None  # queued for a worker (--queue): its durable copy

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {
            "input": str(self.input),
            "status": self.status,
            "outputs": {kind: str(path) for kind, path in self.outputs.items()},
        }
        if self.archived_to:
            found["archived_to"] = str(self.archived_to)
        if self.error_to:
            found["error_to"] = str(self.error_to)
            found["error"] = self.error
        if self.recovered:
            found["recovered"] = True
        if self.held_at:
            found["held_at"] = str(self.held_at)
        return found

    def line(self) -> str:
        recovered = " (recovered)" if self.recovered else ""
        if self.error_to:
            return f"{self.input}{recovered}: {self.status}: {self.error} -> {self.error_to}"
        if self.held_at:
            return f"{self.input}{recovered}: queued (held at {self.held_at}) -> {self.archived_to}"
        answers = ", ".join(str(path) for path in self.outputs.values()) or "none"
        return f"{self.input}{recovered}: {self.status} -> {self.archived_to}; answers: {answers}"


@dataclass
class Watcher:
    """Takes files one at a time and puts each where it belongs."""

    folders: Folders
    answer: Answerer
    guide: Guide | None
    max_size: int
    report: Callable[[Outcome], None]
    stopping: Callable[[], bool] = lambda: False
    failed: int = 0  # inputs put into the error folder
    queue: Queue | None = None  # --queue on PostgreSQL: queued for workers, not answered
    senders: frozenset[str] = frozenset()  # --sender: the partner's; empty, any sender

    def recover(self) -> None:
        """Take first what a stopped watcher left in the processing folder (and sweep
        away what it left half-written)."""
        for folder in (self.folders.outbox, self.folders.error):  # answers, reasons
            sweep(folder)
        for path in sorted(self.folders.processing.iterdir()):
            if self.stopping():
                return
            if is_temporary(path.name) or not path.is_file():
                continue
            try:
                with held(path) as mine:
                    if mine:
                        self.report(self.recovered(path))
            except OSError as error:  # left where it is, tried again at the next start
                LOG.error("watch.recover_failed", path=str(path), error=describe(error))

    def take(self, path: Path, settled: Signature) -> None:
        """One settled file from the inbox, unless another watcher got it first."""
        claimed = self.folders.processing / path.name
        try:
            if signature(path.lstat()) != settled:
                return  # written to since it settled: it settles again first
            if not move_new(path, claimed):
                return  # a file of this name is still in hand: taken later
        except FileNotFoundError:
            return  # another watcher took it
        for marker in markers_of(path):  # it served its turn (if any: a name may not fit)
            with suppress(OSError):
                marker.unlink()
        with held(claimed) as mine:
            if mine:
                self.report(self.answered(claimed, path))

    def answered(self, claimed: Path, shown: Path, recovered: bool = False) -> Outcome:
        """Answer the claimed file, then archive it (or put it into the error folder)."""
        size = claimed.stat().st_size
        if size > self.max_size:
            reason = f"{size} bytes is over the limit of {self.max_size} bytes (--max-size)"
            return self.reject(claimed, shown, "too large", reason, recovered=recovered)
        try:
            foreign = foreign_senders(claimed, self.senders)
            if foreign:  # a partner's folder speaks for that partner alone
                return self.reject(claimed, shown, "refused", foreign, recovered=recovered)
            if self.queue is not None:
                return self.queued(self.queue, claimed, shown, recovered)
            if recovered:
                scratch = self.folders.processing / SCRATCH / claimed.name
                summary = answer_again(
                    claimed, self.folders.outbox, self.answer, self.guide, scratch
                )
            else:
                summary = process_file(
                    claimed, self.folders.outbox, self.answer, self.guide, listed=0
                )
        except Exception as error:  # one bad file must not stop the watcher
            return self.reject(claimed, shown, "failed", describe(error), recovered=recovered)
        if summary.error:
            return self.reject(
                claimed, shown, summary.status, summary.error, summary.outputs, recovered
            )
        archived = place(claimed, self.folders.archive)
        return Outcome(shown, summary.status, summary.outputs, archived, recovered=recovered)

    def refuse_links(self, links: list[Path]) -> None:
        """A link in the inbox is put aside as itself, never followed: what it points to
        may be outside the inbox and not the sender's to give."""
        for path in links:
            if self.stopping():
                return
            try:
                target = place(path, self.folders.error)
            except FileNotFoundError:
                continue  # another watcher put it aside
            reason = "a symbolic link, not followed: put the file itself into the inbox"
            write_reason(target, reason)
            self.failed += 1
            self.report(Outcome(path, "refused", error_to=target, error=reason))

    def queued(self, queue: Queue, claimed: Path, shown: Path, recovered: bool) -> Outcome:
        """Held and queued (or found queued already), then archived: answered later."""
        queued = queue.submit(claimed, self.folders.outbox, str(claimed), slot_of(claimed))
        archived = place(claimed, self.folders.archive)
        return Outcome(shown, "queued", archived_to=archived, recovered=recovered,
                       held_at=queued.held_at)  # fmt: skip

    def recovered(self, claimed: Path) -> Outcome:
        left = self.folders.inbox / claimed.name
        if same_file(left, claimed):  # claimed by link, crashed before the unlink
            left.unlink()
        for folder in (self.folders.archive, self.folders.error):
            twin = moved_twin(folder, claimed)
            if twin is None:
                continue
            claimed.unlink()  # the move out was cut short: finish it
            if folder == self.folders.archive:
                return Outcome(claimed, "archived", archived_to=twin, recovered=True)
            if not reason_file(twin).exists():
                write_reason(twin, "the reason was lost when the watcher stopped")
            self.failed += 1
            reason = reason_file(twin).read_text().strip()
            return Outcome(claimed, "failed", error_to=twin, error=reason, recovered=True)
        return self.answered(claimed, claimed, recovered=True)

    def reject(
        self,
        path: Path,
        shown: Path,
        status: str,
        reason: str,
        outputs: dict[str, Path] | None = None,
        recovered: bool = False,
    ) -> Outcome:
        target = place(path, self.folders.error)
        write_reason(target, reason)
        self.failed += 1
        return Outcome(shown, status, outputs or {}, error_to=target, error=reason,
                       recovered=recovered)  # fmt: skip


def describe(error: BaseException) -> str:
    """The exception's type and the first line of its message (no file contents)."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


# --- settling, waking, the loop -------------------------------------------------------------


@dataclass
class Settler:
    """Which files of a folder have stopped changing: seen with one signature (size,
    times, inode) for `settle` seconds of this clock (the file's own times may be
    skewed) and on SCANS looks at least, and then open for writing by no process
    (`in_use`); or marked done by their sender (NAME.EXT.done), taken at once."""

    settle: float
    seen: dict[Path, tuple[Signature, float, int]] = field(default_factory=dict)
    in_use: Callable[[Path], bool] = being_written

    def observe(
        self, current: dict[Path, Signature], marked: frozenset[Path] = frozenset()
    ) -> list[tuple[Path, Signature]]:
        """The settled files of those listed, marked ones then the longest settled
        first; the others are remembered."""
        now = time.monotonic()
        self.seen = {path: self.since(path, found, now) for path, found in current.items()}
        ready = [
            (path not in marked, since, path.name, path, found)
            for path, (found, since, scans) in self.seen.items()
            if path in marked or self.long_enough(now - since, scans)
        ]
        taken = []
        for _unmarked, _since, _name, path, found in sorted(ready):
            if self.in_use(path):  # paused, not finished: it settles again once closed
                self.seen[path] = (found, now, 1)
                continue
            taken.append((path, found))
        return taken

    def long_enough(self, unchanged: float, scans: int) -> bool:
        return unchanged >= self.settle and (self.settle == 0 or scans >= SCANS)

    def since(self, path: Path, found: Signature, now: float) -> tuple[Signature, float, int]:
        before = self.seen.get(path)
        if before and before[0] == found:
            return found, before[1], before[2] + 1
        return found, now, 1

    def unsettled(self) -> bool:
        now = time.monotonic()
        return any(not self.long_enough(now - since, scans)
                   for _found, since, scans in self.seen.values())  # fmt: skip

    def wait(self, limit: float) -> float:
        """Seconds until the next look a file needs (at least SCANS over the settle
        time), at most `limit`."""
        now = time.monotonic()
        step = self.settle / (SCANS - 1)
        due = [
            min(since + self.settle - now, step) if scans < SCANS else since + self.settle - now
            for _found, since, scans in self.seen.values()
            if not self.long_enough(now - since, scans)
        ]
        return min([limit, *(max(left, 0) + 0.01 for left in due)])  # a little late, not early


@dataclass(frozen=True, slots=True)
class Listing:
    """One look at a folder, under names not temporary (folders are left alone)."""

    files: dict[Path, Signature]  # regular files
    links: list[Path]  # symbolic links: refused, since they could point anywhere
    marked: frozenset[Path] = frozenset()  # files whose sender put NAME.EXT.done beside


def listing(folder: Path) -> Listing:
    files: dict[Path, Signature] = {}
    links: list[Path] = []
    markers: set[str] = set()
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.lower().endswith(MARKERS) and not entry.name.startswith("."):
                markers.add(entry.name[: entry.name.rindex(".")])
            if is_temporary(entry.name):
                continue
            if entry.is_symlink():
                links.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                with suppress(FileNotFoundError):  # gone since the listing
                    files[Path(entry.path)] = signature(entry.stat(follow_symlinks=False))
    return Listing(files, links, frozenset(path for path in files if path.name in markers))


class Wakeups:
    """Why the loop should look again: file events, signals. A SimpleQueue, because its
    put may safely interrupt a get in the same thread, as a signal handler does."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.stopped = False

    def wake(self) -> None:
        self._queue.put("wake")

    def stop(self) -> None:
        self.stopped = True
        self._queue.put("stop")

    def wait(self, timeout: float) -> None:
        with suppress(queue.Empty):
            self._queue.get(timeout=timeout)

    def drain(self) -> None:
        with suppress(queue.Empty):
            while True:
                self._queue.get_nowait()


class Waker(FileSystemEventHandler):
    """File events only say "look again"; the scan decides what is there."""

    def __init__(self, wakeups: Wakeups) -> None:
        self.wakeups = wakeups

    def on_created(self, event: FileSystemEvent) -> None:
        self.wakeups.wake()

    on_moved = on_modified = on_created


def run(watcher: Watcher, settler: Settler, wakeups: Wakeups, once: bool, rescan: float) -> None:
    """Recover, then take settled files until stopped (or, with `once`, until none is
    left settling)."""
    watcher.recover()
    while not wakeups.stopped:
        wakeups.drain()  # before the scan: a later event means look again
        found = listing(watcher.folders.inbox)
        try:
            watcher.refuse_links(found.links)
        except OSError as error:  # tried again at the next scan
            LOG.error("watch.links_failed", folder=str(watcher.folders.inbox),
                      error=describe(error))  # fmt: skip
        ready = settler.observe(found.files, found.marked)
        waiting = settler.unsettled()
        for path, settled in ready:
            if wakeups.stopped:
                return
            try:
                watcher.take(path, settled)
            except OSError as error:  # left where it is, tried again later
                LOG.error("watch.take_failed", path=str(path), error=describe(error))
        if once and not waiting:
            return
        wakeups.wait(settler.wait(rescan))


@contextmanager
def observing(folder: Path, wakeups: Wakeups) -> Iterator[None]:
    """File events wake the loop at once; the rescan is the safety net for missed ones."""
    observer = Observer()
    observer.schedule(Waker(wakeups), str(folder), recursive=False)
    try:
        observer.start()
    except OSError as error:  # e.g. out of inotify watches
        LOG.warning("watch.no_file_events", folder=str(folder), error=describe(error),
                    detail="scanning only")  # fmt: skip
        yield
        return
    try:
        yield
    finally:
        observer.stop()
        observer.join(timeout=5)


def stop_on_signals(wakeups: Wakeups) -> None:
    """SIGTERM and SIGINT: take no new file, finish the one in hand, exit 0."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: wakeups.stop())


def prepared(inbox: Path, outbox: Path, archive: Path | None, error: Path | None) -> Folders:
    """The folders, each made if missing (saying so on stderr, one line each), so that
    `watch --inbox var/inbox --outbox var/outbox` works on a fresh clone."""
    folders = Folders.beside(inbox, outbox, archive, error)
    named = (*folders.moved_between, folders.outbox)
    if len({folder.resolve() for folder in named}) < len(named):
        raise click.UsageError(
            "the inbox, outbox, processing, archive and error folders must differ"
        )
    for folder in named:
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue  # a file of that name is refused below, when it is used as a folder
        except OSError as failure:
            raise click.ClickException(f"cannot make {folder}: {describe(failure)}") from None
        click.echo(f"edi278 watch: made the folder {folder}, which did not exist", err=True)
    if len({os.stat(folder).st_dev for folder in folders.moved_between}) > 1:
        raise click.ClickException(
            "the inbox, processing, archive and error folders must be on one file system "
            "(files move between them atomically)"
        )
    return folders


def logged(report: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
    """Each outcome also as a log event (INFO: shown with EDI278_LOG_LEVEL=INFO, or in
    EDI278_LOG_FILE), masked like every other."""

    def both(outcome: Outcome) -> None:
        LOG.info("watch.file", input=str(outcome.input), status=outcome.status,
                 error=outcome.error, moved_to=str(outcome.error_to or outcome.archived_to),
                 recovered=outcome.recovered)  # fmt: skip
        report(outcome)

    return both


def printer(as_json: bool) -> Callable[[Outcome], None]:
    def show(outcome: Outcome) -> None:
        click.echo(json.dumps(outcome.as_dict()) if as_json else outcome.line())

    return show


FOLDER = click.Path(file_okay=False, path_type=Path)


@click.command(short_help="Answer files dropped into an inbox folder as they arrive.")
@click.option(
    "--inbox",
    required=True,
    type=FOLDER,
    help="The folder to watch (not its subfolders); made if missing, as are the others.",
)
@click.option(
    "--outbox",
    required=True,
    type=FOLDER,
    envvar="EDI278_OUTBOX",
    help="Folder for the answers. Env: EDI278_OUTBOX.",
)
@click.option("--archive", type=FOLDER, help="Answered inputs. Default: INBOX/../archive.")
@click.option("--error", type=FOLDER, help="Inputs not answered. Default: INBOX/../error.")
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_SIZE,
    show_default=True,
    help="Bytes (100 MiB); a bigger file goes to the error folder unread.",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds a file's size and times must stay the same (and no process have it "
    "open for writing) before it is taken; a file with NAME.done or NAME.ready beside it "
    "is taken at once.",
)
@click.option(
    "--rescan",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds between scans of the inbox, in case a file event was missed.",
)
@click.option("--once", is_flag=True, help="Answer what is in the inbox, once settled, and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@SENDERS
@QUEUE
@HOLD
@RECEIVED_AT
@STATE_DIR
@DATABASE
@POLICY
def watch(
    inbox: Path,
    outbox: Path,
    archive: Path | None,
    error: Path | None,
    max_size: int,
    settle: float,
    rescan: float,
    once: bool,
    as_json: bool,
    senders: frozenset[str],
    queue: bool,
    hold: Path | None,
    received_at: str | None,
    state_dir: Path,
    db_url: str | None,
    policy_path: Path | None,
) -> None:
    """Watch INBOX and answer each file put there, as `process` does, into OUTBOX; then
    move it into the archive folder, or, when it could not be answered, into the error
    folder with NAME.reason. A file is taken once its size and times have not changed
    for --settle seconds and no process has it open for writing, or at once when the
    sender put NAME.done (or NAME.ready) beside it; names starting with "." or ending in
    .tmp, .part, .partial or .filepart are left alone. Files are worked on in a
    processing folder next to the inbox; whatever a stopped watcher left there is
    answered first, without answering anything twice. One line per file, or one JSON
    object with --json.

    With --queue on PostgreSQL, each file is held (--hold) and queued for `edi278
    worker` instead of answered here, then archived; on SQLite it is answered here.

    With --sender (repeatable), the inbox is that partner's: a file holding an
    interchange from any other sender goes into the error folder, nothing of it
    processed.

    SIGTERM or SIGINT: the file in hand is finished, then exit 0. With --once the exit
    status is 1 when a file went into the error folder.

    \b
    Example:
      edi278 watch --inbox var/inbox --outbox var/outbox
    """
    rules = policy(policy_path)
    received = received_time(received_at, rules)
    folders = prepared(inbox, outbox, archive, error)
    engine = database(db_url, state_dir)
    intake = intake_for(engine, "folder", "watch", rules)
    clock = service_clock()
    wakeups = Wakeups()
    guide = Guide()
    guide.warm()
    heap.settle()
    respond = answerer(intake, clock, received)
    report = logged(printer(as_json))
    watcher = Watcher(folders, respond, guide, max_size, report, lambda: wakeups.stopped)
    watcher.senders = senders
    if queue:
        watcher.queue = queue_for(engine, hold or state_dir / "held", "folder", clock, received)
    stop_on_signals(wakeups)
    try:
        if once:
            run(watcher, Settler(settle), wakeups, once, rescan)
        else:
            with observing(folders.inbox, wakeups):
                run(watcher, Settler(settle), wakeups, once, rescan)
    except OSError as failure:  # a folder itself is gone or unreadable: nothing to go on with
        raise click.ClickException(describe(failure)) from None
    sys.exit(1 if once and watcher.failed else 0)
