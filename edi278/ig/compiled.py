"""A guide map compiled once into plain objects the validator walks without XML.

The map files in schemas/ are read here, not by pyx12: loops keep their children by
position (pyx12 tries them in that order), each segment knows how to recognise itself
(its ID and, where the map gives one, the qualifier codes of its key element), and each
element carries its data type and lengths from the X12 data element dictionary that
pyx12 ships (`dataele.xml`; the maps name elements by number, as pyx12's own do).
Counter keys are the paths pyx12 counts by, so the two validators count alike.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

MAXINT = 2**31 - 1  # "unbounded" repeat, as pyx12 counts it


@dataclass(slots=True, frozen=True)
class DataElement:
    data_type: str | None
    min_len: int
    max_len: int


@lru_cache(maxsize=1)
def data_elements() -> dict[str, DataElement]:
    """The X12 data element dictionary pyx12 validates lengths and types by."""
    source = files("pyx12").joinpath("map", "dataele.xml").read_bytes()
    return {
        node.get("ele_num", ""): DataElement(
            node.get("data_type"), int(node.get("min_len", "0")), int(node.get("max_len", "0"))
        )
        for node in ET.fromstring(source).iter("data_ele")
    }


def _text(node: ET.Element, name: str) -> str | None:
    """An attribute or, failing that, a child element's text: the map allows both."""
    return node.get(name) or node.findtext(name)


def _repeat(value: str | None) -> int:
    return MAXINT if value is None or value in (">1", "&gt;1") else int(value)


@dataclass(slots=True, eq=False)
class ElementRule:
    """A simple element, or a component of a composite."""

    seq: int
    name: str
    usage: str
    data_element: str
    data_type: str | None
    min_len: int
    max_len: int
    codes: frozenset[str]
    codes_in_order: tuple[str, ...]
    position: int  # element position in the segment (the composite's, for a component)
    component: int | None  # position in the composite, None for a simple element
    in_composite: bool = False
    composite_required: bool = False
    # values already known to pass every check of this element (filled by content)
    known_good: set[str] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class CompositeRule:
    seq: int
    name: str
    usage: str
    components: tuple[ElementRule, ...]


@dataclass(slots=True, eq=False)
class SegmentNode:
    id: str
    name: str
    usage: str
    pos: int
    max_use: int
    path: str
    parent: LoopNode
    elements: tuple[ElementRule | CompositeRule, ...]
    syntax: tuple[tuple[str, tuple[int, ...]], ...]
    # how a data segment is recognised as this one: the key element (position, component
    # or None) and the codes it must hold; None when the ID alone decides
    key: tuple[int, int | None, frozenset[str]] | None = None
    # the index of its (first) reference identifier (data element 127, no codes: BHT03,
    # TRN02), which differs in every set: the validator checks it on its own
    identifier: int | None = None
    is_segment: bool = True

    def matches(self, segment_id: str, elements: tuple[tuple[str, ...], ...]) -> bool:
        if segment_id != self.id:
            return False
        if self.key is None:
            return True
        position, component, codes = self.key
        if position > len(elements):
            return False
        components = elements[position - 1]
        if component is None:
            return whole(components) in codes
        return component <= len(components) and components[component - 1] in codes


@dataclass(slots=True, eq=False)
class LoopNode:
    id: str
    name: str
    usage: str
    pos: int
    max_repeat: int
    path: str
    parent: LoopNode | None
    is_root: bool = False
    children: list[LoopNode | SegmentNode] = field(default_factory=list)
    # the paths of everything below, which entering the loop again forgets the counts of
    below: tuple[str, ...] = ()
    positions: list[int] = field(default_factory=list)
    _after: dict[int, tuple[LoopNode | SegmentNode, ...]] = field(default_factory=dict)
    is_segment: bool = False

    @property
    def first(self) -> LoopNode | SegmentNode | None:
        return self.children[0] if self.children else None

    @property
    def first_segment(self) -> SegmentNode | None:
        first = self.first
        return first if isinstance(first, SegmentNode) else None

    def after(self, pos: int) -> tuple[LoopNode | SegmentNode, ...]:
        """The children at position `pos` or later, in the order they are tried."""
        found = self._after.get(pos)
        if found is None:
            start = bisect_left(self.positions, pos)
            found = self._after[pos] = tuple(self.children[start:])
        return found

    def loop_children(self) -> list[LoopNode]:
        return [child for child in self.children if isinstance(child, LoopNode)]


def whole(components: tuple[str, ...]) -> str | None:
    """An element's value as one string, as pyx12 reads a simple element: trailing empty
    components dropped; None when components remain, which no code can equal."""
    last = len(components)
    while last > 1 and components[last - 1] == "":
        last -= 1
    return components[0] if last <= 1 else None


@dataclass(slots=True)
class CompiledMap:
    root: LoopNode
    nodes: dict[str, LoopNode | SegmentNode]  # by path
    icvn: str
    # per segment ID, the (element, component) positions its nodes are recognised by
    keys: dict[str, tuple[tuple[int, int | None], ...]] = field(default_factory=dict)
    # per segment ID keyed by one simple element (or a first component), that element's
    # index: for a segment without composites, the text its nodes are recognised by
    text_keys: dict[str, int] = field(default_factory=dict)
    # What the validator remembers between sets: walks by shape, findings by segment,
    # and what a segment reads as, by its ID and texts. Their keys and values are the
    # validator's own tuples (validator._Facts, _Route): Any here, typed where read.
    routes: dict[Any, Any] = field(default_factory=dict)
    checked: dict[Any, Any] = field(default_factory=dict)
    seen: dict[Any, Any] = field(default_factory=dict)
    # per segment ID whose every node has its reference identifier (`SegmentNode.
    # identifier`) at one index, no key element's: that index
    identifiers: dict[str, int] = field(default_factory=dict)

    def node(self, path: str) -> LoopNode | SegmentNode:
        return self.nodes[path]


def _element(node: ET.Element, position: int, component: int | None) -> ElementRule:
    number = _text(node, "data_ele") or ""
    definition = data_elements().get(number)
    if definition is None:
        raise ValueError(f"data element {number!r} of {node.get('xid')} is not in dataele.xml")
    listed = node.find("valid_codes")
    codes = tuple(c.text or "" for c in listed.findall("code")) if listed is not None else ()
    return ElementRule(
        seq=int(_text(node, "seq") or 0),
        name=_text(node, "name") or "",
        usage=_text(node, "usage") or "",
        data_element=number,
        data_type=definition.data_type,
        min_len=definition.min_len,
        max_len=definition.max_len,
        codes=frozenset(codes),
        codes_in_order=codes,
        position=position,
        component=component,
    )


def _composite(node: ET.Element) -> CompositeRule:
    seq = int(_text(node, "seq") or 0)
    usage = _text(node, "usage") or ""
    components = tuple(
        _element(child, seq, int(_text(child, "seq") or 0)) for child in node.findall("element")
    )
    for component in components:
        component.in_composite = True
        component.composite_required = usage == "R"
    return CompositeRule(seq, _text(node, "name") or "", usage, components)


def _syntax(text: str | None) -> tuple[str, tuple[int, ...]] | None:
    if not text or text[0] not in "PRCLE":
        return None
    body = text[1:]
    return text[0], tuple(int(body[i * 2 : i * 2 + 2]) for i in range(len(body) // 2))


def _key(elements: tuple[ElementRule | CompositeRule, ...], segment_id: str):
    """The element pyx12 recognises a segment by (segment_if.is_match)."""
    first = elements[0] if elements else None
    third = elements[2] if len(elements) > 2 else None
    second = elements[1] if len(elements) > 1 else None
    required = isinstance(first, ElementRule) and first.usage == "R"
    if required and isinstance(first, ElementRule) and first.data_type == "ID" and first.codes:
        return (1, None, first.codes)
    is_ent = segment_id == "ENT"
    if is_ent and isinstance(second, ElementRule) and second.data_type == "ID" and second.codes:
        return (2, None, second.codes)
    if isinstance(first, CompositeRule) and first.components:
        lead = first.components[0]
        if segment_id == "CTX" and lead.data_type == "AN" and lead.codes:
            return (1, 1, lead.codes)
        if lead.data_type == "ID" and lead.codes:
            return (1, 1, lead.codes)
    if segment_id == "HL" and isinstance(third, ElementRule) and third.codes:
        return (3, None, third.codes)
    return None


def _first_code(node: ET.Element, segment_id: str) -> str | None:
    """The first listed code of the element pyx12 keys same-position segments by."""
    children = {
        int(_text(child, "seq") or 0): child
        for child in node
        if child.tag in ("element", "composite")
    }
    ordered = [children[k] for k in sorted(children)]

    def codes_of(element: ET.Element | None) -> list[str]:
        found = element.find("valid_codes") if element is not None else None
        return [c.text or "" for c in found.findall("code")] if found is not None else []

    def data_type(element: ET.Element | None) -> str | None:
        if element is None or element.tag != "element":
            return None
        definition = data_elements().get(_text(element, "data_ele") or "")
        return definition.data_type if definition else None

    first = ordered[0] if ordered else None
    second = ordered[1] if len(ordered) > 1 else None
    third = ordered[2] if len(ordered) > 2 else None
    if (
        first is not None
        and first.tag == "element"
        and data_type(first) == "ID"
        and codes_of(first)
    ):
        return codes_of(first)[0]
    if segment_id == "ENT" and data_type(second) == "ID" and codes_of(second):
        return codes_of(second)[0]
    if first is not None and first.tag == "composite":
        lead = first.find("element")
        if data_type(lead) == "ID" and codes_of(lead):
            return codes_of(lead)[0]
    if segment_id == "HL" and third is not None and third.tag == "element" and codes_of(third):
        return codes_of(third)[0]
    return None


def _segment(node: ET.Element, parent: LoopNode) -> SegmentNode:
    segment_id = node.get("xid") or ""
    items: dict[int, ElementRule | CompositeRule] = {}
    for child in node:
        if child.tag == "element":
            seq = int(_text(child, "seq") or 0)
            items[seq] = _element(child, seq, None)
        elif child.tag == "composite":
            composite = _composite(child)
            items[composite.seq] = composite
    elements = tuple(items[k] for k in sorted(items))
    if [e.seq for e in elements] != list(range(1, len(elements) + 1)):
        raise ValueError(f"{segment_id}: element positions must run 1, 2, 3 without gaps")
    syntax = tuple(s for s in (_syntax(n.text) for n in node.findall("syntax")) if s)
    return SegmentNode(
        id=segment_id,
        name=_text(node, "name") or "",
        usage=_text(node, "usage") or "",
        pos=int(_text(node, "pos") or 0),
        max_use=_repeat(_text(node, "max_use")),
        path="",
        parent=parent,
        elements=elements,
        syntax=syntax,
        key=_key(elements, segment_id),
        identifier=_identifier(elements, segment_id),
    )


def _identifier(elements: tuple[ElementRule | CompositeRule, ...], segment_id: str) -> int | None:
    """See `SegmentNode.identifier`; none in DTP, whose values qualify one another. Of
    two (TRN02, the trace number, and TRN04), the first: the other is checked with the
    rest of the segment, as any element is."""
    found = [
        index
        for index, rule in enumerate(elements)
        if isinstance(rule, ElementRule) and rule.data_element == "127" and not rule.codes
    ]
    return found[0] if found and segment_id != "DTP" else None


def _loop(node: ET.Element, parent: LoopNode | None, is_root: bool = False) -> LoopNode:
    loop = LoopNode(
        id=node.get("xid") or "",
        name=_text(node, "name") or "",
        usage=_text(node, "usage") or "",
        pos=int(_text(node, "pos") or 0) if not is_root else 0,
        max_repeat=_repeat(_text(node, "repeat")),
        path="/" if is_root else "",
        parent=parent,
        is_root=is_root,
    )
    # pyx12 files loops before segments at one position, each in document order
    by_position: dict[int, list[tuple[LoopNode | SegmentNode, ET.Element]]] = {}
    for child in node.findall("loop"):
        built = _loop(child, loop)
        by_position.setdefault(built.pos, []).append((built, child))
    for child in node.findall("segment"):
        segment = _segment(child, loop)
        by_position.setdefault(segment.pos, []).append((segment, child))
    for pos in sorted(by_position):
        for placed, source in by_position[pos]:
            placed.path = placed.id
            if isinstance(placed, SegmentNode) and len(by_position[pos]) > 1:
                code = _first_code(source, placed.id)
                if code is not None:
                    placed.path = f"{placed.id}[{code}]"
            loop.children.append(placed)
            loop.positions.append(pos)
    return loop


def _paths(loop: LoopNode, prefix: str, nodes: dict[str, LoopNode | SegmentNode]) -> list[str]:
    """Give every node its full path (as pyx12 counts it) and every loop the paths
    below it; returns the paths at and below `loop`."""
    found: list[str] = []
    for child in loop.children:
        child.path = f"{prefix}/{child.path}"
        nodes.setdefault(child.path, child)
        found.append(child.path)
        if isinstance(child, LoopNode):
            below = _paths(child, child.path, nodes)
            child.below = tuple(dict.fromkeys(below))
            found += below
    return found


def compile_map(path: Path) -> CompiledMap:
    root_node = ET.parse(path).getroot()
    root = _loop(root_node, None, is_root=True)
    nodes: dict[str, LoopNode | SegmentNode] = {}
    root.below = tuple(dict.fromkeys(_paths(root, "", nodes)))
    keys: dict[str, dict[tuple[int, int | None], None]] = {}
    for node in nodes.values():
        if isinstance(node, SegmentNode):
            specs = keys.setdefault(node.id, {})
            if node.key is not None:
                specs[node.key[:2]] = None
    # pyx12 checks characters by the version its map lists first in ISA12
    specs_of = {segment_id: tuple(specs) for segment_id, specs in keys.items()}
    return CompiledMap(
        root,
        nodes,
        _first_listed(root_node) or "00401",
        specs_of,
        {
            segment_id: specs[0][0] - 1
            for segment_id, specs in specs_of.items()
            if len(specs) == 1 and specs[0][1] in (None, 1)
        },
        identifiers=_identifiers(nodes, specs_of),
    )


def _identifiers(
    nodes: dict[str, LoopNode | SegmentNode], keys: dict[str, tuple[tuple[int, int | None], ...]]
) -> dict[str, int]:
    """See `CompiledMap.identifiers`."""
    found: dict[str, set[int | None]] = {}
    for node in nodes.values():
        if isinstance(node, SegmentNode):
            found.setdefault(node.id, set()).add(node.identifier)
    return {
        segment_id: at
        for segment_id, indexes in found.items()
        if len(indexes) == 1
        and (at := next(iter(indexes))) is not None
        and all(position != at + 1 for position, _ in keys.get(segment_id, ()))
    }


def _first_listed(root: ET.Element) -> str:
    """ISA12's first listed code: the interchange version pyx12 validates characters by."""
    for segment in root.iter("segment"):
        if segment.get("xid") == "ISA":
            for element in segment.findall("element"):
                if (_text(element, "seq") or "") == "12":
                    code = element.find("valid_codes/code")
                    return code.text or "" if code is not None else ""
    return ""


@lru_cache(maxsize=16)
def _compiled(path: str, modified: float) -> CompiledMap:
    return compile_map(Path(path))


def load(path: Path) -> CompiledMap:
    """A map compiled once per file version."""
    return _compiled(str(path), path.stat().st_mtime)
