"""The determination engine: a pure function of (request, facts, policy, now) to a
decision per event and per service line, each with the trace of the rules that fired.

The rules run in a fixed order and the first that decides wins: bad data first (AAA at
the loop that owns it), then what the review type demands (cancel, extension, revision,
appeal), then what needs no certification, then administrative outcomes the policy
names, then certification by criteria. What none of them can settle goes to a
clinician (A4) with a due time. No rule denies for medical necessity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from edi278.decide.clocks import (
    BusinessCalendar,
    Urgency,
    clocks_for,
    radiology_urgent_due,
    urgency_of,
)
from edi278.decide.facts import Facts, Member, Plan, PriorCase, on
from edi278.decide.outcome import Clocks, EventDecision, Outcome, Trace, Tracking
from edi278.decide.policy import Category, Policy
from edi278.decide.request import Asked, asked_in
from edi278.model import (
    Action,
    CertificationType,
    Delivery,
    LevelOfService,
    Period,
    RequestCategory,
    RequestValidation,
    Transaction,
)

MESSAGE_LIMIT = 264  # MSG01
CLINICAL_REASONS = frozenset({"0F", "0G", "0R", "0S", "0T", "0X", "0Y", "0Z"})  # never ours
EMERGENCY_ROOM, INPATIENT_HOSPITAL = "23", "21"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rule's answer for the event; lines follow it unless it says otherwise."""

    action: str = ""
    reason: str = ""
    rejection: tuple[str, str, str] | None = None  # (loop, AAA03, AAA04)
    certify: bool = False
    quantity: Delivery | None = None
    validity_days: int | None = None
    documents: tuple[str, ...] = ()
    certification_number: str = ""  # given, not issued (a cancel names what it cancels)
    message: str = ""


def decide(
    request: Transaction,
    facts: Facts,
    policy: Policy,
    now: datetime,
    tracking: Tracking,
    asked: Sequence[Asked] | None = None,
) -> list[EventDecision]:
    """`asked`: what the request's events ask (`asked_in(request)`), when the caller
    has read it already."""
    calendar = BusinessCalendar.of(policy)
    events = asked_in(request) if asked is None else asked
    decisions = []
    for index, event in enumerate(events):
        categories = _categories(event, policy)
        trace = Trace()
        verdict = _rules(event, categories, facts, policy, now, calendar, trace)
        decisions.append(
            _decision(event, categories, verdict, tracking, index, policy, now, calendar, trace)
        )
    return decisions


def _rules(
    asked: Asked,
    categories: list[Category],
    facts: Facts,
    policy: Policy,
    now: datetime,
    calendar: BusinessCalendar,
    trace: Trace,
) -> Verdict:
    notes: list[str] = []
    found = _who(asked, facts, now, calendar, trace)
    if isinstance(found, Verdict):
        return found
    patient, plan = found
    if asked.discharged is not None:  # a notice of discharge asks for no review (X216)
        trace.add("discharge", "notice of discharge: the stay's days end with it")
        return Verdict(
            Action.NO_ACTION_REQUIRED,
            "0H",
            message=f"Discharge on {asked.discharged:%Y-%m-%d} recorded; the stay ends there.",
        )
    day = asked.start or calendar.local(now).date()
    for rule in (_review_type, _duplicate):
        verdict = rule(asked, facts, policy, patient, plan, trace)
        if verdict:
            return verdict
    if asked.review.category == RequestCategory.SPECIALTY_CARE_REVIEW:
        return _referral(asked, facts, policy, patient, plan, day, trace)
    trace.add("categories", ", ".join(c.id for c in categories) or "none on the list")
    situation = Situation(asked, categories, policy, patient, plan, now, calendar, trace)
    for situated in (
        _not_on_the_list,
        _outpatient_not_managed,
        _medicare_primary,
        _maternity,  # before emergencies: a delivery admitted as one needs none either (004)
        _emergency_admission,
        _radiology_in_emergency_or_inpatient,
    ):
        verdict = situated(situation)
        if verdict:
            return verdict
    # Not a benefit anywhere: said so before the network, whose denial would suggest that
    # an in-network provider would be paid.
    for category in categories:
        if category.excluded:
            trace.add("excluded-service", f"{category.id}: not a covered benefit")
            return Verdict(Action.NOT_CERTIFIED, "19" if category.id == "cosmetic" else "0M")
    verdict = _out_of_network(asked, facts, policy, plan, day, trace, notes)
    if verdict:
        return verdict
    # Dialysis is notified "to direct to a participating facility" (002): after the network.
    verdict = _dialysis_notification(situation)
    if verdict:
        return replace(verdict, message=" ".join(filter(None, (verdict.message, *notes))))
    for category in categories:
        if category.delegate_to:
            trace.add("delegated-review", f"{category.id}: decided by {category.delegate_to}")
            return Verdict(
                Action.PENDED, "0B", message=f"Forwarded to {category.delegate_to} for review."
            )
    late = _lead_time(asked, policy, now, calendar, trace)
    if late:
        if policy.lead_times.late_request == "deny":
            return Verdict(Action.NOT_CERTIFIED, "17", message=late)
        notes.append(late)
    verdict = _auto_certify(asked, categories, policy, trace)
    if verdict and not notes:
        return verdict
    if verdict:
        trace.add("auto-certify", "held for review: " + "; ".join(notes))
    # Documents are asked for when there is time to send them: not on an urgent request.
    routine = urgency_of(asked.review) == Urgency.STANDARD
    documents = tuple(d for c in categories for d in c.documents) if routine else ()
    trace.add("clinical-review", "criteria not met by rule: a clinician decides")
    return Verdict(
        Action.PENDED,
        "0U" if documents else "0V",
        documents=documents,
        message=" ".join(notes),
    )


# --- who: requester, member, patient, eligibility ----------------------------------------


def _who(
    asked: Asked, facts: Facts, now: datetime, calendar: BusinessCalendar, trace: Trace
) -> Verdict | tuple[Member, Plan]:
    # The requester must be on file: what is sent back goes to a known provider.
    if asked.requester_npi not in facts.providers:
        trace.add("requester-on-file", "2010B NPI not in the provider file")
        return Verdict(rejection=("2010B", "51", "C"))
    subscriber = facts.members.get(asked.subscriber.id)
    if subscriber is None:
        trace.add("member-found", "2010C member ID not on file")
        return Verdict(rejection=("2010C", "75", "C"))
    if asked.subscriber.birth_date and asked.subscriber.birth_date != subscriber.birth_date:
        trace.add("member-birth-date", "2010C DMG02 differs from the member file")
        return Verdict(rejection=("2010C", "71", "C"))
    patient, loop = subscriber, "2010C"
    if asked.dependent is not None:
        loop = "2010D"
        family = [
            m
            for m in facts.members.values()
            if m.subscriber_id == subscriber.member_id and m.member_id != subscriber.member_id
        ]
        named = [m for m in family if m.first_name.upper() == asked.dependent.first.upper()]
        if not named:
            trace.add("dependent-found", "2010D name not among the subscriber's dependents")
            return Verdict(rejection=("2010D", "77", "C"))
        born = asked.dependent.birth_date
        matched = [m for m in named if born is None or m.birth_date == born]
        if not matched:
            trace.add("dependent-birth-date", "2010D DMG02 differs from the member file")
            return Verdict(rejection=("2010D", "71", "C"))
        patient = matched[0]
    day = asked.start or calendar.local(now).date()
    plan_id = on(patient.eligibility, day)
    if plan_id is None or plan_id not in facts.plans:
        trace.add("eligible", f"no coverage on {day.isoformat()}")
        return Verdict(rejection=(loop, "95", "N"))
    trace.add("eligible", f"plan {plan_id} covers {day.isoformat()}")
    return patient, facts.plans[plan_id]


# --- what the review type demands ---------------------------------------------------------


def _review_type(
    asked: Asked, facts: Facts, policy: Policy, patient: Member, plan: Plan, trace: Trace
) -> Verdict | None:
    kind = asked.review.certification_type
    if kind in (CertificationType.APPEAL_IMMEDIATE, CertificationType.APPEAL_STANDARD):
        clock = "expedited" if kind == CertificationType.APPEAL_IMMEDIATE else "standard"
        trace.add("appeal", f"UM02 {kind}: a clinician reviews it on the {clock} clock")
        return Verdict(
            Action.PENDED,
            "0V",
            message="Appeal received, reviewed by a clinician not involved in the first decision.",
        )
    if kind not in (CertificationType.CANCEL, CertificationType.EXTENSION,
                    CertificationType.REVISED):  # fmt: skip
        return None
    prior = facts.certifications.get(asked.previous_certification)
    # Another partner's certification is answered as one that does not exist: the same
    # AAA, so the answer tells nothing of whether it does.
    if prior is None or not prior.own or not _same_patient(prior, patient):
        trace.add("prior-certification", "REF BB is not a certification of this patient")
        return Verdict(rejection=("2000E", "AA", "C"))
    if kind == CertificationType.CANCEL:
        trace.add("cancel", f"certification {prior.certification_number} cancelled")
        return Verdict(Action.CANCELLED, certification_number=prior.certification_number)
    if kind == CertificationType.REVISED and set(asked.facility_npis) - set(prior.facility_npis):
        trace.add("transfer-needs-new-review", "revision names another facility (R9)")
        return Verdict(rejection=("2000E", "33", "C"))
    trace.add("extension-or-revision", f"UM02 {kind} of {prior.certification_number}: review")
    return Verdict(Action.PENDED, "0V")


def _same_patient(prior: PriorCase, patient: Member) -> bool:
    """Cases are filed under the subscriber's ID, with the patient's name."""
    return (
        prior.member_id == patient.subscriber_id
        and prior.patient_first_name.upper() == patient.first_name.upper()
    )


def _duplicate(
    asked: Asked, facts: Facts, policy: Policy, patient: Member, plan: Plan, trace: Trace
) -> Verdict | None:
    if asked.review.certification_type != CertificationType.INITIAL:
        return None
    matching = [prior for prior in facts.member_cases if _same_request(asked, patient, prior)]
    prior = next((prior for prior in matching if prior.own), None)
    if prior is not None:
        trace.add(
            "business-duplicate", f"same service and dates as {prior.administrative_reference}"
        )
        if policy.duplicates == "deny":
            return Verdict(
                Action.NOT_CERTIFIED,
                "0Q",
                message=f"Duplicate of request {prior.administrative_reference}.",
            )
    elif matching and policy.duplicates == "deny":
        # Only another partner's case: its number, and even that it exists, are not this
        # sender's to learn (the answer and its own case's trace are shown to it), yet
        # certifying the same service twice is what the rule prevents. As payers do, a
        # clinician sorts it out beside the member's cases, and the answer is a plain
        # pend like any other, naming nothing.
        trace.add("clinical-review", "pended for a clinician, beside the member's cases")
        return Verdict(Action.PENDED, "0V")
    return None


def _same_request(asked: Asked, patient: Member, prior: PriorCase) -> bool:
    if not _same_patient(prior, patient) or not _standing(prior, asked):
        return False
    if asked.procedures:
        same_service = bool(set(asked.procedures) & set(prior.procedures))
    else:
        same_service = not prior.procedures and asked.review.service_type == prior.service_type
    return same_service and _overlap(asked.start, asked.end, prior.start, prior.end)


# What a case on file ends up as when it no longer stands in a new request's way: an event
# refused (AAA, no action), a cancellation, a denial.
NOT_STANDING = frozenset({"", Action.CANCELLED, Action.NOT_CERTIFIED})


def _standing(prior: PriorCase, asked: Asked) -> bool:
    """A case a new request can duplicate: not cancelled since, not denied, and not a
    certification that expired before the new request's dates begin."""
    if prior.cancelled or prior.action in NOT_STANDING:
        return False
    return prior.expires is None or asked.start is None or asked.start <= prior.expires


def _overlap(a: date | None, b: date | None, c: date | None, d: date | None) -> bool:
    if a is None or c is None:
        return a is None and c is None
    return a <= (d or c) and c <= (b or a)


def _referral(
    asked: Asked,
    facts: Facts,
    policy: Policy,
    patient: Member,
    plan: Plan,
    day: date,
    trace: Trace,
) -> Verdict:
    """A referral (UM01 SC): needed on the plan, from the member's PCP, then judged by the
    network like any other service (policy source 001)."""
    if not plan.referral_required:
        trace.add("referral", f"plan {plan.plan_id} ({plan.product_type}) needs no referral")
        return Verdict(
            Action.NO_ACTION_REQUIRED, "0H", message="No referral is needed on this plan."
        )
    pcp = _pcp_in(asked, patient)
    if not pcp:
        trace.add("referral-from-pcp", "neither the requester, the referring provider nor "
                  "the requester's group is the member's primary care physician")  # fmt: skip
        return Verdict(rejection=("2010B", "49", "C"))
    trace.add("referral-from-pcp", pcp)
    notes: list[str] = []
    verdict = _out_of_network(asked, facts, policy, plan, day, trace, notes)
    if verdict:
        return verdict
    if notes:  # out of network with a benefit: reviewed, as any out-of-network service
        trace.add("clinical-review", "out-of-network referral: a clinician decides")
        return Verdict(Action.PENDED, "0V", message=" ".join(notes))
    visits = asked.requested or Delivery("VS", str(policy.referral_default_visits))
    trace.add("referral", f"plan {plan.plan_id} requires referrals; from the member's PCP")
    return Verdict(
        Action.CERTIFIED_IN_TOTAL,
        certify=True,
        quantity=visits,
        validity_days=policy.referral_validity_days,
    )


def _pcp_in(asked: Asked, patient: Member) -> str:
    """How the request shows the member's PCP referring, or "" when it does not: the PCP
    asks, or is named as the referring provider (NM1*DN), or the PCP's group asks."""
    pcp, group = patient.pcp_npi, patient.pcp_group_npi
    if not pcp:
        return ""
    if asked.requester_npi == pcp:
        return "the requester is the member's PCP"
    if pcp in asked.referring_npis:
        return "the referring provider (NM1*DN) is the member's PCP"
    if group and asked.requester_npi == group:
        return "the requester is the group practice of the member's PCP"
    return ""


# --- what needs no certification -----------------------------------------------------------


def _categories(asked: Asked, policy: Policy) -> list[Category]:
    """The policy's categories the event falls in: matched once, read by the rules and
    by the due time of a pend."""
    return [c for c in policy.categories if _matches(c, asked)]


def _matches(category: Category, asked: Asked) -> bool:
    when = category.when
    return (
        asked.review.category in when.request_categories
        or not when.service_types.isdisjoint(asked.service_types)
        or when.procedures.match_any(asked.procedures)
        or when.revenue_codes.match_any(asked.revenue_codes)
    )


@dataclass(frozen=True, slots=True)
class Situation:
    """What the rules of what needs no certification read: the request, the categories
    it matched, the patient and plan, the time and the calendar, and the trace."""

    asked: Asked
    categories: list[Category]
    policy: Policy
    patient: Member
    plan: Plan
    now: datetime
    calendar: BusinessCalendar
    trace: Trace


def _not_on_the_list(situation: Situation) -> Verdict | None:
    categories = situation.categories
    if categories:
        return None
    return Verdict(Action.NO_ACTION_REQUIRED, "0H")


def _outpatient_not_managed(situation: Situation) -> Verdict | None:
    categories, plan, trace = situation.categories, situation.plan, situation.trace
    # Dialysis is notified "for all CIGNA HealthCare plans regardless of medical
    # management type" (004).
    if plan.manages_outpatient or any(c.setting == "inpatient" or c.notification
                                      for c in categories):  # fmt: skip
        return None
    trace.add("medical-management", f"plan {plan.plan_id} manages inpatient care only")
    return Verdict(Action.NO_ACTION_REQUIRED, "0H")


def _medicare_primary(situation: Situation) -> Verdict | None:
    asked, policy, patient, trace = (
        situation.asked,
        situation.policy,
        situation.patient,
        situation.trace,
    )
    if not patient.medicare_primary:
        return None
    day = situation.asked.start or situation.calendar.local(situation.now).date()
    if not patient.medicare_pays_first(day):
        exhausted = patient.medicare_exhausted_from
        trace.add("medicare-primary", f"Medicare coverage exhausted from {exhausted}: "
                  "the plan is primary, reviewed as usual")  # fmt: skip
        return None
    if patient.medicare_product in policy.medicare_risk_products:
        trace.add("medicare-primary", f"product {patient.medicare_product}: reviewed as usual")
        return None
    transplant = any(t in policy.transplant_service_types for t in asked.service_types) or any(
        policy.transplant_procedures.match(p) for p in asked.procedures
    )
    non_covered = any(policy.medicare_non_covered.match(p) for p in asked.procedures)
    if transplant or non_covered:
        trace.add("medicare-primary", "transplant or Medicare non-covered: reviewed as usual")
        return None
    trace.add("medicare-primary", f"Medicare ({patient.medicare_product}) pays first")
    return Verdict(
        Action.NO_ACTION_REQUIRED,
        "0H",
        message="Medicare is primary, no precertification is needed for this service.",
    )


def _emergency_admission(situation: Situation) -> Verdict | None:
    asked, policy, now, calendar, trace = (
        situation.asked,
        situation.policy,
        situation.now,
        situation.calendar,
        situation.trace,
    )
    emergency = asked.review.level_of_service == LevelOfService.EMERGENCY
    if asked.review.category != RequestCategory.ADMISSION_REVIEW or not (
        emergency or asked.admission_type == "1"
    ):
        return None
    allowed = policy.lead_times.emergency_notice_business_days
    late = asked.start is not None and calendar.business_days_between(asked.start, now) > allowed
    trace.add(
        "emergency-admission",
        f"notice {'after' if late else 'within'} {allowed} business day(s) of admission: "
        "concurrent review, never a denial for lack of precertification",
    )
    message = "Emergency admission, concurrent review."
    if late:
        message += f" Notice came later than {allowed} business day after admission."
    return Verdict(Action.PENDED, "0V", message=message)


def _radiology_in_emergency_or_inpatient(situation: Situation) -> Verdict | None:
    asked, categories, trace = situation.asked, situation.categories, situation.trace
    if not any(c.radiology for c in categories) or any(
        c.setting == "inpatient" for c in categories
    ):
        return None
    place = asked.place_of_service
    if place in (EMERGENCY_ROOM, INPATIENT_HOSPITAL) or (
        asked.review.level_of_service == LevelOfService.EMERGENCY
    ):
        trace.add("radiology-setting", f"place of service {place or 'emergency'}: none needed")
        return Verdict(Action.NO_ACTION_REQUIRED, "0H")
    return None


def _maternity(situation: Situation) -> Verdict | None:
    asked, policy, trace = situation.asked, situation.policy, situation.trace
    if asked.review.category != RequestCategory.ADMISSION_REVIEW:
        return None
    stays = [
        stay
        for stay in (policy.cesarean, policy.vaginal)
        if any(stay.matches(code) for code in asked.diagnoses)
    ]
    if not stays and asked.review.service_type not in policy.maternity_service_types:
        return None
    allowed_hours = stays[0].hours if stays else policy.vaginal.hours
    days = asked.requested_days
    if days is not None and days * 24 <= allowed_hours:
        trace.add("maternity", f"{days} day(s) within the {allowed_hours} hours needing none")
        return Verdict(Action.NO_ACTION_REQUIRED, "0H")
    trace.add("maternity", f"stay beyond {allowed_hours} hours: the excess is reviewed")
    return Verdict(
        Action.PENDED,
        "0V",
        message=f"The first {allowed_hours} hours need no certification, the rest is reviewed.",
    )


def _dialysis_notification(situation: Situation) -> Verdict | None:
    asked, categories, policy, now, calendar, trace = (
        situation.asked,
        situation.categories,
        situation.policy,
        situation.now,
        situation.calendar,
        situation.trace,
    )
    if not any(c.notification for c in categories):
        return None
    needed = policy.lead_times.dialysis_notice_business_days
    late = asked.start is not None and calendar.business_days_between(now, asked.start) < needed
    trace.add("dialysis-notification", f"{'late' if late else 'timely'} notification")
    message = f"Late notification, due {needed} business days before the start." if late else ""
    return Verdict(Action.NO_ACTION_REQUIRED, "18", message=message)


# --- administrative outcomes and timing ----------------------------------------------------


def _out_of_network(
    asked: Asked,
    facts: Facts,
    policy: Policy,
    plan: Plan,
    day: date,
    trace: Trace,
    notes: list[str],
) -> Verdict | None:
    outside = [
        npi
        for npi in asked.servicing_npis
        if npi in facts.providers and on(facts.providers[npi].network, day) != "in-network"
    ]
    if not outside:
        return None
    if plan.out_of_network_benefit:
        trace.add("out-of-network", f"plan {plan.plan_id} has an out-of-network benefit")
        notes.append(
            policy.out_of_network_message[0].upper() + policy.out_of_network_message[1:] + "."
        )
        return None
    trace.add("out-of-network", f"plan {plan.plan_id} has no out-of-network benefit")
    if policy.out_of_network_without_benefit == "deny":
        return Verdict(
            Action.NOT_CERTIFIED,
            "9",
            message="The provider is out of network and the plan has no out-of-network benefit.",
        )
    return None


def _lead_time(
    asked: Asked, policy: Policy, now: datetime, calendar: BusinessCalendar, trace: Trace
) -> str:
    """Why the request is late, or "" when it is in time (urgent requests never are)."""
    if asked.start is None or urgency_of(asked.review) == Urgency.EXPEDITED:
        return ""
    times = policy.lead_times
    if asked.review.category == RequestCategory.ADMISSION_REVIEW:
        ahead = calendar.business_days_between(now, asked.start)
        needed = times.before_elective_admission_business_days
        late = ahead < needed
        trace.add("lead-time", f"{ahead} business day(s) before admission, {needed} needed")
        return f"Late request, due {needed} business days before admission." if late else ""
    hours = (calendar.start_of(asked.start) - now) / timedelta(hours=1)
    late = hours < times.before_service_hours
    trace.add(
        "lead-time", f"{hours:.0f} hour(s) before service, {times.before_service_hours} needed"
    )
    return f"Late request, due {times.before_service_hours} hours before service." if late else ""


def _auto_certify(
    asked: Asked, categories: list[Category], policy: Policy, trace: Trace
) -> Verdict | None:
    if not asked.procedures or asked.review.certification_type not in (
        CertificationType.INITIAL, CertificationType.RENEWAL):  # fmt: skip
        return None
    for rule in policy.auto_certify:
        procedures = all(rule.procedures.match(p) for p in asked.procedures)
        diagnosis = any(rule.matches_diagnosis(code) for code in asked.diagnoses)
        days = asked.requested_days
        within = rule.inpatient_days is None or (days is not None and days <= rule.inpatient_days)
        if procedures and diagnosis and within:
            trace.add("auto-certify", f"{rule.id}: procedure and diagnosis meet the criteria")
            return Verdict(
                Action.CERTIFIED_IN_TOTAL,
                certify=True,
                quantity=asked.requested,
                validity_days=rule.validity_days or policy.validity_days,
            )
    return None


# --- the decision, as written ---------------------------------------------------------------


def _decision(
    asked: Asked,
    categories: list[Category],
    verdict: Verdict,
    tracking: Tracking,
    index: int,
    policy: Policy,
    now: datetime,
    calendar: BusinessCalendar,
    trace: Trace,
) -> EventDecision:
    reference = tracking.references[index]
    pended = verdict.action == Action.PENDED
    clocks = clocks_for(now, urgency_of(asked.review), pended, policy, calendar)
    steps = tuple(trace.steps)
    if verdict.rejection is not None:
        loop, code, follow_up = verdict.rejection
        outcome = Outcome(
            "",
            administrative_reference=reference,
            validation=RequestValidation("N", "", code, follow_up),
            validation_loop="" if loop == "2000E" else loop,
            trace=steps,
        )
        return EventDecision(outcome, (), clocks)
    number = verdict.certification_number
    if verdict.certify:
        number = tracking.certification()
    periods: tuple[Period, ...] = ()
    if verdict.certify:
        start = asked.start or calendar.local(now).date()
        expires = start + timedelta(days=(verdict.validity_days or policy.validity_days) - 1)
        periods = (
            _period("102", calendar.local(now).date()),
            _period("007", start),
            _period("036", max(expires, asked.end or expires)),
        )
    due_at = _due(categories, clocks, policy, now, calendar) if pended else None
    outcome = Outcome(
        verdict.action,
        certification_number=number,
        reason=verdict.reason,
        administrative_reference=reference,
        message=verdict.message[:MESSAGE_LIMIT],
        periods=periods,
        quantity=verdict.quantity if verdict.certify else None,
        due_at=due_at,
        trace=steps,
    )
    lines = tuple(
        replace(outcome, quantity=None, documents=verdict.documents, message="", trace=())
        for _ in asked.lines
    )
    return EventDecision(outcome, lines, replace(clocks, internal_pend_due_at=due_at))


def _due(
    categories: list[Category],
    clocks: Clocks,
    policy: Policy,
    now: datetime,
    calendar: BusinessCalendar,
) -> datetime:
    """The earliest promise: the pend review, the regulatory clock, and for radiology
    same day when urgent (in business hours; else so many hours) or in so many business
    days when routine (policy source 003)."""
    candidates = [now + timedelta(hours=policy.clocks.pend_review_hours), clocks.regulatory_due_at]
    if any(c.radiology for c in categories):
        if clocks.urgency == Urgency.EXPEDITED:
            candidates.append(radiology_urgent_due(now, policy, calendar))
        else:
            days = policy.clocks.radiology_routine_business_days
            candidates.append(calendar.add_business_days(now, days))
    return min(candidates)


def _period(qualifier: str, day: date) -> Period:
    return Period(qualifier, "D8", day.strftime("%Y%m%d"))
