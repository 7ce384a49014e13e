"""The XML form of a 278, for integration engines that prefer XML: the JSON form's
shape in elements and attributes, with an XSD (schemas/278.xsd) generated from the model.

    <transaction278 control_number="0001" convention="005010X217">
      <envelope sender_id="SUBMITTER01" .../>
      <BHT structure="0007" purpose="13" .../>
      <level level="20">
        <party loop_id="2010A"><NM1 entity="X3" .../></party>
        <level level="21">...</level>
      </level>
    </transaction278>

A simple field is an attribute, a composite a child element of <c> components, a
record kept whole a <segment id="..."> of <element>, <repetition> and <c>.
"""

from __future__ import annotations

import sys
from dataclasses import fields
from functools import lru_cache
from pathlib import Path

from lxml import etree

from edi278.model import (
    RECORDS,
    Envelope,
    Generic,
    Header,
    Level,
    Party,
    Record,
    Transaction,
    shape_of,
)

SCHEMAS = Path(__file__).parents[1] / "schemas"
XSD_FILE = "278.xsd"
XS = "http://www.w3.org/2001/XMLSchema"


class XmlFormError(ValueError):
    pass


def _components(parent: etree._Element, tag: str, values: tuple[str, ...]) -> None:
    holder = etree.SubElement(parent, tag)
    for value in values:
        etree.SubElement(holder, "c").text = value


def _record(parent: etree._Element, record: Record) -> None:
    if isinstance(record, Generic):
        node = etree.SubElement(parent, "segment", id=record.segment_id)
        for element in record.elements:
            holder = etree.SubElement(node, "element")
            for repetition in element:
                _components(holder, "repetition", repetition)
        return
    node = etree.SubElement(parent, record.SEGMENT)
    for item in fields(record):
        value = getattr(record, item.name)
        shape = shape_of(type(record), item.name)
        if shape == "str":
            if value:
                node.set(item.name, value)
        elif shape == "composite":
            if value:
                _components(node, item.name, value)
        else:
            for composite in value:
                _components(node, item.name, composite)


def _level(parent: etree._Element, level: Level) -> None:
    node = etree.SubElement(parent, "level", level=level.level)
    for record in level.records:
        _record(node, record)
    for party in level.parties:
        holder = etree.SubElement(node, "party", loop_id=party.loop_id)
        for record in party.records:
            _record(holder, record)
    for child in level.children:
        _level(node, child)


def to_xml(transactions: list[Transaction]) -> bytes:
    """One XML document holding the transaction sets, in order."""
    batch = etree.Element("transactions278")
    for transaction in transactions:
        _transaction(batch, transaction)
    return etree.tostring(batch, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def _transaction(parent: etree._Element, transaction: Transaction) -> None:
    root = etree.SubElement(
        parent,
        "transaction278",
        control_number=transaction.control_number,
        convention=transaction.convention,
    )
    if transaction.envelope is not None:
        etree.SubElement(
            root,
            "envelope",
            {item.name: getattr(transaction.envelope, item.name) for item in fields(Envelope)},
        )
    _record(root, transaction.header)
    _level(root, transaction.root)


def _texts(node: etree._Element) -> tuple[str, ...]:
    return tuple(c.text or "" for c in node.iterfind("c"))


def _from_record(node: etree._Element) -> Record:
    if node.tag == "segment":
        elements = tuple(
            tuple(_texts(rep) for rep in element.iterfind("repetition"))
            for element in node.iterfind("element")
        )
        return Generic(node.get("id", ""), elements)
    kind = RECORDS.get(node.tag)
    if kind is None:
        raise XmlFormError(f"<{node.tag}> is not a record of the 278")
    values: list[object] = []
    for item in fields(kind):
        shape = shape_of(kind, item.name)
        if shape == "str":
            values.append(node.get(item.name, ""))
        elif shape == "composite":
            found = node.find(item.name)
            values.append(_texts(found) if found is not None else ())
        else:
            values.append(tuple(_texts(each) for each in node.iterfind(item.name)))
    return kind(*values)


def _from_level(node: etree._Element) -> Level:
    level = Level(level=node.get("level", ""))
    for child in node:
        if child.tag == "level":
            level.children.append(_from_level(child))
        elif child.tag == "party":
            level.parties.append(
                Party([_from_record(r) for r in child], loop_id=child.get("loop_id", ""))
            )
        else:
            level.records.append(_from_record(child))
    return level


def from_xml(data: bytes) -> list[Transaction]:
    """The transaction sets of a document valid against schemas/278.xsd."""
    try:
        document = etree.fromstring(data)
    except etree.XMLSyntaxError as error:
        raise XmlFormError(f"not XML: {error}") from None
    schema = _schema()
    if not schema.validate(document):
        fault = schema.error_log.last_error
        raise XmlFormError(f"line {fault.line}: {fault.message}")
    return [_from_transaction(node) for node in document.iterfind("transaction278")]


def _from_transaction(root: etree._Element) -> Transaction:
    envelope_node = root.find("envelope")
    envelope = (
        Envelope(**{item.name: envelope_node.get(item.name, "") for item in fields(Envelope)})
        if envelope_node is not None
        else None
    )
    header = _from_record(root.find("BHT"))
    assert isinstance(header, Header)
    return Transaction(
        root.get("control_number", ""),
        root.get("convention", ""),
        header,
        _from_level(root.find("level")),
        envelope,
    )


# --- XSD --------------------------------------------------------------------------------


def _xs(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XS}}}{tag}", attributes)


def _record_type(schema: etree._Element, kind: type[Record]) -> None:
    complex_type = _xs(schema, "complexType", name=kind.__name__)
    sequence = _xs(complex_type, "sequence")
    for item in fields(kind):
        shape = shape_of(kind, item.name)
        if shape == "composite":
            _xs(sequence, "element", name=item.name, type="components", minOccurs="0")
        elif shape == "rest":
            _xs(
                sequence,
                "element",
                name=item.name,
                type="components",
                minOccurs="0",
                maxOccurs="unbounded",
            )
    for item in fields(kind):
        if shape_of(kind, item.name) == "str":
            _xs(complex_type, "attribute", name=item.name, type="xs:string")


def xsd() -> bytes:
    schema = etree.Element(f"{{{XS}}}schema", nsmap={"xs": XS})
    components = _xs(schema, "complexType", name="components")
    _xs(
        _xs(components, "sequence"),
        "element",
        name="c",
        type="xs:string",
        minOccurs="0",
        maxOccurs="unbounded",
    )
    kinds = sorted(RECORDS.values(), key=lambda k: k.__name__)
    for kind in kinds:
        _record_type(schema, kind)
    generic = _xs(schema, "complexType", name="Generic")
    element = _xs(
        _xs(generic, "sequence"), "element", name="element", minOccurs="0", maxOccurs="unbounded"
    )
    _xs(
        _xs(_xs(element, "complexType"), "sequence"),
        "element",
        name="repetition",
        type="components",
        maxOccurs="unbounded",
    )
    _xs(generic, "attribute", name="id", type="xs:string", use="required")

    def records(parent: etree._Element) -> None:
        for kind in kinds:
            if kind is not Header:
                _xs(parent, "element", name=kind.SEGMENT, type=kind.__name__)
        _xs(parent, "element", name="segment", type="Generic")

    party = _xs(schema, "complexType", name="party")
    records(_xs(party, "choice", minOccurs="0", maxOccurs="unbounded"))
    _xs(party, "attribute", name="loop_id", type="xs:string", use="required")
    level = _xs(schema, "complexType", name="level")
    choice = _xs(level, "choice", minOccurs="0", maxOccurs="unbounded")
    records(choice)
    _xs(choice, "element", name="party", type="party")
    _xs(choice, "element", name="level", type="level")
    _xs(level, "attribute", name="level", type="xs:string", use="required")

    batch = _xs(schema, "element", name="transactions278")
    _xs(
        _xs(_xs(batch, "complexType"), "sequence"),
        "element",
        ref="transaction278",
        minOccurs="0",
        maxOccurs="unbounded",
    )
    root = _xs(schema, "element", name="transaction278")
    root_type = _xs(root, "complexType")
    sequence = _xs(root_type, "sequence")
    envelope = _xs(_xs(sequence, "element", name="envelope", minOccurs="0"), "complexType")
    for item in fields(Envelope):
        _xs(envelope, "attribute", name=item.name, type="xs:string")
    _xs(sequence, "element", name="BHT", type="Header")
    _xs(sequence, "element", name="level", type="level")
    for name in ("control_number", "convention"):
        _xs(root_type, "attribute", name=name, type="xs:string", use="required")
    return etree.tostring(schema, pretty_print=True, xml_declaration=True, encoding="UTF-8")


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    """The checked-in XSD, parsed once."""
    return etree.XMLSchema(etree.fromstring((SCHEMAS / XSD_FILE).read_bytes()))


def main(argv: list[str] | None = None) -> int:
    """Write schemas/278.xsd (`--check`: exit 1 when it is stale)."""
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    path = SCHEMAS / XSD_FILE
    text = xsd()
    if path.exists() and path.read_bytes() == text:
        return 0
    print(f"{'stale' if check else 'wrote'}: {path}")
    if not check:
        path.write_bytes(text)
    return 1 if check else 0


if __name__ == "__main__":
    sys.exit(main())
