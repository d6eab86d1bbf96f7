"""An HTTP front for ReceiverFunction: what API Gateway does, on loopback.

Each request becomes an API Gateway REST proxy event for the handler of the route it
matches (`routes`: method, the template's resource path such as `/orders/{code}`, handler),
or of the default handler (the receiver's); its answer becomes the HTTP response.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from werkzeug.wrappers import Request, Response

from local.stack.lambda_events import rest_proxy_event
from local.stack.loopback import LoopbackServer

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class Route(NamedTuple):
    method: str  # as in the template's Api event: GET, POST, ...
    resource: str  # the template's Path, path parameters in braces: /orders/{code}
    handler: Handler


def match(resource: str, path: str) -> dict[str, str] | None:
    """The path parameters of `path` if it is an instance of `resource`, else None. A
    parameter is one path segment, as API Gateway's `{name}`."""
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(resource))
    found = re.fullmatch(pattern, path)
    return found.groupdict() if found else None


class HttpFront(LoopbackServer):
    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = "prod",
        control: Callable[[Request], Response] | None = None,
        serialize: bool = True,
        routes: Sequence[Route] = (),
    ) -> None:
        self._handler = handler
        self.routes = list(routes)  # tried in order, before the default handler
        self._control = control  # the local stack's own API, under /_local/
        self.answers: dict[int, int] = {}  # HTTP status -> how many the receiver answered
        self._count = threading.Lock()
        # One invocation at a time (one execution environment), unless the handler is a pool.
        self._one_at_a_time = threading.Lock() if serialize else contextlib.nullcontext()
        self._stage = stage
        super().__init__(self._app, host=host, port=port, what="HTTP front")

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        incoming = Request(environ)
        if self._control is not None and incoming.path.startswith("/_local/"):
            return self._control(incoming)(environ, start_response)
        # Deployed URLs carry the stage (/prod/casso/webhook); the event's path doesn't.
        path = incoming.path
        if path.startswith(f"/{self._stage}/"):
            path = path.removeprefix(f"/{self._stage}")
        handler, resource, parameters = self._handler, None, None
        for route in self.routes:
            found = match(route.resource, path)
            if found is not None and route.method == incoming.method:
                handler, resource, parameters = route.handler, route.resource, found
                break
        event = rest_proxy_event(
            incoming.method,
            path,
            headers=dict(incoming.headers.items()),
            body=incoming.get_data(as_text=True),
            source_ip=incoming.remote_addr or "127.0.0.1",
            stage=self._stage,
            resource=resource,
            path_parameters=parameters,
            query={k: incoming.args.getlist(k) for k in incoming.args} or None,
            domain_name=incoming.host,
        )
        # As API Gateway says how the client called (links the functions make use it).
        event["headers"].setdefault("X-Forwarded-Proto", incoming.scheme)
        try:
            with self._one_at_a_time:
                result = handler(event)
        except Exception:  # the function failed: API Gateway answers 502
            result = {"statusCode": 502, "body": '{"message": "Internal server error"}'}
        if resource is None:  # the receiver's: what the webhook's counters are about
            with self._count:
                self.answers[result["statusCode"]] = self.answers.get(result["statusCode"], 0) + 1
        headers = {k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
        headers.update(result.get("headers") or {})
        response = Response(result.get("body", ""), status=result["statusCode"], headers=headers)
        return response(environ, start_response)

    def url(self, path: str) -> str:
        """The local equivalent of the deployed URL of `path` (stage included)."""
        return f"{self.base_url}/{self._stage}{path}"


def function_routes(
    template: Mapping[str, Any], logical_id: str, functions: Mapping[str, Any]
) -> list[Route]:
    """A route for each (method, path) of a function's API events, to `functions[logical_id]`
    (looked up per request: the stack makes its functions after the front)."""
    from local.stack.template import api_routes

    return [
        Route(method, path, lambda event: functions[logical_id].invoke(event))
        for method, path in api_routes(template, logical_id)
    ]
