"""Pieces of the OpenAPI schema that several endpoints share (the schema class itself, with the
shared error answers, is in exceptions.py)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

from rma_portal.files.uploads import ALLOWED


def file_download_responses(description: str) -> dict:
    """The 200 answer of an attachment download, one entry per type a stored file can have
    (uploads are judged by content and stored as one of these), so that a client and a
    contract test know the exact Content-Type to expect."""
    return {
        (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description=description)
        for content_type, _extension in ALLOWED.values()
    }
