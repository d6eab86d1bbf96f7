"""A WSGI app served on loopback from a background thread: the local servers' common base."""

from __future__ import annotations

import threading
from typing import Any, Self

from werkzeug.serving import make_server

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def require_loopback(host: str, what: str) -> None:
    if host not in LOOPBACK:
        raise ValueError(f"the {what} only listens on loopback, not {host!r}")


class LoopbackServer:
    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, what: str = "server"
    ) -> None:
        require_loopback(host, what)
        self._server = make_server(host, port, app, threaded=True)
        # A short poll interval so stopping takes milliseconds, not half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name=what
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
