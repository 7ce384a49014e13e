"""The collector settled for a long run (edi278.heap), in a fresh interpreter each."""

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
