"""Logging: structlog events as JSON lines (readable on a terminal), each with the
correlation id of its interchange and case, and never a member's name, ID or birth date
or a raw segment: one processor masks them wherever they appear, nested values and
exception messages included.

What counts as PHI is known three ways: by key (`member_id`, `last_name`, ...), by
shape (X12 segment text, dates, member-ID-like tokens that are not our tracking
numbers), and by value: the intake registers the names, IDs and birth dates of the
requests it is handling (`protect`), and any string containing one is masked.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TextIO, cast

import structlog
from structlog.typing import EventDict

from edi278.decide.tracking import TrackingNumberError, parse_number

MASK = "[redacted]"
PHI_KEYS = frozenset({
    "member", "member_id", "subscriber_id", "member_name", "patient", "patient_name",
    "subscriber", "first_name", "last_name", "name", "birth_date", "dob", "segment",
    "segments", "raw", "content", "body",
})  # fmt: skip
# Keys whose values are our own times and numbers, never PHI: left as they are.
SAFE_KEYS = frozenset({"timestamp", "level", "logger", "event", "interchange", "case",
                       "reference", "request_id", "route", "status", "duration_ms"})  # fmt: skip
SEGMENT = re.compile(
    r"\b(?:ISA|GS|ST|BHT|HL|NM1|N3|N4|DMG|INS|TRN|UM|HCR|HI|HSD|DTP|REF|PER|PRV|CL1|SV[123]"
    r"|MSG|PWK|CRC|CR[1256]|AAA|SE|GE|IEA|TA1|AK[129]|IK[345])[*|^!~:>](?:[^\s]*)"
)
DATE = re.compile(r"\b(?:19|20)\d{2}-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12]\d|3[01])\b")
MEMBER_ID = re.compile(r"\b[A-Z]{1,3}\d{6,}\b")

_protected: ContextVar[frozenset[str]] = ContextVar("edi278_phi", default=frozenset())


@contextmanager
def protect(terms: Iterable[str]) -> Iterator[None]:
    """While inside, these values (names, IDs, birth dates) are masked in every event."""
    added = frozenset(t.strip().upper() for t in terms if t and len(t.strip()) >= 2)
    token = _protected.set(_protected.get() | added)
    try:
        yield
    finally:
        _protected.reset(token)


def redact(_logger: Any, _method: str, event: EventDict) -> EventDict:
    """The structlog processor: every PHI value in the event masked."""
    terms = _protected.get()
    return {key: _clean(key, value, terms) for key, value in event.items()}


def _clean(key: str, value: Any, terms: frozenset[str]) -> Any:
    if key in SAFE_KEYS and key != "event":
        return value
    if key in PHI_KEYS and value not in (None, ""):
        return MASK
    if isinstance(value, dict):
        return {k: _clean(str(k), v, terms) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(key, item, terms) for item in value]
    if isinstance(value, str):
        return mask_text(value, terms)
    return value


def mask_text(text: str, terms: frozenset[str] = frozenset()) -> str:
    text = SEGMENT.sub(MASK, text)
    text = DATE.sub(MASK, text)
    text = MEMBER_ID.sub(_unless_tracking_number, text)
    if terms:
        upper = text.upper()
        for term in sorted(terms, key=len, reverse=True):
            start = upper.find(term)
            while start != -1:
                text = text[:start] + MASK + text[start + len(term) :]
                upper = text.upper()
                start = upper.find(term, start + len(MASK))
    return text


def _unless_tracking_number(match: re.Match[str]) -> str:
    try:
        parse_number(match.group(0))
    except TrackingNumberError:
        return MASK
    return match.group(0)  # ours, and meant to be found in the logs


class _Stderr:
    """sys.stderr as it is when a line is written, not when logging was configured:
    while a progress bar is shown it holds stderr (rich's Live) and prints each line
    above itself, where a line written to the terminal directly would break it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


STDERR = _Stderr()


def configure(default_level: str = "WARNING", path: Path | str | None = None) -> None:
    """JSON lines to EDI278_LOG_FILE (or stderr), readable columns on a terminal, at
    EDI278_LOG_LEVEL (else `default_level`: quiet for commands, INFO for services)."""
    level = (os.environ.get("EDI278_LOG_LEVEL") or default_level).upper()
    target = path or os.environ.get("EDI278_LOG_FILE")
    # STDERR is a file in all a logger asks of one (write, flush, isatty)
    stream = open(target, "a", encoding="utf-8") if target else cast(TextIO, STDERR)  # noqa: SIM115
    pretty = not target and stream.isatty()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            structlog.dev.ConsoleRenderer() if pretty else structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    bridge(level)


def get(name: str = "edi278") -> Any:
    return structlog.get_logger(name)


class Bridge(logging.Handler):
    """What a library logs with the standard library (uvicorn, asyncssh, SQLAlchemy,
    watchdog, procrastinate; warnings too) through our processors: masked, into
    EDI278_LOG_FILE, in our format. Python's own fallback would print it raw to stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a library's bad format string: its template, not a crash
            message = str(record.msg)
        action = getattr(record, "action", None)  # procrastinate names what it did
        get(record.name).log(record.levelno, message, logger=record.name,
                             exc_info=record.exc_info or None,
                             **({"action": action} if action else {}))  # fmt: skip


def silence(name: str) -> None:
    """A library whose log lines say nothing we want and may carry member data (pyx12
    logs each finding with the bad value): dropped, bridged or not."""
    logger = logging.getLogger(name)
    logger.addHandler(logging.NullHandler())
    logger.propagate = False


def _not_noise(record: logging.LogRecord) -> bool:
    # watchdog's inotify thread reports an event that arrives while the observer stops
    # as an error; nothing is lost (the watcher rescans at start)
    return "called when the thread is inactive" not in str(record.msg)


def bridge(level: str) -> None:
    """Every standard-library logger, through the root, into the one chain."""
    root = logging.getLogger()
    handler = Bridge()
    handler.addFilter(_not_noise)
    root.handlers = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings.warn too, as the "py.warnings" logger


# uvicorn configures its own loggers with handlers of their own unless told otherwise:
# the same loggers with no handler of their own, so that they reach the Bridge.
UVICORN: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        name: {"handlers": [], "propagate": True}
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    },
}
