"""Generated maps: valid pyx12 maps, one per direction, in step with their sources."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path

import pytest
from lxml import etree

from edi278.ig import mapgen
from edi278.ig.mapgen import MapShapeError, MapSpec, render

SCHEMAS = Path(__file__).parents[1] / "schemas"
MAP_XSD = etree.XMLSchema(etree.parse(str(files("pyx12") / "map" / "map.xsd")))

GUIDE = """
loop HEADER 0110 R 1 "Table 1 - Header"
  segment BHT 0100 R 1 "Beginning of Hierarchical Transaction"
    01 1005 R "Hierarchical Structure Code" = 0007
    02 353 R "Transaction Set Purpose Code" = 13 | 11
loop DETAIL 0120 R 1 "Table 2 - Detail"
  loop 2000A 0100 R 1 "UMO Level"
    segment HL 0100 R 1 "UMO Level"
      01 628 R "Hierarchical ID Number"
    segment AAA 0200 -|S 9 "Request Validation"
      01 1073 R "Valid Request Indicator" = N Y
    loop 2000C 0300 R 1 "Subscriber Level"
      segment HL 0100 R 1 "Subscriber Level"
        01 628 R "Hierarchical ID Number"
      loop 2000D 0200 S 1 "Dependent Level"
        segment HL 0100 R 1 "Dependent Level"
          01 628 R "Hierarchical ID Number"
      loop 2000E 0300 R 1 "Patient Event Level"
        segment UM 0100 R 1 "Health Care Services Review Information"
          01 1525 R "Request Category Code" = AR HS SC
          composite 02 C023 S "Health Care Service Location Information"
            01 1331 R "Facility Code Value"
            02 1332 R "Facility Code Qualifier" = A B
"""


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    shutil.copy(SCHEMAS / "src" / mapgen.ENVELOPE_SOURCE, tmp_path / "src")
    (tmp_path / "src" / "guide.map").write_text(GUIDE)
    return tmp_path


def spec(direction: str) -> MapSpec:
    return MapSpec("guide.map", f"guide.{direction}.xml", "278", "005010X217", direction, "t")


@pytest.mark.parametrize("direction", ["request", "response"])
def test_a_generated_map_is_valid_against_pyx12s_schema(source_dir, direction):
    document = etree.fromstring(render(spec(direction), source_dir).encode())
    assert MAP_XSD.validate(document), MAP_XSD.error_log


def test_request_and_response_differ_as_the_source_says(source_dir):
    request = ET.fromstring(render(spec("request"), source_dir))
    response = ET.fromstring(render(spec("response"), source_dir))
    assert request.find(".//segment[@xid='AAA']") is None
    assert response.find(".//segment[@xid='AAA']/usage").text == "S"
    bht02 = ".//element[@xid='BHT02']/valid_codes/code"
    assert [c.text for c in request.findall(bht02)] == ["13"]
    assert [c.text for c in response.findall(bht02)] == ["11"]
    # the envelope takes the guide: GS08 and ST03 name it, ST01 the transaction set
    assert request.find(".//element[@xid='ST01']/valid_codes/code").text == "278"
    assert request.find(".//element[@xid='ST03']/valid_codes/code").text == "005010X217"


def test_the_patient_event_follows_the_dependent_too(source_dir):
    request = ET.fromstring(render(spec("request"), source_dir))
    paths = [loop.get("xid") for loop in request.findall(".//loop[@xid='2000D']/loop")]
    assert paths == ["2000E"]
    assert len(request.findall(".//loop[@xid='2000E']")) == 2


def test_pyx12_loads_the_generated_map(source_dir):
    import pyx12.map_if
    import pyx12.params

    root = ET.fromstring(render(spec("request"), source_dir))
    loaded = pyx12.map_if.map_if(root, pyx12.params.params(), None)
    um = loaded.getnodebypath("/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000C/2000E/UM")
    assert um is not None and um.get_child_node_by_idx(1).id == "UM02"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            (
                '01 628 R "Hierarchical ID Number"\n    segment AAA',
                '03 628 R "Hierarchical ID Number"\n    segment AAA',
            ),
            "not 1, 2, 3",
        ),
        (("loop 2000C 0300", "loop 2000C 0100"), "decrease"),
    ],
)
def test_a_map_pyx12_would_misread_is_refused(source_dir, change, message):
    guide = source_dir / "src" / "guide.map"
    guide.write_text(guide.read_text().replace(*change, 1))
    with pytest.raises(MapShapeError, match=message):
        render(spec("request"), source_dir)


@pytest.mark.parametrize("spec", mapgen.MAPS, ids=lambda s: s.output)
def test_the_checked_in_maps_are_generated_from_their_sources_and_valid(spec):
    checked_in = (SCHEMAS / spec.output).read_text()
    assert checked_in == render(spec), "run: python -m edi278.ig.mapgen"
    assert MAP_XSD.validate(etree.fromstring(checked_in.encode())), MAP_XSD.error_log
