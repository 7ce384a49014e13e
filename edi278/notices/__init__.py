"""Denial notices: a letter to the member and a notice to the provider, as HTML and
plain text, from the templates beside this module (string.Template placeholders)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).parent / "templates"

# HCR03 (code source 886) in words a member can read.
REASONS = {
    "9": "the provider is outside the plan's network, and your plan does not pay for "
    "out-of-network care",
    "0F": "the information we have does not show that the service is medically necessary",
    "0G": "the service is not needed at this level of care; a different setting would be "
    "appropriate",
    "0L": "the request is more than your plan's maximum for this service",
    "0M": "your plan does not cover this service",
    "0P": "we did not receive the information we asked for",
    "0Q": "we already have a request for the same service and dates",
    "0R": "the service does not match the diagnosis we were given",
    "0T": "the service is experimental or investigational",
    "10": "the number of days, visits or units asked for is more than the plan allows",
    "13": "the service was approved for another provider",
    "16": "the type of facility is not appropriate for this service",
    "17": "the request was not made in time",
    "19": "the service is cosmetic, which your plan does not cover",
}


def reason_in_words(code: str) -> str:
    return REASONS.get(code, "the request does not meet the plan's requirements")


@dataclass(frozen=True, slots=True)
class Notice:
    member_name: str
    member_id: str
    patient_name: str
    provider_name: str
    provider_npi: str
    reference: str
    service: str
    dates: str
    reason_code: str
    reviewer: str
    note: str
    decided_on: str
    payer_name: str
    phone: str
    medical_director_phone: str
    appeal_address: str


def render(notice: Notice) -> dict[str, str]:
    """The four documents, by file suffix: member-letter.html, member-letter.txt,
    provider-notice.html, provider-notice.txt."""
    values = {name: getattr(notice, name) for name in notice.__dataclass_fields__}
    values["reason_words"] = reason_in_words(notice.reason_code)
    documents = {}
    for path in sorted(TEMPLATES.iterdir()):
        as_html = path.suffix == ".html"
        fields = {k: html.escape(v) if as_html else v for k, v in values.items()}
        note = fields["note"]
        fields["note_line"] = f"\nThe reviewer noted: {note}\n" if note else ""
        fields["note_html"] = f"<p><strong>The reviewer noted:</strong> {note}</p>" if note else ""
        documents[path.name] = Template(path.read_text()).substitute(fields)
    return documents
