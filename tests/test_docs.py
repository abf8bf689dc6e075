"""Docs that are generated from the code stay in step with it."""

import re
from pathlib import Path

from django.core.management import call_command


def test_state_machine_diagrams_are_current():
    # Fails with "run `manage.py state_diagrams`" when a transition changed without the docs.
    call_command("state_diagrams", "--check")


ROOT = Path(__file__).resolve().parent.parent
DOC_LINK = re.compile(r"(?:docs/|\(|/)?([a-z-]+\.md)#([a-z0-9-]+)")
SOURCES = ("rma_portal", "returns", "complaints", "customers", "analytics", "templates", "docs")


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a document's headings: lower case, punctuation dropped, spaces to
    hyphens."""
    anchors = set()
    for heading in re.findall(r"(?m)^#+ (.+)$", markdown):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_every_link_to_a_section_of_the_docs_names_a_heading_that_exists():
    anchors = {path.name: _anchors(path.read_text()) for path in (ROOT / "docs").glob("*.md")}
    broken = []
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".md", ".html", ".txt"} or "migrations" in path.parts:
                continue
            for document, anchor in DOC_LINK.findall(path.read_text(errors="replace")):
                if document in anchors and anchor not in anchors[document]:
                    broken.append(f"{path.relative_to(ROOT)}: {document}#{anchor}")
    assert broken == []
