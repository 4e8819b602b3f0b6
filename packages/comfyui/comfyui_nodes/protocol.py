"""Checks every message of the bridge against its protocol schema (bridge-server-message.schema.json, a
copy of the repository's schemas/ file made by scripts/gen-schemas.mjs), and that a result covers the batch.

ComfyUI ships no JSON Schema library, so this validates the keywords the schema uses, and refuses at import
a schema that uses any other: a new keyword must be taught here rather than silently ignored.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

SCHEMA = json.loads((Path(__file__).parent / "bridge-server-message.schema.json").read_text(encoding="utf-8"))

_ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "$defs"}
_ASSERTIONS = {"oneOf", "anyOf", "$ref", "type", "const", "enum", "required", "properties", "additionalProperties", "items",
               "minItems", "maxItems", "minimum", "pattern", "minProperties"}


def _keywords(node, path="#"):
    if isinstance(node, dict):
        unknown = set(node) - _ANNOTATIONS - _ASSERTIONS
        if unknown:
            raise RuntimeError(f"protocol.py cannot check keyword(s) {sorted(unknown)} at {path} of the bridge schema: teach it them")
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    _keywords(sub, f"{path}/{key}/{name}")
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                _keywords(value, f"{path}/{key}")
            elif key in ("oneOf", "anyOf"):
                for i, sub in enumerate(value):
                    _keywords(sub, f"{path}/{key}/{i}")


_keywords(SCHEMA)

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "null": lambda v: v is None,
}


def _resolve(ref: str) -> dict:
    node = SCHEMA
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def errors(value, schema: dict = SCHEMA, path: str = "") -> list[str]:
    """Why value does not match schema (JSON pointers of the offending places), or [] when it does."""
    if "$ref" in schema:
        return errors(value, _resolve(schema["$ref"]), path)
    where = path or "/"
    if "anyOf" in schema:
        branches = [errors(value, sub, path) for sub in schema["anyOf"]]
        return [] if any(not b for b in branches) else branches[-1]
    if "oneOf" in schema:
        branches = [errors(value, sub, path) for sub in schema["oneOf"]]
        matching = [b for b in branches if not b]
        if len(matching) == 1:
            return []
        if matching:
            return [f"{where} matches several message kinds"]
        # The branch whose `type` constant matches explains best what is wrong.
        kind = value.get("type") if isinstance(value, dict) else None
        for sub, branch in zip(schema["oneOf"], branches):
            if _resolve(sub["$ref"])["properties"]["type"].get("const") == kind:
                return branch
        return [f"{where} is no message kind of the protocol (type {kind!r})"]
    if "type" in schema and not _TYPES[schema["type"]](value):
        return [f"{where} must be {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        return [f"{where} must be {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where} must be one of {schema['enum']}"]
    if "minimum" in schema and value < schema["minimum"]:
        return [f"{where} must be >= {schema['minimum']}"]
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return [f"{where} must match {schema['pattern']}"]
    out = []
    if isinstance(value, dict):
        out += [f"{path}/{k} is missing" for k in schema.get("required", []) if k not in value]
        if len(value) < schema.get("minProperties", 0):
            out.append(f"{where} needs at least {schema['minProperties']} properties")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                out += errors(v, props[k], f"{path}/{k}")
            elif extra is False:
                out.append(f"{path}/{k} is not part of the protocol")
            elif isinstance(extra, dict):
                out += errors(v, extra, f"{path}/{k}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            out.append(f"{where} has {len(value)} items")
        if "items" in schema:
            for i, item in enumerate(value):
                out += errors(item, schema["items"], f"{path}/{i}")
    return out


def coverage_errors(result: dict, batch: int) -> list[str]:
    """A result must answer every image of the request once, in order, and decide only over those images."""
    indices = [s["index"] for s in result["scores"]]
    if indices != list(range(batch)):
        return [f"it answered {len(indices)} of {batch} images (indices {indices[:8]}{'...' if len(indices) > 8 else ''})"]
    decision = result["decision"]
    stray = sorted({i for key in ("order", "passed", "rejected") for i in decision[key] if not 0 <= i < batch})
    return [f"its decision names images {stray[:8]} outside the batch of {batch}"] if stray else []
