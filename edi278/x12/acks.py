"""The TA1 and the 999 built from a report of what was found."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

from edi278.x12.checks import printable_id
from edi278.x12.envelope import ACK_VERSION
from edi278.x12.faults import Fault, Level
from edi278.x12.report import GroupReport, InterchangeReport
from edi278.x12.segment import Segment
from edi278.x12.values import is_digits

BAD_VALUE_LENGTH = 99  # IK404 is AN 1/99
LOOP_IDENTIFIER_LENGTH = 4  # IK303 is AN 1/4


def ta1(report: InterchangeReport, now: datetime) -> Segment:
    """TA1*ISA13*ISA09*ISA10*TA104*TA105, echoing what can be echoed validly."""
    isa = report.header.segment if report.header else None
    control = isa.value(13) if isa else ""
    date = isa.value(9) if isa else ""
    time = isa.value(10) if isa else ""
    if not (is_digits(control) and len(control) == 9):
        control = "000000000"
    if not (is_digits(date) and len(date) == 6):
        date = now.strftime("%y%m%d")
    if not (is_digits(time) and len(time) == 4):
        time = now.strftime("%H%M")
    return Segment.of("TA1", control, date, time, report.ack_code, report.note_code)


def ack_999(
    group: GroupReport, control_number: str, forbidden: str, copy_bad_data: bool = True
) -> Iterator[Segment]:
    """One 999 transaction set (ST..SE) for one received functional group, a segment at
    a time: a group of a million sets is acknowledged without holding its 999.

    `forbidden` holds the delimiter characters of the reply, which a copy of bad data
    must not contain; with `copy_bad_data` off, IK404 is left out altogether (it may hold
    member data, and the guide sends it only when the bad value can be copied)."""
    gs = group.header
    yield Segment.of("ST", "999", control_number, ACK_VERSION)
    yield Segment.of("AK1", printable_code(gs.value(1)), gs.value(6), gs.value(8))
    count = 2
    if not group.rejected_as_a_whole:
        for transaction in group.transactions:
            yield _ak2(transaction.identifier, transaction.control_number, transaction.convention)
            for note in _segment_notes(transaction.faults, forbidden if copy_bad_data else None):
                yield note
                count += 1
            yield Segment.of("IK5", transaction.ack_code, *transaction.trailer_codes())
            count += 2
    yield Segment.of(
        "AK9",
        group.ack_code,
        str(group.included),
        str(group.received),
        str(group.accepted_count),
        *group.trailer_codes(),
    )
    yield Segment.of("SE", str(count + 2), control_number)


def _ak2(identifier: str, control_number: str, convention: str) -> Segment:
    values = [printable_code(identifier) or "000", control_number]
    if convention:
        values.append(convention)
    return Segment.of("AK2", *values)


def _segment_notes(faults: tuple[Fault, ...], forbidden: str | None) -> Iterator[Segment]:
    """IK3 per faulty segment, each followed by IK4 per faulty element, by position; no
    copy of bad data when `forbidden` is None."""
    by_position: dict[int, list[Fault]] = {}
    for fault in faults:
        if fault.level in (Level.SEGMENT, Level.ELEMENT):
            by_position.setdefault(fault.segment_position or 0, []).append(fault)
    for position in sorted(by_position):
        notes = by_position[position]
        segment_faults = [f for f in notes if f.level is Level.SEGMENT]
        element_faults = [f for f in notes if f.level is Level.ELEMENT]
        if not segment_faults:  # element errors imply IK304 8
            first = element_faults[0]
            segment_faults = [replace(first, level=Level.SEGMENT, code="8")]
        for fault in segment_faults:
            yield Segment.of(
                "IK3",
                printable_id(fault.segment_id or ""),
                str(position),
                _loop_identifier(fault.loop_id),
                fault.code,
            )
        for fault in element_faults:
            yield _ik4(fault, forbidden)


def _loop_identifier(loop_id: str | None) -> str:
    """IK303 is X12 element 447, AN 1/4: a TR3 loop ID such as 2010EA does not fit, and a
    cut one would point at the wrong loop, so it is sent only when it fits whole. Our own
    reports (validate, --json) always name the loop."""
    return loop_id if loop_id and len(loop_id) <= LOOP_IDENTIFIER_LENGTH else ""


def _ik4(fault: Fault, forbidden: str | None) -> Segment:
    where = [str(fault.element or 0)]
    if fault.component is not None or fault.repetition is not None:
        where.append(str(fault.component or ""))
    if fault.repetition is not None:
        where.append(str(fault.repetition))
    values: list[str | tuple[str, ...]] = [tuple(where), fault.data_element or "", fault.code]
    bad = _copy_of_bad_data(fault.bad_value, forbidden) if forbidden is not None else ""
    if bad:
        values.append(bad)
    return Segment.of("IK4", *values)


def _copy_of_bad_data(value: str | None, forbidden: str) -> str:
    if not value:
        return ""
    cleaned = "".join(c for c in value if c not in forbidden and " " <= c <= "~")
    return cleaned[:BAD_VALUE_LENGTH].strip()


def printable_code(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", value)[:3]
