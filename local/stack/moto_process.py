"""Local AWS: a moto server in a process of its own (so it has a core of its own)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from local.stack.config import free_port
from local.stack.template import ROOT


class MotoProcess:
    """Local AWS: a moto server in a process of its own (so it has a core of its own)."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> MotoProcess:
        with self._log.open("w") as log:
            # moto.server with DynamoDB's per-item write serialisation (local/stack/moto_server.py).
            command = [sys.executable, "-m", "local.stack.moto_server", "-H", "127.0.0.1"]
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
                [*command, "-p", str(self.port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the moto server exited at start: see {self._log}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"the moto server did not start within {timeout:g} s: see {self._log}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
