"""The official Mirakl seller OpenAPI spec as validators, for the contract tests.

Enum values in Mirakl's spec live in descriptions ("Enum: `"A"`, `"B"`" plus deprecated
values), not in ``enum``; :func:`validator_for` turns them into real ``enum`` keywords so an
emulator answering an unknown state fails validation too.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).parents[2] / "specs" / "mirakl" / "mmp-seller-openapi.json"
_ENUM = re.compile(r"Enum:\s*((?:`\"[^`]*\"`(?:,\s*)?)+)")
_VALUE = re.compile(r"`\"([^`]*)\"`")


@functools.cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def operation(op_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, item in spec()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == op_id:
                return method.upper(), path, op
    raise KeyError(op_id)


def _with_enums(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _with_enums(v) for k, v in node.items()}
        desc = node.get("description")
        if node.get("type") == "string" and isinstance(desc, str) and "enum" not in node:
            values: list[str] = []
            for block in _ENUM.findall(desc):
                values += _VALUE.findall(block)
            if values:
                out["enum"] = values
        return out
    if isinstance(node, list):
        return [_with_enums(v) for v in node]
    return node


@functools.cache
def _registry() -> Registry:
    doc = _with_enums(copy.deepcopy(spec()))
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return Registry().with_resource("urn:mirakl-seller", Resource(doc, specification=DRAFT202012))


def response_schema(op_id: str, status: int, media: str = "application/json") -> dict[str, Any]:
    _, _, op = operation(op_id)
    content = op["responses"][str(status)].get("content") or {}
    return content[media]["schema"]


def validate_response(op_id: str, status: int, body: Any, media: str = "application/json") -> None:
    """Raise ``jsonschema.ValidationError`` if ``body`` breaks the spec's response schema."""
    schema = _with_enums(response_schema(op_id, status, media))
    schema = json.loads(
        json.dumps(schema).replace('"#/components', '"urn:mirakl-seller#/components')
    )
    validator = Draft202012Validator(schema, registry=_registry())
    validator.validate(body)


def max_usage_text(op_id: str) -> str | None:
    """The "Maximum usage" text of an operation's Call Frequency block, tags stripped."""
    _, _, op = operation(op_id)
    m = re.search(r'<div class="max-call-frequency">(.*?)</div>', op.get("description", ""), re.S)
    if not m:
        return None
    return re.sub(r"<[^>]+>", " ", m.group(1)).replace("Maximum usage:", "").strip()
