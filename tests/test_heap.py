"""The heap set for a long run (edi278.heap), in a fresh interpreter each: the collector
settled, and freed memory given back between phases."""

from __future__ import annotations

import subprocess
import sys

SETTLED = """
import gc
from edi278 import heap
loaded = [[n] for n in range(50_000)]  # what a run loads first: lists, walked by the GC
heap.settle()
later = [[n] for n in range(10)]
walked = {id(o) for o in gc.get_objects()}
print(gc.get_freeze_count() >= 50_000, id(loaded) in walked, id(later) in walked,
      gc.get_threshold()[0] == heap.YOUNGEST)
"""


def test_what_is_loaded_before_the_work_is_never_walked_again():
    done = subprocess.run([sys.executable, "-c", SETTLED], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "True", "True"]


GIVEN_BACK = """
from edi278 import heap

def resident_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:"))

# A phase that frees most of what it made (blocks past pymalloc's 512 bytes come from
# glibc's heap), one block in 64 kept so that the free pages lie inside the heap, where
# free() alone never returns them.
made = [bytes(1500) for _ in range(100_000)]
kept = made[::64]
del made
before = resident_kib()
heap.give_back()
after = resident_kib()
print(before - after)
"""


def test_memory_a_phase_freed_is_given_back_to_the_system():
    done = subprocess.run([sys.executable, "-c", GIVEN_BACK], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 50_000  # KiB: of the ~150 MB freed, most was resident
