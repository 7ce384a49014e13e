"""Implementation-guide validation: a 278 transaction set against the X217 maps in
schemas/ (through pyx12) and the rules the map format cannot express (in `rules`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edi278.ig import rules
from edi278.x12.faults import Fault, ik3, ik4
from edi278.x12.segment import Segment

SCHEMAS = Path(__file__).parents[2] / "schemas"

# (GS08, BHT02) -> map file; BHT02 13 is a request for review, 11 the response to one.
MAPS = {
    ("005010X217", "13"): "278.5010.X217.xml",
    ("005010X217", "11"): "278.5010.X217.response.xml",
}


class Guide:
    """Validates transaction sets; loads each map once, on first use."""

    def __init__(self, schemas: Path = SCHEMAS) -> None:
        self.schemas = schemas
        self._maps: dict[str, Any] = {}

    def _map(self, filename: str) -> Any:
        if filename not in self._maps:
            from edi278.ig import bridge  # pyx12 is imported only when a guide is used

            self._maps[filename] = bridge.load_map(self.schemas / filename)
        return self._maps[filename]

    def validate(self, isa: Segment, gs: Segment, segments: list[Segment]) -> list[Fault]:
        """Faults of one transaction set (ST..SE), ordered by position."""
        bht = segments[1] if len(segments) > 1 and segments[1].id == "BHT" else None
        purpose = bht.value(2) if bht else ""
        filename = MAPS.get((gs.value(8), purpose))
        if bht is not None and filename is None:
            return [
                ik3(
                    "8",
                    "BHT02 must be 13 (request) or 11 (response)",
                    segment_id="BHT",
                    segment_position=2,
                ),
                ik4(
                    "7",
                    f"BHT02 {purpose!r} is not a purpose this guide knows",
                    segment_id="BHT",
                    segment_position=2,
                    element=2,
                    data_element="353",
                    bad_value=purpose,
                ),
            ]
        from edi278.ig import bridge

        filename = filename or MAPS[(gs.value(8), "13")]
        found = bridge.validate(self._map(filename), isa, gs, segments)
        found += rules.check(segments, response=purpose == "11")
        return _ordered(_unique(found))


def _unique(faults: list[Fault]) -> list[Fault]:
    seen: set[tuple[object, ...]] = set()
    kept = []
    for fault in faults:
        key = (fault.level, fault.code, fault.segment_position, fault.element, fault.component)
        if key not in seen:
            seen.add(key)
            kept.append(fault)
    return kept


def _ordered(faults: list[Fault]) -> list[Fault]:
    return sorted(faults, key=lambda f: (f.segment_position or 0, f.level != "segment"))
