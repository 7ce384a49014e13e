"""The segment: an ID and its elements, each a list of repetitions of components.

Every element has at least one repetition and every repetition at least one component,
so "", "A" and "A:B" read as ((("",),), (("A",),), (("A", "B"),)) and write back the same.
Positions are kept for error reports and do not take part in equality.

A segment read from a file keeps its element texts as they came and splits them into
components and repetitions only when asked: building that structure for every segment
would cost more than the rest of reading it.
"""

from __future__ import annotations

from edi278.x12.delimiters import DEFAULT, Delimiters

Repetition = tuple[str, ...]
Element = tuple[Repetition, ...]

EMPTY_ELEMENT: Element = (("",),)

# Elements of the control segments that carry delimiters or fixed-width text: never split.
UNSPLIT_SEGMENTS = frozenset({"ISA"})


def _split(text: str, component: str, repetition: str | None) -> Element:
    if repetition and repetition in text:
        return tuple(tuple(rep.split(component)) for rep in text.split(repetition))
    return (tuple(text.split(component)),)


class Segment:
    __slots__ = ("_elements", "_separators", "_texts", "file_segment", "id", "offset")

    def __init__(
        self, id: str, elements: tuple[Element, ...] = (), file_segment: int = 0, offset: int = 0
    ) -> None:
        self.id = id
        self._elements: tuple[Element, ...] | None = tuple(elements)
        self._texts: tuple[str, ...] | None = None
        self._separators: tuple[str, str | None] | None = None
        self.file_segment = file_segment  # 1-based index in the file
        self.offset = offset  # byte offset in the file

    @classmethod
    def of(cls, id: str, *values: str | tuple[str, ...] | list[tuple[str, ...]]) -> Segment:
        """Build a segment from plain values: a string is a simple element, a tuple of
        strings a composite, a list of tuples a repeated element. Trailing empty
        elements are dropped, as X12 requires of what we write."""
        values = list(values)
        while values and values[-1] in ("", ()):
            values.pop()
        elements: list[Element] = []
        for value in values:
            if isinstance(value, str):
                elements.append(((value,),))
            elif isinstance(value, tuple):
                elements.append((value,))
            else:
                elements.append(tuple(value))
        return cls(id, tuple(elements))

    @classmethod
    def received(
        cls,
        id: str,
        texts: list[str],
        separators: tuple[str, str | None] | None,
        file_segment: int,
        offset: int,
    ) -> Segment:
        """A segment as read: element texts still joined by the (component, repetition)
        separators given, or never to be split when those are None."""
        segment = cls.__new__(cls)
        segment.id = id
        segment._texts = tuple(texts)
        segment._separators = separators
        segment._elements = None
        segment.file_segment = file_segment
        segment.offset = offset
        return segment

    @property
    def elements(self) -> tuple[Element, ...]:
        if self._elements is None:
            texts, separators = self._texts or (), self._separators
            if separators is None:
                self._elements = tuple(((text,),) for text in texts)
            else:
                self._elements = tuple(_split(text, *separators) for text in texts)
        return self._elements

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return self.id == other.id and self.elements == other.elements

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Segment({self.id!r}, {self.elements!r}, file_segment={self.file_segment}, "
            f"offset={self.offset})"
        )

    def __len__(self) -> int:
        return len(self._texts) if self._texts is not None else len(self.elements)

    def element(self, position: int) -> Element:
        """Element at a 1-based position; an absent element reads as empty."""
        if 1 <= position <= len(self):
            return self.elements[position - 1]
        return EMPTY_ELEMENT

    def value(self, position: int) -> str:
        """The first component of the first repetition of an element, "" when absent."""
        texts = self._texts
        if texts is None:
            return self.element(position)[0][0]
        if not 1 <= position <= len(texts):
            return ""
        text = texts[position - 1]
        if self._separators is not None:
            component, repetition = self._separators
            if repetition and repetition in text:
                text = text.split(repetition, 1)[0]
            if component in text:
                text = text.split(component, 1)[0]
        return text

    def component(self, position: int, component: int) -> str:
        repetition = self.element(position)[0]
        return repetition[component - 1] if 1 <= component <= len(repetition) else ""

    def values(self) -> list[str]:
        """Each element as it was written with default delimiters, for display."""
        return ["^".join(":".join(rep) for rep in element) for element in self.elements]

    def texts(self, delimiters: Delimiters | None = None) -> tuple[str, ...]:
        """Each element's text as written with `delimiters`; without, as received (or
        with the default delimiters for a segment that was built, not read)."""
        if self._texts is not None and delimiters is None:
            return self._texts
        delimiters = delimiters or DEFAULT
        separators = (delimiters.component, delimiters.repetition)
        if self._texts is not None and self._separators in (separators, None):
            return self._texts
        component, repetition = separators
        texts = []
        for element in self.elements:
            if len(element) == 1:
                texts.append(component.join(element[0]))
            elif repetition:
                texts.append(repetition.join(component.join(rep) for rep in element))
            else:
                raise ValueError(
                    f"{self.id} has a repeated element and the delimiters no repetition separator"
                )
        return tuple(texts)


def parse(text: str, delimiters: Delimiters, file_segment: int = 0, offset: int = 0) -> Segment:
    """One segment's text (without its terminator) as a Segment."""
    parts = text.split(delimiters.element)
    segment_id = parts[0]
    del parts[0]
    separators = (
        None if segment_id in UNSPLIT_SEGMENTS else (delimiters.component, delimiters.repetition)
    )
    return Segment.received(segment_id, parts, separators, file_segment, offset)


def serialize(segment: Segment, delimiters: Delimiters) -> str:
    """One segment's text with the given delimiters, without terminator.

    An ISA takes ISA11 and ISA16 from the delimiters, so that it announces the set it
    is written with."""
    if segment.id == "ISA":
        values = [segment.value(position) for position in range(1, len(segment) + 1)]
        if len(values) == 16:
            values[15] = delimiters.component
            if delimiters.repetition:
                values[10] = delimiters.repetition
        return delimiters.element.join(["ISA", *values])
    return delimiters.element.join([segment.id, *segment.texts(delimiters)])
