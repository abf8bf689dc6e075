"""Serving stored files after the caller has checked access."""

from __future__ import annotations

from django.http import FileResponse, Http404

INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def stored_file_response(field_file, *, filename: str, content_type: str) -> FileResponse:
    try:
        handle = field_file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=content_type not in INLINE_TYPES,
        filename=filename,
    )
    if content_type in INLINE_TYPES:
        response["Content-Disposition"] = response["Content-Disposition"].replace(
            "attachment", "inline"
        )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
