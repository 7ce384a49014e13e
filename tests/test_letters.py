"""The denial letters (SQLite and PostgreSQL): what a member and a provider read, in
words, with the reviewer's note as written; and the HTML letters as a real browser
(Debian's chromium, headless, driven through chromedriver) shows and prints them."""

from __future__ import annotations

import base64
import csv
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from edi278.decide.policy import default_policy
from edi278.notices.words import DECISION_REASONS, REASONS, reason_in_words
from edi278.respond import plain_text
from edi278.review import REASON_CODES, Review, ReviewUsageError, _check, decide_case
from tests.conftest import SAMPLES_RECEIVED
from tests.test_review import MRI_BRAIN, add_reviewers
from tests.test_samples import answer_samples

pytestmark = pytest.mark.dates

DECIDED = SAMPLES_RECEIVED + timedelta(hours=20)  # 2026-11-21 06:00 in New York
MEMBERS = Path(__file__).parents[1] / "samples" / "reference" / "members.csv"
NOTE = 'Per ACR: no "red flags"; 6 weeks* of care ~ then re-image ^ if needed <b> & after'
CRITERIA = "ACR Appropriateness Criteria: Headache, variant 1 (MRI head: usually not appropriate)"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def denial(engine, database_url) -> dict[str, str]:
    """The samples answered, and the brain MRI (samples/requests/09) denied by the
    medical director: the four documents, and the 278 as "278"."""
    answer_samples(database_url, SAMPLES_RECEIVED)
    add_reviewers(engine)
    review = Review("A3", "0F", NOTE, "md.lee", criteria=CRITERIA)
    done = decide_case(engine, MRI_BRAIN, review, default_policy(), DECIDED)
    return {**done.notices, "278": done.response}


@pytest.fixture
def letters(engine, database_url) -> dict[str, str]:
    return denial(engine, database_url)


def address_of(member_id: str) -> list[str]:
    with open(MEMBERS, newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["member_id"] == member_id)
    lines = [
        row["address_line1"],
        row["address_line2"],
        f"{row['city']}, {row['state']} {row['zip']}",
    ]
    return [line for line in lines if line]


def test_the_note_keeps_its_punctuation_in_the_letters_and_only_the_278_loses_it(letters):
    for name in ("member-letter.txt", "provider-notice.txt"):
        assert NOTE in letters[name], name  # as written: a letter is not X12
        assert CRITERIA in letters[name], name
    escaped = (
        "Per ACR: no &#34;red flags&#34;; 6 weeks* of care ~ then re-image ^ if needed "
        "&lt;b&gt; &amp; after"
    )
    for name in ("member-letter.html", "provider-notice.html"):
        assert escaped in letters[name] and "<b>" not in letters[name], name
    messages = [s for s in letters["278"].split("~") if s.strip().startswith("MSG")]
    assert [s.strip() for s in messages] == [f"MSG*{plain_text(NOTE)}"]
    assert (
        plain_text(NOTE)
        == "Per ACR no red flags ; 6 weeks of care then re-image if needed b & after"
    )


def test_the_member_letter_says_in_words_what_was_denied_why_and_how_to_appeal(letters):
    letter = letters["member-letter.txt"]
    for words in (
        "RAJ GRANT\n" + "\n".join(address_of("W159483132")) + "\n",  # the address block
        "Member ID: W159483132",
        "Reference: R26000000090",
        "November 21, 2026",  # decided on, in New York
        "RIVERSIDE ORTHOPEDICS sent us for an MRI or CT scan\nat LAKESIDE IMAGING "
        "(December 1, 2026 to December 31, 2026). We did not approve it.",
        "Procedure: CPT/HCPCS 70553: high-tech radiology (MRI, CT, PET)",
        "Facility: LAKESIDE IMAGING",
        "The information we have does not show that the service is medically necessary.",
        f"What our decision rests on: {CRITERIA}",
        "This decision was made by our medical director.",
        "Your appeal must reach us by May 20, 2027\n(180 days from the date of this letter)",
        "Write to: ACME Health Plan Appeals, PO Box 1000, Hartford CT 06101",
        "Or call 1-800-555-0199 and ask for an appeal.",
        "ask for an expedited (fast) appeal by phone.\n  We decide it within 72 hours.",
        "you may ask for an external review by an\nindependent review organization",
        "Ask within\n4 months of our appeal decision",
    ):
        assert words in letter, words
    for never in ("service type", "reason code", "0F", "HCR"):
        assert never not in letter, never


def test_the_provider_notice_names_codes_with_their_words(letters):
    notice = letters["provider-notice.txt"]
    for words in (
        "To: RIVERSIDE ORTHOPEDICS (NPI 1234567893)",
        "Service: an MRI or CT scan",
        "Procedure: CPT/HCPCS 70553: high-tech radiology (MRI, CT, PET), 1 unit",
        "Diagnosis: R51, principal diagnosis (ICD-10-CM)",
        "Facility: LAKESIDE IMAGING (NPI 1528067142)",
        "Dates: December 1, 2026 to December 31, 2026",
        "Reason: 0F not medically necessary: the information we have does not show that the "
        "service is medically necessary",
        "Decided by: md.lee, medical director",
        "call 1-800-555-0142, quoting reference R26000000090",
        "may appeal until\nMay 20, 2027 (180 days from this notice)",
    ):
        assert words in notice, words
    assert "service type" not in notice and "reason code" not in notice


def test_the_appeal_deadline_is_the_policys():
    from dataclasses import replace

    from edi278.decide.policy import Appeals
    from edi278.notices import Notice, render
    from edi278.notices.story import CaseStory, Provider

    story = CaseStory("R1", "not certified", "W1", "ANA DIAZ", ("1 ELM ST", "HARTFORD, CT 06103"),
                      "ANA DIAZ", False, Provider("requesting provider", "A CLINIC", "1234567893"),
                      (), "health care services", "initial request", "62", "an MRI or CT scan",
                      "standard", None, None, "", (), (), "", "", "")  # fmt: skip
    policy = default_policy()
    notice = Notice(story, "A3", "0F", "Not medically necessary", REASONS["0F"].words, "n", "c",
                    "md.lee", "medical director", DECIDED.date(), DECIDED.date() + timedelta(60),
                    policy.payer, replace(Appeals(), member_days=60))  # fmt: skip
    letter = render(notice)["member-letter.txt"]
    assert "must reach us by January 20, 2027\n(60 days" in letter
    assert "(no mailing address on file" not in letter and "1 ELM ST\nHARTFORD, CT 06103" in letter


def test_every_reason_a_final_decision_may_give_has_words_of_its_own():
    assert set(REASONS) == REASON_CODES  # every code of source 886 the guide allows
    words = [reason_in_words(code) for code in DECISION_REASONS]
    assert len(DECISION_REASONS) == 39 and len(set(words)) == len(words)  # no shared fallback
    assert not [w for w in words if "reason code" in w or "requirements" in w]
    refused = sorted(REASON_CODES - set(DECISION_REASONS))
    assert refused == ["0B", "0H", "0U", "0V", "0W", "1", "18", "2", "3", "4", "5", "6", "7", "8"]
    for code in refused:
        with pytest.raises(ReviewUsageError, match=f"--reason {code} "):
            _check(Review("A3", code, "n", "md.lee", criteria="c"))


# --- in a real browser ----------------------------------------------------------------


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium through chromedriver (selenium), with a profile of its own."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing or shutil.which("chromium") is None:
        pytest.fail(
            f"{', '.join(missing) or 'chromium'} not found: the letters are checked in a real "
            "browser. Install the Debian packages: apt-get install chromium chromium-driver"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync"):  # fmt: skip
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF as Chromium writes it (one /Type /Page object each)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", ["member-letter.html", "provider-notice.html"])
def test_a_browser_shows_the_letters_in_words_and_prints_them_on_one_or_two_pages(
    letters, browser, tmp_path, name
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.print_page_options import PrintOptions

    path = tmp_path / name
    path.write_text(letters[name], encoding="utf-8")
    browser.get(path.as_uri())
    seen = browser.find_element(By.TAG_NAME, "body").text  # what a reader sees, rendered
    shown = ("reason", "note", "criteria", "deadline", "address")
    text_of = {key: browser.find_element(By.ID, key).text for key in shown}
    assert text_of["note"] == NOTE and text_of["criteria"] == CRITERIA
    assert "does not show that the service is medically necessary" in text_of["reason"]
    assert "May 20, 2027 (180 days" in text_of["deadline"]
    if name == "member-letter.html":
        assert text_of["address"] == "\n".join(["RAJ GRANT", *address_of("W159483132")])
        assert "external review" in seen and "expedited (fast) appeal" in seen
    else:
        assert text_of["address"] == "RIVERSIDE ORTHOPEDICS\nNPI 1234567893"
        assert "R51, principal diagnosis (ICD-10-CM)" in seen
    assert "service type" not in seen and "reason code" not in seen
    assert browser.find_elements(By.TAG_NAME, "a") == []  # nothing to click on paper
    assert browser.find_elements(By.TAG_NAME, "nav") == []
    printed = base64.b64decode(browser.print_page(PrintOptions()))
    assert printed.startswith(b"%PDF-") and 1 <= pdf_pages(printed) <= 2, pdf_pages(printed)
