"""The clocks a case runs against (reference sections 6 and 8.6), from its receipt.

- regulatory: 72 hours when expedited, 7 calendar days when standard (CMS-0057-F);
  a pend does not stop it.
- internal pend review: 48 hours, the hard end of the payer's 24-48 hour promise.
- CORE: 2 business days to review and ask for what is missing.
The final CORE clock (2 business days after the information arrives) and the close-out
start only when information is asked for and received; they are set then, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

import holidays

from edi278.model import CertificationType, LevelOfService, ReviewInformation

EXPEDITED_DECISION = timedelta(hours=72)
STANDARD_DECISION = timedelta(days=7)
INTERNAL_PEND_REVIEW = timedelta(hours=48)
CORE_INFO_REQUEST_BUSINESS_DAYS = 2


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
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("US", years=year))  # federal holidays


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_business_days(start: datetime, days: int) -> datetime:
    """The same time of day `days` business days later (weekends and US federal
    holidays skipped)."""
    moment = start
    while days > 0:
        moment += timedelta(days=1)
        days -= is_business_day(moment.date())
    return moment


@dataclass(frozen=True, slots=True)
class Clocks:
    urgency: str
    regulatory_due_at: datetime
    core_info_request_due_at: datetime
    internal_pend_due_at: datetime | None  # only while pended


def clocks_for(received_at: datetime, review: ReviewInformation | None, pended: bool) -> Clocks:
    urgency = urgency_of(review)
    allowed = EXPEDITED_DECISION if urgency == Urgency.EXPEDITED else STANDARD_DECISION
    return Clocks(
        urgency,
        received_at + allowed,
        add_business_days(received_at, CORE_INFO_REQUEST_BUSINESS_DAYS),
        received_at + INTERNAL_PEND_REVIEW if pended else None,
    )
