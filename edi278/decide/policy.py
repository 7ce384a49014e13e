"""The payer's policy: read from YAML, checked against schemas/policy.schema.json, and
turned into the plain values the rules read.

A bad policy never loads halfway: every problem is named with its place in the file
(`categories[3].when.procedures[0].from`) and what is wrong there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

SCHEMA = Path(__file__).parents[2] / "schemas" / "policy.schema.json"
DEFAULT = Path(__file__).parents[2] / "samples" / "policy.yaml"


class PolicyError(ValueError):
    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: the policy does not load:\n  " + "\n  ".join(problems))


class _Loader(yaml.SafeLoader):
    """YAML as written: a date stays the text it is (the schema checks its form)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class CodeRange:
    low: str
    high: str

    def __contains__(self, code: str) -> bool:
        return len(code) == len(self.low) and self.low <= code <= self.high


@dataclass(frozen=True, slots=True)
class Codes:
    """Code ranges, and diagnoses as codes or prefixes (a trailing *)."""

    ranges: tuple[CodeRange, ...] = ()

    def match(self, code: str) -> bool:
        code = code.replace(".", "").upper()
        return any(code in each for each in self.ranges)

    def match_any(self, codes: Iterable[str]) -> bool:
        return bool(self.ranges) and any(self.match(code) for code in codes)


def _diagnoses_match(patterns: tuple[str, ...], code: str) -> bool:
    code = code.replace(".", "").upper()
    return any(code.startswith(p[:-1]) if p.endswith("*") else code == p for p in patterns)


@dataclass(frozen=True, slots=True)
class When:
    request_categories: frozenset[str] = frozenset()
    service_types: frozenset[str] = frozenset()
    procedures: Codes = Codes()
    revenue_codes: Codes = Codes()


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    label: str
    setting: str  # inpatient | outpatient
    when: When
    delegate_to: str = ""
    excluded: bool = False
    radiology: bool = False
    notification: bool = False
    documents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Stay:
    diagnoses: tuple[str, ...]
    hours: int

    def matches(self, code: str) -> bool:
        return _diagnoses_match(self.diagnoses, code)


@dataclass(frozen=True, slots=True)
class AutoCertify:
    id: str
    procedures: Codes
    diagnoses: tuple[str, ...]
    inpatient_days: int | None
    validity_days: int | None

    def matches_diagnosis(self, code: str) -> bool:
        return _diagnoses_match(self.diagnoses, code)


@dataclass(frozen=True, slots=True)
class Payer:
    name: str
    phone: str
    medical_director_phone: str
    appeal_address: str
    time_zone: str


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """When the plan's reviewers work on business days, in the plan's time zone."""

    opens: time
    closes: time

    def cover(self, moment: time) -> bool:
        return self.opens <= moment < self.closes


# Defaults for what a policy may leave out: a day shift, and an urgent radiology request
# received outside it due a day later (a reviewer is there to decide it the next morning).
DEFAULT_BUSINESS_HOURS = BusinessHours(time(8), time(17))
DEFAULT_RADIOLOGY_URGENT_AFTER_HOURS_DUE_HOURS = 24


@dataclass(frozen=True, slots=True)
class Clocks:
    expedited_decision_hours: int
    standard_decision_days: int
    pend_review_target_hours: int
    pend_review_hours: int
    core_info_request_business_days: int
    core_final_business_days: int
    closeout_business_days: int
    radiology_routine_business_days: int
    radiology_urgent: str  # same-day: by the end of the day when received in business hours
    # ... and when received outside them, so many hours after receipt (at most the
    # expedited regulatory clock): "same day" at 22:38 on a Sunday is not reachable.
    radiology_urgent_after_hours_due_hours: int = DEFAULT_RADIOLOGY_URGENT_AFTER_HOURS_DUE_HOURS


@dataclass(frozen=True, slots=True)
class LeadTimes:
    before_service_hours: int
    before_elective_admission_business_days: int
    emergency_notice_business_days: int
    dialysis_notice_business_days: int
    late_request: str  # review | deny


@dataclass(frozen=True, slots=True)
class Policy:
    payer: Payer
    plan_holidays: frozenset[date]
    business_hours: BusinessHours
    clocks: Clocks
    lead_times: LeadTimes
    validity_days: int
    categories: tuple[Category, ...]
    maternity_service_types: frozenset[str]
    vaginal: Stay
    cesarean: Stay
    transplant_service_types: frozenset[str]
    transplant_procedures: Codes
    medicare_non_covered: Codes
    medicare_risk_products: frozenset[str]
    auto_certify: tuple[AutoCertify, ...]
    referral_validity_days: int
    referral_default_visits: int
    out_of_network_without_benefit: str  # deny | review
    out_of_network_message: str
    duplicates: str  # deny | review


def load_policy(path: Path | str = DEFAULT) -> Policy:
    path = Path(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise PolicyError(str(path), [f"not YAML at {where}: {error}"]) from None
    except OSError as error:
        raise PolicyError(str(path), [error.strerror or str(error)]) from None
    return policy_of(document, str(path))


@cache
def default_policy() -> Policy:
    return load_policy(DEFAULT)


def policy_of(document: Any, source: str = "policy") -> Policy:
    problems = [
        f"{_path(error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    if not problems:
        problems = _check_values(document)
    if problems:
        raise PolicyError(source, problems)
    return _build(document)


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA.read_text()))


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _check_values(document: dict[str, Any]) -> list[str]:
    """What the schema cannot say: dates that exist, a known time zone, ranges in order,
    unique category IDs."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    problems = []
    try:
        ZoneInfo(document["payer"]["time_zone"])
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"payer.time_zone: {document['payer']['time_zone']!r} is not a time zone")
    for index, text in enumerate(document["calendar"]["plan_holidays"]):
        try:
            date.fromisoformat(text)
        except ValueError:
            problems.append(f"calendar.plan_holidays[{index}]: {text!r} is not a date")
    hours = document["calendar"].get("business_hours")
    if hours and hours["opens"] >= hours["closes"]:
        problems.append(
            f"calendar.business_hours: opens at {hours['opens']}, not before it closes at "
            f"{hours['closes']}"
        )
    clocks = document["clocks"]
    after_hours = clocks.get(
        "radiology_urgent_after_hours_due_hours", DEFAULT_RADIOLOGY_URGENT_AFTER_HOURS_DUE_HOURS
    )
    if after_hours > clocks["expedited_decision_hours"]:
        problems.append(
            f"clocks.radiology_urgent_after_hours_due_hours: {after_hours} is more than the "
            f"regulatory clock, expedited_decision_hours ({clocks['expedited_decision_hours']})"
        )
    seen: set[str] = set()
    for index, category in enumerate(document["categories"]):
        if category["id"] in seen:
            problems.append(f"categories[{index}].id: {category['id']!r} is used twice")
        seen.add(category["id"])
    for where, low, high in _ranges(document):
        if len(low) != len(high) or low > high:
            problems.append(f"{where}: {low!r}..{high!r} is not a range of codes of one shape")
    return problems


def _ranges(node: Any, where: str = "") -> list[tuple[str, str, str]]:
    found = []
    if isinstance(node, dict):
        if set(node) == {"from", "to"}:
            return [(where, node["from"], node["to"])]
        for key, value in node.items():
            found += _ranges(value, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _ranges(value, f"{where}[{index}]")
    return found


def _codes(ranges: list[dict[str, str]] | None) -> Codes:
    return Codes(tuple(CodeRange(r["from"], r["to"]) for r in ranges or ()))


def _when(when: dict[str, Any]) -> When:
    return When(
        frozenset(when.get("request_categories", ())),
        frozenset(when.get("service_types", ())),
        _codes(when.get("procedures")),
        _codes(when.get("revenue_codes")),
    )


def _business_hours(hours: dict[str, str] | None) -> BusinessHours:
    if hours is None:
        return DEFAULT_BUSINESS_HOURS
    return BusinessHours(time.fromisoformat(hours["opens"]), time.fromisoformat(hours["closes"]))


def _build(d: dict[str, Any]) -> Policy:
    medicare = d["medicare_primary"]
    return Policy(
        payer=Payer(**d["payer"]),
        plan_holidays=frozenset(date.fromisoformat(t) for t in d["calendar"]["plan_holidays"]),
        business_hours=_business_hours(d["calendar"].get("business_hours")),
        clocks=Clocks(**d["clocks"]),
        lead_times=LeadTimes(**d["lead_times"]),
        validity_days=d["validity_days"],
        categories=tuple(
            Category(
                c["id"],
                c["label"],
                c["setting"],
                _when(c["when"]),
                c.get("delegate_to", ""),
                c.get("excluded", False),
                c.get("radiology", False),
                c.get("notification", False),
                tuple(c.get("documents", ())),
            )
            for c in d["categories"]
        ),
        maternity_service_types=frozenset(d["maternity"]["service_types"]),
        vaginal=Stay(
            tuple(d["maternity"]["vaginal"]["diagnoses"]), d["maternity"]["vaginal"]["hours"]
        ),
        cesarean=Stay(
            tuple(d["maternity"]["cesarean"]["diagnoses"]), d["maternity"]["cesarean"]["hours"]
        ),
        transplant_service_types=frozenset(medicare["transplant"]["service_types"]),
        transplant_procedures=_codes(medicare["transplant"]["procedures"]),
        medicare_non_covered=_codes(medicare["non_covered_procedures"]),
        medicare_risk_products=frozenset(medicare["risk_products"]),
        auto_certify=tuple(
            AutoCertify(
                a["id"],
                _codes(a["procedures"]),
                tuple(a["diagnoses"]),
                a.get("inpatient_days"),
                a.get("validity_days"),
            )
            for a in d["auto_certify"]
        ),
        referral_validity_days=d["referrals"]["validity_days"],
        referral_default_visits=d["referrals"]["default_visits"],
        out_of_network_without_benefit=d["out_of_network"]["without_benefit"],
        out_of_network_message=d["out_of_network"]["with_benefit_message"],
        duplicates=d["duplicates"],
    )
