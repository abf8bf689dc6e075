"""The tenant's public return policy page (docs/returns-rules.md#the-public-policy-page): what it
is made of, where it is, and the tenant's FAQ shown on it.

The page is built at request time from the rules themselves. Its sections belong to the apps
that keep the rules: returns (windows, fees, shipping, warranty) and complaints (time limits,
reopening) register a builder here from their AppConfig.ready(), as they do for the business
calendar (customers/calendar.py), so this module imports neither; the view
(customers/views/policy_page.py) asks every builder in turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.urls import reverse
from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from rma_portal.languages import offered_languages
from rma_portal.notifications.links import portal_url

from .models import FaqArticle


@dataclass(frozen=True)
class PolicySection:
    """One part of the page: the template that shows it and what it needs."""

    template: str
    context: dict = field(default_factory=dict)


# (position, builder): builder(tenant) -> PolicySection, or None when there is nothing to show.
_sections: dict[str, tuple[int, Callable[[object], PolicySection | None]]] = {}


def register_policy_section(
    key: str, position: int, builder: Callable[[object], PolicySection | None]
) -> None:
    """Show `builder(tenant)`'s section on the page, ordered by `position`; registering a key
    again replaces it."""
    _sections[key] = (position, builder)


def policy_sections(tenant) -> list[PolicySection]:
    """The page's sections for `tenant` (in its tenant context), in their order."""
    built = []
    for _position, builder in sorted(_sections.values(), key=lambda entry: entry[0]):
        section = builder(tenant)
        if section is not None:
            built.append(section)
    return built


def public_policy_path(tenant) -> str:
    return reverse("policy:page", args=[tenant.slug])


def public_policy_url(tenant) -> str:
    """The page's absolute address, for e-mails and printed labels (built outside requests)."""
    return portal_url(public_policy_path(tenant))


def plain_number(value: Decimal) -> str:
    """12.50 as "12.5", 8.00 as "8", in the reader's number format."""
    places = max(-value.normalize().as_tuple().exponent, 0)
    return formats.number_format(value, decimal_pos=places)


def reader_language(tenant, requested: str | None, browser: str) -> str:
    """`requested` when the tenant offers it, else the browser's language when offered, else
    the tenant's default language."""
    offered = offered_languages(tenant)
    for candidate in (requested, browser):
        if candidate in offered:
            return candidate
    return tenant.default_language


def faq_articles(tenant, language: str) -> tuple[list[FaqArticle], str]:
    """The tenant's published FAQ in `language`, or, when it has none there, in the tenant's
    default language: (articles, the language they are in). One query."""
    languages = [language]
    if tenant.default_language != language:
        languages.append(tenant.default_language)
    articles = list(
        FaqArticle.objects.for_tenant(tenant)
        .filter(is_published=True, language__in=languages)
        .order_by("position", "pk")
    )
    for candidate in languages:
        chosen = [article for article in articles if article.language == candidate]
        if chosen:
            return chosen, candidate
    return [], language


_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_BULLET = re.compile(r"^\s*[-*]\s+")


def _inline(text: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", escape(text))


def render_faq_body(text: str) -> SafeString:
    """A FAQ answer as HTML: every character escaped first (typed HTML is shown, never run),
    then paragraphs (blank lines), lists (lines starting with "- " or "* "), line breaks and
    **bold**."""
    blocks = re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip())
    html = []
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if all(_BULLET.match(line) for line in lines):
            items = "".join(f"<li>{_inline(_BULLET.sub('', line))}</li>" for line in lines)
            html.append(f"<ul>{items}</ul>")
        else:
            html.append("<p>" + "<br>".join(_inline(line.strip()) for line in lines) + "</p>")
    return mark_safe("".join(html))  # noqa: S308 - built from escaped text only
