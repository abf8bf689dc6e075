"""Reading rendered HTML the way a person or a browser sees it, with BeautifulSoup.

A whole page holds random and hashed material: CSRF tokens (64 random letters and digits),
hashed static file names, uuids, signed tokens. A check for a short word or number anywhere in
the markup can match inside that material by chance, so a test asserts instead on what it
means: the visible text, the text of chosen elements, a link's target or the URLs a page loads.

    doc = parse(response)
    assert "Saved." in doc.text
    assert [cell.text for cell in doc.select("table.returns tbody td")][:2] == ["R1", "Open"]
    assert external_urls(doc) == []

Pages are parsed by BeautifulSoup with Python's "html.parser", which keeps the elements as
written: an end tag left out (`<li>`, `<td>`, `<p>`) is not implied, so the templates close
every element. Selectors are CSS as soupsieve implements it, matched like a browser's
`querySelectorAll`: against the whole page, returning elements inside the one searched and
never the content of a `<template>`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from urllib.parse import urlsplit

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, NavigableString, Tag
from bs4.element import PreformattedString

__all__ = [
    "Element",
    "answer_text",
    "definitions",
    "excerpt",
    "external_urls",
    "parse",
    "summary",
    "table_rows",
    "texts",
    "visible_text",
]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Their text is not shown on the page.
HIDDEN = _names("script style template noscript")
# Text of these runs on within a line; every other element starts and ends a word.
INLINE = _names(
    "a abbr b bdi bdo cite code data dfn em i kbd label mark q s samp small span strong sub sup "
    "time u var"
)
# Attributes that make a page load something (a link's href is followed by a click, not
# loaded with the page, so <a> is not in here).
LOADED = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
}
_SPACE = re.compile(r"[ \t\n\r\f]+")  # HTML white space: a no-break space is kept
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""")
_CSS_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)['"]""")


def _is_text(node) -> bool:
    """A text node (not a comment, doctype, CDATA section or processing instruction)."""
    return isinstance(node, NavigableString) and not isinstance(node, PreformattedString)


class Element:
    """One element of a parsed page, around its BeautifulSoup tag (`node`); the page itself
    is an element named "#document". Two elements are equal when they wrap the same tag."""

    __slots__ = ("node",)

    def __init__(self, node: Tag):
        self.node = node

    @property
    def tag(self) -> str:
        return "#document" if isinstance(self.node, BeautifulSoup) else self.node.name

    @property
    def attrs(self) -> dict[str, str]:
        return self.node.attrs

    @property
    def parent(self) -> Element | None:
        return None if self.node.parent is None else Element(self.node.parent)

    @property
    def classes(self) -> list[str]:
        return (self.node.get("class") or "").split()

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.node.attrs.get(name, default)

    def __getitem__(self, name: str) -> str:
        return self.node.attrs[name]

    def iter(self) -> Iterator[Element]:
        """This element and every element inside it, in document order."""
        yield self
        for node in self.node.find_all(True):
            yield Element(node)

    @property
    def text(self) -> str:
        """The text shown: text nodes only (no attribute values, nothing from <script> or
        <style>), entities decoded, white space collapsed, blocks and cells kept apart."""
        if self.tag in HIDDEN:
            return "".join(child for child in self.node.children if _is_text(child))
        out: list[str] = []
        _pieces(self.node, out)
        return _SPACE.sub(" ", "".join(out)).strip()

    def select(self, selector: str) -> list[Element]:
        """Elements inside this one that match a CSS `selector`, in document order."""
        return [Element(node) for node in self.node.select(selector)]

    def select_one(self, selector: str) -> Element:
        """The one element matching `selector`; fails when there are none or several."""
        found = self.select(selector)
        assert len(found) == 1, f"{len(found)} elements match {selector!r}"
        return found[0]

    def first(self, selector: str) -> Element | None:
        node = self.node.select_one(selector)
        return None if node is None else Element(node)

    def markup(self, limit: int = 300) -> str:
        """The element as short markup, for an assertion message."""
        attrs = "".join(f' {name}="{value}"' for name, value in self.attrs.items())
        return f"<{self.tag}{attrs}>{_short(self.text, limit)}</{self.tag}>"

    def __repr__(self) -> str:
        return self.markup(120)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Element) and other.node is self.node

    def __hash__(self) -> int:
        return id(self.node)


def _pieces(node: Tag, out: list[str]) -> None:
    for child in node.children:
        if isinstance(child, Tag):
            if child.name in HIDDEN:
                continue
            block = child.name not in INLINE
            if block:
                out.append(" ")
            _pieces(child, out)
            if block:
                out.append(" ")
        elif _is_text(child):
            out.append(child)


def parse(page) -> Element:
    """The parsed page: `page` is markup (str or bytes), a response, an Element or a tag."""
    if isinstance(page, Element):
        return page
    if isinstance(page, Tag):
        return Element(page)
    if hasattr(page, "content"):
        page = page.content
    if isinstance(page, bytes):
        page = page.decode("utf-8")
    with warnings.catch_warnings():
        # A short text such as "R1.pdf" is markup here, not a file name passed by mistake.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(page, "html.parser", multi_valued_attributes=None)
    return Element(soup)


def visible_text(page) -> str:
    """All the text a reader sees on the page (see Element.text)."""
    return parse(page).text


def answer_text(response) -> str:
    """The visible text of an HTML answer as any two requests for the same thing show it: the
    request id, which the error pages show and which is new for every request, reads
    "<request id>" (replaced where the page shows exactly the answer's X-Request-ID)."""
    text = parse(response).text
    request_id = response.get("X-Request-ID")
    return text.replace(request_id, "<request id>") if request_id else text


def texts(page, selector: str) -> list[str]:
    """The text of each element matching `selector`."""
    return [element.text for element in parse(page).select(selector)]


def table_rows(page, selector: str = "table") -> list[list[str]]:
    """The cells' text of each row of the tables matching `selector` (header rows too)."""
    return [
        [cell.text for cell in row.select("td, th")]
        for table in parse(page).select(selector)
        for row in table.select("tr")
    ]


def definitions(page, selector: str = "dl") -> dict[str, str]:
    """The terms and their descriptions (`<dt>` → `<dd>` text) of the lists matching
    `selector`; several descriptions of one term are joined with " | "."""
    found: dict[str, str] = {}
    for listing in parse(page).select(selector):
        term = None
        for element in listing.select("dt, dd"):
            if element.tag == "dt":
                term = element.text
            elif term is not None:
                found[term] = f"{found[term]} | {element.text}" if term in found else element.text
    return found


def _elsewhere(url: str, own_hosts: tuple[str, ...]) -> bool:
    host = urlsplit(url).hostname
    return host is not None and host not in own_hosts


def external_urls(page, own_hosts: tuple[str, ...] = ("testserver",)) -> list[str]:
    """URLs of scripts, style sheets, images, frames and other resources that the page loads
    from another host (`http://`, `https://`, `//` or any other scheme that names a host)."""
    doc = parse(page).node
    found = []
    for element in doc.find_all(list(LOADED)):
        for name in LOADED[element.name]:
            value = element.get(name)
            if not value:
                continue
            if name == "srcset":  # "a.png 1x, b.png 2x"
                urls = [part.split()[0] for part in value.split(",") if part.strip()]
            else:
                urls = [value.strip()]
            found.extend(url for url in urls if _elsewhere(url, own_hosts))
    # Style sheets in the page may load fonts, images or other style sheets too.
    for element in doc.select("style, [style]"):
        css = Element(element).text if element.name == "style" else element["style"]
        urls = _CSS_URL.findall(css) + _CSS_IMPORT.findall(css)
        found.extend(url for url in urls if _elsewhere(url, own_hosts))
    return found


ERRORS = ".errornote, ul.errorlist, .errors, .error, [role=alert], ul.messages"


def summary(response, limit: int = 300) -> str:
    """A short account of a response for an assertion message: its status, where it
    redirects, and the errors and messages on the page (else the start of its main text)."""
    parts = [str(response.status_code)]
    if response.get("Location"):
        parts.append(f"-> {response['Location']}")
    if getattr(response, "streaming", False):
        return " ".join(parts)
    if "html" not in response.get("Content-Type", ""):
        parts.append(_short(response.content.decode("utf-8", "replace"), limit))
        return " ".join(parts)
    doc = parse(response)
    found = doc.select(ERRORS)
    inside = {id(element.node) for element in found}
    outermost = [e for e in found if not any(id(a) in inside for a in e.node.parents)]
    text = " | ".join(t for t in (e.text for e in outermost) if t)
    if not text:
        text = (doc.first("main") or doc).text
    if text:
        parts.append(_short(text, limit))
    return " ".join(parts)


def excerpt(text, needle: str, width: int = 300) -> str:
    """About `width` characters of `text` around `needle` (or its start), for a message."""
    if not isinstance(text, str):
        text = parse(text).text
    at = text.find(needle)
    if at < 0:
        return _short(text, width)
    start = max(0, at - width // 2)
    end = start + width
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
