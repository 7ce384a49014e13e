"""The garbage collector set for a long run.

What a run loads before its first interchange (the guide's compiled maps, the tables,
every module) lives as long as the process, yet CPython's full collections walk all
of it, again and again: 11 of them took a second of a 10,000-request `edi278 process`
(88 ms each, a pause no HTTP request should wait behind). Frozen, it is never walked
again. The youngest generation is swept every 10,000 allocations rather than 700:
most objects of an interchange die by reference count before a sweep would see them.
Together, collections went from 2.0 s to 0.65 s of that run.

And memory freed, given back between the phases of a long job: glibc keeps what Python
frees in its heaps for reuse, resident until `malloc_trim` hands the free pages back.
Checking one interchange of a million sets frees far more than it keeps (its segments,
one set after another), and answering it next needs memory of other sizes: without a
trim in between, the first phase's high water stays resident under the second's.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Callable
from functools import cache

YOUNGEST = 10_000  # allocations between sweeps of the youngest generation (CPython: 700)


def settle() -> None:
    """Call once loaded, before the work begins: what is alive now is kept out of every
    later collection."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST, middle, oldest)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    return getattr(ctypes.CDLL(None), "malloc_trim", None)  # None on a libc without it


def give_back() -> None:
    """Hand the heap's free pages back to the system (glibc); nothing elsewhere."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
