"""The bridge to pyx12: the only module that imports it.

pyx12 walks a transaction set through one of our maps and notes what it finds in an
error tree; we read that tree into our own Fault records, so that the 999 is built by
our builder with our control numbers (pyx12's own 999 writer takes ISA13 from the clock
and GS06 at random). Anything pyx12 raises on hostile input becomes a rejection of the
transaction set with the reason, never a traceback.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyx12.error_handler
import pyx12.errors
import pyx12.map_if
import pyx12.params
import pyx12.x12file
from pyx12.map_if._segment import apply_segment_errors
from pyx12.map_walker import apply_walk_errors, walk_tree

from edi278 import log
from edi278.ig.codes import ELEMENT_CODES, SEGMENT_CODES
from edi278.x12.delimiters import Delimiters
from edi278.x12.faults import Fault, ik3, ik4, ik5
from edi278.x12.segment import Segment
from edi278.x12.writer import write

# pyx12 logs each finding with the bad value in it: member data must not reach a log.
log.silence("pyx12")

# Delimiter sets to hand pyx12, the first whose characters the data does not use.
_CANDIDATES = (
    Delimiters("*", "^", ":", "~"),
    Delimiters("|", "!", ">", "~"),
    Delimiters("\x1d", "\x1f", "\x1e", "\x1c"),  # ASCII separators: never in valid data
)


@lru_cache(maxsize=8)
def _load(path: str, modified: float) -> Any:
    """A map parsed once per file version: pyx12 would re-read it for every file."""
    root = ET.parse(path).getroot()
    return pyx12.map_if.map_if(root, pyx12.params.params(), None)


def load_map(path: Path) -> Any:
    return _load(str(path), path.stat().st_mtime)


def _delimiters_for(segments: list[Segment]) -> Delimiters:
    """The first candidate none of whose characters the data uses, segment IDs included
    (a junk ID holding "*" would otherwise be split by pyx12 into an ID and data)."""
    data = "".join(text for s in segments for text in (s.id, *s.texts()))
    for candidate in _CANDIDATES:
        if not any(c in data for c in candidate.characters()):
            return candidate
    return _CANDIDATES[-1]


def _interchange_text(isa: Segment, gs: Segment, segments: list[Segment]) -> str:
    """The transaction set alone in an envelope of its own, as pyx12 reads input."""
    group_control = gs.value(6) or "1"
    isa_control = isa.value(13) or "000000001"
    delimiters = _delimiters_for([gs, *segments])
    return write(
        [
            isa,
            gs,
            *segments,
            Segment.of("GE", "1", group_control),
            Segment.of("IEA", "1", isa_control),
        ],
        delimiters,
    )


def validate(
    guide_map: Any, isa: Segment, gs: Segment, segments: list[Segment]
) -> tuple[list[Fault], dict[int, str | None]]:
    """Faults of one transaction set (ST..SE) against a guide map, and the guide loop
    each segment position stands in."""
    try:
        return _walk(guide_map, _interchange_text(isa, gs, segments))
    except (
        pyx12.errors.X12Error,
        pyx12.errors.EngineError,
        IndexError,
        KeyError,
        AttributeError,
        TypeError,
        ValueError,
    ) as error:
        # pyx12 has known crashes on hostile input (a composite with more components than
        # the map defines raises IndexError); the set is rejected with the reason.
        fault = ik5(
            "5",
            f"the guide validator could not read this transaction set "
            f"({type(error).__name__}); check its structure",
        )
        return [fault], {}


class _WholeText(io.StringIO):
    """The text for pyx12's reader, all of it at its second read. pyx12 reads 8 KB past
    the ISA at a time and stops (silently: the rest of the set is never validated) when
    a segment does not end within one such read; a huge element must be judged too."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._first = True

    def read(self, size: int | None = -1) -> str:
        if self._first:  # the fixed-width ISA, which pyx12 measures
            self._first = False
            return super().read(size)
        return super().read()


def _walk(guide_map: Any, text: str) -> tuple[list[Fault], dict[int, str | None]]:
    source = pyx12.x12file.X12Reader(_WholeText(text))
    errors = pyx12.error_handler.err_handler()
    walker = walk_tree()
    node = guide_map.getnodebypath("/ISA_LOOP/ISA")
    loop_at: dict[int, str | None] = {}  # segment position in the set -> its loop in the map
    for segment in source:
        segment_id = segment.get_seg_id()
        if segment_id == "ISA":
            node = guide_map.getnodebypath("/ISA_LOOP/ISA")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
        elif segment_id == "GS":
            node = guide_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
        else:
            found, _, _, walk_errors = walker.walk_errors(
                node, segment, source.get_seg_count(), source.get_cur_line(), source.get_ls_id()
            )
            apply_walk_errors(errors, walk_errors)
            if segment_id not in ("ST", "SE", "GE", "IEA"):  # counted apart from the set
                loop_at[source.get_seg_count()] = _loop_id(found or node)
            if found is None:
                continue  # not in the map: noted by the walker, nothing to check inside
            node = found
        _note(errors, segment_id, node, segment, source)
        errors.handle_errors(source.pop_errors())
        apply_segment_errors(node, segment, errors)
    source.cleanup()  # loop trailers the file skipped
    errors.handle_errors(source.pop_errors())
    collector = _Collector()
    errors.accept(collector)
    return collector.faults, loop_at


def _loop_id(node: Any) -> str | None:
    """The guide loop (2000A, 2010EA ...) a map node stands in; None in the envelope and
    the header and detail wrappers."""
    loop = node.parent if node is not None and not node.is_loop() else node
    loop_id = getattr(loop, "id", None)
    return loop_id if loop_id and loop_id[:1].isdigit() else None


def _note(errors: Any, segment_id: str, node: Any, segment: Any, source: Any) -> None:
    """Tell pyx12's error tree where we are, as its own driver does."""
    if segment_id == "ISA":
        errors.add_isa_loop(segment, source)
    elif segment_id == "IEA":
        errors.close_isa_loop(node, segment, source)
    elif segment_id == "GS":
        errors.add_gs_loop(segment, source)
    elif segment_id == "GE":
        errors.close_gs_loop(node, segment, source)
    elif segment_id == "ST":
        errors.add_st_loop(segment, source)
    elif segment_id == "SE":
        errors.close_st_loop(node, segment, source)
    else:
        errors.add_seg(
            node, segment, source.get_seg_count(), source.get_cur_line(), source.get_ls_id()
        )


class _Collector:
    """A visitor over pyx12's error tree that keeps what belongs in a 999 (segment and
    element notes, transaction set codes); envelope matters are ours, not pyx12's."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._segment: Any = None

    def __getattr__(self, name: str) -> Any:  # the visits we have no use for
        if name.startswith("visit_"):
            return lambda node: None
        raise AttributeError(name)

    def visit_st_pre(self, node: Any) -> None:
        for code, _ in node.errors:
            if code not in ("2", "3", "4"):  # trailer counts and numbers: our checks own them
                self.faults.append(ik5(code, "transaction set error noted by the guide"))

    def visit_seg(self, node: Any) -> None:
        self._segment = node
        for error in node.errors:
            code = error[0]
            if code not in SEGMENT_CODES:
                continue  # pyx12's own notes (HL1, HL2: our rules judge HL; SEG1, LX)
            # the name is of the map node the walker stood on: only the segment's own
            # when the segment was placed
            placed = code not in ("1", "2", "6", "7") and node.name != "Unknown"
            name = f" ({node.name})" if placed and node.name else ""
            message = f"{node.seg_id}{name}: {SEGMENT_CODES.get(code, 'segment error')}"
            self.faults.append(
                ik3(
                    code,
                    message,
                    segment_id=node.seg_id,
                    segment_position=node.seg_count,
                )
            )

    def visit_ele(self, node: Any) -> None:
        segment = self._segment
        for code, original, bad_value in node.errors:
            if code == "10" and "Not Used" in original:
                code = "I10"  # pyx12 files a not-used element under the 4010 code
            if code not in ELEMENT_CODES:
                continue
            reference = f"{segment.seg_id if segment else ''}{node.ele_pos:02d}"
            if node.subele_pos:
                reference += f"-{node.subele_pos}"
            message = f"{reference} ({node.name}): {ELEMENT_CODES.get(code, 'element error')}"
            self.faults.append(
                ik4(
                    code,
                    message,
                    segment_id=segment.seg_id if segment else None,
                    segment_position=segment.seg_count if segment else None,
                    element=node.ele_pos,
                    component=node.subele_pos,
                    repetition=node.repeat_pos,
                    data_element=node.ele_ref_num,
                    bad_value=bad_value,
                )
            )
