"""Codes in words, and times in the plan's zone: what a member, a provider or a reviewer
reads instead of X12. Letters, `inquire`, `review list` and `review show` all take their
words from here, so a code is named the same way everywhere.

Sources: reference/x12-278.md section 5.1 (service types, DE 1365), 4.2 (HCR01, and
HCR03 from code source 886), 3.9 (HI qualifiers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

# UM03 / SV1-SV2 service types (DE 1365), in words a member can read.
SERVICE_TYPES = {
    "1": "medical care",
    "2": "surgery",
    "3": "a consultation",
    "4": "a diagnostic X-ray",
    "5": "diagnostic lab tests",
    "6": "radiation therapy",
    "7": "anesthesia",
    "8": "surgical assistance",
    "11": "used durable medical equipment",
    "12": "the purchase of durable medical equipment",
    "13": "care at an ambulatory surgery center",
    "14": "renal supplies at home",
    "15": "dialysis by an alternate method",
    "16": "chronic renal disease equipment",
    "17": "pre-admission testing",
    "18": "the rental of durable medical equipment",
    "20": "a second surgical opinion",
    "33": "chiropractic care",
    "35": "dental care",
    "40": "oral surgery",
    "42": "home health care",
    "44": "home health visits",
    "45": "hospice care",
    "47": "hospital care",
    "48": "a hospital inpatient stay",
    "50": "hospital outpatient care",
    "51": "hospital emergency care after an accident",
    "52": "hospital emergency medical care",
    "53": "ambulatory surgery at a hospital",
    "54": "long-term care",
    "56": "medically related transportation",
    "59": "a licensed ambulance",
    "61": "in-vitro fertilization",
    "62": "an MRI or CT scan",
    "65": "newborn care",
    "69": "maternity care",
    "70": "a transplant",
    "73": "diagnostic medical services",
    "74": "private duty nursing",
    "75": "a prosthetic device",
    "76": "dialysis",
    "78": "chemotherapy",
    "83": "infertility treatment",
    "86": "emergency services",
    "87": "cancer treatment",
    "98": "an office visit with a physician",
    "A4": "psychiatric care",
    "A6": "psychotherapy",
    "A7": "inpatient psychiatric care",
    "A8": "outpatient psychiatric care",
    "A9": "rehabilitation",
    "AB": "inpatient rehabilitation",
    "AC": "outpatient rehabilitation",
    "AD": "occupational therapy",
    "AE": "physical medicine",
    "AF": "speech therapy",
    "AG": "skilled nursing care",
    "AI": "substance use disorder treatment",
    "AJ": "alcohol use disorder treatment",
    "AK": "drug use disorder treatment",
    "BB": "partial hospitalization for psychiatric care",
    "BF": "pulmonary rehabilitation",
    "BG": "cardiac rehabilitation",
    "BS": "an invasive procedure",
    "BU": "obstetrical care",
    "BY": "an office visit for an illness",
    "DM": "durable medical equipment",
    "IC": "intensive care",
    "MH": "mental health care",
    "NI": "neonatal intensive care",
    "PT": "physical therapy",
    "RN": "renal care",
    "UC": "urgent care",
}
# UM01, for a service type not in the list above.
REQUEST_CATEGORIES = {
    "AR": "an admission",
    "HS": "health care services",
    "SC": "a specialist referral",
}
# UM02
CERTIFICATION_TYPES = {
    "I": "initial request",
    "R": "renewal",
    "S": "revision",
    "1": "appeal (immediate)",
    "2": "appeal (standard)",
    "3": "cancellation",
    "4": "extension",
}
# HCR01
ACTIONS = {
    "A1": "certified in total",
    "A2": "certified in part",
    "A3": "not certified",
    "A4": "pended",
    "A6": "certified with changes",
    "C": "cancelled",
    "CT": "contact the payer",
    "NA": "no action required",
}
# NM101 of the providers on a request (section 5.5).
PROVIDER_ROLES = {
    "1P": "requesting provider",
    "FA": "facility",
    "SJ": "servicing provider",
    "71": "attending physician",
    "72": "operating physician",
    "73": "other physician",
    "77": "service location",
    "AAJ": "admitting physician",
    "DD": "assistant surgeon",
    "DK": "ordering physician",
    "DN": "referring provider",
    "P3": "primary care provider",
}
# HI01-1: the code list of a diagnosis.
DIAGNOSIS_KINDS = {
    "ABK": "principal diagnosis (ICD-10-CM)",
    "ABF": "diagnosis (ICD-10-CM)",
    "ABJ": "admitting diagnosis (ICD-10-CM)",
    "ABN": "external cause (ICD-10-CM)",
    "APR": "patient's reason for visit (ICD-10-CM)",
    "BK": "principal diagnosis (ICD-9-CM)",
    "BF": "diagnosis (ICD-9-CM)",
    "BJ": "admitting diagnosis (ICD-9-CM)",
}
# SV101-1 / SV202-1: the code list of a procedure.
PROCEDURE_KINDS = {
    "HC": "CPT/HCPCS",
    "AD": "dental procedure (CDT)",
    "IV": "HIEC product",
    "N4": "drug (NDC)",
    "NU": "revenue code",
    "ZZ": "procedure",
}
# HSD01 and UM/SV units.
QUANTITIES = {"DY": "days", "VS": "visits", "UN": "units", "MJ": "minutes", "HS": "hours"}


@dataclass(frozen=True, slots=True)
class Reason:
    """An HCR03 code (source 886): its X12 name, the same in words a member reads, and
    the decisions it may explain."""

    name: str
    words: str
    use: str  # "decision" (A2 A3 A6), "pend" (A4), "no action" (NA), "cancel" (C), "pricing"


def _reasons() -> dict[str, Reason]:
    pricing = "a price authorization code, not a reason in a health care services review"
    table = {
        # The price-authorization codes of 886 (pharmacy and supply pricing): no review
        # of care ends on them.
        "1": Reason("Price authorization expired", pricing, "pricing"),
        "2": Reason("Price authorization no longer required", pricing, "pricing"),
        "3": Reason("Product not on the price authorization", pricing, "pricing"),
        "4": Reason("Authorized quantity exceeded", pricing, "pricing"),
        "5": Reason("Special cost incorrect", pricing, "pricing"),
        "6": Reason("No credit allowed", pricing, "pricing"),
        "8": Reason("Unit resale higher than authorized", pricing, "pricing"),
        "7": Reason(
            "Administrative cancellation", "the request was cancelled by the plan", "cancel"
        ),
        "0H": Reason(
            "Certification not required for this service",
            "this service does not need approval in advance",
            "no action",
        ),
        "18": Reason(
            "Notification received", "we received the notice about this service", "no action"
        ),
        # What a pend waits for: never the reason for a final decision.
        "0B": Reason(
            "Request forwarded to, and decision forthcoming from, an external review organization",
            "the request was sent to an outside review organization, which will decide it",
            "pend",
        ),
        "0U": Reason(
            "Additional patient information required",
            "we need more information about the patient to decide",
            "pend",
        ),
        "0V": Reason("Requires medical review", "a clinician needs to review the request", "pend"),
        "0W": Reason("Disposition pending review", "the request is waiting for review", "pend"),
    }
    decisions = {
        "9": ("Out of network", "the provider is outside the plan's network, and your plan "
              "does not pay for care outside its network"),
        "0A": ("Testing not included", "the tests that go with this service are not included "
               "in what your plan covers for it"),
        "0C": ("Authorization/access restrictions", "your plan limits who may approve or "
               "provide this service, and this request does not meet those limits"),
        "0D": ("Requires PCP authorization", "your primary care provider must approve this "
               "service first"),
        "0E": ("Provider is not primary care physician", "the provider who asked is not your "
               "primary care provider, and your plan needs your primary care provider to ask"),
        "0F": ("Not medically necessary", "the information we have does not show that the "
               "service is medically necessary"),
        "0G": ("Level of care not appropriate", "the service is not needed at this level of "
               "care; a different setting would be appropriate"),
        "0J": ("Certification responsibility of external review organization", "another "
               "organization, not this plan, is responsible for approving this service"),
        "0K": ("Primary care service", "this is a primary care service, which your primary "
               "care provider gives without a separate approval"),
        "0L": ("Exceeds plan maximums", "the request is more than your plan's maximum for "
               "this service"),
        "0M": ("Non-covered service", "your plan does not cover this service"),
        "0N": ("No prior approval", "the service needed approval before it was given, and "
               "approval was not asked for in time"),
        "0P": ("Requested information not received", "we asked for information we needed "
               "to decide, and we did not receive it"),
        "0Q": ("Duplicate request", "we already have a request for the same service and "
               "dates"),
        "0R": ("Service inconsistent with diagnosis", "the service does not match the "
               "diagnosis we were given"),
        "0S": ("Pre-existing condition", "the service is for a condition your plan does not "
               "cover because it began before your coverage"),
        "0T": ("Experimental service or procedure", "the service is experimental or "
               "investigational"),
        "0X": ("Service inconsistent with provider type", "this kind of provider does not "
               "usually give this service"),
        "0Y": ("Service inconsistent with patient's age", "the service is not appropriate "
               "for the patient's age"),
        "0Z": ("Service inconsistent with patient's gender", "the service is not appropriate "
               "for the patient's sex"),
        "10": ("Product/service/procedure delivery pattern", "the number of days, visits or "
               "units asked for is more than is needed or more than the plan allows"),
        "11": ("Pricing", "the price asked for the service is not one the plan can approve"),
        "12": ("Patient is restricted to specific provider", "your plan lets you get this "
               "service only from a specific provider"),
        "13": ("Service authorized for another provider", "the service was approved for "
               "another provider"),
        "14": ("Plan/contractual guidelines not followed", "the request did not follow the "
               "rules of your plan"),
        "15": ("Plan/contractual geographic restriction", "your plan covers this service only "
               "in certain areas, and this request is outside them"),
        "16": ("Inappropriate facility type", "the type of facility is not appropriate for "
               "this service"),
        "17": ("Time limits not met", "the request was not made in time"),
        "19": ("Cosmetic", "the service is cosmetic, which your plan does not cover"),
        "20": ("Once-in-a-lifetime restriction applies", "your plan covers this service once "
               "in a lifetime, and it has already been given"),
        "21": ("Transport request denied", "the transport asked for is not approved"),
        "22": ("Ambulance certification segment info doesn't correspond to transport address "
               "segment", "the ambulance details do not match the pick-up and drop-off "
               "addresses we were given"),
        "23": ("Mileage cannot be computed from data submitted", "we could not work out the "
               "distance of the trip from what we were sent"),
        "24": ("Computed mileage inconsistent with transport information or units", "the "
               "distance asked for does not match the trip we were told about"),
        "25": ("Services were not considered due to other errors in the request", "the "
               "request had other errors, so the services in it could not be considered"),
        "26": ("Missing provider role", "the request did not say what part each provider has "
               "in the care"),
        "27": ("Patient is in Health Insurance Exchange premium grace period - first month",
               "your premium is unpaid and you are in the first month of your grace period, "
               "so we cannot approve services until it is paid"),
        "28": ("Patient is in Health Insurance Exchange premium grace period - second month",
               "your premium is unpaid and you are in the second month of your grace period, "
               "so we cannot approve services until it is paid"),
        "29": ("Patient is in Health Insurance Exchange premium grace period - third month",
               "your premium is unpaid and you are in the third month of your grace period, "
               "so we cannot approve services until it is paid"),
    }  # fmt: skip
    table |= {code: Reason(name, words, "decision") for code, (name, words) in decisions.items()}
    return table


REASONS = _reasons()
DECISION_REASONS = tuple(code for code, reason in REASONS.items() if reason.use == "decision")


def service_in_words(service_type: str | None, category: str) -> str:
    """UM03 in words, else UM01's."""
    return SERVICE_TYPES.get(service_type or "") or REQUEST_CATEGORIES.get(category, "a service")


def reason_in_words(code: str) -> str:
    """HCR03 in words a member reads ("" for none). Every code of 886 has words; a code
    not in 886 is shown as it is, named as one."""
    if not code:
        return ""
    reason = REASONS.get(code)
    return reason.words if reason else f"reason code {code}"


def reason_named(code: str) -> str:
    """HCR03 for a reviewer: the code and its X12 name ("0V requires medical review")."""
    reason = REASONS.get(code)
    return f"{code} {reason.name.lower()}" if reason else code


def quantity_in_words(quantity: str | None, unit: str | None) -> str:
    if not quantity:
        return ""
    words = QUANTITIES.get(unit or "", "units")
    return f"{quantity} {words.removesuffix('s') if quantity == '1' else words}"


def zone_of(time_zone: str) -> ZoneInfo:
    return ZoneInfo(time_zone)


def local_minute(instant: datetime | str | None, zone: ZoneInfo) -> str:
    """An instant as a reader sees it: in the plan's time zone, to the minute, with the
    zone's abbreviation ("2026-11-20 10:00 EST"); "" for none."""
    if instant is None or instant == "":
        return ""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def local_iso(instant: datetime | str | None, zone: ZoneInfo) -> str | None:
    """An instant as ISO 8601 in the plan's time zone, with its offset (JSON)."""
    if instant is None or instant == "":
        return None
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    return instant.astimezone(zone).isoformat()


def long_date(day: date | str | None) -> str:
    """A date as a letter writes it: "December 1, 2026"."""
    if not day:
        return ""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return f"{day:%B} {day.day}, {day.year}"


def date_span(start: date | str | None, end: date | str | None, long: bool = False) -> str:
    """Start and end ("2026-12-01 to 2026-12-31"), one date when they are the same."""
    shown = long_date if long else (lambda d: str(d) if d else "")
    if not start:
        return "no dates given"
    if not end or str(end) == str(start):
        return shown(start)
    return f"{shown(start)} to {shown(end)}"
