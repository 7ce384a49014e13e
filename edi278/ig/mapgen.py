"""Our map sources, rendered as pyx12 XML maps: one file per guide and direction.

python -m edi278.ig.mapgen          # rewrite the maps in schemas/ from schemas/src/
python -m edi278.ig.mapgen --check  # exit 1 when a checked-in map is out of date
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

from edi278.ig.mapsource import (
    CompositeDef,
    Direction,
    ElementDef,
    LoopDef,
    MapSource,
    SegmentDef,
    Usage,
    parse,
)

SCHEMAS = Path(__file__).parents[2] / "schemas"
ENVELOPE_SOURCE = "envelope.00501.map"
EXPLICIT_LOOPS = frozenset({"ISA_LOOP", "GS_LOOP", "ST_LOOP"})
WRAPPER_LOOPS = frozenset({"HEADER", "DETAIL", "FOOTER"})


@dataclass(frozen=True, slots=True)
class MapSpec:
    """One map to generate: a guide's source, a direction, and the file it becomes."""

    source: str
    output: str
    transaction: str
    guide: str
    direction: Direction
    title: str


def _both(guide: str, request: str, response: str) -> tuple[MapSpec, MapSpec]:
    """A guide's two maps, from one source: the request side and the response side."""
    source = f"278.5010.{guide}.map"
    return (
        MapSpec(
            source,
            f"278.5010.{guide}.xml",
            "278",
            f"005010{guide}",
            "request",
            f"HIPAA Health Care Services Review: {request} {guide}-278",
        ),
        MapSpec(
            source,
            f"278.5010.{guide}.response.xml",
            "278",
            f"005010{guide}",
            "response",
            f"HIPAA Health Care Services Review: {response} {guide}-278",
        ),
    )


MAPS = (
    *_both("X217", "Request for Review", "Response to Request for Review"),
    *_both("X215", "Inquiry", "Response to Inquiry"),
    *_both("X216", "Notification", "Notification Acknowledgment"),
)


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, tag).text = value


def _element(
    parent: ET.Element,
    xid: str,
    element: ElementDef,
    direction: Direction,
    substitutions: dict[str, str],
) -> None:
    node = ET.SubElement(parent, "element", xid=xid)
    _text(node, "data_ele", element.data_element)
    _text(node, "name", element.name)
    _text(node, "usage", element.usage.of(direction))
    _text(node, "seq", f"{element.seq:02d}")
    codes = [substitutions.get(code, code) for code in element.codes_of(direction)]
    if codes:
        valid = ET.SubElement(node, "valid_codes")
        for code in codes:
            _text(valid, "code", code)


def _segment(
    parent: ET.Element,
    segment: SegmentDef,
    direction: Direction,
    source: MapSource,
    substitutions: dict[str, str],
) -> None:
    node = ET.SubElement(parent, "segment", xid=segment.id)
    _text(node, "name", segment.name)
    _text(node, "usage", segment.usage.of(direction))
    _text(node, "pos", f"{segment.pos:04d}")
    _text(node, "max_use", segment.max_use_of(direction))
    for rule in [*source.syntax.get(segment.id, []), *segment.syntax]:
        _text(node, "syntax", rule)
    for item in segment.elements:
        if item.usage.of(direction) == "-":
            continue
        xid = f"{segment.id}{item.seq:02d}"
        if isinstance(item, CompositeDef):
            composite = ET.SubElement(node, "composite", xid=xid)
            _text(composite, "data_ele", item.data_element)
            _text(composite, "name", item.name)
            _text(composite, "usage", item.usage.of(direction))
            _text(composite, "seq", f"{item.seq:02d}")
            for component in item.components:
                if component.usage.of(direction) != "-":
                    _element(
                        composite, f"{xid}-{component.seq:02d}", component, direction, substitutions
                    )
        else:
            _element(node, xid, item, direction, substitutions)


def _loop(
    parent: ET.Element,
    loop: LoopDef,
    direction: Direction,
    source: MapSource,
    substitutions: dict[str, str],
    inside: list[LoopDef] | None = None,
) -> None:
    attributes = {"xid": loop.id}
    if loop.id in EXPLICIT_LOOPS:
        attributes["type"] = "explicit"
    elif loop.id in WRAPPER_LOOPS:
        attributes["type"] = "wrapper"
    node = ET.SubElement(parent, "loop", attributes)
    _text(node, "name", loop.name)
    _text(node, "usage", loop.usage.of(direction))
    _text(node, "pos", f"{loop.pos:04d}")
    _text(node, "repeat", loop.repeat_of(direction))
    for child in loop.children:
        if child.usage.of(direction) == "-":
            continue
        if isinstance(child, LoopDef):
            _loop(node, child, direction, source, substitutions, inside)
        else:
            _segment(node, child, direction, source, substitutions)
            if child.id == "ST" and inside:  # the guide's loops follow ST
                for guide_loop in inside:
                    _loop(node, guide_loop, direction, source, substitutions)


class MapShapeError(ValueError):
    pass


def check_shape(loops: list[LoopDef]) -> None:
    """What pyx12 assumes of a map and would otherwise fail on obscurely: positions that
    never decrease within a loop (pyx12 walks siblings by position; same-ID segments told
    apart by qualifier may share one), and every element position of a segment listed
    (unused ones as N)."""
    for loop in loops:
        positions = [child.pos for child in loop.children]
        if positions != sorted(positions):
            raise MapShapeError(f"loop {loop.id}: positions {positions} decrease")
        for child in loop.children:
            if isinstance(child, LoopDef):
                check_shape([child])
                continue
            sequence = [item.seq for item in child.elements]
            if sequence != list(range(1, len(sequence) + 1)):
                raise MapShapeError(
                    f"loop {loop.id}, segment {child.id}: element positions {sequence} are "
                    "not 1, 2, 3 ...; list unused positions with usage N"
                )
            for item in child.elements:
                if isinstance(item, CompositeDef):
                    components = [c.seq for c in item.components]
                    if components != list(range(1, len(components) + 1)):
                        raise MapShapeError(
                            f"loop {loop.id}, {child.id}{item.seq:02d}: component positions "
                            f"{components} are not 1, 2, 3 ..."
                        )


def render(spec: MapSpec, schemas: Path = SCHEMAS) -> str:
    guide = parse((schemas / "src" / spec.source).read_text())
    envelope = parse((schemas / "src" / ENVELOPE_SOURCE).read_text())
    check_shape(guide.loops)
    envelope.syntax.update(guide.syntax)
    _event_under_dependent(guide.loops)
    substitutions = {"@GUIDE": spec.guide, "@TRANSACTION": spec.transaction}
    root = ET.Element("transaction", xid=spec.transaction)
    _text(root, "name", spec.title)
    (isa_loop,) = envelope.loops
    _loop(root, isa_loop, spec.direction, envelope, substitutions, inside=guide.loops)
    ET.indent(root, space="  ")
    header = (
        f'<?xml version="1.0"?>\n<!-- Generated by edi278.ig.mapgen from schemas/src/'
        f"{spec.source} ({spec.direction}); edit the source, not this file. -->\n"
    )
    return header + ET.tostring(root, encoding="unicode") + "\n"


def _event_under_dependent(loops: list[LoopDef]) -> None:
    """The patient event (2000E) follows the subscriber, or the dependent when the patient
    is not the subscriber: the source writes 2000E once, under 2000C; the map needs it
    under 2000D too. Which place holds it depends on the data, so neither can be required
    in the map; the rule that every transaction has its event is checked in code."""
    subscriber = _find(loops, "2000C")
    if subscriber is None:
        return
    dependent = next(
        (c for c in subscriber.children if isinstance(c, LoopDef) and c.id == "2000D"), None
    )
    index, event = next(
        (
            (i, c)
            for i, c in enumerate(subscriber.children)
            if isinstance(c, LoopDef) and c.id == "2000E"
        ),
        (None, None),
    )
    if dependent is None or event is None or index is None:
        return
    event = replace(event, usage=Usage("S", "S"))
    subscriber.children[index] = event
    dependent.children.append(event)


def _find(loops: list[LoopDef], loop_id: str) -> LoopDef | None:
    for loop in loops:
        if loop.id == loop_id:
            return loop
        found = _find([c for c in loop.children if isinstance(c, LoopDef)], loop_id)
        if found is not None:
            return found
    return None


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--check", action="store_true", help="only report stale maps")
    arguments = options.parse_args(argv)
    stale = []
    for spec in MAPS:
        path = SCHEMAS / spec.output
        text = render(spec)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if not arguments.check:
            path.write_text(text)
    for path in stale:
        print(f"{'stale' if arguments.check else 'wrote'}: {path}")
    return 1 if arguments.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
