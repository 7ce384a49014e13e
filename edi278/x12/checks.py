"""Envelope checks: what the ISA/IEA, GS/GE and ST/SE segments say, judged.

Each check is a pure function from segments (and what was counted) to faults. The codes
are those of the TA1 (TA105), the 999 group trailer (AK905), the transaction set response
trailer (IK502) and the segment and element notes (IK304, IK403).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from edi278.x12.compact import SeenControlNumbers
from edi278.x12.delimiters import ISA_LENGTH
from edi278.x12.faults import Fault, Level, Where, ak9, ik3, ik4, ik5, ta1
from edi278.x12.reader import Group, Interchange, TransactionSet
from edi278.x12.segment import Segment
from edi278.x12.values import is_digits

SUPPORTED_CONTROL_VERSION = "00501"
SUPPORTED_FUNCTIONAL_IDENTIFIER = "HI"  # every 278 guide; HC belongs to the 837
SUPPORTED_TRANSACTION_SET = "278"
SUPPORTED_CONVENTIONS = frozenset({"005010X217", "005010X215", "005010X216"})

ID_QUALIFIERS = frozenset({"01", "14", "20", "27", "28", "29", "30", "33", "ZZ"})
SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}\Z")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _at(segment: Segment, position: int | None = None) -> Where:
    """Where a segment is, for a fault: its ID, place in the file and, inside a
    transaction set, its position counting ST as 1."""
    where: Where = {
        "segment_id": segment.id,
        "file_segment": segment.file_segment,
        "offset": segment.offset,
    }
    if position is not None:
        where["segment_position"] = position
    return where


def _date(value: str, pattern: str) -> bool:
    try:
        datetime.strptime(value, pattern)
    except ValueError:
        return False
    return True


def _time(value: str) -> bool:
    """HHMM[SS[D[D]]]"""
    if not is_digits(value) or len(value) not in (4, 6, 7, 8):
        return False
    return (
        int(value[0:2]) < 24 and int(value[2:4]) < 60 and (len(value) < 6 or int(value[4:6]) < 60)
    )


# ISA element: (width, TA105 code when wrong, test of the value beyond its width)
_ISA_FIELDS: dict[int, tuple[int, str, Callable[[str], bool], str]] = {
    1: (2, "010", lambda v: v in ("00", "03"), "authorization information qualifier"),
    2: (10, "011", lambda v: True, "authorization information"),
    3: (2, "012", lambda v: v in ("00", "01"), "security information qualifier"),
    4: (10, "013", lambda v: True, "security information"),
    5: (2, "005", lambda v: v in ID_QUALIFIERS, "interchange sender ID qualifier"),
    6: (15, "006", lambda v: bool(v.strip()), "interchange sender ID"),
    7: (2, "007", lambda v: v in ID_QUALIFIERS, "interchange receiver ID qualifier"),
    8: (15, "008", lambda v: bool(v.strip()), "interchange receiver ID"),
    9: (6, "014", lambda v: _date(v, "%y%m%d"), "interchange date (YYMMDD)"),
    10: (4, "015", lambda v: _time(v), "interchange time (HHMM)"),
    11: (1, "022", lambda v: True, "repetition separator"),
    12: (5, "017", lambda v: is_digits(v), "interchange control version number"),
    13: (9, "018", lambda v: is_digits(v) and int(v) > 0, "interchange control number"),
    14: (1, "019", lambda v: v in ("0", "1"), "acknowledgment requested"),
    15: (1, "020", lambda v: v in ("P", "T", "I"), "interchange usage indicator"),
    16: (1, "027", lambda v: True, "component element separator"),
}


def check_isa(isa: Segment) -> list[Fault]:
    where = _at(isa)
    if len(isa) != 16:
        return [ta1("022", f"the ISA has {len(isa)} elements, expected 16", **where)]
    faults: list[Fault] = []
    values = [isa.value(position) for position in range(1, 17)]
    length = 3 + 16 + sum(map(len, values)) + 1
    for position, (width, code, valid, name) in _ISA_FIELDS.items():
        value = values[position - 1]
        if len(value) != width:
            faults.append(
                ta1(
                    code,
                    f"ISA{position:02d} ({name}) is {len(value)} characters, expected "
                    f"{width}; the ISA is {length} characters, expected {ISA_LENGTH}",
                    element=position,
                    **where,
                )
            )
        elif not valid(value):
            faults.append(
                ta1(
                    code,
                    f"ISA{position:02d} ({name}) has an invalid value",
                    element=position,
                    **where,
                )
            )
    if values[0] == "00" and values[1].strip():
        faults.append(ta1("011", "ISA02 must be blank when ISA01 is 00", element=2, **where))
    if values[2] == "00" and values[3].strip():
        faults.append(ta1("013", "ISA04 must be blank when ISA03 is 00", element=4, **where))
    version = values[11]
    if is_digits(version) and len(version) == 5 and version != SUPPORTED_CONTROL_VERSION:
        faults.append(
            ta1(
                "003",
                f"interchange control version {version} is not supported; "
                f"send {SUPPORTED_CONTROL_VERSION} (X12 005010)",
                element=12,
                **where,
            )
        )
    return faults


def check_iea(interchange: Interchange) -> list[Fault]:
    iea = interchange.trailer
    if iea is None:
        return [ta1("023", "the interchange ends without an IEA (file truncated?)")]
    where = _at(iea)
    faults = []
    if iea.value(1) != str(interchange.count):
        faults.append(
            ta1(
                "021",
                f"IEA01 says {iea.value(1)!r} functional groups, "
                f"the interchange has {interchange.count}",
                element=1,
                **where,
            )
        )
    if iea.value(2) != interchange.control_number:
        faults.append(
            ta1("001", "IEA02 does not match ISA13; the ISA13 value is used", element=2, **where)
        )
    return faults


def check_gs(group: Group, seen_control_numbers: set[str]) -> list[Fault]:
    """Faults of a GS: malformed ones reject the interchange (TA1 024), unsupported
    content rejects the group (999 AK905)."""
    gs = group.header
    where = _at(gs)
    if len(gs) != 8:
        return [ta1("024", f"GS has {len(gs)} elements, expected 8", **where)]
    faults: list[Fault] = []
    for position, name, valid in (
        (2, "application sender's code", lambda v: 2 <= len(v) <= 15),
        (3, "application receiver's code", lambda v: 2 <= len(v) <= 15),
        (4, "date (CCYYMMDD)", lambda v: len(v) == 8 and _date(v, "%Y%m%d")),
        (5, "time (HHMM[SS[DD]])", _time),
        (7, "responsible agency code", lambda v: v == "X"),
    ):
        if not valid(gs.value(position)):
            faults.append(
                ta1("024", f"GS{position:02d} ({name}) is invalid", element=position, **where)
            )
    control = gs.value(6)
    if not (is_digits(control) and 1 <= len(control) <= 9):
        faults.append(
            ak9("6", "GS06 (group control number) must be 1-9 digits", element=6, **where)
        )
    elif control in seen_control_numbers:
        faults.append(
            ak9(
                "19",
                f"group control number {control} repeats in this interchange",
                element=6,
                **where,
            )
        )
    seen_control_numbers.add(control)
    if gs.value(1) != SUPPORTED_FUNCTIONAL_IDENTIFIER:
        faults.append(
            ak9(
                "1",
                f"functional identifier {gs.value(1)!r} is not supported; "
                f"278 groups use {SUPPORTED_FUNCTIONAL_IDENTIFIER}",
                element=1,
                **where,
            )
        )
    if gs.value(8) not in SUPPORTED_CONVENTIONS:
        faults.append(
            ak9(
                "2",
                f"version {gs.value(8)!r} is not supported; send "
                + " or ".join(sorted(SUPPORTED_CONVENTIONS)),
                element=8,
                **where,
            )
        )
    return faults


def check_ge(group: Group) -> list[Fault]:
    ge = group.trailer
    if ge is None:
        return [ak9("3", "functional group trailer (GE) missing")]
    where = _at(ge)
    faults = []
    if ge.value(1) != str(group.count):
        faults.append(
            ak9(
                "5",
                f"GE01 says {ge.value(1)!r} transaction sets, the group has {group.count}",
                element=1,
                **where,
            )
        )
    if ge.value(2) != group.control_number:
        faults.append(ak9("4", "GE02 does not match GS06", element=2, **where))
    return faults


def check_transaction(
    transaction: TransactionSet,
    group: Group,
    seen_control_numbers: set[str] | SeenControlNumbers,
) -> list[Fault]:
    st = transaction.header
    where = _at(st, position=1)
    faults: list[Fault] = list(transaction.faults)
    identifier = st.value(1)
    if not (is_digits(identifier) and len(identifier) == 3):
        faults.append(ik5("6", "ST01 (transaction set identifier) is missing or invalid", **where))
    elif identifier != SUPPORTED_TRANSACTION_SET:
        faults.append(ik5("1", f"transaction set {identifier} is not supported here", **where))
    control = st.value(2)
    if not 4 <= len(control) <= 9 or CONTROL_CHARACTERS.search(control):
        faults.append(ik5("7", "ST02 (control number) must be 4-9 characters", **where))
    elif control in seen_control_numbers:
        faults.append(
            ik5("23", f"transaction set control number {control} repeats in this group", **where)
        )
    seen_control_numbers.add(control)
    if st.value(3) != group.version:
        faults.append(
            ik5("19", f"ST03 {st.value(3)!r} does not match GS08 {group.version!r}", **where)
        )
    se = transaction.trailer
    if se is not None:
        se_where = _at(se, position=transaction.count)
        if se.value(1) != str(transaction.count):
            faults.append(
                ik5(
                    "4",
                    f"SE01 says {se.value(1)!r} segments, the transaction set "
                    f"has {transaction.count}",
                    **se_where,
                )
            )
        if se.value(2) != control:
            faults.append(ik5("3", "SE02 does not match ST02", **se_where))
    for position, segment in enumerate(transaction.segments, start=1):
        faults.extend(check_segment_syntax(segment, position))
    return with_trailer_code(faults)


def with_trailer_code(faults: list[Fault]) -> list[Fault]:
    """Segment and element faults reject their transaction set with IK502 5."""
    noted = any(f.level in (Level.SEGMENT, Level.ELEMENT) and f.fatal for f in faults)
    if noted and not any(f.level is Level.TRANSACTION and f.code == "5" for f in faults):
        return [*faults, ik5("5", "one or more segments in error")]
    return faults


def check_segment_syntax(segment: Segment, position: int) -> list[Fault]:
    """Syntax every X12 segment must meet, whatever the guide: a well-formed ID and no
    control characters in the data."""
    if SEGMENT_ID.match(segment.id) and not CONTROL_CHARACTERS.search("".join(segment.texts())):
        return []  # the common case, decided without splitting the elements
    where = _at(segment, position)
    if not SEGMENT_ID.match(segment.id):
        where["segment_id"] = printable_id(segment.id)
        return [ik3("1", "unrecognized segment ID", **where)]
    faults: list[Fault] = []
    for element_position, element in enumerate(segment.elements, start=1):
        for repetition_number, repetition in enumerate(element, start=1):
            for component_number, value in enumerate(repetition, start=1):
                if CONTROL_CHARACTERS.search(value):
                    faults.append(
                        ik4(
                            "6",
                            "invalid character in data element",
                            element=element_position,
                            component=component_number if len(repetition) > 1 else None,
                            repetition=repetition_number if len(element) > 1 else None,
                            bad_value=value,
                            **where,
                        )
                    )
    if faults:
        faults.insert(0, ik3("8", "segment has data element errors", **where))
    return faults


def printable_id(segment_id: str) -> str:
    """A segment ID fit to quote in an IK301: letters and digits, at most three."""
    cleaned = re.sub(r"[^A-Z0-9]", "", segment_id.upper())[:3]
    return cleaned if len(cleaned) >= 2 else "ZZZ"
