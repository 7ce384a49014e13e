"""The clocks a case runs against (reference sections 6 and 8.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edi278.decide.clocks import add_business_days, clocks_for, is_business_day
from edi278.model import ReviewInformation

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
    clocks = clocks_for(WEDNESDAY_BEFORE_THANKSGIVING, review, pended=False)
    assert clocks.urgency == urgency
    assert clocks.regulatory_due_at == WEDNESDAY_BEFORE_THANKSGIVING + allowed
    assert clocks.internal_pend_due_at is None  # only a pended case has one


def test_business_days_skip_weekends_and_federal_holidays():
    assert not is_business_day(datetime(2026, 11, 26).date())  # Thanksgiving
    assert not is_business_day(datetime(2026, 11, 28).date())  # a Saturday
    # Wednesday + 2 business days: Friday (Thursday is Thanksgiving), then Monday
    assert add_business_days(WEDNESDAY_BEFORE_THANKSGIVING, 2) == datetime(
        2026, 11, 30, 16, 30, tzinfo=UTC
    )
    clocks = clocks_for(WEDNESDAY_BEFORE_THANKSGIVING, None, pended=True)
    assert clocks.core_info_request_due_at == datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    assert clocks.internal_pend_due_at == WEDNESDAY_BEFORE_THANKSGIVING + timedelta(hours=48)
