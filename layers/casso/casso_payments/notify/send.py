"""One HTTP POST to a checked URL (`url_guard.CheckedUrl`): connected to the address the
guard checked, never following a redirect, each socket operation within `timeout`.

An answer is success only if it is 2xx and came within the timeout (Standard Webhooks' 10 s);
anything else, no answer included, is a failed attempt.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from casso_payments.notify.url_guard import CheckedUrl

GONE = 410  # the receiver asks for no more attempts


@dataclass(frozen=True)
class Answer:
    status: int  # the HTTP status; 0 when none came
    latency_ms: int
    error: str = ""

    def ok(self, timeout: float) -> bool:
        return 200 <= self.status < 300 and self.latency_ms <= timeout * 1000


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, checked: CheckedUrl, timeout: float) -> None:
        super().__init__(checked.host, checked.port, timeout=timeout)
        self._address = checked.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, checked: CheckedUrl, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(checked.host, checked.port, timeout=timeout, context=self._tls)
        self._address = checked.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, not the address.
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(checked: CheckedUrl, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    connection = (_PinnedHTTPS if checked.scheme == "https" else _PinnedHTTP)(checked, timeout)
    started = time.monotonic()
    try:
        connection.request("POST", checked.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # a little of the answer, so the connection closes cleanly
        status, error = response.status, ""
    except (OSError, http.client.HTTPException) as failure:
        status, error = 0, f"{type(failure).__name__}: {failure}"[:200]
    finally:
        connection.close()
    return Answer(status, int((time.monotonic() - started) * 1000), error)
