"""The project's own stylesheets are well formed: every block is closed where it should be.
A block left open (a media query without its closing brace) makes every rule after it apply
only under that query, which no single page's test would notice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

OWN_STYLESHEETS = sorted(
    path
    for path in (Path(settings.BASE_DIR) / "static").rglob("*.css")
    if "vendor" not in path.parts
)


def _code(text: str) -> str:
    """The stylesheet without its comments and strings (which may hold braces)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", '""', text)


def test_there_are_stylesheets_to_check():
    assert any(path.name == "app.css" for path in OWN_STYLESHEETS)


@pytest.mark.parametrize("path", OWN_STYLESHEETS, ids=lambda path: path.name)
def test_every_block_is_closed_and_no_rule_sits_in_a_media_query_by_accident(path):
    depth = 0
    for number, line in enumerate(_code(path.read_text(encoding="utf-8")).splitlines(), 1):
        for character in line:
            if character == "{":
                depth += 1
            elif character == "}":
                depth -= 1
                assert depth >= 0, f"{path.name}:{number}: a brace closes nothing"
    assert depth == 0, f"{path.name}: {depth} block(s) never closed"


@pytest.mark.parametrize("path", OWN_STYLESHEETS, ids=lambda path: path.name)
def test_a_section_heading_starts_at_the_top_level(path):
    """The sections are headed by comments that start with "/* ---": none of them is inside
    an open block."""
    text = path.read_text(encoding="utf-8")
    depth = 0
    for match in re.finditer(r"/\* ---|\{|\}|/\*.*?\*/", text, flags=re.S):
        token = match.group(0)
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif token.startswith("/* ---"):
            line = text.count("\n", 0, match.start()) + 1
            assert depth == 0, f"{path.name}:{line}: a section starts inside an open block"
