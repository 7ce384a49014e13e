"""When an urgent radiology request is due: the same day when it comes in business
hours, else a stated number of hours later (policy source 003 says "same day"; at 22:38
on a Sunday that would leave 81 minutes). The engine is pure: the request, the facts
and the clock are built here in memory."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
import yaml

from edi278.decide.engine import decide
from edi278.decide.facts import Facts, Member, Plan, Provider, Span
from edi278.decide.outcome import Tracking
from edi278.decide.policy import DEFAULT, PolicyError, _Loader, default_policy, policy_of
from edi278.model import Action
from edi278.reader import read_transaction
from edi278.x12.delimiters import DEFAULT as DEFAULT_DELIMITERS
from edi278.x12.segment import parse

pytestmark = pytest.mark.dates

NEW_YORK = ZoneInfo("America/New_York")
IMAGING, REQUESTER = "1528067142", "1234567893"
IN_NETWORK = (Span("in-network", date(2015, 1, 1), None),)
FACTS = Facts(
    members={
        "W737194202": Member("W737194202", "W737194202", "JENSEN", "ISAAC", date(1967, 6, 27),
                             "PPO01", None, False, "", (Span("PPO01", date(2024, 11, 1), None),))
    },
    plans={"PPO01": Plan("PPO01", "PPO", "inpatient-outpatient", False, True)},
    providers={
        REQUESTER: Provider(REQUESTER, "RIVERSIDE ORTHOPEDICS", IN_NETWORK),
        IMAGING: Provider(IMAGING, "LAKESIDE IMAGING", IN_NETWORK),
    },
)  # fmt: skip


def chest_ct(level: str, service: date):
    """Sample 10's chest CT (71250, R06.02), at the level of service given (UM06)."""
    day = f"{service:%Y%m%d}"
    segments = [
        "ST*278*0001*005010X217", f"BHT*0007*13*URGENT1*{day}*0900",
        "HL*1**20*1", "NM1*X3*2*ACME HEALTH PLAN*****PI*12345",
        "HL*2*1*21*1", f"NM1*1P*2*RIVERSIDE ORTHOPEDICS*****XX*{REQUESTER}",
        "HL*3*2*22*1", "NM1*IL*1*JENSEN*ISAAC****MI*W737194202", "DMG*D8*19670627*M",
        "HL*4*3*EV*1", "TRN*1*URGENT1EV*9SUBMIT001", f"UM*HS*I*62*22:B**{level}",
        "HI*ABK:R0602", f"NM1*FA*2*LAKESIDE IMAGING*****XX*{IMAGING}",
        "HL*5*4*SS*0", "TRN*1*URGENT1SV*9SUBMIT001", "UM*HS*I", f"DTP*472*D8*{day}",
        "SV1*HC:71250**UN*1",
    ]  # fmt: skip
    segments.append(f"SE*{len(segments) + 1}*0001")
    return read_transaction([parse(s, DEFAULT_DELIMITERS) for s in segments])


def due_of(received: datetime, policy=None, level: str = "U") -> datetime:
    """The pend's due time, in New York, for the chest CT received then."""
    request = chest_ct(level, received.date() + timedelta(days=5))
    numbers = count(1)
    tracking = Tracking(["R26000000015"], lambda: f"C{next(numbers)}")
    (decision,) = decide(request, FACTS, policy or default_policy(), received, tracking)
    reason = "0V" if level else "0U"  # routine radiology is pended asking for documents
    assert (decision.outcome.action, decision.outcome.reason) == (Action.PENDED, reason)
    assert decision.outcome.due_at == decision.clocks.internal_pend_due_at
    return decision.outcome.due_at.astimezone(NEW_YORK)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        pytest.param(local(2026, 11, 22, 22, 38), local(2026, 11, 23, 22, 38),
                     id="Sunday 22:38: 24 hours, not 81 minutes"),
        pytest.param(local(2026, 11, 20, 10, 0), local(2026, 11, 20, 23, 59),
                     id="Friday 10:00 (sample 10): the same day"),
        pytest.param(local(2026, 12, 8, 10, 0), local(2026, 12, 8, 23, 59),
                     id="Tuesday 10:00: the same day"),
        pytest.param(local(2026, 12, 8, 16, 59), local(2026, 12, 8, 23, 59),
                     id="Tuesday 16:59, a minute before closing: the same day"),
        pytest.param(local(2026, 12, 8, 17, 0), local(2026, 12, 9, 17, 0),
                     id="Tuesday 17:00, at closing: 24 hours"),
        pytest.param(local(2026, 12, 8, 7, 59), local(2026, 12, 9, 7, 59),
                     id="Tuesday 07:59, before opening: 24 hours"),
        pytest.param(local(2026, 11, 26, 10, 0), local(2026, 11, 27, 10, 0),
                     id="Thanksgiving 10:00 (federal holiday): 24 hours"),
        pytest.param(local(2026, 12, 24, 10, 0), local(2026, 12, 25, 10, 0),
                     id="December 24 10:00 (plan holiday): 24 hours"),
    ],
)  # fmt: skip
def test_an_urgent_radiology_request_is_due_the_same_day_only_in_business_hours(received, due):
    assert due_of(received.astimezone(UTC)) == due


def test_the_sunday_night_request_gets_a_day_not_81_minutes():
    received = local(2026, 11, 22, 22, 38)
    assert due_of(received) - received == timedelta(hours=24)


def test_a_routine_radiology_request_keeps_its_two_business_days():
    """Sunday 22:38 routine: two business days from Monday, at the same time of day."""
    assert due_of(local(2026, 11, 22, 22, 38), level="") == local(2026, 11, 24, 22, 38)


def document(**changes) -> dict:
    """The default policy's document with `section__key` set (None: left out)."""
    policy = yaml.load(DEFAULT.read_text(encoding="utf-8"), Loader=_Loader)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = policy
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return policy


def test_business_hours_and_the_after_hours_clock_are_the_policys():
    policy = policy_of(document(
        calendar__business_hours={"opens": "07:00", "closes": "23:00"},
        clocks__radiology_urgent_after_hours_due_hours=12,
    ))  # fmt: skip
    assert due_of(local(2026, 12, 8, 22, 0), policy) == local(2026, 12, 8, 23, 59)
    assert due_of(local(2026, 12, 8, 23, 0), policy) == local(2026, 12, 9, 11, 0)
    assert due_of(local(2026, 11, 22, 22, 38), policy) == local(2026, 11, 23, 10, 38)


def test_a_policy_without_them_gets_a_day_shift_and_24_hours():
    policy = policy_of(document(
        calendar__business_hours=None, clocks__radiology_urgent_after_hours_due_hours=None
    ))  # fmt: skip
    assert due_of(local(2026, 12, 8, 16, 59), policy) == local(2026, 12, 8, 23, 59)
    assert due_of(local(2026, 12, 8, 17, 0), policy) == local(2026, 12, 9, 17, 0)


def test_the_after_hours_clock_never_runs_past_the_pend_review_or_the_regulatory_clock():
    """72 hours allowed by the policy check; the 48-hour pend review comes first."""
    policy = policy_of(document(clocks__radiology_urgent_after_hours_due_hours=72))
    received = local(2026, 11, 22, 22, 38)
    assert due_of(received, policy) == received + timedelta(hours=48)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"clocks__radiology_urgent_after_hours_due_hours": 73},
            "clocks.radiology_urgent_after_hours_due_hours: 73 is more than the regulatory "
            "clock, expedited_decision_hours (72)",
        ),
        (
            {"calendar__business_hours": {"opens": "17:00", "closes": "08:00"}},
            "calendar.business_hours: opens at 17:00, not before it closes at 08:00",
        ),
        (
            {"calendar__business_hours": {"opens": "8:00", "closes": "17:00"}},
            "calendar.business_hours.opens: '8:00' does not match "
            "'^([01][0-9]|2[0-3]):[0-5][0-9]$'",
        ),
    ],
)
def test_a_policy_with_unreachable_or_impossible_hours_does_not_load(changes, problem):
    with pytest.raises(PolicyError) as raised:
        policy_of(document(**changes), "policy.yaml")
    assert raised.value.problems == [problem]
