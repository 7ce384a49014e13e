"""Several processes answering into one outbox at once, for real: two `edi278 process`
runs whose inputs share a stem, and two watchers whose inboxes hold files of the same
names. Each writes under a temporary name of its own and claims its final names under
the outbox's lock, so every input's answers are all there, under names of their own,
none spliced with another's, and a file is reported answered only once they are."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from edi278.outbox import HOST
from tests.conftest import EDI278, REQUEST_BODY, group, interchange, transaction


def batch(run: int, sets: int) -> bytes:
    """One interchange of `sets` requests; each request's reference (BHT03, echoed in
    its response) names its run and place: REQ<run>X<n>."""

    def body(number: int) -> list[str]:
        return [s.replace("*PE1*", f"*PE{run}X{number}*").replace("*REQ1*", f"*REQ{run}X{number}*")
                for s in REQUEST_BODY]  # fmt: skip

    sets_ = [transaction(number, body(number)) for number in range(1, sets + 1)]
    return interchange([group(run, sets_)], control=run).encode()


def traces(answer: Path) -> list[str]:
    """The request references a 278 answer file echoes, in order."""
    return re.findall(r"BHT\*0007\*11\*(REQ\d+X\d+)\*", answer.read_text())


def whole_interchanges(answer: Path) -> bool:
    """Every ISA closed by its IEA, nothing between or after: no file spliced from two."""
    text = answer.read_text()
    opened = re.findall(r"ISA\*(?:[^*]*\*){12}(\d{9})\*", text)
    closed = re.findall(r"IEA\*\d+\*(\d{9})~", text)
    return opened == closed and text.rstrip().endswith("~") and text.startswith("ISA")


def answers_in(outbox: Path) -> dict[str, Path]:
    return {path.name: path for path in outbox.iterdir()}


SETS = 2500  # per run: long enough that the two runs write their answers at the same time


def test_two_process_runs_with_inputs_of_one_stem_keep_every_answer_apart(tmp_path):
    outbox = tmp_path / "outbox"
    inputs = []
    for run in (1, 2):
        folder = tmp_path / f"from-{run}"
        folder.mkdir()
        (folder / "batch.x12").write_bytes(batch(run, SETS))
        inputs.append(folder / "batch.x12")
    runs = [
        subprocess.Popen(
            [
                *EDI278,
                "process",
                str(path),
                "--outbox",
                str(outbox),
                "--json",
                "--state-dir",
                str(tmp_path / f"var-{run}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for run, path in enumerate(inputs, 1)
    ]
    said = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], said
    summaries = [json.loads(stdout) for stdout, _stderr in said]
    assert [s["status"] for s in summaries] == ["accepted", "accepted"]
    # Two stems, one each: batch and batch-2, nothing else (no temporary file left).
    assert sorted(answers_in(outbox)) == ["batch-2.278", "batch-2.999", "batch.278", "batch.999"]
    for run, summary in enumerate(summaries, 1):
        outputs = {kind: Path(path) for kind, path in summary["outputs"].items()}
        assert outputs["278"].with_suffix("") == outputs["999"].with_suffix("")  # one stem
        # What each run reported is what is on disk: its own answers, all of them, whole.
        assert traces(outputs["278"]) == [f"REQ{run}X{n}" for n in range(1, SETS + 1)]
        assert whole_interchanges(outputs["278"]) and whole_interchanges(outputs["999"])
        assert f"AK9*A*{SETS}*{SETS}*{SETS}~" in outputs["999"].read_text()
    assert {summaries[0]["outputs"]["278"], summaries[1]["outputs"]["278"]} == {
        str(outbox / "batch.278"),
        str(outbox / "batch-2.278"),
    }


def test_two_watchers_answering_files_of_the_same_names_into_one_outbox(tmp_path):
    outbox = tmp_path / "outbox"
    files, sets = 12, 150
    watchers = []
    for side in (1, 2):
        inbox = tmp_path / f"side-{side}" / "inbox"
        inbox.mkdir(parents=True)
        for number in range(files):  # run numbers 1..12 on one side, 101..112 on the other
            run = side * 100 - 100 + number + 1
            (inbox / f"file-{number:02d}.x12").write_bytes(batch(run, sets))
    for side in (1, 2):
        root = tmp_path / f"side-{side}"
        watchers.append(subprocess.Popen(
            [*EDI278, "watch", "--inbox", str(root / "inbox"), "--outbox", str(outbox),
             "--state-dir", str(root / "var"), "--once", "--settle", "0", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))  # fmt: skip
    said = [watcher.communicate(timeout=600) for watcher in watchers]
    assert [watcher.returncode for watcher in watchers] == [0, 0], said
    outcomes = [json.loads(line) for stdout, _ in said for line in stdout.splitlines()]
    assert len(outcomes) == 2 * files and all(o["status"] == "accepted" for o in outcomes)
    # Each input's 278 holds its own requests' answers, all of them, in one whole file.
    claimed: set[str] = set()
    for outcome in outcomes:
        side = 1 if "side-1" in outcome["input"] else 2
        number = int(Path(outcome["input"]).stem.split("-")[1])
        run = side * 100 - 100 + number + 1
        answer = Path(outcome["outputs"]["278"])
        assert traces(answer) == [f"REQ{run}X{n}" for n in range(1, sets + 1)], answer.name
        assert whole_interchanges(answer) and whole_interchanges(Path(outcome["outputs"]["999"]))
        assert answer.name not in claimed
        claimed.add(answer.name)
    expected = {f"file-{n:02d}{copy}.{kind}" for n in range(files) for copy in ("", "-2")
                for kind in ("278", "999")}  # fmt: skip
    assert set(answers_in(outbox)) == expected  # and no temporary file is left behind


def test_a_run_killed_while_writing_leaves_nothing_the_next_run_does_not_sweep(tmp_path):
    """Temporary names are a writer's own (host and pid in them): the next run removes
    those whose writer is gone, and only those."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "batch.x12").write_bytes(batch(1, SETS))
    outbox = tmp_path / "outbox"
    command = [*EDI278, "process", str(tmp_path / "in"), "--outbox", str(outbox),
               "--state-dir", str(tmp_path / "var"), "--quiet"]  # fmt: skip
    killed = subprocess.Popen(command)
    deadline = time.monotonic() + 120
    # the answers' temporary files are made before the first request is read
    while not (outbox.is_dir() and any(outbox.glob(".*.partial"))):
        assert time.monotonic() < deadline and killed.poll() is None, "no answer begun"
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    left = sorted(p.name for p in outbox.iterdir())
    assert left and all(name.startswith(".") for name in left)  # half-written, and hidden
    other_host = "000000" if HOST != "000000" else "111111"
    live = outbox / f".other.{HOST}-{os.getpid()}.{'0' * 12}.partial"  # a writer still alive
    elsewhere = outbox / f".other.{other_host}-1.{'0' * 12}.partial"  # another host's
    for kept in (live, elsewhere):
        kept.write_bytes(b"ISA")
    subprocess.run(command, check=True, timeout=300)
    assert sorted(p.name for p in outbox.iterdir()) == sorted(
        ["batch.278", "batch.999", live.name, elsewhere.name]
    )
    assert traces(outbox / "batch.278") == [f"REQ1X{n}" for n in range(1, SETS + 1)]
