"""Rules of the 278 guides (X217, X215, X216) that pyx12's map format cannot express,
as code.

Each rule is a pure function from a transaction set's segments (ST..SE, positions
counted from ST = 1) to faults with 999 codes. Where the guide is unconfirmed the codes
chosen are pinned in tests and explained in schemas/README.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import itemgetter

from edi278.x12.faults import Fault, Where, ik3, ik4
from edi278.x12.segment import Segment
from edi278.x12.values import is_digits

# Hierarchical level (HL03) -> the levels its parent may have (HL02 points at one).
PARENT_LEVELS: dict[str, frozenset[str]] = {
    "20": frozenset(),
    "21": frozenset({"20"}),
    "22": frozenset({"21"}),
    "23": frozenset({"22"}),
    "EV": frozenset({"22", "23"}),
    "SS": frozenset({"EV"}),
}
REVIEW, INQUIRY = "005010X217", "005010X215"  # GS08 of the guides with set-wide rules
LOOPS = {"20": "2000A", "21": "2000B", "22": "2000C", "23": "2000D", "EV": "2000E", "SS": "2000F"}
DATE_QUALIFIERS = frozenset({"D8", "RD8"})
TRACE_ORIGINATOR_KINDS = "139"  # TRN03 starts 1 (EIN), 3 (DUNS) or 9 (user assigned)


@dataclass(slots=True)  # not frozen: a frozen init costs a call per field, per level
class Level:
    """One HL and the segments that belong to it, up to the next HL."""

    position: int
    hl: Segment
    segments: tuple[tuple[int, Segment], ...]
    code: str  # HL03, the level
    loop_id: str | None

    def own(self) -> Iterator[tuple[int, Segment]]:
        """The level's own segments: those before its first name loop (NM1)."""
        for position, segment in self.segments:
            if segment.id == "NM1":
                return
            yield position, segment


def levels(segments: list[Segment]) -> list[Level]:
    found: list[Level] = []
    current: list[tuple[int, Segment]] = []
    start: tuple[int, Segment] | None = None
    for position, segment in enumerate(segments, start=1):
        if segment.id in ("HL", "SE"):
            if start is not None:
                code = start[1].value(3)
                found.append(Level(start[0], start[1], tuple(current), code, LOOPS.get(code)))
            start, current = ((position, segment), []) if segment.id == "HL" else (None, [])
        elif start is not None:
            current.append((position, segment))
    return found


def check(
    segments: list[Segment],
    response: bool,
    guide: str = REVIEW,
    positions: list[int] | None = None,
) -> list[Fault]:
    """Every rule for a transaction set of a guide (GS08). Every guide is held to the
    hierarchy and the one-segment rules. X217 (request for review) adds: one event per
    request, and in a response a decision (HCR) or a note (AAA) per processed event,
    never both. X215 (inquiry) adds: an inquiry asks about an event (the map allows
    one), and a response never puts a decision beside a note; an event answered with
    neither is its business (a review not found may be said in MSG). X216 adds none.
    `positions` (from ST = 1), when given, are those of every segment `scanned` takes:
    a caller that reads (and remembers) each segment anyway saves the rules a pass."""
    heads, found = _scan(segments, positions)
    faults = [*hierarchy(heads), *found]
    if guide in (REVIEW, INQUIRY):
        if response:
            faults += decisions(levels(segments), needed=guide == REVIEW)
        else:
            faults += events(heads, segments, response)
    return faults


# An HL that opens a level: its position, the segment and HL01 to HL04
Head = tuple[int, Segment, tuple[str, str, str, str]]
_VALUES = itemgetter(2)


_LEVEL_IDS = ("HL", "SE")  # the segments that open and close a level


def scanned(segment: Segment, texts: tuple[str, ...], simple: bool) -> bool:
    """Whether `_scan` must see a segment (given with its texts and whether each of its
    elements is one value): one that opens or closes a level, or one in which a
    one-segment rule finds a fault. A function of the segment's content alone."""
    segment_id = segment.id
    return segment_id in _LEVEL_IDS or bool(_own(0, segment, segment_id, texts, simple))


def _scan(
    segments: list[Segment], positions: list[int] | None = None
) -> tuple[list[Head], list[Fault]]:
    """One pass over the set (or the `positions` given: see `check`): the HLs that open
    a level (as `levels` finds them: each one closed by the next HL or by SE), and what
    the one-segment rules find."""
    heads: list[Head] = []
    found: list[Fault] = []
    opened: Head | None = None
    if positions is None:
        visited: Iterable[tuple[int, Segment]] = enumerate(segments, start=1)
    else:
        visited = zip(positions, [segments[p - 1] for p in positions], strict=True)
    for position, segment in visited:
        segment_id, texts, simple = segment.id, segment.texts(), segment.simple
        if segment_id == "HL" or segment_id == "SE":
            if opened is not None:
                heads.append(opened)
            is_hl = segment_id == "HL"
            opened = (position, segment, _hl_values(segment, texts, simple)) if is_hl else None
            if simple and DATE_QUALIFIERS.isdisjoint(texts):
                continue  # nothing else `_own` could find in it
        found += _own(position, segment, segment_id, texts, simple)
    return heads, found


def _own(
    position: int, segment: Segment, segment_id: str, texts: tuple[str, ...], simple: bool
) -> list[Fault]:
    """What the one-segment rules find in a segment."""
    found: list[Fault] = []
    if segment_id == "UM":
        found += immediate_appeal(position, segment)
    elif segment_id == "TRN":
        found += trace_number(position, segment)
    if simple:  # each element one value: the texts are the values
        if not DATE_QUALIFIERS.isdisjoint(texts):
            found += _simple_dates(position, segment, texts)
    elif "D8" in "".join(texts):  # a date qualifier (D8 or RD8) somewhere in it
        found += _dates(position, segment)
    return found


def _element_fault(
    position: int,
    segment: Segment,
    element: int,
    data_element: str,
    code: str,
    message: str,
    loop_id: str | None = None,
    component: int | None = None,
    bad_value: str | None = None,
) -> list[Fault]:
    where: Where = {"segment_id": segment.id, "segment_position": position, "loop_id": loop_id}
    return [
        ik3("8", "segment has data element errors", **where),
        ik4(
            code,
            message,
            element=element,
            component=component,
            data_element=data_element,
            bad_value=bad_value if bad_value is not None else segment.value(element),
            **where,
        ),
    ]


def _hl_values(hl: Segment, texts: tuple[str, ...], simple: bool) -> tuple[str, str, str, str]:
    """HL01 to HL04, "" where absent: read from the texts when they are the values."""
    if simple and len(texts) >= 4:
        return texts[0], texts[1], texts[2], texts[3]
    return hl.value(1), hl.value(2), hl.value(3), hl.value(4)


# Hierarchies (each level's HL01 to HL04) known to break no rule: most sets of a batch
# share a handful. A dict for its order, cleared when full.
_SOUND_HIERARCHIES: dict[tuple[tuple[str, str, str, str], ...], None] = {}
SOUND_HIERARCHIES_LIMIT = 4096


def hierarchy(heads: list[Head]) -> list[Fault]:
    """HL01 counts 1, 2, 3 ...; HL02 names an earlier HL of the level above; HL04 says
    whether children follow. Faults: IK403 I12 (implementation pattern match failure)."""
    key = tuple(map(_VALUES, heads))
    if key in _SOUND_HIERARCHIES:
        return []
    faults = _hierarchy_faults(heads)
    if not faults:
        if len(_SOUND_HIERARCHIES) >= SOUND_HIERARCHIES_LIMIT:
            _SOUND_HIERARCHIES.clear()
        _SOUND_HIERARCHIES[key] = None
    return faults


def _hierarchy_faults(heads: list[Head]) -> list[Fault]:
    faults: list[Fault] = []
    level_of: dict[str, str] = {}
    children: dict[str, int] = {}
    for number, (position, hl, (given, parent, code, _)) in enumerate(heads, start=1):
        loop_id = LOOPS.get(code)
        if given != str(number):
            faults += _element_fault(
                position,
                hl,
                1,
                "628",
                "I12",
                f"HL01 should be {number}: hierarchical IDs count 1, 2, 3",
                loop_id,
            )
        if code not in PARENT_LEVELS:  # no loop to name: "" keeps one from being guessed
            faults += _element_fault(
                position,
                hl,
                3,
                "735",
                "7",
                "HL03 is not a level of this guide (20, 21, 22, 23, EV, SS)",
                loop_id="",
            )
        allowed = PARENT_LEVELS.get(code)
        if allowed and level_of.get(parent) not in allowed:
            faults += _element_fault(
                position,
                hl,
                2,
                "734",
                "I12",
                f"HL02 must name an earlier HL of level {' or '.join(sorted(allowed))}",
                loop_id,
            )
        children[parent] = children.get(parent, 0) + 1
        level_of.setdefault(given, code)
    for position, hl, (given, _, code, stated) in heads:
        has_children = children.get(given, 0) > 0
        if stated in ("0", "1") and (stated == "1") != has_children:
            faults += _element_fault(
                position,
                hl,
                4,
                "736",
                "I12",
                f"HL04 is {stated} but the level has "
                f"{'children' if has_children else 'no children'}",
                LOOPS.get(code),
            )
    return faults


def events(heads: list[Head], segments: list[Segment], response: bool) -> list[Fault]:
    """A request carries exactly one patient event (2000E); a response carries one when
    the event was processed, so only the request is held to it."""
    if response:
        return []
    found = [position for position, _, values in heads if values[2] == "EV"]
    if not found:
        return [
            ik3(
                "3",
                "the patient event level (2000E) is missing",
                segment_id="HL",
                segment_position=len(segments),
                loop_id="2000E",
            )
        ]
    return [
        ik3(
            "4",
            "a request carries one patient event (2000E); this is another",
            segment_id="HL",
            segment_position=extra,
            loop_id="2000E",
        )
        for extra in found[1:]
    ]


def immediate_appeal(position: int, segment: Segment) -> list[Fault]:
    """UM06 (level of service) is required when UM02 is 1, an immediate appeal: IK403 I9,
    an implementation-dependent element missing (X12 RFI 2502, 2642)."""
    if segment.value(2) == "1" and not segment.value(6):
        return _element_fault(
            position,
            segment,
            6,
            "1338",
            "I9",
            "UM06 is required for an immediate appeal (UM02 = 1)",
        )
    return []


def trace_number(position: int, segment: Segment) -> list[Fault]:
    """TRN03 is a 10-character originator ID whose first character says its kind."""
    originator = segment.value(3)
    if originator and originator[0] not in TRACE_ORIGINATOR_KINDS:
        return _element_fault(
            position,
            segment,
            3,
            "509",
            "I12",
            "TRN03 must start with 1 (EIN), 3 (DUNS) or 9 (assigned)",
        )
    return []


def _is_date(text: str) -> bool:
    if len(text) != 8 or not is_digits(text):
        return False
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)  # dates repeat across a batch; a date object per check costs
def _date_fault(qualifier: str, value: str) -> str | None:
    if qualifier == "D8":
        return None if _is_date(value) else "not a date CCYYMMDD"
    start, dash, end = value.partition("-")
    if not (dash and _is_date(start) and _is_date(end)):
        return "not a date range CCYYMMDD-CCYYMMDD"
    return "the range ends before it starts" if end < start else None


def _simple_dates(position: int, segment: Segment, texts: tuple[str, ...]) -> list[Fault]:
    """The date rule (see `_dates`) for a segment whose elements are all plain values:
    a D8 or RD8 element qualifies the element after it."""
    faults: list[Fault] = []
    for index in range(len(texts) - 1):
        qualifier = texts[index]
        if qualifier in ("D8", "RD8"):
            problem = _date_fault(qualifier, texts[index + 1])
            if problem:
                faults += _element_fault(
                    position,
                    segment,
                    index + 2,
                    "1251",
                    "8",
                    f"{segment.id}{index + 2:02d} is {problem}",
                )
    return faults


def _dates(position: int, segment: Segment) -> list[Fault]:
    """Every value qualified D8 or RD8 (in DTP, DMG, CR6 and the HI composites) is a real
    date, and a range does not end before it starts: IK403 8, invalid date. For a
    segment with composites or repetitions; `_simple_dates` reads the others."""
    faults: list[Fault] = []
    for index, element in enumerate(segment.elements[:-1], start=1):
        qualifier = element[0][0]
        if qualifier in ("D8", "RD8") and len(element[0]) == 1:
            value = segment.value(index + 1)
            problem = _date_fault(qualifier, value)
            if problem:
                faults += _element_fault(
                    position,
                    segment,
                    index + 1,
                    "1251",
                    "8",
                    f"{segment.id}{index + 1:02d} is {problem}",
                )
    for index, element in enumerate(segment.elements, start=1):
        components = element[0]
        for c in range(len(components) - 1):
            if components[c] in ("D8", "RD8") and components[c + 1]:
                problem = _date_fault(components[c], components[c + 1])
                if problem:
                    faults += _element_fault(
                        position,
                        segment,
                        index,
                        "1251",
                        "8",
                        f"{segment.id}{index:02d}-{c + 2} is {problem}",
                        component=c + 2,
                        bad_value=components[c + 1],
                    )
    return faults


def decisions(tree: list[Level], needed: bool = True) -> list[Fault]:
    """In a response, a processed event carries a decision (HCR) and one that failed
    validation an AAA instead, never both (X12 RFI 941). HCR beside AAA: IK304 I9;
    neither, when a decision is `needed` (X217): IK304 I6, an implementation-dependent
    segment missing. A service line may carry both or neither: the TR3's own examples
    answer lines without HCR, the decision standing at the event; there only HCR beside
    AAA is a fault."""
    faults: list[Fault] = []
    for level in tree:
        if level.code not in ("EV", "SS"):
            continue
        own = list(level.own())
        hcr = next(((p, s) for p, s in own if s.id == "HCR"), None)
        aaa = any(s.id == "AAA" for _, s in own)
        if hcr and aaa:
            faults.append(
                ik3(
                    "I9",
                    "HCR beside AAA: a review that failed validation gets no decision",
                    segment_id="HCR",
                    segment_position=hcr[0],
                    loop_id=level.loop_id,
                )
            )
        elif needed and not hcr and not aaa and level.code == "EV":
            faults.append(
                ik3(
                    "I6",
                    "a processed review needs its decision (HCR), or AAA "
                    "saying why it was not processed",
                    segment_id="HCR",
                    segment_position=level.position,
                    loop_id=level.loop_id,
                )
            )
    return faults
