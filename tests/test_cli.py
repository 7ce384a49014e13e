"""The `edi278` command, run as a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edi278.decide.tracking import Kind
from tests.conftest import interchange, issued
from tests.test_logging import SAMPLE_FOLDERS, member_data_in, sample_people

pytestmark = pytest.mark.dates

ROOT = Path(__file__).parents[1]
SAMPLES = ROOT / "samples"
EDI278 = Path(sys.executable).parent / "edi278"


def run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [str(EDI278), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "var").mkdir()
    return tmp_path


def test_process_answers_every_sample_with_a_999(workdir):
    outbox = workdir / "outbox"
    result = run("process", str(SAMPLES / "inbox"), "--outbox", str(outbox), "--json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    summaries = [json.loads(line) for line in result.stdout.splitlines()]
    inputs = sorted(p.name for p in (SAMPLES / "inbox").iterdir())
    assert sorted(Path(s["input"]).name for s in summaries) == inputs
    for summary in summaries:
        stem = Path(summary["input"]).stem
        assert summary["outputs"]["999"] == str(outbox / f"{stem}.999")
        ack = (outbox / f"{stem}.999").read_text()
        assert ack.startswith("ISA") and "ST*999*0001*005010X231A1" in ack.replace("|", "*")
    by_name = {Path(s["input"]).name: s for s in summaries}
    assert by_name["referral-wrong-segment-count.x12"]["status"] == "rejected"
    # guide-level: an immediate appeal without its level of service
    appeal = by_name["appeal-without-level-of-service.x12"]
    assert appeal["status"] == "rejected"
    assert [(f["ack"], f.get("loop_id"), f.get("element")) for f in appeal["faults"]] == [
        ("IK304 8", "2000E", None),
        ("IK403 I9", "2000E", 6),
        ("IK502 5", None, None),
    ]
    assert "IK4*6*1338*I9~" in (outbox / "appeal-without-level-of-service.999").read_text()
    assert by_name["dependent-mri-batch.edi"]["transaction_sets"] == {
        "received": 2,
        "accepted": 2,
        "rejected": 0,
    }
    # ISA14=1 asks for a TA1
    assert "ta1" in by_name["elective-knee-admission.x12"]["outputs"]
    # the state (the SQLite database) lives under ./var by default
    assert (workdir / "var" / "edi278.db").exists()


def test_process_writes_an_answer_already_in_the_outbox_only_once(workdir):
    outbox = workdir / "outbox"
    source = workdir / "request.x12"
    source.write_text(interchange())
    runs = []
    for _ in range(2):
        done = run("process", str(source), "--outbox", str(outbox), "--json", cwd=workdir)
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout))
    first, second = runs
    # the same bytes again are answered as before, byte for byte: the files are there
    assert sorted(p.name for p in outbox.iterdir()) == ["request.278", "request.999"]
    assert (
        second["outputs"]
        == first["outputs"]
        == {
            "999": str(outbox / "request.999"),
            "278": str(outbox / "request.278"),
        }
    )
    assert (second["replayed_interchanges"], second["decisions_replayed"]) == (1, 1)
    assert second["decisions"] == first["decisions"]  # a replay still lists its decisions
    assert (outbox / "request.999").read_text().split("*")[13] == "000000001"


def test_process_never_overwrites_an_earlier_answer(workdir):
    outbox = workdir / "outbox"
    source = workdir / "request.x12"
    source.write_text(interchange())
    assert run("process", str(source), "--outbox", str(outbox), cwd=workdir).returncode == 0
    earlier = {p.name: p.read_bytes() for p in outbox.iterdir()}
    source.write_text(interchange(control=2))  # other bytes under the same name
    assert run("process", str(source), "--outbox", str(outbox), cwd=workdir).returncode == 0
    assert {p.name: p.read_bytes() for p in outbox.iterdir() if p.name in earlier} == earlier
    assert sorted(p.name for p in outbox.iterdir()) == [
        "request-2.278", "request-2.999", "request.278", "request.999"
    ]  # fmt: skip
    assert (outbox / "request-2.999").read_text().split("*")[13] == "000000003"


def test_process_answers_a_rejected_envelope_with_a_ta1_only(workdir):
    outbox = workdir / "outbox"
    result = run("process", str(SAMPLES / "broken"), "--outbox", str(outbox), "--json", cwd=workdir)
    assert result.returncode == 0
    summaries = {Path(s["input"]).name: s for s in map(json.loads, result.stdout.splitlines())}
    assert summaries["version-4010.x12"]["status"] == "rejected"
    assert summaries["version-4010.x12"]["faults"][0]["ack"] == "TA105 003"
    assert [f["ack"] for f in summaries["truncated.x12"]["faults"]] == [
        "TA105 023",
        "AK905 3",
        "IK502 2",
    ]
    assert sorted(p.name for p in outbox.iterdir()) == ["truncated.ta1", "version-4010.ta1"]
    assert "TA1*000000105*261120*0930*R*003~" in (outbox / "version-4010.ta1").read_text()


def test_process_text_summary(workdir):
    result = run("process", str(SAMPLES / "inbox"), "--outbox", str(workdir / "o"), cwd=workdir)
    assert result.returncode == 0
    assert "4/6 transaction set(s)" in result.stdout.splitlines()[-1]
    assert "5 file(s)" in result.stdout.splitlines()[-1]
    assert (
        run(
            "process",
            str(SAMPLES / "inbox"),
            "--outbox",
            str(workdir / "q"),
            "--quiet",
            cwd=workdir,
        ).stdout
        == ""
    )


def test_an_input_that_cannot_be_read_is_reported_unanswered(workdir):
    from edi278.batch import process_file, stateless
    from edi278.x12.control import MemoryControlNumbers
    from tests.conftest import NOW

    answer = stateless(NOW, MemoryControlNumbers())
    summary = process_file(workdir, workdir / "o", answer)  # a folder
    assert summary.status == "unanswered" and "IsADirectoryError" in (summary.error or "")
    assert list((workdir / "o").iterdir()) == []


def test_validate_exit_codes_and_fault_locations(workdir):
    good = SAMPLES / "inbox" / "specialist-referral.x12"
    bad = SAMPLES / "inbox" / "referral-wrong-segment-count.x12"
    assert run("validate", str(good)).returncode == 0
    result = run("validate", str(bad))
    assert result.returncode == 1
    assert (
        "IK502 4 at SE" in result.stdout and "position 17 in the transaction set" in result.stdout
    )
    as_json = json.loads(run("validate", str(bad), "--json").stdout)
    assert as_json["valid"] is False
    assert as_json["faults"][0] | {"message": ""} == {
        "level": "transaction",
        "code": "4",
        "ack": "IK502 4",
        "message": "",
        "segment_id": "SE",
        "segment_position": 17,
        "file_segment": 19,
        "offset": as_json["faults"][0]["offset"],
    }


def test_no_command_prints_member_data_in_its_table_its_json_or_its_errors(workdir):
    """process and validate, as tables and as JSON, over every sample (broken ones, and
    a bad character in a diagnosis and in a name, included): no sample person's name, ID or
    birth date, no diagnosis, on stdout or stderr. inquire shows the member asked about,
    and no one else; review list shows whose cases are pended; neither says more on
    stderr."""
    samples = [p for folder in SAMPLE_FOLDERS for p in sorted(folder.iterdir())]
    knee = (SAMPLES / "requests" / "01-inpatient-elective-knee-auto.x12").read_text()
    bad = {
        "bad-diagnosis.x12": interchange().replace("M5416", "M54\x0116"),
        "bad-name.x12": knee.replace("NM1*IL*1*DOE*JANE", "NM1*IL*1*DOE\x01*JANE"),
    }
    for name, text in bad.items():
        assert text != knee and "\x01" in text
        (workdir / name).write_text(text)
    inputs = [str(p) for p in samples if p.suffix != ".md"] + [str(workdir / n) for n in bad]
    assert run("reference", "load", str(SAMPLES / "reference"), cwd=workdir).returncode == 0
    said = {
        "process": run("process", *inputs, "--outbox", "table", cwd=workdir),
        "process --json": run("process", *inputs, "--outbox", "json", "--json",
                              "--state-dir", str(workdir / "second"), cwd=workdir),
        "validate": run("validate", *inputs, cwd=workdir),
        "validate --json": run("validate", *inputs, "--json", cwd=workdir),
    }  # fmt: skip
    assert "A1" in said["process"].stdout and '"faults"' in said["validate --json"].stdout
    people = sample_people()
    for command, done in said.items():
        for stream in (done.stdout, done.stderr):
            assert member_data_in(stream, people) == [], command
            assert "M54" not in stream, command  # the diagnosis the bad character is in
    asked = people["W123456789"]
    others = {key: terms - asked for key, terms in people.items() if key != "W123456789"}
    for options in ([], ["--json"]):
        found = run("inquire", "--member", "W123456789", *options, cwd=workdir)
        assert found.returncode == 0 and "DOE" in found.stdout
        assert member_data_in(found.stdout, others) == [], options
        assert member_data_in(found.stderr, people) == [], options
        pended = run("review", "list", *options, cwd=workdir)
        assert pended.returncode == 0 and issued(Kind.REFERENCE, 2) in pended.stdout
        assert member_data_in(pended.stderr, people) == [], options


def test_parse_json_tree(workdir):
    result = run(
        "parse", str(SAMPLES / "inbox" / "dependent-mri-batch.edi"), "--format", "segments"
    )
    assert result.returncode == 0
    tree = json.loads(result.stdout)
    (isa,) = tree["interchanges"]
    assert isa["delimiters"] == {
        "element": "*",
        "repetition": "^",
        "component": ":",
        "segment": "~",
    }
    (group,) = isa["groups"]
    assert [len(t["segments"]) for t in group["transactions"]] == [22, 19]
    um = next(s for s in group["transactions"][0]["segments"] if s["id"] == "UM")
    assert um["elements"] == ["HS", "I", "62", ["22", "B"]]
    assert isa["iea"]["elements"] == ["1", "000000103"]


def test_parse_x12_writes_the_same_bytes_back(workdir):
    source = SAMPLES / "inbox" / "specialist-referral.x12"
    result = subprocess.run(
        [str(EDI278), "parse", str(source), "--format", "x12"], capture_output=True, timeout=60
    )
    assert result.stdout == source.read_bytes()


def test_bad_usage_exits_2_and_every_command_has_help(workdir):
    assert run("process", "--outbox", str(workdir)).returncode == 2
    assert run("validate", str(workdir / "missing.x12")).returncode == 2
    from click.testing import CliRunner

    from edi278.cli import main

    def commands(group, prefix=()):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from commands(command, (*prefix, name))
            else:
                yield (*prefix, name)

    found = list(commands(main))
    assert len(found) >= 15
    for command in found:  # every command, its --help with an example
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, command


def test_make_run_style_invocation_from_a_fresh_directory(workdir):
    """What `make run` does, from a copy of the project's samples, without ./var."""
    shutil.rmtree(workdir / "var")
    shutil.copytree(SAMPLES / "inbox", workdir / "inbox")
    result = run("process", "inbox", "--outbox", "var/outbox", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert sorted(p.suffix for p in (workdir / "var" / "outbox").iterdir()).count(".999") == 5


def test_a_partner_can_have_its_999s_carry_no_copy_of_bad_data(workdir):
    """IK404 copies the faulty value, here a birth date: member data some partners do
    not want in acknowledgements. The switch is theirs; other partners keep the copy."""
    sample = (SAMPLES / "requests" / "01-inpatient-elective-knee-auto.x12").read_text()
    bad_birth_date = sample.replace("DMG*D8*19600415", "DMG*D8*19600231")
    assert bad_birth_date != sample
    (workdir / "first.x12").write_text(bad_birth_date)
    # The same fault, from the same sender under a new control number, and from another.
    (workdir / "second.x12").write_text(bad_birth_date.replace("000000201", "000000202"))
    (workdir / "other.x12").write_text(bad_birth_date.replace("SUBMITTER01    ", "SUBMITTER02    "))
    outbox = workdir / "out"

    assert run("process", "first.x12", "--outbox", str(outbox), cwd=workdir).returncode == 0
    assert "IK4*2*1251*8*19600231~" in (outbox / "first.999").read_text()

    switched = run("partner", "set", "--isa-id", "SUBMITTER01", "--no-copy-bad-data", cwd=workdir)
    assert switched.returncode == 0, switched.stderr
    done = run("process", "second.x12", "other.x12", "--outbox", str(outbox), cwd=workdir)
    assert done.returncode == 0, done.stderr
    second = (outbox / "second.999").read_text()
    assert "IK3*DMG*10**8~IK4*2*1251*8~IK5*R*5~" in second.replace("\n", "")
    assert "19600231" not in second
    assert "IK4*2*1251*8*19600231~" in (outbox / "other.999").read_text()

    # The first interchange sent again gets the answer it got then, byte for byte.
    again = run("process", "first.x12", "--outbox", str(workdir / "again"), cwd=workdir)
    assert again.returncode == 0
    assert (workdir / "again" / "first.999").read_bytes() == (outbox / "first.999").read_bytes()

    # And back on.
    assert (
        run("partner", "set", "--isa-id", "SUBMITTER01", "--copy-bad-data", cwd=workdir).returncode
        == 0
    )
    (workdir / "third.x12").write_text(bad_birth_date.replace("000000201", "000000203"))
    assert run("process", "third.x12", "--outbox", str(outbox), cwd=workdir).returncode == 0
    assert "IK4*2*1251*8*19600231~" in (outbox / "third.999").read_text()


def test_a_batch_of_many_requests_shows_the_first_decisions_and_json_lists_all(workdir):
    """The table after a run shows the first 200 decisions and says how many there were,
    so that a batch of millions is answered in bounded memory; --json lists every one."""
    from tests.test_watch import load_reference, request

    load_reference(workdir / "var")
    (workdir / "batch.x12").write_bytes(b"".join(request(n) for n in range(1, 251)))
    shown = run("process", "batch.x12", "--outbox", "out", cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    assert "(the first 200 of 250 decisions; --json lists them all)" in shown.stdout
    assert "PE200 " in shown.stdout and "PE201 " not in shown.stdout  # TRN02, in order
    assert "250/250 transaction set(s) accepted" in shown.stdout
    (workdir / "more.x12").write_bytes(b"".join(request(n) for n in range(251, 501)))
    listed = run("process", "more.x12", "--outbox", "out", "--json", cwd=workdir)
    assert listed.returncode == 0, listed.stderr
    (summary,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [row["trace_number"] for row in summary["decisions"]] == [
        f"PE{n}" for n in range(251, 501)
    ]
    assert summary["decisions_not_listed"] == 0  # up to 10,000 a file are listed
