"""The segment: an ID and its elements, each a list of repetitions of components.

Every element has at least one repetition and every repetition at least one component,
so "", "A" and "A:B" read as ((("",),), (("A",),), (("A", "B"),)) and write back the same.
Positions are kept for error reports and do not take part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edi278.x12.delimiters import Delimiters

Repetition = tuple[str, ...]
Element = tuple[Repetition, ...]

EMPTY_ELEMENT: Element = (("",),)

# Elements of the control segments that carry delimiters or fixed-width text: never split.
UNSPLIT_SEGMENTS = frozenset({"ISA"})


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    elements: tuple[Element, ...] = ()
    file_segment: int = field(default=0, compare=False)  # 1-based index in the file
    offset: int = field(default=0, compare=False)  # byte offset in the file

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

    def __len__(self) -> int:
        return len(self.elements)

    def element(self, position: int) -> Element:
        """Element at a 1-based position; an absent element reads as empty."""
        if 1 <= position <= len(self.elements):
            return self.elements[position - 1]
        return EMPTY_ELEMENT

    def value(self, position: int) -> str:
        """The first component of the first repetition of an element, "" when absent."""
        return self.element(position)[0][0]

    def component(self, position: int, component: int) -> str:
        repetition = self.element(position)[0]
        return repetition[component - 1] if 1 <= component <= len(repetition) else ""

    def values(self) -> list[str]:
        """Each element as it was written with default delimiters, for display."""
        return ["^".join(":".join(rep) for rep in element) for element in self.elements]


def parse(text: str, delimiters: Delimiters, file_segment: int = 0, offset: int = 0) -> Segment:
    """Split one segment's text (without its terminator) into a Segment."""
    parts = text.split(delimiters.element)
    segment_id = parts[0]
    if segment_id in UNSPLIT_SEGMENTS:
        return Segment(segment_id, tuple(((p,),) for p in parts[1:]), file_segment, offset)
    component = delimiters.component
    repetition = delimiters.repetition
    elements: list[Element] = []
    for part in parts[1:]:
        if repetition and repetition in part:
            elements.append(tuple(tuple(rep.split(component)) for rep in part.split(repetition)))
        elif component in part:
            elements.append((tuple(part.split(component)),))
        else:
            elements.append(((part,),))
    return Segment(segment_id, tuple(elements), file_segment, offset)


def serialize(segment: Segment, delimiters: Delimiters) -> str:
    """One segment's text with the given delimiters, without terminator.

    An ISA takes ISA11 and ISA16 from the delimiters, so that it announces the set it
    is written with."""
    if segment.id == "ISA":
        values = [element[0][0] for element in segment.elements]
        if len(values) == 16:
            values[15] = delimiters.component
            if delimiters.repetition:
                values[10] = delimiters.repetition
        return delimiters.element.join(["ISA", *values])
    component = delimiters.component
    repetition = delimiters.repetition
    texts = [segment.id]
    for element in segment.elements:
        if len(element) == 1:
            texts.append(component.join(element[0]))
        elif repetition:
            texts.append(repetition.join(component.join(rep) for rep in element))
        else:
            raise ValueError(
                f"{segment.id} has a repeated element and the delimiters no repetition separator"
            )
    return delimiters.element.join(texts)
