"""The compact source of our implementation-guide maps, read into a tree.

`schemas/src/*.map` holds each guide as an indented table that a person can review
line by line; `mapgen` turns it into pyx12's XML map format. One source serves both
directions of a guide: a usage written `R|S` is R in the request and S in the response,
`-` means absent, and codes written `= 13 | 11` differ the same way.

    loop <ID> <pos> <usage> <repeat> "<name>"      (repeat and max use may be REQ|RESP too)
      segment <ID> <pos> <usage> <max_use> "<name>"
        syntax <rule> ...
        <seq> <data element> <usage> "<name>" [= CODE ... [| CODE ...]]
        composite <seq> <C-number> <usage> "<name>"
          <seq> <data element> <usage> "<name>" [= CODE ...]
    syntax <segment ID> <rule> ...      (at the top: base-standard rules for every use)
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["request", "response"]
USAGES = frozenset("RSN-")


class MapSourceError(ValueError):
    def __init__(self, line_number: int, message: str) -> None:
        super().__init__(f"line {line_number}: {message}")
        self.line_number = line_number


@dataclass(frozen=True, slots=True)
class Usage:
    request: str
    response: str

    def of(self, direction: Direction) -> str:
        return self.request if direction == "request" else self.response


@dataclass(slots=True)
class ElementDef:
    seq: int
    data_element: str
    usage: Usage
    name: str
    codes: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # request, response

    def codes_of(self, direction: Direction) -> tuple[str, ...]:
        return self.codes[0] if direction == "request" else self.codes[1]


@dataclass(slots=True)
class CompositeDef:
    seq: int
    data_element: str
    usage: Usage
    name: str
    components: list[ElementDef] = field(default_factory=list)


def _count_of(count: str, direction: Direction) -> str:
    """A repeat or max use, written `N` or `REQ|RESP`."""
    request, _, response = count.partition("|")
    return request if direction == "request" or not response else response


@dataclass(slots=True)
class SegmentDef:
    id: str
    pos: int
    usage: Usage
    max_use: str  # a number, ">1", or REQ|RESP
    name: str
    syntax: list[str] = field(default_factory=list)
    elements: list[ElementDef | CompositeDef] = field(default_factory=list)

    def max_use_of(self, direction: Direction) -> str:
        return _count_of(self.max_use, direction)


@dataclass(slots=True)
class LoopDef:
    id: str
    pos: int
    usage: Usage
    repeat: str  # a number, ">1", or REQ|RESP
    name: str
    children: list[SegmentDef | LoopDef] = field(default_factory=list)

    def repeat_of(self, direction: Direction) -> str:
        return _count_of(self.repeat, direction)


@dataclass(slots=True)
class MapSource:
    loops: list[LoopDef]
    syntax: dict[str, list[str]]  # base-standard rules per segment ID


def _usage(token: str, line_number: int) -> Usage:
    parts = token.split("|")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(p in USAGES and len(p) == 1 for p in parts):
        raise MapSourceError(line_number, f"usage {token!r} is not R, S, N, - or REQ|RESP")
    return Usage(*parts)


def _codes(tokens: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if "|" in tokens:
        split = tokens.index("|")
        return tuple(tokens[:split]), tuple(tokens[split + 1 :])
    return tuple(tokens), tuple(tokens)


def _element(tokens: list[str], line_number: int) -> ElementDef:
    if len(tokens) < 4 or not tokens[0].isdigit():
        raise MapSourceError(line_number, 'an element is: <seq> <data element> <usage> "<name>"')
    codes: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    if len(tokens) > 4:
        if tokens[4] != "=":
            raise MapSourceError(line_number, f"expected '=' before codes, found {tokens[4]!r}")
        codes = _codes(tokens[5:])
    return ElementDef(int(tokens[0]), tokens[1], _usage(tokens[2], line_number), tokens[3], codes)


def parse(text: str) -> MapSource:
    top: list[LoopDef] = []
    syntax: dict[str, list[str]] = {}
    # (indent, node) from the outermost open loop to the innermost open item
    stack: list[tuple[int, LoopDef | SegmentDef | CompositeDef]] = []
    for line_number, raw in enumerate(text.splitlines(), start=1):
        try:
            tokens = shlex.split(raw, comments=True)
        except ValueError as error:
            raise MapSourceError(line_number, str(error)) from None
        if not tokens:
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else None
        keyword = tokens[0]
        if keyword == "syntax":
            if isinstance(parent, SegmentDef):
                parent.syntax.extend(tokens[1:])
            elif parent is None and len(tokens) > 2:
                syntax.setdefault(tokens[1], []).extend(tokens[2:])
            else:
                raise MapSourceError(line_number, "syntax belongs under a segment or at the top")
        elif keyword in ("loop", "segment"):
            if len(tokens) != 6:
                raise MapSourceError(
                    line_number, f'a {keyword} is: {keyword} <ID> <pos> <usage> <repeat> "<name>"'
                )
            _, node_id, pos, usage, repeat, name = tokens
            if not pos.isdigit():
                raise MapSourceError(line_number, f"position {pos!r} is not a number")
            node: LoopDef | SegmentDef
            if keyword == "loop":
                node = LoopDef(node_id, int(pos), _usage(usage, line_number), repeat, name)
            else:
                node = SegmentDef(node_id, int(pos), _usage(usage, line_number), repeat, name)
            if parent is None and isinstance(node, LoopDef):
                top.append(node)
            elif isinstance(parent, LoopDef):
                parent.children.append(node)
            else:
                raise MapSourceError(line_number, f"a {keyword} must be inside a loop")
            stack.append((indent, node))
        elif keyword == "composite":
            if not isinstance(parent, SegmentDef) or len(tokens) != 5:
                raise MapSourceError(
                    line_number,
                    'a composite is: composite <seq> <C-number> <usage> "<name>", inside a segment',
                )
            composite = CompositeDef(
                int(tokens[1]), tokens[2], _usage(tokens[3], line_number), tokens[4]
            )
            parent.elements.append(composite)
            stack.append((indent, composite))
        else:
            element = _element(tokens, line_number)
            if isinstance(parent, SegmentDef):
                parent.elements.append(element)
            elif isinstance(parent, CompositeDef):
                parent.components.append(element)
            else:
                raise MapSourceError(line_number, "an element must be inside a segment")
    return MapSource(top, syntax)
