"""Business days and the clocks a case runs against (reference sections 6 and 8.6):
weekends, US federal holidays, a plan holiday, and a daylight-saving change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from edi278.decide.clocks import BusinessCalendar, Urgency, clocks_for, urgency_of
from edi278.decide.policy import default_policy
from edi278.model import ReviewInformation

pytestmark = pytest.mark.dates

POLICY = default_policy()
NEW_YORK = BusinessCalendar("America/New_York")
# 16:30 UTC on the Wednesday before Thanksgiving is 11:30 in New York
WEDNESDAY_BEFORE_THANKSGIVING = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("review", "urgency", "allowed"),
    [
        (ReviewInformation("HS", "I"), "standard", timedelta(days=7)),
        (ReviewInformation("HS", "I", level_of_service="E"), "standard", timedelta(days=7)),
        (ReviewInformation("HS", "I", level_of_service="U"), "expedited", timedelta(hours=72)),
        (ReviewInformation("AR", "I", level_of_service="03"), "expedited", timedelta(hours=72)),
        (ReviewInformation("HS", "1"), "expedited", timedelta(hours=72)),  # immediate appeal
        (ReviewInformation("HS", "2"), "standard", timedelta(days=7)),
    ],
)
def test_urgency_sets_the_regulatory_clock(review, urgency, allowed):
    assert urgency_of(review) == urgency
    clocks = clocks_for(WEDNESDAY_BEFORE_THANKSGIVING, urgency, False, POLICY, NEW_YORK)
    assert clocks.regulatory_due_at == WEDNESDAY_BEFORE_THANKSGIVING + allowed
    assert clocks.internal_pend_due_at is None  # only a pended case has one


def test_business_days_skip_weekends_and_federal_holidays():
    assert not NEW_YORK.is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert not NEW_YORK.is_business_day(date(2026, 11, 28))  # a Saturday
    assert NEW_YORK.is_business_day(date(2026, 11, 27))  # federal: a working Friday
    # Wednesday + 2 business days: Friday (Thursday is Thanksgiving), then Monday
    assert NEW_YORK.add_business_days(WEDNESDAY_BEFORE_THANKSGIVING, 2) == datetime(
        2026, 11, 30, 16, 30, tzinfo=UTC
    )


def test_a_plan_holiday_is_skipped_too():
    plan = BusinessCalendar.of(POLICY)  # the default policy closes on 2026-11-27
    assert date(2026, 11, 27) in POLICY.plan_holidays and not plan.is_business_day(
        date(2026, 11, 27)
    )
    assert plan.add_business_days(WEDNESDAY_BEFORE_THANKSGIVING, 2) == datetime(
        2026, 12, 1, 16, 30, tzinfo=UTC
    )
    clocks = clocks_for(WEDNESDAY_BEFORE_THANKSGIVING, Urgency.STANDARD, True, POLICY, plan)
    assert clocks.core_info_request_due_at == datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    assert clocks.internal_pend_due_at == WEDNESDAY_BEFORE_THANKSGIVING + timedelta(hours=48)


def test_business_days_keep_the_local_time_across_a_daylight_saving_change():
    # Friday 2026-10-30 10:00 EDT (14:00 UTC); clocks go back on Sunday 2026-11-01
    friday = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
    tuesday = NEW_YORK.add_business_days(friday, 2)
    assert NEW_YORK.local(tuesday).hour == 10  # still 10:00 in New York ...
    assert tuesday == datetime(2026, 11, 3, 15, 0, tzinfo=UTC)  # ... which is 15:00 UTC now
    # hours are absolute: 72 hours later is 09:00 EST on Monday, not 10:00
    clocks = clocks_for(friday, Urgency.EXPEDITED, False, POLICY, NEW_YORK)
    assert NEW_YORK.local(clocks.regulatory_due_at).hour == 9


def test_counting_business_days_between_two_days():
    friday = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert NEW_YORK.business_days_between(friday, date(2026, 11, 23)) == 1  # Monday
    assert NEW_YORK.business_days_between(friday, date(2026, 11, 25)) == 3
    assert NEW_YORK.business_days_between(date(2026, 11, 16), friday) == 4  # Monday to Friday
    assert NEW_YORK.business_days_between(friday, friday) == 0
    assert NEW_YORK.business_days_between(date(2026, 11, 23), friday) == -1


def test_late_in_the_evening_the_day_is_still_the_local_one():
    # 03:30 UTC on Saturday is Friday 22:30 in New York: the end of *that* day
    evening = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)
    assert NEW_YORK.end_of_day(evening) == datetime(2026, 11, 21, 4, 59, tzinfo=UTC)
    assert NEW_YORK.local(evening).date() == date(2026, 11, 20)


def test_another_time_zone_counts_its_own_days():
    pacific = BusinessCalendar("America/Los_Angeles")
    friday_evening = datetime(2026, 11, 21, 3, 30, tzinfo=UTC)  # Friday 19:30 in California
    assert replace(
        clocks_for(friday_evening, Urgency.STANDARD, False, POLICY, pacific)
    ).core_info_request_due_at == datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # Tuesday 19:30
