"""The four X12 delimiters, read from the fixed positions of an ISA segment."""

from __future__ import annotations

from dataclasses import dataclass

from edi278.x12.faults import Fault, ta1

ISA_LENGTH = 106  # an ISA including its segment terminator, 00501
ISA_ELEMENT_COUNT = 16
WHITESPACE = " \t\r\n"


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str = "*"
    repetition: str | None = "^"  # None where ISA11 is not a separator (4010 'U')
    component: str = ":"
    segment: str = "~"
    line_break: str = ""  # written after each terminator; mirrors what the sender used

    def characters(self) -> str:
        return "".join(
            c for c in (self.element, self.repetition, self.component, self.segment) if c
        )


DEFAULT = Delimiters()


class DelimiterError(ValueError):
    """The ISA cannot be read at all; `code` is the TA105 note code that says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _is_separator(char: str) -> bool:
    return len(char) == 1 and not char.isalnum() and char != " "


def detect(text: str, start: int = 0) -> tuple[Delimiters, int, list[Fault]]:
    """Find the delimiters of the ISA beginning at `text[start]`.

    Returns the delimiters, the index just past the ISA's terminator, and the faults
    found in the delimiters themselves. The element separator is the character after
    "ISA"; ISA16 and the terminator are found by counting separators rather than trusting
    offset 105, so an ISA of the wrong width is still read and the envelope checks can
    say which field is off.
    Raises DelimiterError when the separators cannot be found.
    """
    if text[start : start + 3] != "ISA" or len(text) < start + 4:
        raise DelimiterError("023", "the file ends inside the ISA")
    element = text[start + 3]
    faults: list[Fault] = []
    if not _is_separator(element):
        raise DelimiterError("026", f"invalid data element separator {element!r} after ISA")
    index = start
    for _ in range(ISA_ELEMENT_COUNT):
        index = text.find(element, index + 1)
        if index < 0 and len(text) - start < 4 * ISA_LENGTH:
            raise DelimiterError("023", "the file ends inside the ISA")
        if index < 0 or index - start > 4 * ISA_LENGTH:
            raise DelimiterError("022", "the ISA does not have 16 elements")
    component_at = index + 1
    terminator_at = index + 2
    if terminator_at >= len(text):
        raise DelimiterError("023", "the file ends inside the ISA")
    component = text[component_at]
    segment = text[terminator_at]
    fields = text[start:terminator_at].split(element)
    repetition: str | None = fields[11]

    if (not _is_separator(segment) and segment not in "\r\n") or segment == element:
        faults.append(ta1("004", f"invalid segment terminator {segment!r} after ISA16"))
    if not _is_separator(component) or component in (element, segment):
        faults.append(ta1("027", f"invalid component element separator {component!r} in ISA16"))
    if repetition in (element, segment, component) and _separates_repeats(fields[12]):
        # One character with two meanings: no element could be read with certainty.
        faults.append(
            ta1(
                "026",
                f"the repetition separator {repetition!r} in ISA11 is also "
                + _meaning(repetition, element, component),
            )
        )
    if repetition is not None and (
        not _is_separator(repetition) or repetition in (element, segment, component)
    ):
        # 4010 put the standards identifier 'U' here; it separates nothing.
        repetition = None

    after = terminator_at + 1
    line_break = ""
    if segment not in "\r\n":
        for candidate in ("\r\n", "\n", "\r"):
            if text.startswith(candidate, after):
                line_break = candidate
                break
    delimiters = Delimiters(element, repetition, component, segment, line_break)
    return delimiters, after, faults


def _separates_repeats(version: str) -> bool:
    """Whether ISA11 is a repetition separator in this ISA12: from 00402 on (before,
    it is the standards identifier, `U`)."""
    return len(version) == 5 and version.isdigit() and version >= "00402"


def _meaning(char: str, element: str, component: str) -> str:
    if char == element:
        return "the data element separator"
    if char == component:
        return "the component element separator (ISA16)"
    return "the segment terminator"
