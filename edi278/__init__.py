"""edi278: X12 278 (005010X217) health care services review.

The public surface is small: `examine` a stream of bytes into reports (with a `Guide`
for implementation-guide validation), `acknowledge` a report with TA1 and 999
interchanges, or `read_interchanges` for the segment tree.

They are imported when first asked for, so that importing one module of the package
(the tokenizer, say) does not load all of it: the guide, the model, the engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from edi278.ig import Guide
    from edi278.pipeline import Acknowledgements, acknowledge, examine
    from edi278.x12.reader import read_interchanges

_PUBLIC = {
    "Acknowledgements": "edi278.pipeline",
    "Guide": "edi278.ig",
    "acknowledge": "edi278.pipeline",
    "examine": "edi278.pipeline",
    "read_interchanges": "edi278.x12.reader",
}

__all__ = [
    "Acknowledgements",
    "Guide",
    "__version__",
    "acknowledge",
    "examine",
    "read_interchanges",
]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'edi278' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value  # asked once
    return value
