"""Implementation-guide validation: a 278 transaction set against the maps in schemas/
(X217, X215, X216; walked compiled or through pyx12) and the rules the map format cannot
express (in `rules`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from edi278.ig import rules, validator
from edi278.x12.faults import Fault, Level, Where, ik3, ik4
from edi278.x12.segment import Segment

SCHEMAS = Path(__file__).parents[2] / "schemas"

# (GS08, BHT02) -> map file. X217: 13 a request for review, 11 the response to one.
# X215: 28 an inquiry (13 is seen only in bogus public code), 11 the response we send,
# 49 a response seen in one public sample (docs/research/x215-x216.md 2.1).
# X216 (notification) is mapped as far as the reference supports it; the envelope
# checks take X217 and X215 (x12.checks.SUPPORTED_CONVENTIONS).
MAPS = {
    ("005010X217", "13"): "278.5010.X217.xml",
    ("005010X217", "11"): "278.5010.X217.response.xml",
    ("005010X215", "28"): "278.5010.X215.xml",
    ("005010X215", "11"): "278.5010.X215.response.xml",
    ("005010X215", "49"): "278.5010.X215.response.xml",
    ("005010X216", "14"): "278.5010.X216.xml",
    ("005010X216", "22"): "278.5010.X216.xml",
    ("005010X216", "CN"): "278.5010.X216.xml",
    ("005010X216", "11"): "278.5010.X216.response.xml",
}
RESPONSE_MAP = ".response.xml"  # how a response map's file name ends
EXCESS_LIMIT = 4096  # composite segments whose component counts a catalog remembers


@dataclass(slots=True)
class Catalog:
    """What a map defines, for naming faults better than pyx12 does: each segment ID
    with the codes its first element may take (None: any value), and how many
    components each element position may carry (1 for a simple element)."""

    qualifiers: dict[str, set[str] | None] = field(default_factory=dict)
    qualifier_elements: dict[str, str] = field(default_factory=dict)  # its data element
    components: dict[tuple[str, int], int] = field(default_factory=dict)
    # `excess` remembered by segment: composites of a batch repeat (bounded, cleared)
    _excesses: dict[tuple[str, tuple], tuple[tuple[int, int, int], ...]] = field(
        default_factory=dict
    )

    def excess(self, segment_id: str, elements: tuple) -> tuple[tuple[int, int, int], ...]:
        """Each element of a segment with more components than the guide allows it:
        (position, components given, components allowed)."""
        key = (segment_id, elements)
        found = self._excesses.get(key)
        if found is None:
            found = tuple(self._excess(segment_id, elements))
            if len(self._excesses) >= EXCESS_LIMIT:
                self._excesses.clear()
            self._excesses[key] = found
        return found

    def _excess(self, segment_id: str, elements: tuple) -> Iterator[tuple[int, int, int]]:
        for index, element in enumerate(elements, start=1):
            if len(element) == 1 and len(element[0]) == 1:
                continue  # one value: no guide element allows fewer
            allowed = self.components.get((segment_id, index))
            given = max(map(len, element))
            if allowed is not None and given > allowed:
                yield index, given, allowed

    @classmethod
    def of(cls, path: Path) -> Catalog:
        catalog = cls()
        for segment in ET.parse(path).getroot().iter("segment"):
            segment_id = segment.get("xid", "")
            first = segment.find("element[seq='01']")
            if first is None:  # a composite first element: its first component qualifies
                first = segment.find("composite[seq='01']/element[seq='01']")
            if first is None:  # a composite first element: its first component qualifies
                first = segment.find("composite[seq='01']/element[seq='01']")
            codes = {c.text or "" for c in first.iter("code")} if first is not None else set()
            if first is not None:
                catalog.qualifier_elements[segment_id] = first.findtext("data_ele") or ""
            known = catalog.qualifiers.get(segment_id, set())
            catalog.qualifiers[segment_id] = None if known is None or not codes else known | codes
            for item in segment:
                if item.tag in ("element", "composite"):
                    position = int(item.findtext("seq") or 0)
                    count = len(item.findall("element")) if item.tag == "composite" else 1
                    key = (segment_id, position)
                    catalog.components[key] = max(count, catalog.components.get(key, 0))
        return catalog


ENGINES = ("compiled", "pyx12")


class Guide:
    """Validates transaction sets; loads each map once, on first use.

    `engine` "compiled" (the default) walks maps compiled by `edi278.ig.compiled`;
    "pyx12" walks them with pyx12, the reference the compiled engine is tested
    against. The compiled engine hands pyx12 the rare set it cannot read as pyx12
    would (a repeated element, data colliding with every delimiter set)."""

    def __init__(self, schemas: Path = SCHEMAS, engine: str = "compiled") -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        self.schemas = schemas
        self.engine = engine
        self._maps: dict[str, Any] = {}
        self._compiled: dict[str, Any] = {}
        self._catalogs: dict[str, Catalog] = {}
        self._catalog_sets: dict[str, tuple[Catalog, list[Catalog]]] = {}

    def _map(self, filename: str) -> Any:
        if filename not in self._maps:
            from edi278.ig import bridge  # pyx12 is imported only when a guide is used

            self._maps[filename] = bridge.load_map(self.schemas / filename)
        return self._maps[filename]

    def _compiled_map(self, filename: str) -> Any:
        if filename not in self._compiled:
            from edi278.ig import compiled

            self._compiled[filename] = compiled.load(self.schemas / filename)
        return self._compiled[filename]

    def warm(self, guide: str = "005010X217") -> None:
        """Load the maps of a guide (GS08), both directions, now rather than on the first
        set that needs them: a server calls it before it takes requests, so that its
        first caller does not wait for them (about 400 ms)."""
        maps = _maps_of(guide)
        for filename in dict.fromkeys(maps):
            if self.engine == "compiled":
                self._compiled_map(filename)
            else:
                self._map(filename)
            self._catalogs_of(filename, maps)

    def walk(
        self, filename: str, isa: Segment, gs: Segment, segments: list[Segment]
    ) -> tuple[list[Fault], dict[int, str | None]]:
        """What the map walk finds, before our refinements: the engines' common ground."""
        if self.engine == "compiled":
            found = validator.validate(self._compiled_map(filename), isa, gs, segments)
            if found is not None:
                return found
        return self._bridge_walk(filename, isa, gs, segments)

    def _bridge_walk(
        self, filename: str, isa: Segment, gs: Segment, segments: list[Segment]
    ) -> tuple[list[Fault], dict[int, str | None]]:
        from edi278.ig import bridge  # pyx12 is imported only when it is asked

        return bridge.validate(self._map(filename), isa, gs, segments)

    def _catalog(self, filename: str) -> Catalog:
        if filename not in self._catalogs:
            self._catalogs[filename] = Catalog.of(self.schemas / filename)
        return self._catalogs[filename]

    def _catalogs_of(self, filename: str, maps: tuple[str, ...]) -> tuple[Catalog, list[Catalog]]:
        """The map's catalog and those of the guide's other direction, where a segment
        only they use is "not used" here (I4). Kept: every set asks."""
        found = self._catalog_sets.get(filename)
        if found is None:
            others = [self._catalog(f) for f in dict.fromkeys(maps) if f != filename]
            found = self._catalog_sets[filename] = (self._catalog(filename), others)
        return found

    def validate(self, isa: Segment, gs: Segment, segments: list[Segment]) -> list[Fault]:
        """Faults of one transaction set (ST..SE), ordered by position."""
        bht = segments[1] if len(segments) > 1 and segments[1].id == "BHT" else None
        purpose = bht.value(2) if bht else ""
        guide = gs.value(8)
        filename = MAPS.get((guide, purpose))
        if bht is not None and filename is None:
            return [
                ik3(
                    "8",
                    f"BHT02 is not a purpose of this guide ({_purposes_of(guide)})",
                    segment_id="BHT",
                    segment_position=2,
                ),
                ik4(
                    "7",
                    "BHT02 is not a purpose this guide knows",
                    segment_id="BHT",
                    segment_position=2,
                    element=2,
                    data_element="353",
                    bad_value=purpose,
                ),
            ]
        maps = _maps_of(guide)
        if not maps:
            raise ValueError(f"no map for {guide!r}: the envelope checks take only mapped guides")
        filename = filename or maps[0]  # no BHT: the request side names what is missing
        catalog, others = self._catalogs_of(filename, maps)
        # the compiled engine reads every segment once, for the walk and what the
        # component counts and the rules look at; None: pyx12 is to read the set
        compiled = self._compiled_map(filename) if self.engine == "compiled" else None
        read = validator.read_set(compiled, isa, gs, segments) if compiled else None
        composites = read.composites if read is not None else None
        found = too_many_components(segments, catalog, composites)
        loop_at: dict[int, str | None] = {}
        if not found:  # pyx12 cannot read a composite longer than its map (IndexError)
            if compiled is not None and read is not None:
                raw, loop_at = validator.walk(compiled, read)
            else:
                raw, loop_at = self._bridge_walk(filename, isa, gs, segments)
            found = renamed(raw, segments, catalog, others)
        found += rules.check(
            segments,
            response=filename.endswith(RESPONSE_MAP),
            guide=guide,
            positions=read.scanned if read is not None else None,
        )
        if not found:
            return found
        return _ordered(_unique([_locate(f, segments, loop_at) for f in found]))


@lru_cache(maxsize=16)
def _purposes_of(guide: str) -> str:
    """The BHT02 codes a guide (GS08) takes, for a fault's message: "28 request; 11, 49
    response"."""
    sides: dict[str, list[str]] = {"request": [], "response": []}
    for (convention, purpose), filename in MAPS.items():
        if convention == guide:
            sides["response" if filename.endswith(RESPONSE_MAP) else "request"].append(purpose)
    named = [f"{', '.join(codes)} {side}" for side, codes in sides.items() if codes]
    return f"{guide[-4:]}: {'; '.join(named)}" if named else f"{guide!r} has no map"


@lru_cache(maxsize=16)
def _maps_of(guide: str) -> tuple[str, ...]:
    """The map files of a guide (GS08), request side first."""
    return tuple(f for (convention, _), f in MAPS.items() if convention == guide)


def too_many_components(
    segments: list[Segment], catalog: Catalog, composites: list[int] | None = None
) -> list[Fault]:
    """IK403 13 for an element with more components than the guide gives it.
    `composites`, when given, are the positions (from ST = 1) of every segment that is
    not `simple`: only those can have one."""
    faults: list[Fault] = []
    if composites is None:
        composites = [p for p, s in enumerate(segments, start=1) if not s.simple]
    for position in composites:
        segment = segments[position - 1]
        for index, given, allowed in catalog.excess(segment.id, segment.elements):
            where: Where = {"segment_id": segment.id, "segment_position": position}
            faults += [
                ik3("8", "segment has data element errors", **where),
                ik4(
                    "13",
                    f"{segment.id}{index:02d} has {given} components, the guide allows {allowed}",
                    element=index,
                    **where,
                ),
            ]
    return faults


def renamed(
    faults: list[Fault], segments: list[Segment], catalog: Catalog, others: list[Catalog]
) -> list[Fault]:
    """pyx12 calls every segment it cannot place "not found" (IK304 1). Say more where
    we can: a known segment whose qualifier (first element) is not one the guide lists
    gets IK304 8 with IK403 7 on that element; a known one in the wrong place IK304 7
    (not in proper sequence); one this direction of the guide does not use (HCR in a
    request) IK304 I4. The "mandatory segment missing" pyx12 adds after a segment with a
    bad qualifier is dropped: the segment is there, its code is what is wrong."""
    kept: list[Fault] = []
    requalified: set[str] = set()
    lost_at = 0  # an HL pyx12 could not place: its level's segments cannot be placed either
    for fault in faults:
        position = fault.segment_position or 0
        if fault.level is Level.SEGMENT and fault.code == "1" and 0 < position <= len(segments):
            segment = segments[position - 1]
            if segment.id == "HL" and segment.value(3) not in rules.PARENT_LEVELS:
                lost_at = position
                continue  # the rules name the bad HL03
            if lost_at and not any(s.id == "HL" for s in segments[lost_at : position - 1]):
                continue
            where: Where = {
                "segment_id": segment.id,
                "segment_position": position,
                "loop_id": fault.loop_id,
            }
            codes = catalog.qualifiers.get(segment.id, set())
            if segment.id not in catalog.qualifiers:
                if any(segment.id in other.qualifiers for other in others):
                    kept.append(
                        ik3(
                            "I4",
                            f"{segment.id} is not used in this direction of the guide",
                            **where,
                        )
                    )
                    continue
            elif codes is not None and segment.value(1) not in codes:
                requalified.add(segment.id)
                kept += [
                    ik3("8", "segment has data element errors", **where),
                    ik4(
                        "7",
                        f"{segment.id}01: not a code the guide lists",
                        element=1,
                        component=1 if len(segment.element(1)[0]) > 1 else None,
                        data_element=catalog.qualifier_elements.get(segment.id),
                        bad_value=segment.value(1),
                        **where,
                    ),
                ]
                continue
            else:
                kept.append(ik3("7", f"{segment.id} is not in its proper place", **where))
                continue
        if fault.level is Level.SEGMENT and fault.code == "3" and fault.segment_id in requalified:
            continue
        kept.append(fault)
    return kept


def _locate(fault: Fault, segments: list[Segment], loop_at: dict[int, str | None]) -> Fault:
    """Add what the guide stages do not know: the guide loop from the map walk, and where
    in the file the segment is."""
    position = fault.segment_position or 0
    if not 0 < position <= len(segments):
        return fault
    segment = segments[position - 1]
    loop_id = loop_at.get(position) if fault.loop_id is None else fault.loop_id
    return fault.at(loop_id=loop_id, file_segment=segment.file_segment, offset=segment.offset)


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
