"""The service's clock: the one place the shell reads the time of day.

The core never reads a clock; it is given `now`. The shell gets it from a `Clock`, made
once per command by `from_environment`:

- by default the system clock (UTC);
- with `EDI278_CLOCK=2026-11-20T10:00:00-05:00`, a clock that starts at that instant
  when the command starts and runs on at the wall clock's pace. Tests and demos set it
  so that a request dated for next week is still next week in any year; nothing else
  should.

A stated receipt time is another thing: `process --received-at` says when files were
received (a backfill of yesterday's batch keeps yesterday's clocks), while the service's
own clock still stamps when they were processed (`received_at` below).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]

CLOCK_VARIABLE = "EDI278_CLOCK"


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    """Always `at`: for tests that need one instant."""
    return lambda: at


def running_from(start: datetime) -> Clock:
    """A clock that reads `start` now and runs on at the pace of the wall clock."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def from_environment() -> Clock:
    """The system clock, or the one EDI278_CLOCK starts (a ValueError names a bad one)."""
    stated = os.environ.get(CLOCK_VARIABLE, "").strip()
    if not stated:
        return system_clock
    return running_from(parse_instant(stated, ZoneInfo("UTC"), CLOCK_VARIABLE))


def parse_instant(text: str, zone: ZoneInfo, what: str = "the time") -> datetime:
    """An ISO-8601 date and time; one without an offset is read in `zone` (the plan's
    time zone, where operators read their clocks). Returned in UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{what}: {text!r} is not an ISO-8601 date and time "
            "(e.g. 2026-11-20T10:00:00-05:00, or 2026-11-20T10:00 in the plan's time zone)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)
