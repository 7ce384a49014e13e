"""The JSON form of a 278: the model as plain JSON, for integrators who do not speak X12.

A record is an object named by its segment (`{"segment": "UM", "category": "HS", ...}`),
with a composite as a list of components; a record the model keeps whole is
`{"segment": "CRC", "elements": [[["07", "Y"]]]}` (elements, repetitions, components).
Empty values are left out. The JSON Schemas in schemas/ are generated from the model
by `python -m edi278.jsonform` and checked in; a test keeps them in step.
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from edi278.model import (
    INQUIRY_GUIDE,
    NOTIFICATION_GUIDE,
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
# A form is a guide (ST03) and a direction, named by the BHT02 codes it takes; each has a
# schema of its own, named by its file.
FORMS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "278-request.schema.json": ("005010X217", ("13",), "request"),
    "278-response.schema.json": ("005010X217", ("11",), "response"),
    "278-inquiry.schema.json": (INQUIRY_GUIDE, ("28",), "inquiry"),
    "278-inquiry-response.schema.json": (INQUIRY_GUIDE, ("11", "49"), "inquiry response"),
    "278-notification.schema.json": (NOTIFICATION_GUIDE, ("14", "22", "CN"), "notification"),
    "278-notification-acknowledgment.schema.json": (
        NOTIFICATION_GUIDE,
        ("11",),
        "notification acknowledgment",
    ),
}
# (convention, BHT02) -> the schema's file
SCHEMA_FILES: dict[tuple[str, str], str] = {
    (convention, purpose): name
    for name, (convention, purposes, _) in FORMS.items()
    for purpose in purposes
}


class JsonFormError(ValueError):
    """What is wrong with a document; `public` says it without any value from it, for
    an answer to a caller that may reach logs or proxies (the message may quote one)."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or message


# --- model -> JSON ----------------------------------------------------------------------


def _record(record: Record) -> dict[str, Any]:
    if isinstance(record, Generic):
        return {
            "segment": record.segment_id,
            "elements": [[list(rep) for rep in element] for element in record.elements],
        }
    document: dict[str, Any] = {"segment": record.SEGMENT}
    for item in fields(record):
        value = getattr(record, item.name)
        if value in ("", ()):
            continue
        shape = shape_of(type(record), item.name)
        if shape == "rest":
            value = [list(composite) for composite in value]
        elif shape == "composite":
            value = list(value)
        document[item.name] = value
    return document


def _level(level: Level) -> dict[str, Any]:
    document: dict[str, Any] = {
        "level": level.level,
        "records": [_record(r) for r in level.records],
    }
    if level.parties:
        document["parties"] = [
            {"loop_id": p.loop_id, "records": [_record(r) for r in p.records]}
            for p in level.parties
        ]
    if level.children:
        document["children"] = [_level(child) for child in level.children]
    return document


def to_json(transaction: Transaction) -> dict[str, Any]:
    document: dict[str, Any] = {
        "control_number": transaction.control_number,
        "convention": transaction.convention,
        "header": _record(transaction.header),
        "root": _level(transaction.root),
    }
    if transaction.envelope is not None:
        document["envelope"] = {
            item.name: getattr(transaction.envelope, item.name) for item in fields(Envelope)
        }
    return document


# --- JSON -> model ----------------------------------------------------------------------


def _from_record(document: dict[str, Any]) -> Record:
    segment_id = document.get("segment", "")
    kind = RECORDS.get(segment_id)
    if kind is None or "elements" in document:
        elements = document.get("elements", [])
        return Generic(segment_id, tuple(tuple(tuple(rep) for rep in e) for e in elements))
    unknown = set(document) - {"segment"} - {item.name for item in fields(kind)}
    if unknown:
        raise JsonFormError(f"{segment_id} has no field {', '.join(sorted(unknown))}",
                            f"{segment_id} has a field it does not know")  # fmt: skip
    values: list[object] = []
    for item in fields(kind):
        value = document.get(item.name)
        shape = shape_of(kind, item.name)
        if shape == "rest":
            values.append(tuple(tuple(c) for c in value or ()))
        elif shape == "composite":
            values.append(tuple(value or ()))
        else:
            values.append(value or "")
    return kind(*values)


def _from_level(document: dict[str, Any]) -> Level:
    return Level(
        records=[_from_record(r) for r in document.get("records", [])],
        level=document["level"],
        parties=[
            Party([_from_record(r) for r in p.get("records", [])], loop_id=p["loop_id"])
            for p in document.get("parties", [])
        ],
        children=[_from_level(child) for child in document.get("children", [])],
    )


def from_json(document: dict[str, Any]) -> Transaction:
    header = _from_record({**document["header"], "segment": "BHT"})
    assert isinstance(header, Header)
    envelope = Envelope(**document["envelope"]) if "envelope" in document else None
    return Transaction(
        document["control_number"],
        document["convention"],
        header,
        _from_level(document["root"]),
        envelope,
    )


# --- JSON Schema ------------------------------------------------------------------------


def check_document(document: object) -> dict[str, Any]:
    """The document, if it is valid against the schema of its purpose (BHT02)."""
    import jsonschema  # only where documents come in

    if not isinstance(document, dict):
        raise JsonFormError("a 278 document is a JSON object")
    header = document.get("header")
    purpose = str(header.get("purpose", "")) if isinstance(header, dict) else ""
    convention = str(document.get("convention", "005010X217"))
    name = SCHEMA_FILES.get((convention, purpose))
    if name is None:
        raise JsonFormError(
            "header.purpose must be 13 (request) or 11 (response) for convention 005010X217, "
            "28 (inquiry) or 11 (response) for 005010X215, 14, 22 or CN (notification) or "
            "11 (acknowledgment) for 005010X216"
        )
    validator = jsonschema.Draft202012Validator(schema(name))
    error = next(iter(sorted(validator.iter_errors(document), key=lambda e: e.path)), None)
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        raise JsonFormError(f"${where}: {error.message}", f"${where}: fails {error.validator}")
    return document


def _record_schema(kind: type[Record]) -> dict[str, Any]:
    properties: dict[str, Any] = {"segment": {"const": kind.SEGMENT}}
    for item in fields(kind):
        shape = shape_of(kind, item.name)
        components = {"type": "array", "items": {"type": "string"}}
        if shape == "rest":
            properties[item.name] = {"type": "array", "items": components}
        elif shape == "composite":
            properties[item.name] = components
        else:
            properties[item.name] = {"type": "string"}
    return {
        "type": "object",
        "properties": properties,
        "required": ["segment"],
        "additionalProperties": False,
    }


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a document of one form (FORMS, by file name): an
    X217 request or response, an X215 inquiry or response, an X216 notification or
    acknowledgment."""
    convention, purposes, form_name = FORMS[name]
    records = {
        kind.__name__: _record_schema(kind)
        for kind in sorted(RECORDS.values(), key=lambda k: k.__name__)
    }
    records["Generic"] = {
        "type": "object",
        "properties": {
            "segment": {"type": "string", "pattern": "^[A-Z][A-Z0-9]{1,2}$"},
            "elements": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
            },
        },
        "required": ["segment", "elements"],
        "additionalProperties": False,
    }
    header = dict(records["Header"])
    purpose = {"const": purposes[0]} if len(purposes) == 1 else {"enum": list(purposes)}
    header["properties"] = {**header["properties"], "purpose": purpose}
    header["required"] = ["segment", "purpose"]
    string = {"type": "string"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://edi278.invalid/schemas/{name}",
        "title": f"X12 278 ({convention}) {form_name} in the edi278 JSON form",
        "type": "object",
        "properties": {
            "control_number": string,
            "convention": {"const": convention},
            "header": {"$ref": "#/$defs/header"},
            "root": {"$ref": "#/$defs/level"},
            "envelope": {
                "type": "object",
                "properties": {item.name: string for item in fields(Envelope)},
                "additionalProperties": False,
            },
        },
        "required": ["control_number", "convention", "header", "root"],
        "additionalProperties": False,
        "$defs": {
            "header": header,
            "record": {
                "oneOf": [
                    {"$ref": f"#/$defs/records/{name}"} for name in records if name != "Header"
                ]
            },
            "records": records,
            "party": {
                "type": "object",
                "properties": {
                    "loop_id": string,
                    "records": {"type": "array", "items": {"$ref": "#/$defs/record"}},
                },
                "required": ["loop_id", "records"],
                "additionalProperties": False,
            },
            "level": {
                "type": "object",
                "properties": {
                    "level": {"enum": ["20", "21", "22", "23", "EV", "SS"]},
                    "records": {"type": "array", "items": {"$ref": "#/$defs/record"}},
                    "parties": {"type": "array", "items": {"$ref": "#/$defs/party"}},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/level"}},
                },
                "required": ["level", "records"],
                "additionalProperties": False,
            },
        },
    }


def schema_text(name: str) -> str:
    return json.dumps(schema(name), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the JSON Schemas into schemas/ (`--check`: exit 1 when one is stale)."""
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for name in FORMS:
        path = SCHEMAS / name
        text = schema_text(name)
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not check:
                path.write_text(text)
    for path in stale:
        print(f"{'stale' if check else 'wrote'}: {path}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
