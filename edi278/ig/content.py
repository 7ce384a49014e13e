"""What a segment's elements must hold: counts, usage, lengths, characters, codes, dates
and times, and the map's syntax rules, judged as pyx12 judges them (its order, its
codes), over a segment given as a tuple of elements, each a tuple of components.

A finding is (rule, code, bad value): with an element rule it is that element's IK4;
without one (composite-level and syntax findings, too many elements) pyx12 files it as
IK304 8 on the segment, and so do we. Known-good values are remembered per element, so
a value seen before costs one set lookup.
"""

from __future__ import annotations

import re

from edi278.ig.compiled import CompositeRule, ElementRule, SegmentNode, whole

Finding = tuple[ElementRule | None, str, str | None]
SEGMENT_LEVEL = None  # the rule of a finding pyx12 files on the segment

KNOWN_GOOD_LIMIT = 4096  # values remembered per element

_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"-?[0-9]*(\.[0-9]+)?", re.ASCII)
# characters outside the X12 extended set (00501 adds ^ and `), and the basic set
_NOT_EXTENDED_5 = re.compile(r"""[^A-Z0-9!"&'()*+,\-./:;?= a-z%~@\[\]_{}\\|<>^`#$]""", re.ASCII)
_NOT_EXTENDED = re.compile(r"""[^A-Z0-9!"&'()*+,\-./:;?= a-z%~@\[\]_{}\\|<>#$]""", re.ASCII)
_NOT_DIGIT = re.compile(r"[^0-9]")
_CONTROL = re.compile("[\x07\x09\x0a\x0b\x0c\x0d\x1c\x1d\x1e\x1f\x01-\x06\x11-\x17]")
# pyx12 names the first control character it finds in this order
_CONTROL_NAMES = {
    "\x07": "BEL",
    "\x09": "HT",
    "\x0a": "LF",
    "\x0b": "VT",
    "\x0c": "FF",
    "\x0d": "CR",
    "\x1c": "FS",
    "\x1d": "GS",
    "\x1e": "RS",
    "\x1f": "US",
    "\x01": "SOH",
    "\x02": "STX",
    "\x03": "ETX",
    "\x04": "EOT",
    "\x05": "ENQ",
    "\x06": "ACK",
    "\x11": "DC1",
    "\x12": "DC2",
    "\x13": "DC3",
    "\x14": "DC4",
    "\x15": "NAK",
    "\x16": "SYN",
    "\x17": "ETB",
}
DATE_TYPES = ("RD8", "DT", "D8", "D6")


class Unreadable(Exception):
    """Input on which pyx12 itself raises: the transaction set is rejected whole, as the
    pyx12 bridge rejects it."""


def is_valid_date(data_type: str, value: str) -> bool:
    if data_type == "D8" and len(value) != 8:
        return False
    if data_type == "D6" and len(value) != 6:
        return False
    if _NOT_DIGIT.search(value) or len(value) not in (6, 8, 12):
        return False
    if len(value) == 6:
        value = ("20" if int(value[0:2]) < 50 else "19") + value
    year, month, day = int(value[0:4]), int(value[4:6]), int(value[6:8])
    if year < 1800 or not 1 <= month <= 12:
        return False
    if month in (1, 3, 5, 7, 8, 10, 12):
        last = 31
    elif month in (4, 6, 9, 11):
        last = 30
    else:
        last = 29 if not year % 4 and not (not year % 100 and year % 400) else 28
    if not 1 <= day <= last:
        return False
    return len(value) != 12 or is_valid_time(value[8:12])


def is_valid_time(value: str) -> bool:
    """pyx12's test, string comparisons included: a short value can pass."""
    if _NOT_DIGIT.search(value):
        return False
    if value[0:2] > "23" or value[2:4] > "59":
        return False
    return len(value) <= 4 or (6 <= len(value) <= 8 and value[4:6] <= "59")


def _not_extended(icvn: str) -> re.Pattern[str]:
    """A character outside the extended set of the interchange version."""
    return _NOT_EXTENDED_5 if icvn == "00501" else _NOT_EXTENDED


def is_valid_type(value: str, data_type: str | None, icvn: str = "00401") -> bool:
    if not data_type:
        return True
    if data_type[0] == "N":
        found = _NUMBER.match(value)
        return found is not None and found.group(0) == value
    if data_type == "R":
        found = _DECIMAL.match(value)
        return found is not None and found.group(0) == value
    if data_type in ("ID", "AN"):
        return _not_extended(icvn).search(value) is None
    if data_type == "RD8":
        if "-" not in value:
            return False
        parts = value.split("-")
        if len(parts) != 2:  # pyx12 unpacks two and fails on more
            raise Unreadable("a date range with more than one '-'")
        return is_valid_date("D8", parts[0]) and is_valid_date("D8", parts[1])
    if data_type in ("DT", "D8", "D6"):
        return is_valid_date(data_type, value)
    if data_type == "TM":
        return is_valid_time(value)
    return data_type == "B"


def check_value(
    rule: ElementRule, value: str | None, icvn: str, types: tuple[str, ...] = ()
) -> list[Finding]:
    """One element's findings (element_if.is_valid_errors)."""
    if not value:
        if rule.usage in ("N", "S"):
            return []
        if rule.usage == "R" and (
            rule.seq != 1 or not rule.in_composite or rule.composite_required
        ):
            return [(rule, "1", None)]
        return []
    if rule.usage == "N":
        return [(rule, "10", None)]
    if not types and value in rule.known_good:
        return []
    found: list[Finding] = []
    data_type = rule.data_type
    measured = value
    if data_type is not None and (data_type == "R" or data_type[:1] == "N"):
        measured = value.replace("-", "").replace(".", "")
    if data_type == "":
        raise Unreadable("an element without a data type")
    if len(measured) < rule.min_len:
        found.append((rule, "4", value))
    if len(measured) > rule.max_len:
        found.append((rule, "5", value))
    # text of the extended character set holds no control character and is of its type
    extended = data_type in ("AN", "ID") and _not_extended(icvn).search(value) is None
    control = None if extended else _CONTROL.search(value)
    if control:
        first = next(name for char, name in _CONTROL_NAMES.items() if char in value)
        found.append((rule, "6", f"<{first}>"))
        return found
    if data_type in ("AN", "ID") and value[-1] == " " and len(value.rstrip()) >= rule.min_len:
        found.append((rule, "6", value))
    if rule.codes and value not in rule.codes:
        found.append((rule, "7", value))
    if not extended and not is_valid_type(value, data_type, icvn):
        code = "8" if data_type in DATE_TYPES else "9" if data_type == "TM" else "6"
        found.append((rule, code, value))
    if types and not any(is_valid_type(value, t) for t in types if t is not None):
        if "TM" in types:
            found.append((rule, "9", value))
        elif any(t in types for t in DATE_TYPES):
            found.append((rule, "8", value))
    if not found and not types and len(rule.known_good) < KNOWN_GOOD_LIMIT:
        rule.known_good.add(value)
    return found


def check_composite(
    rule: CompositeRule, components: tuple[str, ...] | None, icvn: str
) -> list[Finding]:
    """A composite's findings (composite_if.is_valid_errors)."""
    empty = components is None or all(c == "" for c in components)
    if empty and rule.usage in ("N", "S"):
        return []
    if rule.usage == "R" and empty:
        return [(SEGMENT_LEVEL, "1", None)]
    assert components is not None
    if rule.usage == "N":
        return [(SEGMENT_LEVEL, "5", None)]
    found: list[Finding] = []
    parts = rule.components
    if len(components) > len(parts):
        found.append((SEGMENT_LEVEL, "3", None))
    for index, part in enumerate(parts):
        value = components[index] if index < len(components) else None
        if value not in part.known_good:  # what it holds passed every check
            found += check_value(part, value, icvn)
    return found


def _present(elements: tuple[tuple[str, ...], ...], position: int) -> bool:
    """An element pyx12's syntax rules count as there: in the segment and not empty."""
    return position <= len(elements) and whole_text(elements[position - 1]) != ""


def whole_text(components: tuple[str, ...], component: str = ":") -> str:
    """pyx12's get_value of an element: components joined, trailing empty ones dropped."""
    last = len(components)
    while last > 1 and components[last - 1] == "":
        last -= 1
    return component.join(components[:last]) if last > 1 else components[0]


def syntax_holds(kind: str, positions: tuple[int, ...], elements) -> bool:
    if len(positions) < 2:
        return False
    if kind in ("P", "R", "E"):
        count = sum(_present(elements, p) for p in positions)
        if kind == "P":
            return count in (0, len(positions))
        if kind == "R":
            return count > 0
        return count <= 1
    if kind in ("C", "L"):
        if not _present(elements, positions[0]):
            return True
        count = sum(_present(elements, p) for p in positions[1:])
        return count == len(positions) - 1 if kind == "C" else count > 0
    return False


def check_segment(
    node: SegmentNode, elements: tuple[tuple[str, ...], ...], icvn: str, component: str = ":"
) -> list[Finding]:
    """A segment's findings in pyx12's order (segment_if.is_valid_errors)."""
    return check_segment_around(node, elements, icvn, component)[0]


def check_segment_around(
    node: SegmentNode,
    elements: tuple[tuple[str, ...], ...],
    icvn: str,
    component: str = ":",
    skip: int | None = None,
) -> tuple[list[Finding], int]:
    """`check_segment` leaving out the simple element at index `skip`, and where in the
    findings that element's own would stand."""
    at = 0
    found: list[Finding] = []
    rules = node.elements
    if len(elements) > len(rules):
        found.append((SEGMENT_LEVEL, "3", None))
    segment_id = node.id
    dtp_type: tuple[str, ...] = ()
    qualifier_types: list[str] = []
    for index, rule in enumerate(rules):
        given = elements[index] if index < len(elements) else None
        if index == skip:
            at = len(found)
            continue
        if isinstance(rule, CompositeRule):
            if given is not None and len(given) > len(rule.components) and rule.usage != "N":
                raise Unreadable("a composite with more components than its map")
            found += check_composite(rule, given, icvn)
            continue
        if given is None:
            found += check_value(rule, None, icvn)
            continue
        if index == 1 and segment_id == "DTP":
            qualifier = whole(given)
            if qualifier in ("RD8", "D8", "D6", "DT", "TM"):
                dtp_type = (qualifier,)
        if rule.data_element == "1250":
            qualifier_types.extend(rule.codes_in_order)
        if len(given) > 1:  # a composite where a simple element goes
            found.append((rule, "6", whole_text(given, component)))
        elif index == 2 and segment_id == "DTP":
            found += check_value(rule, given[0], icvn, dtp_type)
        elif rule.data_element == "1251" and qualifier_types:
            found += check_value(rule, given[0], icvn, tuple(qualifier_types))
        elif given[0] not in rule.known_good:  # what it holds passed every check
            found += check_value(rule, given[0], icvn)
    for kind, positions in node.syntax:
        if not syntax_holds(kind, positions, elements):
            found.append((SEGMENT_LEVEL, "10" if kind == "E" else "2", None))
    return found, at
