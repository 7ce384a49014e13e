"""The compact map source: how it reads, and the faults it names."""

from __future__ import annotations

import pytest

from edi278.ig.mapsource import CompositeDef, LoopDef, MapSourceError, SegmentDef, Usage, parse

SOURCE = """
# base-standard rules for every NM1
syntax NM1 P0809
loop DETAIL 0200 R 1 "Table 2 - Detail"
  loop 2000A 0100 R 1 "UMO Level"
    segment HL 0100 R 1 "UMO Level"
      03 735 R "Hierarchical Level Code" = 20
    segment AAA 0200 -|S 9 "Request Validation"  # response only
      01 1073 R "Valid Request Indicator" = N Y
    loop 2010A 0300 R 1 "UMO Name"
      segment UM 0200 S 1 "Review Information"
        syntax P0102
        02 1322 R "Certification Type Code" = I 1 2 | I 1 2 3
        composite 04 C023 S "Location"
          01 1331 R "Facility Code Value"
          02 1332 R "Facility Code Qualifier" = A B
"""


def test_the_source_reads_into_a_tree_of_loops_segments_and_elements():
    source = parse(SOURCE)
    assert source.syntax == {"NM1": ["P0809"]}
    (detail,) = source.loops
    (umo,) = detail.children
    assert isinstance(umo, LoopDef) and umo.id == "2000A" and umo.repeat == "1"
    hl, aaa, name = umo.children
    assert isinstance(hl, SegmentDef) and hl.elements[0].codes == (("20",), ("20",))
    assert aaa.usage == Usage("-", "S") and aaa.max_use == "9"
    (um,) = name.children
    assert um.syntax == ["P0102"]
    certification, location = um.elements
    assert certification.codes_of("request") == ("I", "1", "2")
    assert certification.codes_of("response") == ("I", "1", "2", "3")
    assert isinstance(location, CompositeDef)
    assert [c.data_element for c in location.components] == ["1331", "1332"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('loop X 01 Q 1 "x"', "usage 'Q'"),
        ('segment HL 0100 R 1 "x"', "must be inside a loop"),
        ('loop X 0100 R 1 "x"\n  segment HL AB R 1 "x"', "position 'AB'"),
        ('loop X 0100 R 1 "x"\n  01 628 R "x"', "must be inside a segment"),
        ('loop X 0100 R 1 "x"\n  segment HL 0100 R 1 "x"\n    01 628 R "x" 20', "expected '='"),
        ('loop X 0100 R 1 "unclosed', "line 1"),
    ],
)
def test_a_fault_in_the_source_names_its_line(text, message):
    with pytest.raises(MapSourceError, match=message):
        parse(text)
