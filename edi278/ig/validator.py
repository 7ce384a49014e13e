"""The compiled guide validator: a transaction set walked through a compiled map, its
segments' contents checked, and the findings reported as the pyx12 bridge reports them.

pyx12 gathers findings in a tree of segment and element entries and drops some of
them on the way (whatever lands on the envelope's own entries); `_Notes` keeps the same
entries with the same drops, so the faults come out in the same order with the same
codes. What pyx12 would read differently from our segments (repeated elements, data
that collides with every delimiter set it could be given, envelope segments inside a
set) is not guessed at: `validate` returns None and the caller asks pyx12.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TypeAlias

from edi278.ig import rules
from edi278.ig.codes import ELEMENT_CODES, SEGMENT_CODES
from edi278.ig.compiled import CompiledMap, ElementRule, LoopNode, SegmentNode, whole
from edi278.ig.content import (
    Finding,
    Unreadable,
    check_segment,
    check_segment_around,
    check_value,
)
from edi278.ig.walker import Walker, WalkFinding
from edi278.x12.faults import Fault, ik3, ik4, ik5
from edi278.x12.segment import Segment

_first = itemgetter(0)
ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
# the delimiter sets the bridge hands pyx12, in its order of preference: (element,
# repetition, component, segment); the third (ASCII separators) is a last resort
_FIRST, _SECOND = "*^:~", "|!>~"


class _Opens(enum.Enum):
    SET = "the entry ST opens: the set's own, which the rest attach to"


_OPEN_SET = _Opens.SET


@dataclass(slots=True)
class _ElementEntry:
    rule: ElementRule
    notes: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass(slots=True)
class _SegmentEntry:
    name: str
    segment_id: str
    count: int
    notes: list[tuple[str, str | None]] = field(default_factory=list)
    elements: list[_ElementEntry] = field(default_factory=list)


# What a placed segment's findings land on (see `_Notes.place`).
_Entry: TypeAlias = _SegmentEntry | tuple[str, str, int] | _Opens | None


class _Notes:
    """pyx12's error tree, reduced to what reaches a 999. `current` None is an envelope
    entry (ISA, GS, ST): findings that land there are dropped, as pyx12 drops them."""

    __slots__ = ("_element", "_element_listed", "_listed", "_open", "current", "entries")

    def __init__(self) -> None:
        self.entries: list[_SegmentEntry] = []
        self.current: _SegmentEntry | tuple[str, str, int] | None = None
        self._listed = True
        self._element: _ElementEntry | None = None
        self._element_listed = True
        self._open = False  # no transaction set entry yet: nothing can be attached

    def open_set(self) -> None:
        self._open, self.current, self._listed = True, None, True

    def envelope(self) -> None:
        self.current, self._listed = None, True

    def place(self, entry: _Entry) -> None:
        """A placed segment's entry, as `_entry` worked it out: the set's own
        (_OPEN_SET), an envelope's (None), or a segment's, as a tuple until noted."""
        if entry is _OPEN_SET:
            self.open_set()
        elif entry is None:
            self.envelope()
        else:
            self.current = entry if self._open else None
            self._listed = False

    def segment(self, name: str, segment_id: str, count: int) -> None:
        # built when the first note lands: most segments get none
        self.current = (name, segment_id, count) if self._open else None
        self._listed = False

    def _entry(self) -> _SegmentEntry | None:
        current = self.current
        if current is None:
            return None
        if isinstance(current, tuple):  # not listed yet: the first note lands now
            current = self.current = _SegmentEntry(*current)
        if not self._listed:
            self.entries.append(current)
            self._listed = True
        return current

    def note(self, code: str, value: str | None = None) -> None:
        entry = self._entry()
        if entry is not None:
            entry.notes.append((code, value))

    def element(self, rule: ElementRule) -> None:
        self._element = _ElementEntry(rule)
        self._element_listed = False

    def element_note(self, code: str, value: str | None) -> None:
        current, entry = self._entry(), self._element
        if current is None or entry is None:
            return
        if not self._element_listed:
            current.elements.append(entry)
            self._element_listed = True
        entry.notes.append((code, value))

    def faults(self) -> list[Fault]:
        found: list[Fault] = []
        for entry in self.entries:
            for code, _ in entry.notes:
                if code not in SEGMENT_CODES:
                    continue
                placed = code not in ("1", "2", "6", "7") and entry.name != "Unknown"
                name = f" ({entry.name})" if placed and entry.name else ""
                found.append(
                    ik3(
                        code,
                        f"{entry.segment_id}{name}: {SEGMENT_CODES[code]}",
                        segment_id=entry.segment_id,
                        segment_position=entry.count,
                    )
                )
            for element in entry.elements:
                rule = element.rule
                reference = f"{entry.segment_id}{rule.position:02d}"
                if rule.component is not None:
                    reference += f"-{rule.component}"
                for code, value in element.notes:
                    code = "I10" if code == "10" else code  # pyx12 files not-used under 10
                    found.append(
                        ik4(
                            code,
                            f"{reference} ({rule.name}): {ELEMENT_CODES[code]}",
                            segment_id=entry.segment_id,
                            segment_position=entry.count,
                            element=rule.position,
                            component=rule.component,
                            repetition=None,
                            data_element=rule.data_element,
                            bad_value=value,
                        )
                    )
        return found


def _loop_id(node: LoopNode | SegmentNode) -> str | None:
    loop = node.parent if isinstance(node, SegmentNode) else node
    loop_id = loop.id if loop is not None else None
    return loop_id if loop_id and loop_id[:1].isdigit() else None


# Which of the delimiter sets the bridge prefers a text collides with: bit 1 the
# first, bit 2 the second. By the bits of all a set's characters, the component
# separator the bridge would give pyx12, None when it would fall back to the last resort
# and pyx12 might split the data apart.
_SEPARATORS = (_FIRST[2], _SECOND[2], _FIRST[2], None)
_DELIMITERS = re.compile("[" + re.escape(_FIRST + _SECOND) + "]")


def _clash(text: str) -> int:
    if _DELIMITERS.search(text) is None:  # most texts: none of them
        return 0
    first = any(c in text for c in _FIRST)
    return (1 if first else 0) | (2 if any(c in text for c in _SECOND) else 0)


_READABLE_ISAS: dict[tuple[str, ...], bool] = {}
# the ISA asked about last and the answer, read and replaced as one (threads share it)
_LAST_ISA: list[tuple[Segment | None, bool]] = [(None, False)]


def _readable_isa(isa: Segment) -> bool:
    """Whether pyx12 reads the ISA as we do: 16 elements of fixed width, a version it
    knows, no character it would split on. Remembered: an interchange's sets share it,
    the very segment when they are read together."""
    last, known = _LAST_ISA[0]
    if last is isa:
        return known
    known = _readable_isa_text(isa)
    _LAST_ISA[0] = (isa, known)
    return known


def _readable_isa_text(isa: Segment) -> bool:
    """`_readable_isa` for an ISA not asked about last: remembered by its text."""
    key = isa.texts()
    known = _READABLE_ISAS.get(key)
    if known is None:
        values = [isa.value(p) for p in range(1, 17)]
        known = (
            len(isa) == 16
            and isa.value(12) in ("00401", "00501")
            and not any(c in value for value in values for c in "*|\x1d")
            and len("*".join(["ISA", *values[:10], "^", *values[11:15], ":"])) == 105
        )
        if len(_READABLE_ISAS) > 1000:
            _READABLE_ISAS.clear()
        _READABLE_ISAS[key] = known
    return known


# A segment as the walk reads it: its ID, the key its findings are remembered by, and
# its elements as pyx12 reads them. For a segment with no composite or repetition the
# key is its element texts and the elements (each text as a 1-tuple) are made only when
# a memo misses: most segments of a batch are seen before, and never need them.
Reading = tuple[str, tuple, tuple | None]


def _elements_of(reading: Reading) -> tuple[tuple[str, ...], ...]:
    _, key, elements = reading
    return tuple(zip(key)) if elements is None else elements


@dataclass(slots=True)
class _Read:
    """A set as the walk reads it: each segment's facts (`_Facts`: its reading first),
    the set's shape (what the walk can see of each segment) and the component separator
    pyx12 would be given.

    The shape is flat, one or two items a segment: for a segment without composites
    whose ID is keyed by one text (`CompiledMap.text_keys`), its ID and that text; for
    any other, its `_signature` (a tuple) or, when nothing keys its ID, the ID alone.
    Read from the start it gives back every segment's ID and key values, so sets of
    one shape are walked alike."""

    facts: list[_Facts]
    shape: tuple[object, ...]
    component: str
    # what reading noted of a segment by its index (an empty segment: 8, an ID that is
    # not one: 1), handed on to the next placed one; most sets have none
    noted: dict[int, list[str]]
    # the positions (from ST = 1) of the segments with a composite or a repetition, and
    # of those the rules must see (`rules.scanned`): found here, so no other pass reads
    # every segment again
    composites: list[int]
    scanned: list[int]

    @property
    def readings(self) -> list[Reading]:
        return list(map(_READING, self.facts))


# IDs known to stand for themselves inside a set, and whether each is a valid one
_BODY_IDS: dict[str, bool] = {}


def _body_id(segment_id: str) -> bool | None:
    """Whether a segment ID is a valid one (`_SEGMENT_ID`), None when pyx12 would not
    read a segment with it inside a set as we do (an envelope segment, a blank it would
    strip)."""
    known = _BODY_IDS.get(segment_id)
    if known is not None:
        return known
    if segment_id in ENVELOPE or not segment_id or segment_id != segment_id.strip():
        return None
    if len(_BODY_IDS) > 1000:
        _BODY_IDS.clear()
    known = _BODY_IDS[segment_id] = _SEGMENT_ID.fullmatch(segment_id) is not None
    return known


_FOREIGN = ("foreign",)  # noted codes of an ID pyx12 reads otherwise inside a set


# What a segment reads as, a function of its ID and texts alone (and, for one with a
# composite, of its elements: the texts hold the separators): its reading, its items of
# the shape, what reading notes of it inside a set (or _FOREIGN), its `_clash`, whether
# the rules must see it (`rules.scanned`) and its findings as last checked with each
# component separator ((node, findings) with the first of `_SEPARATORS`, then with the
# second: most segments stand at one node in every set). Remembered per map, by its
# key: (ID, texts) for a segment without composites or repetitions, (ID, texts,
# elements) for another; most segments of a batch are seen before, and then cost one
# lookup. The facts of a segment with its identifier apart (see `_facts`) hold, last,
# those findings of the rest of it and the identifier's index.
_Facts = tuple[Reading, tuple[object, ...], tuple[str, ...], int, bool, list | tuple]
_READING = itemgetter(0)


def _facts(compiled: CompiledMap, key: tuple, segment: Segment) -> _Facts | None:
    """The facts of a segment not remembered yet (None: a repeated element). One with a
    reference identifier (`CompiledMap.identifiers`), new in every set, is remembered
    without it, under a key no segment has: the rest repeats, and the identifier is in
    no key the shape holds. What the rules say of it is asked every time."""
    segment_id, texts = key[0], key[1]
    simple = len(key) == 2
    at = compiled.identifiers.get(segment_id) if simple else None
    if at is None or at >= len(texts) or not texts[at]:
        reckoned = _reckon(compiled, segment_id, texts, key[2] if not simple else None)
        if reckoned is None:
            return None
        facts: _Facts = (*reckoned, rules.scanned(segment, texts, simple), [None, None])
        _remember(compiled.seen, key, facts)
        return facts
    masked = (segment_id, (*texts[:at], _IDENTIFIER, *texts[at + 1 :]), _IDENTIFIER)
    around = compiled.seen.get(masked)
    if around is None:  # noted as the segment is: non-empty where the identifier is
        rest = _reckon(compiled, segment_id, masked[1], None)
        assert rest is not None, "texts alone always read"
        around = (*rest, [None, None])
        _remember(compiled.seen, masked, around)
    _, items, codes, clash, last = around
    scan = rules.scanned(segment, texts, True)
    reading = (segment_id, texts, None)
    return reading, items, codes, clash | _clash(texts[at]), scan, (last, at)


def _reckon(
    compiled: CompiledMap, segment_id: str, texts: tuple[str, ...], elements: tuple | None
) -> tuple[Reading, tuple[object, ...], tuple[str, ...], int] | None:
    """`_facts` but the rules' word, of a segment's texts and (with a composite or a
    repetition) elements."""
    at = None
    if elements is None:
        reading: Reading = (segment_id, texts, None)
        empty = not any(texts)
        at = compiled.text_keys.get(segment_id)
    elif elements and max(map(len, elements)) != 1:
        return None  # pyx12 reads the repetition separator as data
    else:
        view = tuple(map(_first, elements))
        reading = (segment_id, view, view)
        empty = not any(map(any, view))
    if at is not None:
        items: tuple[object, ...] = (segment_id, texts[at] if at < len(texts) else None)
    else:
        specs = compiled.keys.get(segment_id)
        items = (_signature(reading, specs) if specs else segment_id,)
    valid = _body_id(segment_id)
    if valid is None:
        codes: tuple[str, ...] = _FOREIGN
    else:
        codes = (("8",) if empty else ()) + (() if valid else ("1",))
    return reading, items, codes, _clash(segment_id + "".join(texts))


def _readings(gs: Segment, segments: list[Segment], compiled: CompiledMap) -> _Read | None:
    """Each segment's facts, the set's shape and the component separator, in one pass;
    None when the fast reading cannot stand for pyx12's reading of the same set in an
    envelope of its own (an envelope segment inside, a repeated element, data colliding
    with every delimiter set)."""
    if len(segments) < 2 or segments[0].id != "ST" or segments[-1].id != "SE":
        return None
    seen = compiled.seen
    found: list[_Facts] = []
    shape: list[object] = []
    noted: dict[int, list[str]] = {}
    composites: list[int] = []
    scanned: list[int] = []
    clash = _clash(gs.id + "".join(gs.texts()))
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        texts = segment.texts()
        if segment.simple:
            key: tuple = (segment.id, texts)
        else:
            key = (segment.id, texts, segment.elements)
            composites.append(index + 1)
        facts = seen.get(key)
        if facts is None:
            facts = _facts(compiled, key, segment)
            if facts is None:
                return None
        found.append(facts)
        _, items, codes, bits, scan, _ = facts
        shape += items
        clash |= bits
        if scan:
            scanned.append(index + 1)
        if codes and 0 < index < last:
            if codes is _FOREIGN:
                return None
            noted[index] = list(codes)
    component = _SEPARATORS[clash]
    if component is None:
        return None
    return _Read(found, tuple(shape), component, noted, composites, scanned)


def validate(
    compiled: CompiledMap, isa: Segment, gs: Segment, segments: list[Segment]
) -> tuple[list[Fault], dict[int, str | None]] | None:
    """Faults of one transaction set (ST..SE) against a compiled map, and the guide loop
    each segment position stands in; None when only pyx12 can say."""
    read = read_set(compiled, isa, gs, segments)
    return None if read is None else walk(compiled, read)


def read_set(
    compiled: CompiledMap, isa: Segment, gs: Segment, segments: list[Segment]
) -> _Read | None:
    """The set as `walk` takes it; None when only pyx12 can say."""
    if not _readable_isa(isa):
        return None
    return _readings(gs, segments, compiled)


def walk(compiled: CompiledMap, read: _Read) -> tuple[list[Fault], dict[int, str | None]]:
    """`validate` of a set already read."""
    try:
        return _walk(compiled, read)
    except Unreadable as error:
        fault = ik5(
            "5",
            f"the guide validator could not read this transaction set "
            f"({_bridge_name(error)}); check its structure",
        )
        return [fault], {}


def _bridge_name(error: Unreadable) -> str:
    """The exception pyx12 raises on the same input, which the bridge names."""
    return "IndexError" if "components" in str(error) else "ValueError"


# Routes, segment facts, findings per map: some 2.5 MB each at most. What repeats in a
# batch (codes, providers, dates) is found within a few thousand segments; a larger memo
# holds more of what does not (names, IDs, trace numbers). At 16,384, validating 100,000
# sets of one interchange took 8% more CPU and 7.5 MB more than at 4,096.
MEMO_LIMIT = 4_096


# What the walk found for one segment: the node it stands at (None: no place), what
# the walk noted on the way there, and the entry its own findings land on (see
# `_Notes.place`), worked out once per route rather than once per set.
_Step = tuple[SegmentNode | None, list[WalkFinding], _Entry]


@dataclass(slots=True)
class _Route:
    """Where each segment of a set stands and what the walk found on the way there: a
    function of the segments' IDs and key values alone, so sets of one shape share it."""

    steps: list[_Step]
    loop_at: dict[int, str | None]
    # whether the walk found nothing on the way (most routes do): then a segment's own
    # findings are all that can land, each on its own entry, and `checks` says where
    quiet: bool
    # (index, node, entry) of each segment whose findings land on an entry of the set
    checks: list[tuple[int, SegmentNode, _Entry]]


def _signature(reading: Reading, specs) -> tuple[object, ...]:
    """What the walk can see of a segment: its ID and the values it is keyed by."""
    segment_id, key, elements = reading
    values: list[object] = [segment_id]
    if elements is None:  # texts: each element one value, its only component
        size = len(key)
        for position, component in specs:
            values.append(
                key[position - 1] if position <= size and component in (None, 1) else None
            )
        return tuple(values)
    size = len(elements)
    for position, component in specs:
        if position > size:
            values.append(None)
            continue
        given = elements[position - 1]
        if component is None:
            values.append(given[0] if len(given) == 1 else whole(given))
        else:
            values.append(given[component - 1] if component <= len(given) else None)
    return tuple(values)


def _route(compiled: CompiledMap, sequence, last: int) -> _Route:
    walker = Walker()
    isa_loop, gs_loop = compiled.node("/ISA_LOOP"), compiled.node("/ISA_LOOP/GS_LOOP")
    isa_node = compiled.node("/ISA_LOOP/ISA")
    gs_node = compiled.node("/ISA_LOOP/GS_LOOP/GS")
    assert isinstance(isa_loop, LoopNode) and isinstance(gs_loop, LoopNode)
    assert isinstance(isa_node, SegmentNode) and isinstance(gs_node, SegmentNode)
    walker.force_loop_start(isa_loop, isa_node)
    walker.force_loop_start(gs_loop, gs_node)
    node: LoopNode | SegmentNode = gs_node
    steps: list[_Step] = []
    loop_at: dict[int, str | None] = {}
    for index, (segment_id, elements) in enumerate(sequence, start=1):
        count = min(index, last - 1) if index > 1 else 1  # pyx12 counts ST..last body
        found, walked = walker.walk(node, segment_id, elements, count)
        steps.append((found, walked, _entry(found, segment_id, count)))
        if segment_id not in ("ST", "SE", "GE", "IEA"):
            loop_at[count] = _loop_id(found or node)
        if found is not None:
            node = found
    checks: list[tuple[int, SegmentNode, _Entry]] = []
    opened = False  # _Notes drops what lands before ST opens the set's entry
    for index, (found, _, entry) in enumerate(steps):
        if found is None:
            continue
        if entry is _OPEN_SET:
            opened = True
        elif entry is not None and opened:
            checks.append((index, found, entry))
    return _Route(steps, loop_at, not any(walked for _, walked, _ in steps), checks)


def _entry(found: SegmentNode | None, segment_id: str, count: int) -> _Entry:
    """The error tree entry a placed segment opens: the set's own for ST, none (findings
    dropped) for the other envelope segments, else one named after its node."""
    if found is None or segment_id in ENVELOPE:
        return _OPEN_SET if segment_id == "ST" else None
    return (found.name, segment_id, count)


def _remember(memo: dict, key: object, value: object) -> None:
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value


_TRAILER: list[Reading] = [("GE", ("1", "1"), None), ("IEA", ("1", "1"), None)]


def _walk(compiled: CompiledMap, read: _Read):
    component = read.component
    route = compiled.routes.get(read.shape)  # the trailer is the same for every set
    if route is None:
        sequence = read.readings + _TRAILER
        route = _route(compiled, [(r[0], _elements_of(r)) for r in sequence], len(read.facts))
        _remember(compiled.routes, read.shape, route)
    icvn = compiled.icvn
    checked = compiled.checked
    if route.quiet and not read.noted:
        return _quiet_walk(route, read.facts, checked, icvn, component), route.loop_at
    notes = _Notes()
    waiting: list[str] = []  # what reading a segment noted, handed on with the next placed one
    noted = read.noted
    for index, (reading, (found, walked, entry)) in enumerate(
        zip(read.readings + _TRAILER, route.steps, strict=True)
    ):
        if noted and index in noted:
            waiting += noted[index]
        if walked:
            _note_walk(notes, walked)
        if found is None:
            continue
        notes.place(entry)
        if waiting:
            for code in waiting:
                notes.note(code)
            waiting = []
        if notes.current is None:
            continue  # an envelope entry: pyx12 drops what its elements show
        findings = checked.get((found, reading[1], component))
        if findings is None:
            findings = _check(checked, found, reading, icvn, component)
        if findings:
            _note_findings(notes, findings)
    return notes.faults(), route.loop_at


def _quiet_walk(
    route: _Route, facts: list[_Facts], checked: dict, icvn: str, component: str
) -> list[Fault]:
    """`_walk` of a set whose walk found nothing and whose reading noted nothing: only
    the segments `route.checks` names can have findings, each on its own entry."""
    notes = None  # made when the first finding lands: most sets have none
    slot = _SEPARATORS.index(component)  # where the facts keep findings with it
    for index, found, entry in route.checks:
        reading, last = facts[index][0], facts[index][5]
        if isinstance(last, tuple):  # (findings without its identifier, its index)
            findings = _apart(checked, found, reading, last, icvn, component, slot)
        elif (kept := last[slot]) is not None and kept[0] is found:
            findings = kept[1]
        else:
            remembered = checked.get((found, reading[1], component))
            if remembered is None:
                remembered = _check(checked, found, reading, icvn, component)
            findings = remembered
            last[slot] = found, findings  # one store: threads may share the facts
        if findings:
            if notes is None:
                notes = _Notes()
                notes.open_set()
            notes.place(entry)
            _note_findings(notes, findings)
    return [] if notes is None else notes.faults()


_IDENTIFIER = "\x00"  # stands for a segment's reference identifier in a remembered key


def _check(
    checked: dict, found: SegmentNode, reading: Reading, icvn: str, component: str
) -> list[Finding]:
    """A segment's findings, not remembered yet. A segment holding a reference
    identifier (`SegmentNode.identifier`), new in every set, is remembered without it
    and the identifier checked on its own: the rest of the segment repeats."""
    seen_as, at = reading[1], found.identifier
    if at is None or reading[2] is not None or at >= len(seen_as) or not seen_as[at]:
        findings = check_segment(found, _elements_of(reading), icvn, component)
        _remember(checked, (found, seen_as, component), findings)
        return findings
    key = (found, (*seen_as[:at], _IDENTIFIER, *seen_as[at + 1 :]), component, _IDENTIFIER)
    around = checked.get(key)
    if around is None:
        around = check_segment_around(found, _elements_of(reading), icvn, component, at)
        _remember(checked, key, around)
    rest, insert = around
    rule = found.elements[at]
    assert isinstance(rule, ElementRule)
    own = check_value(rule, seen_as[at], icvn)
    return [*rest[:insert], *own, *rest[insert:]] if own else rest


def _apart(
    checked: dict,
    found: SegmentNode,
    reading: Reading,
    apart: tuple[list, int],
    icvn: str,
    component: str,
    slot: int,
) -> list[Finding]:
    """`_check` of a segment whose identifier its facts keep apart: the findings of the
    rest as last checked (`_Facts`), or remembered, and the identifier's own."""
    last, at = apart
    if (kept := last[slot]) is not None and kept[0] is found:
        rest, insert = kept[1]
    else:
        texts = reading[1]
        key = (found, (*texts[:at], _IDENTIFIER, *texts[at + 1 :]), component, _IDENTIFIER)
        around = checked.get(key)
        if around is None:
            around = check_segment_around(found, _elements_of(reading), icvn, component, at)
            _remember(checked, key, around)
        last[slot] = found, around
        rest, insert = around
    rule = found.elements[at]
    assert isinstance(rule, ElementRule) and found.identifier == at
    own = check_value(rule, reading[1][at], icvn)
    return [*rest[:insert], *own, *rest[insert:]] if own else rest


def _note_walk(notes: _Notes, walked: list[WalkFinding]) -> None:
    for finding in walked:
        if finding.node is not None:
            notes.segment(finding.node.name, finding.segment_id, finding.count)
        notes.note(finding.code)


def _note_findings(notes: _Notes, findings: list[Finding]) -> None:
    previous = None
    for rule, code, value in findings:
        if rule is None:
            notes.note("8")
            continue
        if rule is not previous:
            notes.element(rule)
            previous = rule
        notes.element_note(code, value)
