"""A VietQR drawn as an SVG to inline in the page.

Banking apps scan it off a phone screen, and people screenshot and print it: so it has its
own white background and a quiet zone of 4 modules (what the QR standard asks), never the
transparent background that reads as all black once converted to grey.

segno is imported on the first drawing, not at cold start: it costs about 60 ms (its
writers import urllib and xml), and the status polls and refused links never draw.
"""

from __future__ import annotations

from typing import Final

QUIET_ZONE: Final = 4  # modules of light around the code
SCALE: Final = 6  # SVG units per module (the page sizes it; this only sets the viewBox)


def svg(text: str) -> str:
    """The QR of `text` as an `<svg>` element: black on white, with its quiet zone."""
    import segno  # lazy on purpose: see the module docstring

    # Error correction M: what banking apps' own VietQRs use, readable off a screen.
    code = segno.make(text, error="m", micro=False)
    return str(
        code.svg_inline(
            scale=SCALE,
            border=QUIET_ZONE,
            dark="#000",
            light="#fff",
            omitsize=True,
            svgclass="qr",
            lineclass=None,
            title="VietQR",
        )
    )
