"""Faults: what is wrong with an interchange, as values that map onto TA1 and 999 codes.

One record type serves every level so that the envelope checks here and the guide
validation in `edi278.ig` report alike, and the acknowledgement builders read one shape.
Messages never quote data: a fault may reach a log line, the bad value goes only into
the acknowledgement returned to its sender.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import TypedDict, Unpack


class Level(enum.StrEnum):
    INTERCHANGE = "interchange"  # TA105 note code
    GROUP = "group"  # AK905 functional group syntax error code
    TRANSACTION = "transaction"  # IK502 transaction set syntax error code
    SEGMENT = "segment"  # IK304 segment syntax error code
    ELEMENT = "element"  # IK403 element syntax error code


# TA105 note codes after which the interchange is still taken (TA104 = E): the header's
# value is used, nothing is lost.
NON_FATAL_TA1 = frozenset({"001"})


class Where(TypedDict, total=False):
    """Which segment a fault lies in: a Fault's segment fields, given by name."""

    segment_id: str | None
    segment_position: int | None
    file_segment: int | None
    offset: int | None
    loop_id: str | None


class Detail(Where, total=False):
    """And, inside the segment, which element and what value."""

    element: int | None
    component: int | None
    repetition: int | None
    data_element: str | None
    bad_value: str | None


@dataclass(frozen=True, slots=True)
class Fault:
    level: Level
    code: str
    message: str
    segment_id: str | None = None
    segment_position: int | None = None  # from ST = 1 (IK302)
    file_segment: int | None = None  # from the start of the file = 1
    offset: int | None = None  # byte offset of the segment in the file
    loop_id: str | None = None
    element: int | None = None
    component: int | None = None
    repetition: int | None = None
    data_element: str | None = None
    bad_value: str | None = None

    @property
    def fatal(self) -> bool:
        return not (self.level is Level.INTERCHANGE and self.code in NON_FATAL_TA1)

    def at(self, **where: Unpack[Detail]) -> Fault:
        return replace(self, **where)

    def location(self) -> str:
        parts = []
        if self.segment_id:
            parts.append(self.segment_id)
        if self.file_segment is not None:
            parts.append(f"segment {self.file_segment} of the file")
        if self.offset is not None:
            parts.append(f"byte {self.offset}")
        if self.segment_position is not None:
            parts.append(f"position {self.segment_position} in the transaction set")
        if self.loop_id:
            parts.append(f"loop {self.loop_id}")
        if self.element is not None:
            reference = f"element {self.element:02d}"
            if self.component is not None:
                reference += f"-{self.component}"
            if self.data_element:
                reference += f" (DE {self.data_element})"
            parts.append(reference)
        return ", ".join(parts)

    def ack_code(self) -> str:
        return {
            Level.INTERCHANGE: "TA105",
            Level.GROUP: "AK905",
            Level.TRANSACTION: "IK502",
            Level.SEGMENT: "IK304",
            Level.ELEMENT: "IK403",
        }[self.level] + f" {self.code}"

    def as_dict(self) -> dict[str, object]:
        fields = {
            "level": self.level.value,
            "code": self.code,
            "ack": self.ack_code(),
            "message": self.message,
            "segment_id": self.segment_id,
            "segment_position": self.segment_position,
            "file_segment": self.file_segment,
            "offset": self.offset,
            "loop_id": self.loop_id,
            "element": self.element,
            "component": self.component,
            "repetition": self.repetition,
            "data_element": self.data_element,
        }
        return {key: value for key, value in fields.items() if value is not None}


def ta1(code: str, message: str, **where: Unpack[Detail]) -> Fault:
    return Fault(Level.INTERCHANGE, code, message, **where)


def ak9(code: str, message: str, **where: Unpack[Detail]) -> Fault:
    return Fault(Level.GROUP, code, message, **where)


def ik5(code: str, message: str, **where: Unpack[Detail]) -> Fault:
    return Fault(Level.TRANSACTION, code, message, **where)


def ik3(code: str, message: str, **where: Unpack[Detail]) -> Fault:
    return Fault(Level.SEGMENT, code, message, **where)


def ik4(code: str, message: str, **where: Unpack[Detail]) -> Fault:
    return Fault(Level.ELEMENT, code, message, **where)
