"""The simulator's HTTP surface besides the transactions API: Casso's webhook-management API
v2, and the simulator's own controls under /_simulator/ (not Casso's API), for developers and
the local tools."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from local.casso.webhooks import ReplayRefused

if TYPE_CHECKING:
    from local.casso.simulator import CassoSimulator


def envelope(data: Any, error: int = 0, message: str = "success", status: int = 200) -> Response:
    body = json.dumps({"error": error, "message": message, "data": data}, ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json")


def not_exists() -> Response:
    return envelope(None, 12, "Webhook not exists", 404)


def webhook_body() -> tuple[dict[str, Any], Response | None]:
    body = request.get_json(silent=True)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("webhook"), str)
        or not body["webhook"]
    ):
        return {}, envelope(None, 400, "webhook is required", 400)
    return body, None


def register_webhook_api(app: Flask, sim: CassoSimulator) -> None:
    """POST/GET/PUT/DELETE /v2/webhooks..., as Casso's API v2 answers them."""

    @app.post("/v2/webhooks")
    def create_webhook() -> Response:
        body, problem = webhook_body()
        if problem:
            return problem
        webhook = sim.add_webhook(
            body["webhook"],
            secure_token=str(body.get("secure_token", "")),
            income_only=bool(body.get("income_only", True)),
        )
        return envelope(webhook.api_view())

    @app.get("/v2/webhooks/<int:webhook_id>")
    def get_webhook(webhook_id: int) -> Response:
        webhook = sim.webhooks.get(webhook_id)
        return envelope(webhook.api_view()) if webhook else not_exists()

    @app.put("/v2/webhooks/<int:webhook_id>")
    def update_webhook(webhook_id: int) -> Response:
        body = request.get_json(silent=True) or {}
        with sim._lock:
            webhook = sim.webhooks.get(webhook_id)
            if webhook is None:
                return not_exists()
            if "webhook" in body:
                webhook.url = str(body["webhook"])
            if "secure_token" in body:
                webhook.secure_token = str(body["secure_token"])
            if "income_only" in body:
                value = body["income_only"]
                webhook.income_only = value if isinstance(value, bool) else str(value) == "true"
            return envelope(webhook.api_view())

    @app.delete("/v2/webhooks/<int:webhook_id>")
    def delete_webhook(webhook_id: int) -> Response:
        with sim._lock:
            webhook = sim.webhooks.pop(webhook_id, None)
        return envelope(webhook.api_view()) if webhook else not_exists()

    @app.delete("/v2/webhooks")
    def delete_by_url() -> Response:
        url = request.args.get("webhook", "")
        with sim._lock:
            gone = [w for w in sim.webhooks.values() if w.url == url]
            for webhook in gone:
                del sim.webhooks[webhook.id]
        return envelope([w.api_view() for w in gone]) if gone else not_exists()


def register_controls(app: Flask, sim: CassoSimulator) -> None:
    """/_simulator/: add transactions and webhooks, read deliveries, replay held events."""

    @app.post("/_simulator/transactions")
    def simulate_transaction() -> Response:
        body = request.get_json(silent=True) or {}
        amount, description = body.get("amount"), body.get("description", "")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
            return envelope(None, 400, "amount: a non-zero whole number of VND is required", 400)
        if not isinstance(description, str):
            return envelope(None, 400, "description: text is required", 400)
        generation = body.get("generation")
        if generation not in (None, "v1", "v2"):
            return envelope(None, 400, "generation: v1, v2, or absent for every webhook", 400)
        record = sim.add_transaction(
            amount,
            description,
            account=body.get("account"),
            deliver=bool(body.get("deliver", True)),
            generation=generation,
            listed=bool(body.get("listed", True)),
        )
        return envelope(record)

    @app.post("/_simulator/transactions/<int:transaction_id>/list")
    def list_transaction(transaction_id: int) -> Response:
        if transaction_id not in sim.transactions:
            return envelope(None, 404, "Transaction not found", 404)
        sim.list_transaction(transaction_id)
        return envelope(sim.transactions[transaction_id])

    @app.post("/_simulator/webhooks")
    def simulate_webhook() -> Response:
        body, problem = webhook_body()
        if problem:
            return problem
        generation = body.get("generation", "v1")
        if generation not in ("v1", "v2"):
            return envelope(None, 400, "generation: v1 or v2", 400)
        webhook = sim.add_webhook(
            body["webhook"],
            secure_token=str(body.get("secure_token", "")),
            income_only=bool(body.get("income_only", True)),
            generation=generation,
            checksum_key=str(body.get("checksum_key", "")),
        )
        return envelope({**webhook.api_view(), "generation": webhook.generation})

    @app.get("/_simulator/webhooks")
    def simulated_webhooks() -> Response:
        return envelope(sim.webhook_statuses())

    @app.post("/_simulator/webhooks/<int:webhook_id>/replay")
    def replay_held(webhook_id: int) -> Response:
        try:
            replayed = sim.replay(webhook_id)
        except KeyError:
            return not_exists()
        except ReplayRefused as refused:
            return envelope(None, 409, str(refused), 409)
        return envelope({"webhook_id": webhook_id, "replayed": replayed})

    @app.get("/_simulator/deliveries")
    def simulated_deliveries() -> Response:
        with sim._lock:
            return envelope([vars(d) for d in sim.deliveries])
