"""The segment: an ID and its elements, each a list of repetitions of components.

Every element has at least one repetition and every repetition at least one component,
so "", "A" and "A:B" read as ((("",),), (("A",),), (("A", "B"),)) and write back the same.
Positions are kept for error reports and do not take part in equality.

A segment read from a file keeps its text as it came and splits it into elements, and
those into components and repetitions, only when asked: building that structure for
every segment would cost more than the rest of reading it. Likewise a segment built
from plain values (`Segment.of`) keeps them as given: most are only ever written,
straight from them.
"""

from __future__ import annotations

from functools import lru_cache

from edi278.x12.delimiters import DEFAULT, Delimiters

Repetition = tuple[str, ...]
Element = tuple[Repetition, ...]

EMPTY_ELEMENT: Element = (("",),)

# Elements of the control segments that carry delimiters or fixed-width text: never split.
UNSPLIT_SEGMENTS = frozenset({"ISA"})


def _split(text: str, component: str, repetition: str | None) -> Element:
    if repetition and repetition in text:
        return tuple(tuple(rep.split(component)) for rep in text.split(repetition))
    if component in text:
        return (tuple(text.split(component)),)
    return ((text,),)  # the common case: a simple element


@lru_cache(maxsize=4096)  # composite segments repeat across a batch; elements are immutable
def _split_all(
    texts: tuple[str, ...], component: str, repetition: str | None
) -> tuple[Element, ...]:
    return tuple(_split(text, component, repetition) for text in texts)


# A plain value: a simple element, a composite, or a repeated element.
Value = str | tuple[str, ...] | list[tuple[str, ...]]


def element_of(value: Value) -> Element:
    """A plain value as an element: a string is a simple element, a tuple of strings a
    composite, a list of tuples a repeated element."""
    if isinstance(value, str):
        return ((value,),)
    if isinstance(value, tuple):
        return (value,)
    return tuple(value)


class Segment:
    # A segment kept unsplit (`unsplit`) has only id, _raw, _delimiters, file_segment and
    # offset set, the fewer the cheaper to build; the other slots are set when _raw is
    # split (`_split_raw`), so a method reads none of them before it has checked _raw.
    __slots__ = (
        "_delimiters",
        "_elements",
        "_raw",
        "_separators",
        "_simple",
        "_texts",
        "_values",
        "file_segment",
        "id",
        "offset",
    )
    _delimiters: Delimiters  # set only on a segment kept unsplit (`unsplit`)

    def __init__(
        self, id: str, elements: tuple[Element, ...] = (), file_segment: int = 0, offset: int = 0
    ) -> None:
        self.id = id
        self._raw: str | None = None  # the whole text as read, until split into _texts
        self._elements: tuple[Element, ...] | None = tuple(elements)
        self._texts: tuple[str, ...] | None = None
        self._separators: tuple[str, str | None] | None = None
        self._values: tuple[Value, ...] | None = None
        self._simple: bool | None = None
        self.file_segment = file_segment  # 1-based index in the file
        self.offset = offset  # byte offset in the file

    @classmethod
    def of(cls, id: str, *values: Value) -> Segment:
        """Build a segment from plain values (each as `element_of` reads it). Trailing
        empty elements are dropped, as X12 requires of what we write."""
        count = len(values)
        while count and values[count - 1] in ("", ()):
            count -= 1
        segment = cls.__new__(cls)
        segment.id = id
        segment._values = values[:count]
        segment._raw = segment._elements = segment._texts = None
        segment._separators = segment._simple = None
        segment.file_segment = segment.offset = 0
        return segment

    @classmethod
    def received(
        cls,
        id: str,
        texts: list[str],
        separators: tuple[str, str | None] | None,
        file_segment: int,
        offset: int,
        simple: bool | None = None,
    ) -> Segment:
        """A segment as read: element texts still joined by the (component, repetition)
        separators given, or never to be split when those are None. `simple` says, when
        the reader knows, that no text holds either separator."""
        segment = cls.__new__(cls)
        segment.id = id
        segment._texts = tuple(texts)
        segment._separators = separators
        segment._simple = True if separators is None else simple
        segment._raw = segment._elements = segment._values = None
        segment.file_segment = file_segment
        segment.offset = offset
        return segment

    def _split_raw(self) -> tuple[str, ...]:
        """The element texts of a segment kept unsplit, split now and from now on."""
        raw, delimiters = self._raw, self._delimiters
        assert raw is not None
        component, repetition = delimiters.component, delimiters.repetition
        self._separators = (component, repetition)
        # known from the whole text, as `parse` knows it
        self._simple = component not in raw and not (repetition and repetition in raw)
        self._elements = self._values = self._raw = None
        texts = self._texts = tuple(raw.split(delimiters.element)[1:])
        return texts

    @property
    def elements(self) -> tuple[Element, ...]:
        if self._raw is not None:
            self._split_raw()
        if self._elements is None:
            texts, separators = self._texts or (), self._separators
            if self._values is not None:
                self._elements = tuple(element_of(value) for value in self._values)
            elif separators is None or self._simple:
                self._elements = tuple(zip(zip(texts)))  # each text as ((text,),)
            else:
                self._elements = _split_all(texts, *separators)
        return self._elements

    @property
    def simple(self) -> bool:
        """Whether every element is one plain value: no composite, no repetition. Known
        from the text for a segment as read, so that most segments are never split."""
        if self._raw is not None:
            self._split_raw()  # the validator asks this of a segment it goes on to read
        if self._simple is None:
            self._simple = all(len(e) == 1 and len(e[0]) == 1 for e in self.elements)
        return self._simple

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        return self.id == other.id and self.elements == other.elements

    # Equal by content but mutable (its texts are split on first use): never a key.
    # mypy types __hash__ as a method, which None is not; this is Python's own idiom.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Segment({self.id!r}, {self.elements!r}, file_segment={self.file_segment}, "
            f"offset={self.offset})"
        )

    def __len__(self) -> int:
        if self._raw is not None:
            return len(self._split_raw())
        if self._texts is not None:
            return len(self._texts)
        return len(self._values) if self._values is not None else len(self.elements)

    def element(self, position: int) -> Element:
        """Element at a 1-based position; an absent element reads as empty."""
        if 1 <= position <= len(self):
            return self.elements[position - 1]
        return EMPTY_ELEMENT

    def value(self, position: int) -> str:
        """The first component of the first repetition of an element, "" when absent."""
        texts = self._split_raw() if self._raw is not None else self._texts
        if texts is None:
            return self.element(position)[0][0]
        if not 1 <= position <= len(texts):
            return ""
        text = texts[position - 1]
        if self._separators is not None and not self._simple:
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
        if self._raw is not None:
            self._split_raw()
        if self._texts is not None and delimiters is None:
            return self._texts
        delimiters = delimiters or DEFAULT
        separators = (delimiters.component, delimiters.repetition)
        if self._texts is not None and self._separators in (separators, None):
            return self._texts
        component, repetition = separators
        if self._values is not None:  # built: written from the values, no elements made
            return tuple(
                value
                if isinstance(value, str)
                else component.join(value)
                if isinstance(value, tuple)
                else self._text(element_of(value), component, repetition)
                for value in self._values
            )
        return tuple(self._text(element, component, repetition) for element in self.elements)

    def _text(self, element: Element, component: str, repetition: str | None) -> str:
        if len(element) == 1:
            return component.join(element[0])
        if repetition:
            return repetition.join(component.join(rep) for rep in element)
        raise ValueError(
            f"{self.id} has a repeated element and the delimiters no repetition separator"
        )


class Unsplit(Segment):
    """A segment as read and kept unsplit: made by calling the class bare, the cheapest
    way to make an object (no __init__ runs), its slots filled by `unsplit` or, inline,
    by the tokenizer's bulk loop (keep the two alike). It is a Segment in all else."""

    __slots__ = ()
    __init__ = object.__init__


def unsplit(id: str, text: str, delimiters: Delimiters, file_segment: int, offset: int) -> Segment:
    """A segment as read, kept as its whole `text` (ID included, terminator not) and
    split by `delimiters` only when anything but its ID and position is asked for. `id`
    is the text up to the first element separator."""
    segment = Unsplit()
    segment.id = id
    segment._raw = text
    segment._delimiters = delimiters
    segment.file_segment = file_segment
    segment.offset = offset
    return segment


def parse(text: str, delimiters: Delimiters, file_segment: int = 0, offset: int = 0) -> Segment:
    """One segment's text (without its terminator) as a Segment."""
    parts = text.split(delimiters.element)
    segment_id = parts[0]
    del parts[0]
    if segment_id in UNSPLIT_SEGMENTS:
        return Segment.received(segment_id, parts, None, file_segment, offset)
    component, repetition = delimiters.component, delimiters.repetition
    simple = component not in text and not (repetition and repetition in text)
    return Segment.received(
        segment_id, parts, (component, repetition), file_segment, offset, simple
    )


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
