"""Placing each segment of a transaction set in the compiled map, counting loops and
segments as it goes, and noting what is missing, repeated too often or unknown.

This is pyx12's map walk (map_walker.walk_tree) over compiled nodes: the same order of
trying children, the same counters and the same findings, so that the 999 we build
from it is the one the pyx12 bridge builds. Where pyx12's behaviour is odd (a "not
used" finding lands on the segment before; a required segment's absence is noted only
once the walk has moved past its position) the oddity is kept, on purpose: the bridge
is the reference and a differential test holds the two together.
"""

from __future__ import annotations

from dataclasses import dataclass

from edi278.ig.compiled import LoopNode, SegmentNode

Node = LoopNode | SegmentNode
Elements = tuple[tuple[str, ...], ...]


@dataclass(slots=True)
class WalkFinding:
    """A finding of the walk. With `node`, pyx12 opens a new segment entry for it (named
    after that node, carrying `segment_id` and `count`); without, it lands on the entry
    open at the time."""

    code: str
    node: Node | None = None
    segment_id: str = ""
    count: int = 0


@dataclass(slots=True)
class _Missing:
    node: SegmentNode
    count: int


def _same(one: Node, other: Node) -> bool:
    """pyx12's node equality: the same ID under a parent of the same ID."""
    return (
        one.id == other.id
        and one.parent is not None
        and other.parent is not None
        and one.parent.id == other.parent.id
    )


class Walker:
    """The walk's memory between segments: how often each path was seen."""

    __slots__ = ("_found", "_missing", "counts")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._missing: list[_Missing] = []
        self._found: list[WalkFinding] = []

    def force_loop_start(self, loop: LoopNode, first: SegmentNode) -> None:
        """The envelope loops (ISA, GS) are entered without a walk, as pyx12's driver does."""
        self._reset_below(loop)
        self._increment(loop.path)
        self._increment(first.path)

    def walk(
        self, start: Node, segment_id: str, elements: Elements, count: int
    ) -> tuple[SegmentNode | None, list[WalkFinding]]:
        """The map node the segment stands at, walking on from `start`, and what the walk
        found on the way (None: the segment has no place from here)."""
        self._missing = []
        self._found = []
        loop = start if isinstance(start, LoopNode) else start.parent
        position = start.pos
        while True:
            placed = self._scan(loop, position, segment_id, elements, start, count)
            if placed is not None:
                return placed[0], self._found
            if loop.is_root:
                self._found.append(WalkFinding("1", start, segment_id, count))
                return None, self._found
            position = loop.pos
            loop = loop.parent if loop.parent is not None else loop

    def _reset_below(self, loop: LoopNode) -> None:
        counts = self.counts
        for path in loop.below:
            counts.pop(path, None)

    def _increment(self, path: str) -> None:
        self.counts[path] = self.counts.get(path, 0) + 1

    def _count(self, path: str) -> int:
        return self.counts.get(path, 0)

    def _scan(
        self,
        loop: LoopNode,
        position: int,
        segment_id: str,
        elements: Elements,
        start: Node,
        count: int,
    ) -> tuple[SegmentNode | None] | None:
        for child in loop.after(position):
            if isinstance(child, SegmentNode):
                if child.matches(segment_id, elements):
                    if not loop.is_root and self._loop_matches(loop, segment_id, elements, count):
                        return (self._enter(loop, segment_id, elements, count),)
                    self._increment(child.path)
                    self._check_segment_use(child, segment_id, count)
                    self._missing = [m for m in self._missing if not _same(m.node, child)]
                    self._flush(child.pos)
                    return (child,)
                if child.usage == "R" and self._count(child.path) < 1:
                    self._missing.append(_Missing(child, count))
            elif self._loop_matches(child, segment_id, elements, count):
                return (self._enter(child, segment_id, elements, count),)
        return None

    def _loop_matches(
        self, loop: LoopNode, segment_id: str, elements: Elements, count: int
    ) -> bool:
        first = loop.first
        if first is None:
            return False
        if isinstance(first, LoopNode):  # a wrapper: any loop inside it may start here
            return any(
                self._loop_matches(child, segment_id, elements, count)
                for child in loop.loop_children()
            )
        if first.matches(segment_id, elements):
            return True
        if loop.usage == "R" and self._count(loop.path) < 1:
            self._missing.append(_Missing(first, count))
        return False

    def _enter(
        self, loop: LoopNode, segment_id: str, elements: Elements, count: int
    ) -> SegmentNode | None:
        first = loop.first_segment
        if first is not None and first.matches(segment_id, elements):
            self._check_loop_use(loop, segment_id, count)
            self._increment(first.path)
            self._flush(None)
            return first
        for child in loop.loop_children():
            found = self._enter(child, segment_id, elements, count)
            if found is not None:
                return found
        return None

    def _check_segment_use(self, node: SegmentNode, segment_id: str, count: int) -> None:
        if node.usage == "N":
            self._found.append(WalkFinding("2"))
        elif self._count(node.path) > node.max_use:
            self._found.append(WalkFinding("5", node, segment_id, count))

    def _check_loop_use(self, loop: LoopNode, segment_id: str, count: int) -> None:
        if loop.usage == "N":
            self._found.append(WalkFinding("2"))
            return
        self._reset_below(loop)
        self._increment(loop.path)
        if self._count(loop.path) > loop.max_repeat:
            self._found.append(WalkFinding("4", loop, segment_id, count))

    def _flush(self, position: int | None) -> None:
        """Required segments passed over become findings, except those at the position
        the walk stands at, which a later segment there may still satisfy."""
        kept = []
        for missing in self._missing:
            if missing.node.pos != position:
                self._found.append(WalkFinding("3", missing.node, missing.node.id, missing.count))
            else:
                kept.append(missing)
        self._missing = kept
