"""A real browser for the end-to-end tests: Debian's headless Chromium, driven over the
DevTools protocol on a pipe (`--remote-debugging-pipe`: no port, no extra package), and
what the tests read off its screenshots (a PNG decoded here, a QR decoded by zxing-cpp)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "install Debian's chromium: sudo apt-get install -y chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-pipe",
)


class Browser:
    """One headless Chromium and one page (tab) in it."""

    def __init__(self, timeout: float = 120.0) -> None:
        self.timeout = timeout  # for one command's answer: generous, the machine is shared
        self._profile = tempfile.mkdtemp(prefix="chromium-")
        commands_r, self._commands = os.pipe()
        self._answers, answers_w = os.pipe()

        def child_fds() -> None:  # Chromium reads commands on fd 3, answers on fd 4
            high_r, high_w = os.dup(commands_r), os.dup(answers_w)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=child_fds,
        )
        os.close(commands_r)
        os.close(answers_w)
        self._next = 0
        self._results: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []  # every event the page sent (Network.*, ...)
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        (target,) = [
            t["targetId"]
            for t in self.send("Target.getTargets")["targetInfos"]
            if t["type"] == "page"
        ][:1]
        attached = self.send("Target.attachToTarget", targetId=target, flatten=True)
        self._session = attached["sessionId"]

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._answers, 1 << 16):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" not in message:
                    self.events.append(message)
                    continue
                with self._arrived:
                    self._results[message["id"]] = message
                    self._arrived.notify_all()

    def send(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        with self._arrived:
            if not self._arrived.wait_for(lambda: ident in self._results, self.timeout):
                raise TimeoutError(f"Chromium did not answer {method}")
            answer = self._results.pop(ident)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return dict(answer.get("result", {}))

    def page(self, method: str, **params: Any) -> dict[str, Any]:
        return self.send(method, session=True, **params)

    def open(self, url: str, width: int = 412, height: int = 700) -> None:
        """Open `url` at a phone's width and wait until it has loaded."""
        self.page("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=2, mobile=True)  # fmt: skip
        self.page("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && !!document.body")

    def requested(self) -> list[str]:
        """Every URL the page asked for since `Network.enable`."""
        return [
            e["params"]["request"]["url"]
            for e in list(self.events)
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def evaluate(self, expression: str) -> Any:
        answer = self.page("Runtime.evaluate", expression=expression, returnByValue=True)
        return answer.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 180.0) -> Any:
        """Until `expression` is truthy in the page (polled; a busy machine is slow)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError:  # navigating: the context is being replaced
                value = None
            if value:
                return value
            time.sleep(0.25)
        raise TimeoutError(f"the page never had {expression}")

    def screenshot(self, path: Path) -> bytes:
        """The whole page as a PNG, written to `path` too."""
        import base64

        shot = self.page("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        png = base64.b64decode(shot["data"])
        path.write_bytes(png)
        return png

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)
        for fd in (self._commands, self._answers):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)


def png_grey(png: bytes) -> tuple[bytes, int, int]:
    """An 8-bit, non-interlaced RGB(A) or grey PNG (what Chromium writes) as grey pixels:
    (pixels, width, height)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, data, header = 8, b"", b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        body = png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data += body
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8, "only 8-bit PNGs"
    assert interlace == 0, "only non-interlaced PNGs"
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw = zlib.decompress(data)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                nearest = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + nearest) & 0xFF
        rows.append(bytes(line))
        previous = line
    grey = bytearray(width * height)
    for y, line in enumerate(rows):
        for x in range(width):
            pixel = line[x * channels : x * channels + min(channels, 3)]
            grey[y * width + x] = sum(pixel) // len(pixel) if channels >= 3 else pixel[0]
    return bytes(grey), width, height


def decode_qr(png: bytes) -> list[str]:
    """The text of every QR code in a PNG screenshot."""
    import zxingcpp

    pixels, width, height = png_grey(png)
    image = memoryview(pixels).cast("B", (height, width))
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
