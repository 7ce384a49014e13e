"""Denial notices: a letter to the member and a notice to the provider, as HTML and plain
text, from the Jinja2 templates beside this module.

A letter is not X12: the reviewer's note and criteria keep their punctuation (the 278's
MSG is made delimiter-safe on its own). HTML is escaped in the HTML documents only; the
text documents carry the words as written. Every code comes with its words
(notices/words.py), and every date is the plan's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from edi278.decide.policy import Appeals, Payer
from edi278.notices.story import CaseStory
from edi278.notices.words import long_date

TEMPLATES = Path(__file__).parent / "templates"
DOCUMENTS = (
    "member-letter.html",
    "member-letter.txt",
    "provider-notice.html",
    "provider-notice.txt",
)


@dataclass(frozen=True, slots=True)
class Notice:
    story: CaseStory
    action: str  # HCR01
    reason_code: str  # HCR03
    reason_name: str  # its X12 name
    reason_words: str  # in words a member reads
    note: str  # as the reviewer wrote it
    criteria: str
    reviewer: str
    reviewer_role: str  # "medical director"
    decided_on: date  # in the plan's time zone
    appeal_by: date
    payer: Payer
    appeals: Appeals


def _environment(autoescape: bool) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        undefined=StrictUndefined,  # a misspelt field fails the render, never prints blank
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["long_date"] = long_date
    return environment


_HTML, _TEXT = _environment(autoescape=True), _environment(autoescape=False)


def render(notice: Notice) -> dict[str, str]:
    """The four documents, by file suffix: member-letter.html, member-letter.txt,
    provider-notice.html, provider-notice.txt."""
    return {
        name: (_HTML if name.endswith(".html") else _TEXT).get_template(name).render(n=notice)
        for name in DOCUMENTS
    }
