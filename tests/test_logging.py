"""No PHI in the logs: the redaction processor on its own, and the log file of a real
run over every sample (files and HTTP) searched for every sample person's last and first
name, ID and birth date (as sent and as an ISO date), as whole words wherever they are."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from pathlib import Path

import structlog

from edi278 import log
from edi278.log import MASK, mask_text, protect, redact
from tests.conftest import stop_server, wait_until_serving

ROOT = Path(__file__).parents[1]
EDI278 = ROOT / ".venv" / "bin" / "edi278"


def test_names_ids_birth_dates_and_segments_are_masked_wherever_they_are():
    with protect(["DOE", "JANE", "W123456789", "19600415"]):
        event = redact(None, "info", {
            "event": "request for Jane Doe failed",
            "member_id": "W123456789",
            "detail": {"nested": ["NM1*IL*1*DOE*JANE****MI*W123456789", "born 1960-04-15"]},
            "exception": "ValueError: bad DMG*D8*19600415*F in W123456789's request",
            "reference": "R26000000015",
            "count": 3,
        })  # fmt: skip
    text = json.dumps(event)
    for secret in ("DOE", "Doe", "JANE", "Jane", "W123456789", "19600415", "1960-04-15"):
        assert secret not in text, secret
    assert event["reference"] == "R26000000015" and event["count"] == 3
    assert event["member_id"] == MASK and MASK in event["exception"]


def test_a_member_id_shape_is_masked_but_our_tracking_numbers_are_not():
    assert mask_text("member H998877665 case R26000000015 cert C26000000028") == (
        f"member {MASK} case R26000000015 cert C26000000028"
    )
    assert MASK in mask_text("R26000000016")  # not a valid tracking number: could be anyone's


def test_protected_terms_end_with_their_interchange():
    with protect(["ROE"]):
        assert redact(None, "info", {"event": "seen ROE"})["event"] == f"seen {MASK}"
    assert redact(None, "info", {"event": "seen ROE"})["event"] == "seen ROE"


def test_an_exception_logged_through_the_pipeline_is_masked(tmp_path):
    path = tmp_path / "log.jsonl"
    log.configure("DEBUG", path)
    try:
        with protect(["DOE", "JANE"]):
            try:
                raise RuntimeError("cannot read NM1*IL*1*DOE*JANE****MI*W123456789")
            except RuntimeError:
                log.get("test").exception("failed", patient={"last_name": "DOE"})
    finally:
        structlog.reset_defaults()
    written = path.read_text()
    assert "RuntimeError" in written and "DOE" not in written and "W123456789" not in written


SAMPLE_FOLDERS = [ROOT / "samples" / name for name in ("requests", "inbox", "broken")]


def sample_people() -> dict[str, set[str]]:
    """What every sample names of a person (NM1*IL and NM1*QC: last name, first name,
    ID; the DMG after it: birth date), and, for those on file, their record in
    samples/reference/members.csv: by ID (or name), the terms to search for."""
    on_file = {}
    with open(ROOT / "samples" / "reference" / "members.csv", newline="") as handle:
        for member in csv.DictReader(handle):
            on_file[member["member_id"]] = member
    people: dict[str, set[str]] = {}
    for path in sorted(p for folder in SAMPLE_FOLDERS for p in folder.iterdir()):
        text = path.read_text(encoding="latin-1")
        if not text.startswith("ISA") or len(text) < 106:
            continue
        separator, terminator = text[3], text[105]
        person: set[str] | None = None
        for segment in (s.strip() for s in text.split(terminator)):
            elements = segment.split(separator)
            if elements[0] == "NM1":
                person = None
                if elements[1:2] in (["IL"], ["QC"]):  # subscriber, dependent
                    last, first = elements[3], elements[4] if len(elements) > 4 else ""
                    member_id = elements[9] if len(elements) > 9 else ""
                    person = people.setdefault(member_id or f"{last}, {first}", set())
                    person |= {last, first, member_id}
                    if member_id in on_file:
                        member = on_file[member_id]
                        person |= {member["last_name"], member["first_name"], member["birth_date"]}
            elif elements[0] == "DMG" and person is not None and len(elements) > 2:
                person.add(elements[2])
    for terms in people.values():  # every birth date both as sent and as an ISO date
        dates = {t for t in terms if re.fullmatch(r"\d{8}|\d{4}-\d\d-\d\d", t)}
        terms |= {d.replace("-", "") for d in dates} | {
            f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in dates if "-" not in d
        }
        terms.discard("")
    return people


def member_data_in(text: str, people: dict[str, set[str]] | None = None) -> list[str]:
    """The sample people's data found in `text`, in any case: names as whole words next
    to any punctuation ("DOE," "JANE;"), IDs and birth dates anywhere, even inside a
    longer run of characters ("W123456789W123456789", "(19600415)")."""
    terms = sorted({t for found in (people or sample_people()).values() for t in found},
                   key=len, reverse=True)  # fmt: skip
    names = "|".join(re.escape(t) for t in terms if t.isalpha())
    others = "|".join(re.escape(t) for t in terms if not t.isalpha())
    pattern = rf"(?<![A-Za-z])(?:{names})(?![A-Za-z])|{others}"
    return re.findall(pattern, text, re.IGNORECASE)


def test_the_search_finds_member_data_as_whole_words_next_to_punctuation():
    people = sample_people()
    assert {"DOE", "JANE", "W123456789", "19600415", "1960-04-15"} <= people["W123456789"]
    assert {"NOBODY", "NOAH", "W000000000"} <= people["W000000000"]  # not on file
    assert len(people) >= 30
    text = "DOE, JANE; jane doe (19600415) 1960-04-15 W123456789W1. DOES JANET W12345678"
    assert member_data_in(text) == ["DOE", "JANE", "jane", "doe", "19600415", "1960-04-15",
                                    "W123456789"]  # fmt: skip


def test_a_full_run_logs_no_sample_members_name_id_or_birth_date(tmp_path):
    logfile = tmp_path / "edi278.log"
    env = {**os.environ, "EDI278_LOG_FILE": str(logfile), "EDI278_LOG_LEVEL": "DEBUG"}
    state = ["--state-dir", str(tmp_path / "var")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(EDI278), *args, *state], capture_output=True, text=True,
                              env=env, cwd=tmp_path)  # fmt: skip

    assert run("reference", "load", str(ROOT / "samples" / "reference")).returncode == 0
    requests = sorted(str(p) for p in (ROOT / "samples" / "requests").glob("*.x12"))
    assert run("process", *requests, str(ROOT / "samples" / "inbox"), "--outbox",
               str(tmp_path / "out")).returncode == 0  # fmt: skip
    assert run("inquire", "--member", "W123456789", "--json").returncode == 0
    written = logfile.read_text()
    assert written.count('"interchange.answered"') >= 45  # the run was logged
    assert member_data_in(written) == []


def test_no_member_data_in_any_output_meant_for_operators(tmp_path):
    """After a full run over every sample, broken ones included, through files, a watched
    folder that puts files aside and the API: the log, every command's output and error
    stream, every .reason file, the fault messages and /metrics hold no member's name,
    ID or birth date, and no raw segment. (Inquiry answers are left out: showing the
    member a case is filed under is what an operator asks them for.)"""
    import socket

    import httpx

    logfile = tmp_path / "edi278.log"
    env = {**os.environ, "EDI278_LOG_FILE": str(logfile), "EDI278_LOG_LEVEL": "DEBUG"}
    state = ["--state-dir", str(tmp_path / "var")]
    said: list[str] = []

    def run(*args: str, stateless: bool = False) -> subprocess.CompletedProcess[str]:
        command = [str(EDI278), *args, *([] if stateless else state)]
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
        said.extend([done.stdout, done.stderr])
        return done

    samples = ROOT / "samples"
    run("reference", "load", str(samples / "reference"))
    inputs = sorted(str(p) for p in (samples / "requests").glob("*.x12"))
    run("process", *inputs, str(samples / "inbox"), str(samples / "broken"),
        "--outbox", str(tmp_path / "out"), "--json")  # fmt: skip
    broken = [str(p) for p in (samples / "broken").iterdir()]
    for path in sorted((samples / "requests").glob("*.x12"))[:8]:  # bad member data
        data = path.read_text(encoding="latin-1")
        data = re.sub(r"DMG\*D8\*(\d{6})\d\d", r"DMG*D8*\g<1>32", data)
        data = re.sub(r"(NM1\*IL\*1\*[^*~]*\*[^*~]*\*{4}MI\*)(\w+)", r"\1\2\2\2\2\2", data)
        (tmp_path / f"bad-{path.name}").write_text(data, encoding="latin-1")
        broken.append(str(tmp_path / f"bad-{path.name}"))
    validated = run("validate", "--json", *inputs, *broken, stateless=True)
    messages = [
        fault["message"]
        for line in validated.stdout.splitlines()
        for fault in json.loads(line).get("faults", [])
    ]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for source in (samples / "inbox").iterdir():
        (inbox / f"big-{source.name}").write_bytes(source.read_bytes() * 40)
    run("watch", "--inbox", str(inbox), "--outbox", str(tmp_path / "out2"), "--once",
        "--settle", "0.1", "--max-size", "5000")  # fmt: skip
    reasons = [p.read_text() for p in (tmp_path / "error").glob("*.reason")]
    assert reasons, "the watcher put nothing aside: the sweep would prove nothing"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = run("partner", "add", "--isa-id", "SUBMITTER01").stdout.strip()
    server = subprocess.Popen([str(EDI278), "serve", "--port", str(port), *state], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(server, base)
        headers = {"Content-Type": "application/edi-x12", "X-API-Key": key}
        for path in (samples / "requests").glob("0*.x12"):
            answer = httpx.post(f"{base}/v1/x12/278", content=path.read_bytes(), headers=headers)
            assert answer.status_code in (200, 400, 422)
        metrics = httpx.get(f"{base}/metrics").text
    finally:
        stop_server(server)

    swept = {
        "log": logfile.read_text(),
        "command output": "\n".join(said),
        ".reason files": "\n".join(reasons),
        "fault messages": "\n".join(messages),
        "metrics": metrics,
    }
    assert len(messages) > 10 and "interchange.answered" in swept["log"]
    people = sample_people()
    for where, text in swept.items():
        assert member_data_in(text, people) == [], f"member data in the {where}"
        for raw in ("NM1*IL", "DMG*D8", "NM1*QC"):
            assert raw not in text, f"a raw {raw} segment in the {where}"
