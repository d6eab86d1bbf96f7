"""The shop's orders API on the local stack, over HTTP only: schemathesis fuzzes it from the
committed OpenAPI file (no 5xx, no answer the file doesn't describe, strangers refused),
a shop's order is paid through the Casso simulator and reads PAID, and the docs' Python
snippets run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.stack.template import ROOT
from tests.e2e.conftest import RunningStack, start_stack, stop_stack
from tests.openapi import OPENAPI, check_answer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack of this module's own: the orders the fuzzing creates stay out of the story's
    counts (test_local_stack.py), whichever module runs first."""
    running = start_stack(tmp_path_factory.mktemp("orders-api-stack"))
    yield running
    stop_stack(running)


schema = schemathesis.openapi.from_path(OPENAPI)
# Bounded: the suite runs on a busy 2-core machine, beside the rest.
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=25
)
# A body over the API's limit is refused with 413 (declared in the file), a rejection too.
rejection = schema.config.checks.negative_data_rejection
rejection.expected_statuses = [*rejection.expected_statuses, "413"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
    negative_data_rejection,
]


def base_url(stack: Any) -> str:
    state = stack.state()
    return f"{state['urls']['api']}/{state['parameters']['Stage']}"


def auth(stack: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.state()['credentials']['SHOP_API_KEY']}"}


FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    max_examples=25,
)


def fuzz(case: Any, stack: Any) -> None:
    case.call_and_validate(base_url=base_url(stack), headers=auth(stack), checks=CHECKS)


# One test per operation: each has a node id of its own, so pytest-xdist runs every one.
@schema.include(operation_id="createOrder").parametrize()
@FUZZ
def test_create_order_answers_as_the_openapi_file_says_and_never_5xx(case, stack):
    fuzz(case, stack)


@schema.include(operation_id="listOrders").parametrize()
@FUZZ
def test_list_orders_answers_as_the_openapi_file_says_and_never_5xx(case, stack):
    fuzz(case, stack)


@schema.include(operation_id="getOrder").parametrize()
@FUZZ
def test_get_order_answers_as_the_openapi_file_says_and_never_5xx(case, stack):
    fuzz(case, stack)


@schema.include(operation_id="cancelOrder").parametrize()
@FUZZ
def test_cancel_order_answers_as_the_openapi_file_says_and_never_5xx(case, stack):
    fuzz(case, stack)


def test_every_operation_of_the_file_is_fuzzed():
    fuzzed = {"createOrder", "listOrders", "getOrder", "cancelOrder"}
    ids = {r.ok().definition.raw["operationId"] for r in schema.get_all_operations()}
    assert ids == fuzzed


def test_a_shops_order_is_paid_by_a_transfer_and_reads_paid(stack):
    url, headers = f"{base_url(stack)}/orders", auth(stack)
    created = requests.post(url, json={"amount": 150_000}, headers=headers, timeout=30)
    order = check_answer("POST", "/orders", _as_event(created))
    code = order["order_code"]
    assert order["payment_url"].startswith(f"{base_url(stack)}/pay/{code}?t=")
    stack.cli("send", "150000", f"MBVCB.1234.{order['transfer_content']}.CT tu 0123", "--v2")
    stack.cli("wait")
    read = requests.get(f"{url}/{code.lower()}", headers=headers, timeout=30)
    paid = check_answer("GET", "/orders/{code}", _as_event(read))
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("PAID", 150_000, 0)
    assert [(p["amount"], p["source"]) for p in paid["payments"]] == [(150_000, "webhook-v2")]
    listed = requests.get(url, params={"status": "PAID"}, headers=headers, timeout=30).json()
    assert code in [o["order_code"] for o in listed["orders"]]


def _as_event(response: requests.Response) -> dict[str, Any]:
    """A `requests` response as the proxy result `check_answer` reads."""
    return {
        "statusCode": response.status_code,
        "headers": dict(response.headers),
        "body": response.text,
    }


def snippets(doc: str) -> list[str]:
    text = (ROOT / "docs" / doc).read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.parametrize("doc", ["shop-api.md", "orders-and-payments.md"])
def test_the_docs_python_snippets_run_as_written_from_the_repo_root(stack, doc):
    state = stack.state()
    env = {
        **os.environ,
        "ORDERS_API_URL": base_url(stack),
        "SHOP_API_KEY": state["credentials"]["SHOP_API_KEY"],
        "ORDERS_TABLE": state["resources"]["OrdersTable"],
        "AWS_ENDPOINT_URL": state["urls"]["moto"],
    }
    found = snippets(doc)
    assert found, doc
    for number, snippet in enumerate(found):
        # Codes of their own each run: a snippet creating DH1234 twice would conflict.
        unique = snippet.replace("DH1234", f"DH{int(time.time() * 1000) % 10**9}{number}")
        ran = subprocess.run(
            [sys.executable, "-c", unique],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ran.returncode == 0, f"{doc} snippet {number}:\n{ran.stdout}\n{ran.stderr}"
