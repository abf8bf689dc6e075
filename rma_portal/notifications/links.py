"""Absolute links for what leaves the site (e-mails, webhook payloads, survey links): workers
build them outside any request, so they start from settings.SITE_URL."""

from __future__ import annotations

from django.conf import settings


def portal_url(path: str) -> str:
    """`path` (e.g. from reverse()) on the site's public address."""
    return settings.SITE_URL.rstrip("/") + path
