"""Every event detail-type has a JSON Schema in schemas/events/, registered by the template's
nested application schemas/template.yaml, which `make schemas` generates from those files;
the tests' event reader (tests/helpers.published_events) checks every event against it."""

from __future__ import annotations

import copy
import json
import types
import typing

import jsonschema
import pytest

from casso_payments.aws.bus import SOURCE
from casso_payments.events.details import DETAIL_TYPES, DETAILS
from local.stack.event_schemas import SCHEMAS, SchemaMismatch, check, schema, schema_file
from local.stack.template import ROOT, load_application, load_template, resources
from schemas import generate


def test_every_detail_type_has_a_valid_draft4_schema_and_no_schema_is_orphaned():
    assert {schema_file(t).name for t in DETAIL_TYPES} == {p.name for p in SCHEMAS.glob("*.json")}
    for detail_type in DETAIL_TYPES:
        loaded = schema(detail_type)
        jsonschema.Draft4Validator.check_schema(loaded)
        assert loaded["properties"]["detail-type"]["enum"] == [detail_type]
        assert loaded["properties"]["source"]["enum"] == [SOURCE]


def test_the_template_registers_each_schema_as_it_is_in_the_repository():
    template = load_application(load_template(), "EventSchemas")  # schemas/template.yaml
    registries = resources(template, "AWS::EventSchemas::Registry")
    assert list(registries) == ["EventSchemaRegistry"]
    assert registries["EventSchemaRegistry"]["RegistryName"] == {
        "Fn::Sub": "${AWS::StackName}-payment-events"
    }
    registered = {
        r["SchemaName"]: r for r in resources(template, "AWS::EventSchemas::Schema").values()
    }
    assert set(registered) == {f"{SOURCE}@{schema_file(t).stem}" for t in DETAIL_TYPES}
    for detail_type in DETAIL_TYPES:
        props = registered[f"{SOURCE}@{schema_file(detail_type).stem}"]
        assert props["Type"] == "JSONSchemaDraft4"
        assert json.loads(props["Content"]) == schema(detail_type)


def test_the_registry_template_is_what_make_schemas_writes_from_the_files():
    assert generate.TEMPLATE.read_text() == generate.render(), "run make schemas"
    assert generate.main(["--check"]) == 0


def test_a_schema_file_changed_after_make_schemas_is_caught(tmp_path):
    for path in SCHEMAS.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    assert generate.render(tmp_path) == generate.TEMPLATE.read_text()
    changed = copy.deepcopy(schema("Order Paid"))  # schema() is cached: never change it
    changed["properties"]["detail"]["properties"]["amount"]["description"] = "VND"
    (tmp_path / schema_file("Order Paid").name).write_text(json.dumps(changed, indent=2))
    assert generate.render(tmp_path) != generate.TEMPLATE.read_text()
    (tmp_path / "OrderShipped.json").write_text(json.dumps({**changed, "title": "x"}))
    assert "casso.payments@OrderShipped" in generate.render(tmp_path)


def test_the_events_doc_links_every_schema():
    doc = (ROOT / "docs" / "events.md").read_text()
    for detail_type in DETAIL_TYPES:
        assert f"(../schemas/events/{schema_file(detail_type).name})" in doc, detail_type


def paid_event() -> dict:
    return {
        "source": SOURCE,
        "detail-type": "Order Paid",
        "detail": {
            "transaction_id": 1,
            "order_code": "DH35",
            "amount": 200_500,
            "description": "DH35",
            "when": "2026-11-21",
            "account_number": "123",
            "reference": None,
            "source": "webhook-v1",
            "expected_amount": 200_500,
            "paid_amount": 200_500,
            "remaining": 0,
            "overpaid_by": 0,
            "status": "PAID",
            "transaction_ids": [1],
            "paid_at": "2026-11-21T12:00:00.000Z",
            "truncated": [],
        },
    }


def test_a_matching_event_passes_and_drift_is_caught_with_the_field_named():
    check(paid_event())
    missing = paid_event()
    del missing["detail"]["paid_amount"]
    with pytest.raises(SchemaMismatch, match="'paid_amount' is a required property"):
        check(missing)
    extra = paid_event()
    extra["detail"]["surprise"] = 1
    with pytest.raises(SchemaMismatch, match="surprise"):
        check(extra)
    wrong = paid_event()
    wrong["detail"]["amount"] = "200500"
    with pytest.raises(SchemaMismatch, match="detail/amount"):
        check(wrong)
    with pytest.raises(SchemaMismatch, match="has no schema"):
        check({**paid_event(), "detail-type": "Order Shipped"})


JSON_TYPES = {int: "integer", str: "string", bool: "boolean", list: "array", type(None): "null"}


def json_type(annotation: object) -> str | list[str]:
    """The JSON Schema `type` a Python annotation stands for (`str | None`: [string, null])."""
    if isinstance(annotation, types.UnionType):
        return [json_type(a) for a in typing.get_args(annotation)]  # type: ignore[misc]
    return JSON_TYPES[typing.get_origin(annotation) or annotation]


@pytest.mark.parametrize("detail_type", DETAIL_TYPES)
def test_each_typed_detail_is_its_schema_field_for_field(detail_type):
    """The code builds each event from a TypedDict (events.details); the schema consumers
    read must say the same fields, the same required ones and the same JSON types."""
    shape = DETAILS[detail_type]
    hints = typing.get_type_hints(shape)
    detail = schema(detail_type)["properties"]["detail"]
    assert detail["additionalProperties"] is False
    assert set(hints) == set(detail["properties"]), detail_type
    assert shape.__required_keys__ == set(detail["required"]), detail_type
    for field, annotation in hints.items():
        assert json_type(annotation) == detail["properties"][field]["type"], (detail_type, field)


def test_the_source_field_lists_the_sources_the_ledger_writes():
    from casso_payments.ledger.entries import RECONCILE, WEBHOOK_V1, WEBHOOK_V2

    for detail_type in DETAIL_TYPES:
        fields = schema(detail_type)["properties"]["detail"]["properties"]
        if "source" in fields:
            assert fields["source"]["enum"] == [WEBHOOK_V1, WEBHOOK_V2, RECONCILE], detail_type
