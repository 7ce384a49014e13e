"""Outgoing control numbers never repeat and never wrap. (Shared between processes,
they live in the database: see test_store and test_intake.)"""

from __future__ import annotations

import pytest

from edi278.x12.control import ControlNumbersExhausted, MemoryControlNumbers


def test_pairs_and_kinds_count_separately():
    numbers = MemoryControlNumbers()
    assert [numbers.next("A", "B", "interchange") for _ in range(3)] == [1, 2, 3]
    assert numbers.next("A", "C", "interchange") == 1
    assert numbers.next("A", "B", "group") == 1


def test_exhaustion_is_an_error_not_a_wrap(monkeypatch):
    from edi278.x12 import control

    monkeypatch.setitem(control.MAXIMUM, "interchange", 2)
    numbers = MemoryControlNumbers()
    assert [numbers.next("A", "B", "interchange") for _ in range(2)] == [1, 2]
    with pytest.raises(ControlNumbersExhausted, match="may never repeat"):
        numbers.next("A", "B", "interchange")
