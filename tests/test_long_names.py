"""Inputs whose names leave no room for an answer's suffix (NAME_MAX is 255 bytes, and
UTF-8 names count in bytes), for real through `process` and `watch`: every input ends
answered or in the error folder with its reason, never stuck in processing; answer
names are shortened to a recognisable prefix and a hash, distinct for names that
differ only at the end, and fit with their temporary names too."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from edi278.outbox import NAME_MAX, fitting
from tests.conftest import EDI278
from tests.test_watch import names, request, watch_once

LONG = [
    "a" * 246,  # the reported one: no extension, NAME.278 would be 250 and its partial 259
    "b" * 242 + ".x12",
    "c" * 251 + ".x12",  # 255 bytes, the most a name can have
    "\u65e5" * 83 + ".x12",  # 253 bytes in 87 characters
    "\u00e9" * 125 + ".x12",  # 254 bytes
    "d" * 250 + "1.x12",  # these two differ only at the end
    "d" * 250 + "2.x12",
]


def size(name: str) -> int:
    return len(os.fsencode(name))


def test_fitting_keeps_a_prefix_and_a_hash_within_name_max():
    for name in LONG:
        for room in (0, 4, 12):
            short = fitting(name, room)
            assert size(short) + room <= NAME_MAX
            assert short[:40] == name[:40] or size(name) + room <= NAME_MAX
            short.encode("utf-8")  # no character cut in two
    assert fitting("d" * 250 + "1.x12", 12) != fitting("d" * 250 + "2.x12", 12)
    assert fitting("short.x12", 12) == "short.x12"


def answered_files(outcomes: list[dict]) -> list[Path]:
    return [Path(path) for o in outcomes for path in o["outputs"].values()]


def test_process_answers_inputs_with_the_longest_names(tmp_path):
    inbox = tmp_path / "in"
    inbox.mkdir()
    for number, name in enumerate(LONG, 1):
        (inbox / name).write_bytes(request(number))
    done = subprocess.run(
        [*EDI278, "process", str(inbox), "--outbox", str(tmp_path / "out"), "--json",
         "--state-dir", str(tmp_path / "var")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summaries = [json.loads(line) for line in done.stdout.splitlines()]
    assert [s["status"] for s in summaries] == ["accepted"] * len(LONG)
    outputs = answered_files(summaries)
    assert len(outputs) == 2 * len(LONG) == len(set(outputs))  # a 999 and a 278 each
    assert sorted(p.name for p in outputs) == names(tmp_path / "out")  # nothing else left
    for summary in summaries:
        stem = Path(summary["input"]).name.removesuffix(".x12")
        for path in map(Path, summary["outputs"].values()):
            assert size(path.name) <= NAME_MAX and path.name.startswith(stem[:40])
            assert path.read_text().startswith("ISA")


def test_watch_answers_long_names_twice_over_and_puts_a_long_one_aside_with_its_reason(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    too_big = "e" * 251 + ".x12"  # over --max-size: its NAME.reason would be 262 bytes
    for round_ in (1, 2):  # the second time the names are taken: NAME-2, shortened too
        for number, name in enumerate(LONG, 1):
            (inbox / name).write_bytes(request(100 * round_ + number))
        (inbox / too_big).write_bytes(request(round_) * 4)
        status, outcomes = watch_once(tmp_path, "--max-size", "1000")
        assert status == 1  # the big one went into the error folder
        assert names(inbox) == names(tmp_path / "processing") == []
        by_name = {Path(o["input"]).name: o for o in outcomes}
        assert sorted(by_name) == sorted([*LONG, too_big])
        for name in LONG:
            assert by_name[name]["status"] == "accepted"
            assert Path(by_name[name]["archived_to"]).read_bytes() == request(
                100 * round_ + LONG.index(name) + 1
            )
        aside = Path(by_name[too_big]["error_to"])
        assert by_name[too_big]["status"] == "too large" and aside.exists()
        reason = aside.with_name(aside.name + ".reason").read_text()
        assert "over the limit of 1000 bytes" in reason and aside.name.startswith("e" * 40)
    outbox = names(tmp_path / "outbox")
    assert len(outbox) == 2 * 2 * len(LONG)  # a 999 and a 278 per input per round, all apart
    assert all(size(name) <= NAME_MAX for name in outbox)
    assert len(names(tmp_path / "archive")) == 2 * len(LONG)
    assert len(names(tmp_path / "error")) == 2 * 2  # two files, each with its reason
