"""QR codes of the service guides (码上办) and of the rating links, drawn with segno.

Each code encodes an absolute URL built from the request, so a code printed at a window opens the
guide on the host the office actually serves.  Error correction M (15 % of the symbol can be
covered or worn) with the standard quiet zone of four modules for printed codes."""

from __future__ import annotations

import io

import segno

BORDER = 4


def make(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def svg(url: str, *, scale: int = 6, title: str = "") -> bytes:
    """A standalone SVG document (black modules on white)."""
    buf = io.BytesIO()
    make(url).save(buf, kind="svg", scale=scale, border=BORDER, light="#fff", title=title or None)
    return buf.getvalue()


def png(url: str, *, scale: int = 8) -> bytes:
    buf = io.BytesIO()
    make(url).save(buf, kind="png", scale=scale, border=BORDER)
    return buf.getvalue()


def svg_inline(url: str, *, scale: int = 3) -> str:
    """An ``<svg>`` element to embed in a page (the printable sheet); it scales with its box."""
    return make(url).svg_inline(scale=scale, border=BORDER, light="#fff", omitsize=True)


def size(url: str, *, scale: int, border: int = BORDER) -> int:
    """Width (= height) in pixels of the image ``png``/``svg`` draw for ``url`` at ``scale``."""
    return make(url).symbol_size(scale=scale, border=border)[0]
