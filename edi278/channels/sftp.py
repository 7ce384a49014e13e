"""The SFTP channel: poll partners' mailboxes, answer what they drop, upload the answers.

For each mailbox in the config, each poll round:
1. lists the remote inbox (names starting with "." or ending .tmp, .part or .filepart are
   still being written by the partner, and are left alone);
2. downloads each file to work_dir/<partner>/incoming/NAME.partial, renamed NAME once whole;
3. refuses it when an interchange in it names a sender other than the mailbox's
   (`senders`): NAME.reason is uploaded and nothing of it processed; else
   answers it with edi278.batch.process_file into work_dir/<partner>/outgoing, through the
   store (every interchange recorded, requests decided by the policy);
4. uploads each answer to the remote outbox as .NAME.tmp, renamed NAME once whole;
5. only then removes the remote input (or moves it to remote_archive).

Nothing is lost when the connection drops or the process dies at any step: the remote input
stays in the inbox until its answers are uploaded, and is taken again on the next poll. Taking
it again is safe because the store replays a byte-identical interchange: the same answers
as the first time, and no new case, tracking number or control number. What the store cannot
know is which answers already reached the partner, so a small ledger per mailbox
(work_dir/<partner>/ledger.json) records, before the first upload, the remote names chosen
for a file's answers and then each one uploaded. A file found in the ledger with the same
bytes resumes where it stopped: the answers not yet uploaded are uploaded (under the same
names), and a file whose answers are all uploaded is just removed remotely. Should the
ledger be lost, an answer found in the remote outbox under its name with the very same bytes
counts as uploaded. The partner never gets an answer twice, nor two names for one answer
(unless it took the first copy away before the ledger was lost).

With --queue (PostgreSQL), step 3 becomes: hold a copy and queue it for `edi278 worker`
(edi278.queue), answered into work_dir/<partner>/answers, which must then be on storage
the workers reach under the same path. The ledger records the holding slot before the
file is queued, so a round that stopped between queueing and retiring finds it queued
and only retires it. Each round uploads the answers the workers have written there (as
above: temporary name, rename, an answer already there with the same bytes counts as
uploaded) and removes each local copy once it is up.

Deliveries (channels/deliveries.py): a reviewer's decision on a case that came in
through a mailbox is written into work_dir/<partner>/answers too, under its own name
(CASE.278), and uploaded by the next round as the workers' answers are: once, as an
answer already in the remote outbox with the same bytes is not uploaded again.

Host keys are pinned: the connection trusts only the key(s) in known_host_key, so a server
presenting another key is refused (and retried no faster than the backoff). Run one poller
per config: two on the same work_dir would race on the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import posixpath
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import click
import yaml
from cryptography.utils import CryptographyDeprecationWarning
from sqlalchemy.exc import SQLAlchemyError

from edi278 import heap, log
from edi278.batch import Answerer, process_file
from edi278.channels import answerer, foreign_senders, intake_for
from edi278.cli_store import database, policy, received_time, service_clock
from edi278.clock import Clock, system_clock
from edi278.ig import Guide
from edi278.queue import Queue, fresh_slot, queue_for
from edi278.store.deliveries import Mailbox as StagingFolder

with warnings.catch_warnings():
    # asyncssh names DSA keys in its type hints, which newer cryptography releases than
    # the one pinned deprecate at import; we never offer or accept DSA keys.
    warnings.filterwarnings("ignore", "DSA", CryptographyDeprecationWarning)
    import asyncssh

SKIPPED_SUFFIXES = (".tmp", ".part", ".filepart")
# Unknown: a server that sends no permissions; a directory then fails alone, reported.
LISTED_TYPES = (asyncssh.FILEXFER_TYPE_REGULAR, asyncssh.FILEXFER_TYPE_UNKNOWN)
CONNECTION_LOST = (asyncssh.SFTPConnectionLost, asyncssh.SFTPNoConnection)  # not one file's fault
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAILBOX_FIELDS = {
    "name", "host", "port", "username", "private_key", "known_host_key", "remote_inbox",
    "remote_outbox", "remote_archive", "poll_seconds", "min_age_seconds", "senders",
}  # fmt: skip
SENDER_PATTERN = re.compile(r"[A-Za-z0-9]{2}:[^\s:]{1,15}")
TOP_FIELDS = {"work_dir", "retry", "mailboxes"}
ANSWERS = "answers"  # work_dir/<name>/answers: see Mailbox.answers
RETRY_FIELDS = {"first_seconds", "max_seconds"}


# --- the config --------------------------------------------------------------------------


class ConfigError(ValueError):
    """A config that cannot be used, with the field at fault named."""


@dataclass(frozen=True, slots=True)
class Retry:
    first_seconds: float = 1.0
    max_seconds: float = 60.0

    def delay(self, failures: int) -> float:
        """1 s, 2 s, 4 s ... up to the maximum, after the n-th failure in a row."""
        return min(self.first_seconds * 2 ** max(failures - 1, 0), self.max_seconds)


@dataclass(frozen=True, slots=True)
class Mailbox:
    name: str
    host: str
    port: int
    username: str
    private_key: Path
    known_host_key: Path
    remote_inbox: str
    remote_outbox: str
    remote_archive: str | None
    poll_seconds: float
    min_age_seconds: float  # a file written in place (no temp name) is left to settle
    senders: frozenset[str]  # "ISA05:ISA06": the partner's own, the only ones taken here
    folder: Path  # work_dir/<name>
    client_key: asyncssh.SSHKey = field(repr=False, compare=False)
    host_keys: tuple[asyncssh.SSHKey, ...] = field(repr=False, compare=False)

    @property
    def incoming(self) -> Path:
        return self.folder / "incoming"

    @property
    def outgoing(self) -> Path:
        return self.folder / "outgoing"

    @property
    def answers(self) -> Path:
        """Answers made elsewhere, uploaded by every round: with --queue the workers',
        and deliveries' (a reviewer's decision on a case that came in here)."""
        return self.folder / ANSWERS

    def source(self, name: str) -> str:
        """Where a file came from, as recorded with its interchanges (in 255 characters,
        the column's size: the end, with the file name, is what tells)."""
        path = self.inbox_path(name)
        home = "" if path.startswith("/") else "/~/"  # relative to the login folder
        text = f"sftp://{self.username}@{self.host}:{self.port}{home}{path}"
        return text if len(text) <= 255 else "..." + text[-252:]

    def inbox_path(self, name: str) -> str:
        return posixpath.join(self.remote_inbox, name)


@dataclass(frozen=True, slots=True)
class Settings:
    work_dir: Path
    retry: Retry
    mailboxes: tuple[Mailbox, ...]


def _read_config(path: Path) -> tuple[dict[str, Any], Path, Path, list[Any]]:
    """The config file's top level checked: it, the folder relative paths are taken
    from, the work folder, and its (non-empty) list of mailboxes, each still unchecked."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read it: {error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"not YAML: {error}") from error
    top = _mapping(document, "the config", TOP_FIELDS)
    base = path.resolve().parent
    work_dir = base / _text(top, "work_dir", "work_dir")
    boxes = top.get("mailboxes")
    if not isinstance(boxes, list) or not boxes:
        raise ConfigError("mailboxes: a list of at least one mailbox is required")
    return top, base, work_dir, boxes


def load_config(path: Path) -> Settings:
    """The config file read and checked; relative paths are taken from its folder."""
    top, base, work_dir, boxes = _read_config(path)
    retry = _retry(top.get("retry", {}))
    mailboxes = tuple(
        _mailbox(box, f"mailboxes[{i}]", base, work_dir) for i, box in enumerate(boxes)
    )
    names = [box.name for box in mailboxes]
    if len(set(names)) != len(names):
        raise ConfigError("mailboxes: each name must be used once (it names a work folder)")
    return Settings(work_dir, retry, mailboxes)


def staging_folders(path: Path) -> tuple[StagingFolder, ...]:
    """What a delivery needs of each mailbox of the config: its senders and the folder
    every round uploads from (`Mailbox.answers`). Read without the keys, which the
    account deciding cases need not be able to read; checked as `load_config` checks."""
    _, _, work_dir, boxes = _read_config(path)
    found = []
    for i, value in enumerate(boxes):
        box = _mapping(value, f"mailboxes[{i}]", MAILBOX_FIELDS)
        name = _text(box, "name", f"mailboxes[{i}]")
        if not NAME_PATTERN.fullmatch(name):
            raise ConfigError(f"mailboxes[{i}].name: {name!r} must be letters, digits, '.', "
                              "'_' or '-'")  # fmt: skip
        senders = _senders(box.get("senders"), f"mailboxes[{i}] ({name}).senders")
        found.append(StagingFolder(name, senders, work_dir / name / ANSWERS))
    return tuple(found)


def _retry(value: object) -> Retry:
    retry = _mapping(value, "retry", RETRY_FIELDS)
    first = _number(retry, "first_seconds", "retry", 1.0, minimum=0.01)
    most = _number(retry, "max_seconds", "retry", 60.0, minimum=first)
    return Retry(first, most)


def _mailbox(value: object, where: str, base: Path, work_dir: Path) -> Mailbox:
    box = _mapping(value, where, MAILBOX_FIELDS)
    name = _text(box, "name", where)
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"{where}.name: {name!r} must be letters, digits, '.', '_' or '-'")
    where = f"{where} ({name})"
    private_key = base / _text(box, "private_key", where)
    known_host_key = base / _text(box, "known_host_key", where)
    archive = box.get("remote_archive")
    return Mailbox(
        name=name,
        host=_text(box, "host", where),
        port=int(_number(box, "port", where, 22, minimum=1, maximum=65535, whole=True)),
        username=_text(box, "username", where),
        private_key=private_key,
        known_host_key=known_host_key,
        remote_inbox=_text(box, "remote_inbox", where),
        remote_outbox=_text(box, "remote_outbox", where),
        remote_archive=None if archive is None else _text(box, "remote_archive", where),
        poll_seconds=_number(box, "poll_seconds", where, 60.0, minimum=0.1),
        min_age_seconds=_number(box, "min_age_seconds", where, 0.0, minimum=0),
        senders=_senders(box.get("senders"), f"{where}.senders"),
        folder=work_dir / name,
        client_key=_private_key(private_key, f"{where}.private_key"),
        host_keys=_host_keys(known_host_key, f"{where}.known_host_key"),
    )


def _senders(value: object, where: str) -> frozenset[str]:
    """Required: a mailbox that took any sender would let whoever drops files into it
    file cases as any partner."""
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: a list of the partner's ISA05:ISA06 senders is required")
    for sender in value:
        if not isinstance(sender, str) or not SENDER_PATTERN.fullmatch(sender):
            raise ConfigError(f"{where}: {sender!r} is not ISA05:ISA06 (e.g. ZZ:SUBMITTER01)")
    return frozenset(value)


def _mapping(value: object, where: str, known: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: a mapping of fields is required")
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
    return value


def _text(mapping: dict[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: a non-empty string is required")
    return value.strip()


def _number(
    mapping: dict[str, Any],
    key: str,
    where: str,
    default: float,
    *,
    minimum: float,
    maximum: float | None = None,
    whole: bool = False,
) -> float:
    value = mapping.get(key, default)
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigError(f"{where}.{key}: {'an integer' if whole else 'a number'} is required")
    if value < minimum or (maximum is not None and value > maximum):
        limits = f"from {minimum:g}" + (f" to {maximum:g}" if maximum is not None else "")
        raise ConfigError(f"{where}.{key}: {value!r} is out of range ({limits})")
    return float(value)


def _private_key(path: Path, where: str) -> asyncssh.SSHKey:
    try:
        return asyncssh.read_private_key(path)
    except (OSError, asyncssh.KeyImportError) as error:
        raise ConfigError(f"{where}: cannot use {path} as a private key: {error}") from error


def _host_keys(path: Path, where: str) -> tuple[asyncssh.SSHKey, ...]:
    try:
        keys = tuple(asyncssh.read_public_key_list(path))
    except (OSError, asyncssh.KeyImportError) as error:
        raise ConfigError(f"{where}: cannot read a public key from {path}: {error}") from error
    if not keys:
        raise ConfigError(f"{where}: {path} holds no public key")
    return keys


# --- the ledger: which answers reached the partner --------------------------------------


class LedgerError(Exception):
    pass


@dataclass(slots=True)
class Entry:
    sha256: str
    status: str
    outputs: dict[str, str]  # remote name -> local file, relative to the mailbox folder
    uploaded: list[str] = field(default_factory=list)
    held: str = ""  # --queue: the holding slot it is (being) queued under

    def pending(self) -> list[str]:
        return [name for name in self.outputs if name not in self.uploaded]


class Ledger:
    """The files of one mailbox whose answers are (being) uploaded, saved after each step."""

    def __init__(self, path: Path, entries: dict[str, Entry]) -> None:
        self.path = path
        self.entries = entries

    @classmethod
    def load(cls, folder: Path) -> Ledger:
        path = folder / "ledger.json"
        if not path.exists():
            return cls(path, {})
        try:
            files = json.loads(path.read_text(encoding="utf-8"))["files"]
            return cls(path, {name: Entry(**entry) for name, entry in files.items()})
        except (ValueError, KeyError, TypeError) as error:
            raise LedgerError(
                f"{path} is not a ledger ({error}); moving it away makes answers to the files "
                "still in the remote inbox be uploaded again"
            ) from error

    def find(self, name: str, sha256: str) -> Entry | None:
        """The entry for these bytes under this name: other bytes are another file."""
        entry = self.entries.get(name)
        return entry if entry is not None and entry.sha256 == sha256 else None

    def record(self, name: str, entry: Entry) -> Entry:
        self.entries[name] = entry
        self.save()
        return entry

    def uploaded(self, name: str, remote_name: str) -> None:
        self.entries[name].uploaded.append(remote_name)
        self.save()

    def forget(self, names: set[str]) -> None:
        if names & set(self.entries):
            self.entries = {n: e for n, e in self.entries.items() if n not in names}
            self.save()

    def local_files(self) -> set[str]:
        return {local for entry in self.entries.values() for local in entry.outputs.values()}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.partial")
        document = {"files": {name: asdict(entry) for name, entry in self.entries.items()}}
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


# --- one poll round ----------------------------------------------------------------------


@dataclass(slots=True)
class Handled:
    """What became of one remote file, printed as a line or a JSON object."""

    partner: str
    file: str
    status: str
    uploaded: list[str] = field(default_factory=list)
    resumed: bool = False  # its answers were made by an earlier round
    error: str | None = None
    decisions: list[dict[str, str]] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, object]:
        shown = {k: v for k, v in asdict(self).items() if v is not None}
        return shown if self.decisions else {k: v for k, v in shown.items() if k != "decisions"}

    def line(self) -> str:
        uploaded = ", ".join(self.uploaded) or "nothing"
        resumed = " (answered by an earlier round)" if self.resumed else ""
        error = f": {self.error}" if self.error else ""
        return f"{self.partner}: {self.file}: {self.status}{error}{resumed} -> uploaded {uploaded}"


@dataclass(slots=True)
class Poller:
    """What a round needs besides the mailbox: the core, where to report, when to stop."""

    answerers: dict[str, Answerer]  # by mailbox: each its own actor, sftp:<name>
    guide: Guide
    emit: Callable[[Handled], None]
    stop: asyncio.Event
    queue: Queue | None = None  # --queue on PostgreSQL: files queued for workers
    clock: Clock = system_clock


async def poll(box: Mailbox, poller: Poller) -> bool:
    """One round over the mailbox: True when every file was answered and retired. A lost
    connection raises (asyncssh.Error or OSError): the caller backs off and retries."""
    async with (
        _connect(box) as connection,
        connection.start_sftp_client() as sftp,
    ):
        listed = await _inbox(sftp, box)
        ledger = Ledger.load(box.folder)
        ledger.forget(set(ledger.entries) - {name for name, _ in listed})  # gone remotely
        _sweep(box, ledger)
        clean = True
        for name, settled in listed:
            if poller.stop.is_set():
                break
            if settled:
                handled = await _handle(sftp, box, ledger, name, poller)
                clean &= handled.done
        if not poller.stop.is_set():
            await _upload_answers(sftp, box, poller)
    return clean


def _connect(box: Mailbox) -> contextlib.AbstractAsyncContextManager[asyncssh.SSHClientConnection]:
    # known_hosts as (trusted host keys, CA keys, revoked keys): the pinned keys only, never
    # ~/.ssh/known_hosts; no ~/.ssh/config, no agent: the config says everything.
    return asyncssh.connect(
        box.host,
        box.port,
        username=box.username,
        client_keys=[box.client_key],
        known_hosts=(list(box.host_keys), [], []),
        config=None,
        agent_path=None,
        connect_timeout=30,
        login_timeout=30,
        keepalive_interval=30,
        keepalive_count_max=3,
    )


async def _inbox(sftp: asyncssh.SFTPClient, box: Mailbox) -> list[tuple[str, bool]]:
    """The regular files a partner has finished writing, in name order, each with whether
    it is old enough to take (min_age_seconds)."""
    now = time.time()
    found = []
    with _naming("remote_inbox", box.remote_inbox):
        listing = await sftp.readdir(box.remote_inbox)
    for entry in listing:
        name = str(entry.filename)
        if not safe_name(name) or name.endswith(SKIPPED_SUFFIXES):
            continue
        if entry.attrs.type not in LISTED_TYPES:
            continue
        mtime = entry.attrs.mtime
        found.append((name, mtime is None or now - mtime >= box.min_age_seconds))
    return sorted(found)


def safe_name(name: str) -> bool:
    """A plain file name: a name the server lists is used to build local and remote
    paths, so one that could climb out of its folder (a separator, "..", NUL) is never
    taken; nor one still being written (a leading ".")."""
    return bool(name) and not name.startswith(".") and not any(c in name for c in "/\\\0")


def _sweep(box: Mailbox, ledger: Ledger) -> None:
    """Local leftovers of an interrupted round: downloads are taken again, and answers
    the ledger does not list were never uploaded (the store replays them if needed)."""
    keep = {box.folder / local for local in ledger.local_files()}
    for folder in (box.incoming, box.outgoing):
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and path not in keep:
                    path.unlink()


async def _handle(
    sftp: asyncssh.SFTPClient, box: Mailbox, ledger: Ledger, name: str, poller: Poller
) -> Handled:
    """One remote file taken, reported even when interrupted. An SFTP refusal about this
    file alone fails it and the round goes on; a lost connection ends the round."""
    handled = Handled(box.name, name, "interrupted")
    try:
        await _take(sftp, box, ledger, name, poller, handled)
    except asyncssh.SFTPError as error:
        handled.status, handled.error = "failed", f"{type(error).__name__}: {error.reason}"
        if isinstance(error, CONNECTION_LOST):
            handled.status = "interrupted"
            poller.emit(handled)
            raise
    except (asyncssh.Error, OSError) as error:
        handled.status, handled.error = "interrupted", _reason(error)
        poller.emit(handled)
        raise
    poller.emit(handled)
    return handled


async def _take(
    sftp: asyncssh.SFTPClient,
    box: Mailbox,
    ledger: Ledger,
    name: str,
    poller: Poller,
    handled: Handled,
) -> None:
    """Download, answer (or resume from the ledger), upload, retire; `handled` says how
    far it got."""
    local = await _download(sftp, box, name)
    digest = _sha256(local)
    entry = ledger.find(name, digest)
    handled.resumed = entry is not None
    # Checked before anything is processed or queued (a file refused before is in the
    # ledger as such, its reason still to upload).
    foreign = foreign_senders(local, box.senders) if entry is None or entry.held else None
    if foreign is not None:  # nothing of it processed: the reason is its only answer
        handled.error = foreign
        reason = box.outgoing / f"{name}.reason"
        box.outgoing.mkdir(parents=True, exist_ok=True)
        reason.write_text(f"{poller.clock().isoformat(timespec='seconds')} {foreign}\n")
        named = await _remote_names(sftp, box, name, {"reason": reason})
        entry = ledger.record(name, replace(named, sha256=digest, status="refused"))
    elif poller.queue is not None and (entry is None or entry.held):
        try:
            await _queue(sftp, box, ledger, name, (local, digest, entry), poller.queue)
        except SQLAlchemyError as error:  # the input stays remote: queued by a later round
            first_line = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            handled.status, handled.error = "not queued", f"{type(error).__name__}: {first_line}"
            return
        handled.status = "queued"
        return
    if entry is None:
        summary = process_file(local, box.outgoing, _answer_as(poller, box, name), poller.guide)
        if not summary.answered:  # the input stays remote: taken again next round
            handled.status, handled.error = summary.status, summary.error
            return
        handled.decisions = summary.decided
        named = await _remote_names(sftp, box, name, summary.outputs)
        entry = ledger.record(name, replace(named, sha256=digest, status=summary.status))
    for remote_name in entry.pending():
        await _upload(sftp, box, box.folder / entry.outputs[remote_name], remote_name)
        ledger.uploaded(name, remote_name)
        handled.uploaded.append(remote_name)
    await _retire(sftp, box, name)
    ledger.forget({name})
    for path in (local, *(box.folder / p for p in entry.outputs.values())):
        path.unlink(missing_ok=True)
    handled.status = entry.status


async def _queue(
    sftp: asyncssh.SFTPClient,
    box: Mailbox,
    ledger: Ledger,
    name: str,
    taken: tuple[Path, str, Entry | None],
    queue: Queue,
) -> None:
    """--queue: held and queued for a worker under the slot the ledger remembers (so
    queued once however often this is cut short), then retired."""
    local, digest, entry = taken
    if entry is None:
        slot = fresh_slot(queue.clock())
        entry = ledger.record(name, Entry(digest, "queued", {}, held=slot))
    queue.submit(local, box.answers, box.source(name), entry.held)
    await _retire(sftp, box, name)
    ledger.forget({name})
    local.unlink(missing_ok=True)


async def _upload_answers(sftp: asyncssh.SFTPClient, box: Mailbox, poller: Poller) -> None:
    """The answers workers wrote for queued files, each uploaded once, then removed
    here (the hidden names are answers still being written)."""
    if not box.answers.is_dir():
        return
    for path in sorted(box.answers.iterdir()):
        if poller.stop.is_set():
            return
        if path.name.startswith(".") or not path.is_file():
            continue
        remote = await _answer_name(sftp, box, path)
        if remote is not None:
            await _upload(sftp, box, path, remote)
        path.unlink()
        uploaded = [remote] if remote else []
        poller.emit(Handled(box.name, path.name, "answer uploaded", uploaded))


async def _answer_name(sftp: asyncssh.SFTPClient, box: Mailbox, local: Path) -> str | None:
    """The remote name for an answer: its own, else NAME-2.EXT ... (never replace what
    the partner has not read); None when it is there already with these very bytes."""
    with _naming("remote_outbox", box.remote_outbox):
        taken = set(map(str, await sftp.listdir(box.remote_outbox)))
    for candidate in _archive_names(local.name):
        if candidate not in taken:
            return candidate
        if await _holds(sftp, box, candidate, local):
            return None
    raise AssertionError("unreachable")  # _archive_names never ends


def _answer_as(poller: Poller, box: Mailbox, name: str) -> Answerer:
    """The answerer, recording the remote file (not the staging copy) as the source."""
    answer = poller.answerers[box.name]
    source = box.source(name)
    return lambda report, fingerprint, _local: answer(report, fingerprint, source)


async def _download(sftp: asyncssh.SFTPClient, box: Mailbox, name: str) -> Path:
    box.incoming.mkdir(parents=True, exist_ok=True)
    partial = box.incoming / f"{name}.partial"
    await sftp.get(box.inbox_path(name), partial)
    local = box.incoming / name
    os.replace(partial, local)
    return local


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


async def _remote_names(
    sftp: asyncssh.SFTPClient, box: Mailbox, name: str, outputs: dict[str, Path]
) -> Entry:
    """The ledger entry for a file's answers: NAME.999, NAME.278 ... in the remote outbox,
    or NAME-2.999 ... when an other answer to an earlier file of that name is still there
    (never replace what the partner has not read). Names come from the remote file, not
    the staging copy (which may be NAME-2 locally). An answer already there with the same
    bytes was uploaded by a round whose ledger was lost: the store replayed it, and it
    counts as uploaded."""
    with _naming("remote_outbox", box.remote_outbox):
        taken = set(map(str, await sftp.listdir(box.remote_outbox)))
    for stem in _stems(name):
        names = {f"{stem}.{kind}": path for kind, path in outputs.items()}
        there = [remote for remote in names if remote in taken]
        if all([await _holds(sftp, box, remote, names[remote]) for remote in there]):
            local = {remote: str(path.relative_to(box.folder)) for remote, path in names.items()}
            return Entry("", "", local, there)
    raise AssertionError("unreachable")  # _stems never ends


async def _holds(sftp: asyncssh.SFTPClient, box: Mailbox, remote: str, local: Path) -> bool:
    """Whether the remote outbox file has exactly the bytes of the local answer."""
    path = posixpath.join(box.remote_outbox, remote)
    if (await sftp.stat(path)).size != local.stat().st_size:
        return False
    async with sftp.open(path, "rb") as handle:
        return await handle.read() == local.read_bytes()


def _stems(name: str) -> Iterator[str]:
    path = PurePosixPath(name)
    base = path.stem if path.suffix else name
    yield base
    copy = 2
    while True:
        yield f"{base}-{copy}"
        copy += 1


async def _upload(sftp: asyncssh.SFTPClient, box: Mailbox, local: Path, name: str) -> None:
    """Written under a hidden temporary name, then renamed: the partner sees it whole."""
    final = posixpath.join(box.remote_outbox, name)
    temporary = posixpath.join(box.remote_outbox, f".{name}.tmp")
    with _naming("remote_outbox", box.remote_outbox):
        await sftp.put(local, temporary)
    try:
        await sftp.posix_rename(temporary, final)
    except asyncssh.SFTPOpUnsupported:
        # A plain rename refuses an existing target; anything under this name is this very
        # answer, uploaded by a round that stopped before the ledger said so.
        if await sftp.exists(final):
            await sftp.remove(final)
        await sftp.rename(temporary, final)


async def _retire(sftp: asyncssh.SFTPClient, box: Mailbox, name: str) -> None:
    if box.remote_archive is None:
        await sftp.remove(box.inbox_path(name))
        return
    for candidate in _archive_names(name):
        target = posixpath.join(box.remote_archive, candidate)
        if not await sftp.exists(target):
            with _naming("remote_archive", box.remote_archive):
                await sftp.rename(box.inbox_path(name), target)
            return


def _archive_names(name: str) -> Iterator[str]:
    suffix = PurePosixPath(name).suffix
    for stem in _stems(name):
        yield stem + suffix if suffix else stem


@contextlib.contextmanager
def _naming(field: str, path: str) -> Iterator[None]:
    """An SFTP refusal told with the config field it concerns: "No such file" alone does
    not say which folder is missing."""
    try:
        yield
    except asyncssh.SFTPError as error:
        if not isinstance(error, CONNECTION_LOST):
            error.reason = f"{field} {path}: {error.reason}"
        raise


# --- polling: once, or until stopped ----------------------------------------------------


def _describe(box: Mailbox, error: BaseException) -> str:
    if isinstance(error, asyncssh.HostKeyNotVerifiable):
        return (
            f"host key not verifiable for {box.host}:{box.port}: the server's host key is not "
            f"the one pinned in {box.known_host_key} ({error.reason}); nothing was transferred"
        )
    if isinstance(error, asyncssh.PermissionDenied):
        return f"login refused for {box.username!r} with the key in {box.private_key}"
    if isinstance(error, asyncssh.SFTPError) and not isinstance(error, CONNECTION_LOST):
        return f"{box.host}:{box.port} refused: {_reason(error)}"
    if isinstance(error, OSError) and error.filename is not None:
        return f"local file error: {error}"  # the work folder, not the connection
    return f"connection to {box.host}:{box.port} failed: {_reason(error)}"


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or str(error) or "no reason given"
    return f"{type(error).__name__}: {reason}"


POLL_ERRORS = (asyncssh.Error, OSError, ConnectionError, LedgerError)


async def _round(box: Mailbox, poller: Poller) -> tuple[bool, BaseException | None]:
    """(every file done, the error that ended the round early)."""
    try:
        return await poll(box, poller), None
    except POLL_ERRORS as error:
        return False, error


async def _run_once(settings: Settings, poller: Poller) -> bool:
    clean = True
    for box in settings.mailboxes:
        done, error = await _round(box, poller)
        if error is not None:
            click.echo(f"edi278 sftp: {box.name}: {_describe(box, error)}", err=True)
        clean &= done
    return clean


async def _keep_polling(box: Mailbox, retry: Retry, poller: Poller) -> None:
    failures = 0
    while not poller.stop.is_set():
        _done, error = await _round(box, poller)
        failures = failures + 1 if error is not None else 0
        delay = retry.delay(failures) if failures else box.poll_seconds
        if error is not None:
            message = _describe(box, error)
            click.echo(f"edi278 sftp: {box.name}: {message}; retrying in {delay:g} s", err=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(poller.stop.wait(), delay)


async def _serve(settings: Settings, poller: Poller, once: bool) -> bool:
    """The first SIGTERM/SIGINT stops after the file at hand; a second one cancels."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None

    def on_signal() -> None:
        if poller.stop.is_set():
            main.cancel()
        poller.stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, on_signal)
    try:
        if once:
            return await _run_once(settings, poller)
        await asyncio.gather(
            *(_keep_polling(b, settings.retry, poller) for b in settings.mailboxes)
        )
        return True
    except asyncio.CancelledError:
        return False
    finally:
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)


def _emitter(as_json: bool) -> Callable[[Handled], None]:
    def emit(handled: Handled) -> None:
        click.echo(json.dumps(handled.as_dict()) if as_json else handled.line())
        sys.stdout.flush()  # one line per file as it happens, even into a pipe

    return emit


def run(
    config_path: Path,
    once: bool,
    as_json: bool,
    queue: bool,
    hold: Path | None,
    received_at: str | None,
    state_dir: Path,
    db_url: str | None,
    policy_path: Path | None,
) -> int:
    """`edi278 sftp` (edi278.cli_channels, which imports this module only then): the
    exit status."""
    log.configure("INFO")  # a service says what it does (on stderr: stdout is per file)
    try:
        settings = load_config(config_path)
    except ConfigError as error:
        raise click.BadParameter(f"{config_path}: {error}", param_hint="--config") from error
    rules = policy(policy_path)
    received = received_time(received_at, rules)
    engine = database(db_url, state_dir)
    clock = service_clock()
    answerers = {
        box.name: answerer(intake_for(engine, "sftp", f"sftp:{box.name}", rules), clock, received)
        for box in settings.mailboxes
    }
    queued_to = (
        queue_for(engine, hold or state_dir / "held", "sftp", clock, received) if queue else None
    )
    guide = Guide()
    guide.warm()
    heap.settle()
    poller = Poller(answerers, guide, _emitter(as_json), asyncio.Event(), queued_to, clock)
    clean = asyncio.run(_serve(settings, poller, once))
    return 0 if clean else 1
