"""HTML → PDF with WeasyPrint, and the barcodes documents carry (Code128 and QR as inline SVG).

A document may load the project's own static files and nothing else: no network, no file
outside the static folders, whatever a template or a customer-entered field asks for.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import segno
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string
from django.utils._os import safe_join
from django.utils.safestring import SafeString, mark_safe
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

# WeasyPrint logs each layout step of every document at INFO; that drowns a worker's log.
# Settings that configure the logger themselves keep their level.
if logging.getLogger("weasyprint.progress").level == logging.NOTSET:
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

# Relative URLs in a document (`{% static %}` gives `/static/…`) resolve against this base;
# the fetcher maps `file:///static/…` to the static file of that name.
BASE_URL = "file:///"


class URLRefused(ValueError):
    """A document asked for something other than a static file; WeasyPrint logs and skips it."""


def static_roots() -> list[Path]:
    """Every folder static files come from: STATICFILES_DIRS, apps' static/, STATIC_ROOT."""
    roots = []
    for finder in finders.get_finders():
        for storage in getattr(finder, "storages", {}).values():
            location = getattr(storage, "location", None)
            if location:
                roots.append(Path(os.path.realpath(location)))
    if settings.STATIC_ROOT:
        roots.append(Path(os.path.realpath(settings.STATIC_ROOT)))
    return roots


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def static_file_for(url: str) -> Path | None:
    """The static file a `file:` URL names, or None when it is anything else.

    `file:///static/css/x.css` is looked up by name like `{% static %}` does (finders, then
    STATIC_ROOT for collected, hashed names); any other `file:` path must lie, once symlinks
    are resolved, inside a static folder.
    """
    path = unquote(urlsplit(url).path)
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    if path.startswith(prefix):
        name = path[len(prefix) :]
        try:
            candidate = finders.find(name)
            if not candidate and settings.STATIC_ROOT:
                candidate = safe_join(str(settings.STATIC_ROOT), name)
        except SuspiciousFileOperation:
            return None
        if not candidate:
            return None
        path = candidate
    real = Path(os.path.realpath(path))
    if real.is_file() and _inside(real, static_roots()):
        return real
    return None


class StaticFilesOnlyFetcher(URLFetcher):
    """WeasyPrint's fetcher, cut down to `data:` URLs and the project's static files.

    A refused URL raises, which WeasyPrint logs and skips: the document renders without it.
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, timeout=1)

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = static_file_for(url)
            if path is not None:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(
                    path.as_uri(), path.read_bytes(), {"Content-Type": content_type}
                )
        logger.warning("document resource refused", extra={"url": url[:200]})
        raise URLRefused(f"Only the project's static files may be loaded, not {url[:200]}")


_fonts = threading.local()


def _font_configuration() -> FontConfiguration:
    """One font configuration per thread, kept between documents: building it (fontconfig
    and Pango set-up) is a tenth of a label's render. Safe while documents declare no
    @font-face, which would add fonts to it; not shared across threads, as Pango's font map
    is not thread-safe."""
    config = getattr(_fonts, "config", None)
    if config is None:
        config = _fonts.config = FontConfiguration()
    return config


def html_to_pdf(html: str) -> bytes:
    """Render an HTML string to PDF bytes; resources go through `StaticFilesOnlyFetcher`."""
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesOnlyFetcher())
    return document.write_pdf(font_config=_font_configuration())


def template_to_pdf(template_name: str, context: dict) -> bytes:
    """Render a Django template (autoescaped like every page) and then the PDF."""
    return html_to_pdf(render_to_string(template_name, context))


# --- Code128 --------------------------------------------------------------------------------

# Bar/space widths in modules of symbols 0–105 (ISO/IEC 15417); STOP has seven elements.
CODE128_PATTERNS = (  # noqa: SIM905 - ten a line, like the standard's table
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 "
    "221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 "
    "221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 "
    "212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 "
    "231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 "
    "231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 "
    "112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 "
    "111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 "
    "214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 "
    "114131 311141 411131 211412 211214 211232"
).split()
CODE_C, CODE_B, START_B, START_C = 99, 100, 104, 105
STOP_PATTERN = "2331112"
QUIET_ZONE = 10  # modules of white either side, as the standard asks


def code128_values(value: str) -> list[int]:
    """Symbol values (start … check) for `value`: set B for text, set C for digit runs long
    enough to be shorter in pairs (4+ at either end, 6+ in the middle)."""
    if not value:
        raise ValueError("Code128 needs at least one character.")
    if any(not 32 <= ord(char) <= 126 for char in value):
        raise ValueError("Code128 set B/C encodes printable ASCII only.")
    symbols: list[int] = []
    current = None  # "B" or "C"

    def switch(to: str) -> None:
        nonlocal current
        if current == to:
            return
        if current is None:
            symbols.append(START_B if to == "B" else START_C)
        else:
            symbols.append(CODE_B if to == "B" else CODE_C)
        current = to

    i, n = 0, len(value)
    while i < n:
        run = 0
        while i + run < n and value[i + run].isdigit():
            run += 1
        if run:
            at_start, at_end = i == 0, i + run == n
            threshold = 2 if at_start and at_end else 4 if at_start or at_end else 6
            if run >= threshold:
                if run % 2:  # the odd digit goes in set B, the even rest in pairs
                    switch("B")
                    symbols.append(ord(value[i]) - 32)
                    i, run = i + 1, run - 1
                switch("C")
                symbols.extend(int(value[j : j + 2]) for j in range(i, i + run, 2))
                i += run
                continue
            switch("B")
            symbols.extend(ord(char) - 32 for char in value[i : i + run])
            i += run
            continue
        switch("B")
        symbols.append(ord(value[i]) - 32)
        i += 1
    check = (symbols[0] + sum(weight * v for weight, v in enumerate(symbols[1:], 1))) % 103
    return [*symbols, check]


def code128_widths(value: str) -> list[int]:
    """Alternating bar/space widths in modules, bar first, without the quiet zones."""
    patterns = [CODE128_PATTERNS[v] for v in code128_values(value)] + [STOP_PATTERN]
    return [int(width) for pattern in patterns for width in pattern]


def code128_svg(value: str, *, height: str = "16mm", module: float = 0.33) -> SafeString:
    """The barcode as inline SVG, `module` mm per narrow bar (0.33 mm scans from a laser
    printer), quiet zones included."""
    # Bars are vertical strokes, one path per bar width: WeasyPrint parses SVG paths in
    # Python, and two commands a bar cost a third of a filled rectangle's five.
    x = QUIET_ZONE
    bars: dict[int, list[str]] = {}
    for index, width in enumerate(code128_widths(value)):
        if index % 2 == 0:
            bars.setdefault(width, []).append(f"M{x + width / 2:g} 0v1")
        x += width
    total = x + QUIET_ZONE
    paths = "".join(
        f'<path stroke="#000" stroke-width="{width}" d="{"".join(moves)}"/>'
        for width, moves in sorted(bars.items())
    )
    return mark_safe(  # noqa: S308 - numbers only, nothing of `value` is in the markup
        f'<svg class="barcode" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total} 1" '
        f'width="{total * module:.2f}mm" height="{height}" preserveAspectRatio="none" '
        f'shape-rendering="crispEdges">{paths}</svg>'
    )


# --- QR code --------------------------------------------------------------------------------


def qr_svg(data: str, *, size: str = "28mm", border: int = 2) -> SafeString:
    """A QR code (error correction M or better) as inline SVG: each row's runs of dark
    modules are one-module-wide horizontal strokes of a single path."""
    code = segno.make(data, error="m", micro=False)
    rows = code.matrix
    width = len(rows) + 2 * border
    parts = []
    for y, row in enumerate(rows, border):
        x = 0
        while x < len(row):
            if row[x] & 1:
                start = x
                while x < len(row) and row[x] & 1:
                    x += 1
                parts.append(f"M{start + border} {y + 0.5:g}h{x - start}")
            else:
                x += 1
    return mark_safe(  # noqa: S308 - numbers only, the data is not in the markup
        f'<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {width}" '
        f'width="{size}" height="{size}" shape-rendering="crispEdges">'
        f'<path stroke="#000" stroke-width="1" d="{"".join(parts)}"/></svg>'
    )
