"""The running stack's own controls, under /_local/ on its HTTP front: a routing table from
(method, path) to what each does. The CLI and the end-to-end tests call them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:  # the stack calls this module; only its type is needed here
    from local.stack.pipeline import LocalPipeline

# What a control answers: a JSON body and an HTTP status.
Answer = tuple[Any, int]
Control = Callable[["LocalPipeline", Request], Answer]


def _body(request: Request) -> dict[str, Any]:
    return request.get_json(silent=True) or {}


def status(stack: LocalPipeline, request: Request) -> Answer:
    return {
        **stack.describe(),
        "stats": asdict(stack.stats),
        "queues": stack.queue_depths(),
        "answers": stack.front.answers,
    }, 200


def reconcile(stack: LocalPipeline, request: Request) -> Answer:
    return stack.reconcile(), 200


def pause_processor(stack: LocalPipeline, request: Request) -> Answer:
    stack.processor_paused.set()
    return {"paused": True}, 200


def resume_processor(stack: LocalPipeline, request: Request) -> Answer:
    stack.processor_paused.clear()
    return {"paused": False}, 200


def arm_processor_fault(stack: LocalPipeline, request: Request) -> Answer:
    fault = _body(request).get("fault", "")
    try:
        stack.functions["ProcessorFunction"].arm(fault)
    except Exception as error:
        return {"error": str(error)}, 400
    return {"armed": fault}, 200


def webhook_outage(stack: LocalPipeline, request: Request) -> Answer:
    status = int(_body(request).get("status", 503))
    if not 500 <= status <= 599:
        return {"error": f"status: a 5xx is expected, got {status}"}, 400
    stack.webhook_outage = status
    return {"webhook_outage": status}, 200


def webhook_recover(stack: LocalPipeline, request: Request) -> Answer:
    stack.webhook_outage = None
    return {"webhook_outage": None}, 200


def shop(stack: LocalPipeline, request: Request) -> Answer:
    return {"url": stack.shop.url, "received": stack.shop.summary()}, 200


def shop_fail(stack: LocalPipeline, request: Request) -> Answer:
    body = _body(request)
    statuses = [int(s) for s in body.get("statuses", [])]
    stack.shop.fail_next(*statuses, order=body.get("order") or None)
    return {"fail_next": statuses, "order": body.get("order")}, 200


def wait(stack: LocalPipeline, request: Request) -> Answer:
    timeout = request.args.get("timeout")
    return {"idle": stack.wait_idle(float(timeout) if timeout else None)}, 200


ROUTES: dict[tuple[str, str], Control] = {
    ("GET", "/_local/status"): status,
    ("POST", "/_local/reconcile"): reconcile,
    ("POST", "/_local/processor/pause"): pause_processor,
    ("POST", "/_local/processor/resume"): resume_processor,
    ("POST", "/_local/processor/fault"): arm_processor_fault,
    ("POST", "/_local/webhook/outage"): webhook_outage,
    ("POST", "/_local/webhook/recover"): webhook_recover,
    ("POST", "/_local/wait"): wait,
    ("GET", "/_local/shop"): shop,
    ("POST", "/_local/shop/fail"): shop_fail,
}


def dispatch(stack: LocalPipeline, request: Request) -> Response:
    control = ROUTES.get((request.method, request.path))
    if control is None:
        body, code = {"error": f"no control {request.method} {request.path}"}, 404
    else:
        body, code = control(stack, request)
    return Response(json.dumps(body, default=str), status=code, mimetype="application/json")
