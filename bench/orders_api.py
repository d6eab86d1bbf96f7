"""The orders API per request: AWS calls counted against the floor (POST /orders: one
conditional put; GET /orders/{code}: one GetItem; a list page: one Query; the payment
page's status poll, GET /pay/{code}/status: one GetItem at most), and a warm
POST /orders against a moto server next to the same DynamoDB call made raw (issue 23: at
most 1.2x at p99)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.common import (
    calls_text,
    local_aws,
    machine,
    machine_line,
    median,
    pair_ratios,
    percentile,
    ratio,
    repetitions,
    save,
    shown,
    spread,
    table,
    verdict,
)
from local.cli.sample_events import LOCAL_SHOP_API_KEY
from local.stack.handler import LocalContext, load_module
from local.stack.lambda_events import rest_proxy_event
from local.stack.template import function_spec, load_template

WARM = repetitions("BENCH_WARM")
P99_GOAL = 1.2
HEADERS = {"Authorization": f"Bearer {LOCAL_SHOP_API_KEY}", "Content-Type": "application/json"}


def create(code: str, **extra: str) -> dict[str, Any]:
    body = json.dumps({"amount": 200_500, "order_code": code})
    headers = {**HEADERS, **extra}
    return rest_proxy_event("POST", "/orders", headers=headers, body=body, resource="/orders")


def read(code: str) -> dict[str, Any]:
    return rest_proxy_event(
        "GET",
        f"/orders/{code}",
        headers=HEADERS,
        resource="/orders/{code}",
        path_parameters={"code": code},
    )


def listing() -> dict[str, Any]:
    return rest_proxy_event("GET", "/orders", headers=HEADERS, query={"limit": ["20"]})


def status_poll(code: str, token: str) -> dict[str, Any]:
    """The payment page's poll, as API Gateway hands it to PayPageFunction."""
    return rest_proxy_event(
        "GET",
        f"/pay/{code}/status",
        resource="/pay/{code}/status",
        path_parameters={"code": code},
        query={"t": [token]},
    )


def answered(answer: dict[str, Any], status: int, what: str) -> None:
    """A request the API refused must not pass for a cheap one."""
    if answer["statusCode"] != status:
        raise RuntimeError(f"{what}: the orders API answered {answer}")


def main() -> dict[str, Any]:
    before = machine()
    results: dict[str, Any] = {}
    with local_aws() as (endpoint, stack, _clients, server_calls):
        spec = function_spec(load_template(), "OrdersApiFunction")
        os.environ.update(
            {**stack.function_environment(spec.environment), "AWS_ENDPOINT_URL": endpoint}
        )
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet):
            module = load_module(spec)
        dynamodb = module.deps.orders.table.dynamodb

        def call(event: dict[str, Any]) -> dict[str, Any]:
            with contextlib.redirect_stdout(quiet):
                answer = module.lambda_handler(event, LocalContext("OrdersApiFunction"))
            quiet.seek(0)
            quiet.truncate()
            return answer

        page_spec = function_spec(load_template(), "PayPageFunction")
        with contextlib.redirect_stdout(quiet):
            page = load_module(page_spec)

        def poll(event: dict[str, Any]) -> dict[str, Any]:
            with contextlib.redirect_stdout(quiet):
                answer = page.lambda_handler(event, LocalContext("PayPageFunction"))
            quiet.seek(0)
            quiet.truncate()
            return answer

        answered(call(create("DH1")), 201, "warm-up")  # the secrets are cached from here on
        token = parse_qs(urlsplit(json.loads(call(read("DH1"))["body"])["payment_url"]).query)
        answered(poll(status_poll("DH1", token["t"][0])), 200, "the page's warm-up")
        listing_event = listing()
        listing_event["resource"] = "/orders"
        cases = [
            ("POST /orders", create("DH2"), 201, {"PutItem": 1}),
            (
                "POST /orders, Idempotency-Key",
                create("DH3", **{"Idempotency-Key": "k3"}),
                201,
                {"PutItem": 2, "UpdateItem": 1},
            ),
            ("GET /orders/{code}", read("dh-0002"), 200, {"GetItem": 1}),
            ("GET /orders (a page)", listing_event, 200, {"Query": 1}),
            ("GET /pay/{code}/status", status_poll("DH1", token["t"][0]), 200, {"GetItem": 1}),
        ]
        rows = []
        for name, event, status, floor in cases:
            before_calls = server_calls.snapshot()  # counted where they land: none hides
            answered((poll if name.startswith("GET /pay") else call)(event), status, name)
            calls = server_calls.since(before_calls)
            results[f"calls_{name}"] = {"made": calls, "floor": floor}
            rows.append(
                [name, calls_text(calls), calls_text(floor), "met" if calls == floor else "NOT MET"]
            )
        print(
            table(
                "Orders API: AWS calls per request (warm)",
                ["request", "calls made", "floor", "goal: equal"],
                rows,
            )
        )

        handler_ms: list[float] = []
        raw_ms: list[float] = []
        table_name = stack.ref("OrdersTable")

        def handler(n: int) -> None:
            event = create(f"DH{10_000 + n}")
            started = time.perf_counter()
            answer = call(event)
            handler_ms.append((time.perf_counter() - started) * 1000)
            answered(answer, 201, f"warm create {n}")

        def raw(n: int) -> None:
            started = time.perf_counter()
            dynamodb.put_item(
                TableName=table_name,
                Item={
                    "pk": {"S": f"RAW{n}"},
                    "order_code": {"S": f"RAW{n}"},
                    "expected_amount": {"N": "200500"},
                    "status": {"S": "PENDING"},
                    "created_at": {"S": "2026-11-21T12:00:00.000Z"},
                    "updated_at": {"S": "2026-11-21T12:00:00.000Z"},
                    "paid_amount": {"N": "0"},
                    "payments": {"M": {}},
                    "note": {"S": ""},
                    "listed": {"S": "order"},
                },
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            raw_ms.append((time.perf_counter() - started) * 1000)

        for n in range(WARM):
            for step in (handler, raw) if n % 2 else (raw, handler):
                step(n)
    ratios = pair_ratios(handler_ms, raw_ms)
    h50, r50 = median(handler_ms), median(raw_ms)
    h99, r99 = percentile(handler_ms, 99), percentile(raw_ms, 99)
    print(
        table(
            f"Orders API: warm POST /orders, {WARM} creates against a moto server, each paired "
            "with the same conditional put made raw",
            ["", "handler ms", "raw boto3 (same put) ms", "ratio", "goal", "verdict"],
            [
                [
                    "p99",
                    f"{h99:.2f}",
                    f"{r99:.2f}",
                    ratio(h99, r99),
                    f"<= {P99_GOAL:.2f}x",
                    verdict(h99 / r99, P99_GOAL),
                ],
                ["p50", f"{h50:.2f}", f"{r50:.2f}", ratio(h50, r50), "", ""],
                ["per-pair ratio, median (min-max)", "", "", shown(ratios, 2, "x"), "", ""],
                ["median (min-max)", shown(handler_ms, 1), shown(raw_ms, 1), "", "", ""],
            ],
        )
    )
    print(machine_line(before))
    results["warm_create_ms"] = {
        "creates": WARM,
        "handler": {**spread(handler_ms, 2), "p99": round(h99, 2)},
        "raw": {**spread(raw_ms, 2), "p99": round(r99, 2)},
        "p99_ratio": round(h99 / r99, 3),
        "pair_ratio": spread(ratios, 3),
        "goal_p99_ratio": P99_GOAL,
        "verdict": verdict(h99 / r99, P99_GOAL),
    }
    save("orders_api", results, before=before)
    return results


if __name__ == "__main__":
    main()
