"""Outgoing control numbers never repeat for a sender/receiver pair, across processes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edi278.x12.control import ControlNumbersExhausted, FileControlNumbers, MemoryControlNumbers

DRAW = """
import sys
from edi278.x12.control import FileControlNumbers
numbers = FileControlNumbers(sys.argv[1])
print("\\n".join(str(numbers.next("ZZ:UMO", "ZZ:SUB", "interchange")) for _ in range(200)))
"""


def test_concurrent_processes_never_draw_the_same_number(tmp_path):
    path = tmp_path / "control-numbers.json"
    workers = [
        subprocess.Popen([sys.executable, "-c", DRAW, str(path)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    drawn = [int(line) for worker in workers for line in worker.communicate()[0].split()]
    assert sorted(drawn) == list(range(1, 801))
    assert json.loads(path.read_text())["ZZ:UMO>ZZ:SUB:interchange"] == 800


def test_pairs_and_kinds_count_separately_and_survive_a_restart(tmp_path):
    path = tmp_path / "control-numbers.json"
    numbers = FileControlNumbers(path)
    assert [numbers.next("A", "B", "interchange") for _ in range(3)] == [1, 2, 3]
    assert numbers.next("A", "C", "interchange") == 1
    assert numbers.next("A", "B", "group") == 1
    assert FileControlNumbers(path).next("A", "B", "interchange") == 4


def test_exhaustion_is_an_error_not_a_wrap(monkeypatch):
    from edi278.x12 import control

    monkeypatch.setitem(control.MAXIMUM, "interchange", 2)
    numbers = MemoryControlNumbers()
    assert [numbers.next("A", "B", "interchange") for _ in range(2)] == [1, 2]
    with pytest.raises(ControlNumbersExhausted, match="may never repeat"):
        numbers.next("A", "B", "interchange")
