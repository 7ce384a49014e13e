"""No PHI in the logs: the redaction processor on its own, and the log file of a real
run over every sample (files and HTTP) searched for every sample member's name, ID and
birth date."""

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


def sample_members() -> list[dict[str, str]]:
    with open(ROOT / "samples" / "reference" / "members.csv", newline="") as handle:
        members = list(csv.DictReader(handle))
    named = set()
    for path in [*(ROOT / "samples" / "requests").glob("*.x12"),
                 *(ROOT / "samples" / "inbox").iterdir()]:  # fmt: skip
        named |= set(path.read_text(encoding="latin-1").replace("|", "*").split("*"))
    return [m for m in members if m["member_id"] in named or m["last_name"] in named]


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
    members = sample_members()
    assert len(members) >= 20
    for member in members:
        born = member["birth_date"]
        for secret in (member["member_id"], f" {member['last_name']} ", born,
                       born.replace("-", "")):  # fmt: skip
            assert secret not in written.replace('"', " "), secret


def secrets_of(members: list[dict[str, str]]) -> list[str]:
    found = []
    for member in members:
        born = member["birth_date"]
        found += [member["member_id"], f" {member['last_name']} ", born, born.replace("-", "")]
    return found


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
    members = sample_members()
    for where, text in swept.items():
        flat = text.replace('"', " ")
        for secret in secrets_of(members):
            assert secret not in flat, f"{secret!r} in the {where}"
        for raw in ("NM1*IL", "DMG*D8", "NM1*QC"):
            assert raw not in text, f"a raw {raw} segment in the {where}"
