"""The JSON Schema of each event detail-type (schemas/events/), and a check of an event
against its own. The tests' and the demo's event readers check every event they read, so
an event that drifts from its published schema fails them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "events"


class SchemaMismatch(AssertionError):
    """An event does not match its detail-type's schema (or has none)."""


def schema_file(detail_type: str) -> Path:
    return SCHEMAS / f"{detail_type.replace(' ', '')}.json"


@cache
def schema(detail_type: str) -> dict[str, Any]:
    path = schema_file(detail_type)
    if not path.exists():
        raise SchemaMismatch(f"detail-type {detail_type!r} has no schema ({path} is missing)")
    loaded: dict[str, Any] = json.loads(path.read_text())
    jsonschema.Draft4Validator.check_schema(loaded)
    return loaded


def check(event: dict[str, Any]) -> None:
    """Raise SchemaMismatch unless `event` (source, detail-type, detail) matches its schema."""
    detail_type = str(event.get("detail-type"))
    validator = jsonschema.Draft4Validator(schema(detail_type))
    errors = sorted(validator.iter_errors(event), key=lambda e: list(e.absolute_path))
    if errors:
        where = "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '(event)'}: {e.message}" for e in errors
        )
        raise SchemaMismatch(
            f"{detail_type} event does not match {schema_file(detail_type)}: {where}"
        )
