"""The orders API's committed OpenAPI file (docs/openapi/orders.yaml), for tests that hold
the API's answers to it."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from local.stack.template import ROOT

OPENAPI = ROOT / "docs" / "openapi" / "orders.yaml"


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI.read_text())


def operations() -> set[tuple[str, str]]:
    """(METHOD, path) of every operation the file describes."""
    return {
        (method.upper(), path)
        for path, item in spec()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }


def schema_errors(name: str, value: Any) -> list[str]:
    """How `value` breaks components.schemas[name] (empty: it conforms)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec()["components"]}
    return [error.message for error in Draft202012Validator(schema).iter_errors(value)]


def check_answer(method: str, path: str, answer: dict[str, Any]) -> Any:
    """The answer's JSON body, after checking its status and body are what the file says
    the operation answers (content type and schema)."""
    operation = spec()["paths"][path][method.lower()]
    status = str(answer["statusCode"])
    assert status in operation["responses"], f"{method} {path}: {status} is not documented"
    response = operation["responses"][status]
    if "$ref" in response:
        response = spec()["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    ((media, content),) = response["content"].items()
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    assert headers["content-type"] == media
    body = json.loads(answer["body"])
    name = content["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema_errors(name, body) == [], body
    return body
