"""A small shop's webhook endpoint on loopback, as a shop would write it: each POST verified
with the official `standardwebhooks` library (never the project's code), deduplicated by
`webhook-id`. What the local stack's notifier sends to; tests and the demo read what it got.

`fail_next(500, 500)` makes it answer those statuses first (a shop that is down, then back);
with `order=`, only to the webhooks about that order.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook
from werkzeug.wrappers import Request, Response

from local.stack.loopback import LoopbackServer

PATH = "/shop/webhooks"


@dataclass(frozen=True)
class Received:
    webhook_id: str
    status: int  # what the shop answered
    verified: bool  # the official verifier accepted the signature
    type: str
    body: dict[str, Any]
    headers: dict[str, str]
    raw: bytes  # the body as it came
    at: float = 0.0  # time.perf_counter() when it came (the benchmarks time it)


class LocalShop:
    def __init__(self, secret: str, *, port: int = 0) -> None:
        self.secret = secret
        self._lock = threading.Lock()
        self._script: dict[str | None, list[int]] = {}
        self.received: list[Received] = []
        self._server = LoopbackServer(self._app, port=port, what="local shop")

    @property
    def url(self) -> str:
        return self._server.base_url + PATH

    def start(self) -> LocalShop:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def fail_next(self, *statuses: int, order: str | None = None) -> None:
        with self._lock:
            self._script[order] = list(statuses)

    def accepted(self) -> list[Received]:
        """What the shop took in: each webhook id once (a repeat is answered 200, not kept)."""
        seen: dict[str, Received] = {}
        with self._lock:
            for item in self.received:
                if 200 <= item.status < 300 and item.verified:
                    seen.setdefault(item.webhook_id, item)
        return list(seen.values())

    def summary(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "webhook_id": r.webhook_id,
                    "type": r.type,
                    "order": (r.body.get("data") or {}).get("order_code"),
                    "status": r.status,
                    "verified": r.verified,
                }
                for r in self.received
            ]

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        at = time.perf_counter()
        request = Request(environ)
        body = request.get_data()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            Webhook(self.secret).verify(body, headers)
            verified = True
        except Exception:
            verified = False
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = {}
        order = (parsed.get("data") or {}).get("order_code") if isinstance(parsed, dict) else None
        with self._lock:
            script = self._script.get(order) or self._script.get(None) or []
            status = script.pop(0) if script else (200 if verified else 401)
            self.received.append(
                Received(
                    headers.get("webhook-id", ""),
                    status,
                    verified,
                    str(parsed.get("type", "")),
                    parsed,
                    headers,
                    body,
                    at,
                )
            )
        return Response(json.dumps({"ok": status < 300}), status=status)(environ, start_response)
