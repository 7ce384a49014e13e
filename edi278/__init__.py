"""edi278: X12 278 (005010X217) health care services review.

The public surface is small: `examine` a stream of bytes into reports (with a `Guide`
for implementation-guide validation), `acknowledge` a report with TA1 and 999
interchanges, or `read_interchanges` for the segment tree.
"""

__version__ = "0.1.0"

from edi278.pipeline import Acknowledgements, acknowledge, examine
from edi278.x12.reader import read_interchanges

__all__ = [
    "Acknowledgements",
    "Guide",
    "__version__",
    "acknowledge",
    "examine",
    "read_interchanges",
]
