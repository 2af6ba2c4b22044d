"""Every input the API takes is bounded (issue #10): no parameter or body
property in /api/v1/openapi.json may be unbounded.

- strings have a maxLength (or are an enum/const, or a date/time/binary
  whose format bounds them: binary bodies by REQUEST_MAX_BYTES and the
  upload limits, config.security);
- integers and numbers have a minimum and a maximum, and a page size
  (``limit``) starts at 1;
- arrays have maxItems (batch sizes);
- objects with free-form keys (``additionalProperties``) have maxProperties.

The walk follows $ref, anyOf/oneOf/allOf, array items and object
properties, so a new endpoint or schema field is checked without touching
this test.
"""
from __future__ import annotations

import pytest

FORMATS_BOUNDED_ELSEWHERE = {"date-time", "date", "time", "binary"}


def _problems_in(schema: dict, where: str, components: dict, seen: frozenset = frozenset()) -> list[str]:
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return [] if name in seen else _problems_in(components[name], where, components, seen | {name})
    problems = []
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            problems += _problems_in(sub, where, components, seen)
    types = schema.get("type")
    types = set(types) if isinstance(types, list) else {types}
    fixed = "enum" in schema or "const" in schema
    if "string" in types and not fixed and "maxLength" not in schema and schema.get("format") not in FORMATS_BOUNDED_ELSEWHERE:
        problems.append(f"{where}: string without maxLength")
    if types & {"integer", "number"} and not fixed:
        if not {"minimum", "exclusiveMinimum"} & set(schema) or not {"maximum", "exclusiveMaximum"} & set(schema):
            problems.append(f"{where}: number without minimum and maximum")
    if "array" in types:
        if "maxItems" not in schema:
            problems.append(f"{where}: array without maxItems")
        problems += _problems_in(schema.get("items", {}), f"{where}[]", components, seen)
    if "object" in types or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            problems += _problems_in(sub, f"{where}.{name}", components, seen)
        extra = schema.get("additionalProperties")
        if (extra is True or isinstance(extra, dict)) and "maxProperties" not in schema:
            problems.append(f"{where}: object with free-form keys without maxProperties")
        if isinstance(extra, dict):
            problems += _problems_in(extra, f"{where}.*", components, seen)
    return problems


def unbounded_inputs(doc: dict) -> list[str]:
    components = doc.get("components", {}).get("schemas", {})
    problems = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                where = f"{label} {parameter['in']}:{parameter['name']}"
                schema = parameter.get("schema", {})
                problems += _problems_in(schema, where, components)
                if parameter["name"] == "limit" and _minimum(schema, components) != 1:
                    problems.append(f"{where}: a page size must start at 1")
            for content_type, media in operation.get("requestBody", {}).get("content", {}).items():
                problems += _problems_in(media.get("schema", {}), f"{label} body({content_type})", components)
    return problems


def _minimum(schema: dict, components: dict):
    if "$ref" in schema:
        return _minimum(components[schema["$ref"].rsplit("/", 1)[1]], components)
    for sub in schema.get("anyOf", []):
        if sub.get("type") == "integer":
            return _minimum(sub, components)
    return schema.get("minimum")


@pytest.fixture
def openapi(client):
    return client.get("/api/v1/openapi.json").json()


def test_every_parameter_and_body_property_is_bounded(openapi):
    assert unbounded_inputs(openapi) == []


@pytest.mark.parametrize(
    "schema, problem",
    [
        ({"type": "string"}, "string without maxLength"),
        ({"type": "integer", "minimum": 0}, "number without minimum and maximum"),
        ({"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 9}}, "array without maxItems"),
        ({"type": "object", "additionalProperties": True}, "object with free-form keys without maxProperties"),
        ({"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}], "title": "ok"}, None),
        ({"type": "array", "maxItems": 2, "items": {"$ref": "#/components/schemas/Free"}}, "string without maxLength"),
    ],
)
def test_the_walk_finds_each_kind_of_unbounded_input(schema, problem):
    doc = {
        "paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"field": schema}}}}}}}},
        "components": {"schemas": {"Free": {"type": "object", "properties": {"name": {"type": "string"}}}}},
    }
    found = unbounded_inputs(doc)
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].endswith(problem), found


def test_a_page_size_that_can_be_zero_is_flagged():
    doc = {"paths": {"/x": {"get": {"parameters": [{"in": "query", "name": "limit", "schema": {"type": "integer", "minimum": 0, "maximum": 9}}]}}}}
    assert unbounded_inputs(doc) == ["GET /x query:limit: a page size must start at 1"]
