"""Business days and the clocks a case runs against (reference sections 6 and 8.6).

Business days are counted in the plan's time zone: weekends, US federal holidays (the
`holidays` package) and the plan's own holidays are skipped, and a due time keeps its
wall-clock time across a daylight-saving change. Hours are counted in absolute time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from edi278.decide.outcome import Clocks
from edi278.decide.policy import DEFAULT_BUSINESS_HOURS, BusinessHours, Policy
from edi278.model import CertificationType, LevelOfService, ReviewInformation


class Urgency:
    EXPEDITED = "expedited"
    STANDARD = "standard"


def urgency_of(review: ReviewInformation | None) -> str:
    """Expedited when the requester says urgent or emergency (UM06 U or 03), or asks
    for an immediate appeal (UM02 1); standard otherwise."""
    if review is None:
        return Urgency.STANDARD
    urgent = review.level_of_service in (LevelOfService.URGENT, LevelOfService.EMERGENCY)
    if urgent or review.certification_type == CertificationType.APPEAL_IMMEDIATE:
        return Urgency.EXPEDITED
    return Urgency.STANDARD


@cache
def _federal(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("US", years=year))


def warm(today: date) -> None:
    """Read this year's and next year's federal holidays now: the first read loads the
    holiday library's country module, about 150 ms a server's first caller would wait."""
    for year in (today.year, today.year + 1):
        _federal(year)


def _weekdays_after(low: date, high: date) -> int:
    """Mondays to Fridays in (low, high], counted by the week rather than day by day."""
    weeks, rest = divmod((high - low).days, 7)
    first = low.weekday()
    return weeks * 5 + sum(1 for offset in range(1, rest + 1) if (first + offset) % 7 < 5)


class BusinessCalendar:
    def __init__(
        self,
        time_zone: str,
        plan_holidays: frozenset[date] = frozenset(),
        hours: BusinessHours = DEFAULT_BUSINESS_HOURS,
    ) -> None:
        self.zone = ZoneInfo(time_zone)
        self.plan_holidays = plan_holidays
        self.hours = hours

    @classmethod
    def of(cls, policy: Policy) -> BusinessCalendar:
        return cls(policy.payer.time_zone, policy.plan_holidays, policy.business_hours)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _federal(day.year) and day not in self.plan_holidays

    def in_business_hours(self, moment: datetime) -> bool:
        """On a business day, between opening and closing (closing time itself is out)."""
        local = self.local(moment)
        return self.is_business_day(local.date()) and self.hours.cover(local.time())

    def add_business_days(self, moment: datetime, days: int) -> datetime:
        """The same local time of day `days` business days later, in UTC."""
        local = self.local(moment)
        day = local.date()
        while days > 0:
            day += timedelta(days=1)
            days -= self.is_business_day(day)
        return datetime.combine(day, local.time(), self.zone).astimezone(UTC)

    def business_days_between(self, start: datetime | date, end: datetime | date) -> int:
        """Business days after `start`'s day up to and including `end`'s (negative when
        `end` comes first): an admission 2 business days after receipt gives 2."""
        first, last = self._day(start), self._day(end)
        low, high = sorted((first, last))
        count = _weekdays_after(low, high) - len(self._holidays_after(low, high))
        return count if last >= first else -count

    def _holidays_after(self, low: date, high: date) -> set[date]:
        """The federal and plan holidays in (low, high] that fall on a weekday."""
        closed = set(self.plan_holidays).union(*map(_federal, range(low.year, high.year + 1)))
        return {day for day in closed if low < day <= high and day.weekday() < 5}

    def end_of_day(self, moment: datetime) -> datetime:
        local = self.local(moment)
        return datetime.combine(local.date(), time(23, 59), self.zone).astimezone(UTC)

    def start_of(self, day: date) -> datetime:
        return datetime.combine(day, time(), self.zone).astimezone(UTC)

    def _day(self, value: datetime | date) -> date:
        return self.local(value).date() if isinstance(value, datetime) else value


def radiology_urgent_due(
    received_at: datetime, policy: Policy, calendar: BusinessCalendar
) -> datetime:
    """When an urgent radiology request is to be decided (policy source 003: "same
    day"): by the end of the day when received in business hours; otherwise so many
    hours after receipt, which a reviewer can meet. Never past the expedited clock."""
    clocks = policy.clocks
    if calendar.in_business_hours(received_at):
        due = calendar.end_of_day(received_at)
    else:
        due = received_at + timedelta(hours=clocks.radiology_urgent_after_hours_due_hours)
    return min(due, received_at + timedelta(hours=clocks.expedited_decision_hours))


def clocks_for(
    received_at: datetime, urgency: str, pended: bool, policy: Policy, calendar: BusinessCalendar
) -> Clocks:
    clocks = policy.clocks
    if urgency == Urgency.EXPEDITED:
        regulatory = received_at + timedelta(hours=clocks.expedited_decision_hours)
    else:
        regulatory = received_at + timedelta(days=clocks.standard_decision_days)
    return Clocks(
        urgency,
        regulatory,
        calendar.add_business_days(received_at, clocks.core_info_request_business_days),
        received_at + timedelta(hours=clocks.pend_review_hours) if pended else None,
    )
