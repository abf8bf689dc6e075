"""Serving stored files after the caller has checked access."""

from __future__ import annotations

import hashlib
import io

from django.core.cache import cache
from django.http import FileResponse, Http404, HttpResponse
from PIL import Image

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


THUMBNAIL_PX = 192  # twice the 96 px shown: sharp on high-density screens
THUMBNAIL_CACHE_SECONDS = 7 * 24 * 3600


def thumbnail_response(field_file, *, content_type: str) -> HttpResponse:
    """A small WebP of a stored photo for the case pages' thumbnails, made once and kept in
    the cache under the file's storage name (stored files never change: a new upload is a new
    name). Anything but a stored photo is a 404: documents have no thumbnail."""
    if content_type not in INLINE_TYPES:
        raise Http404
    key = "thumbnail:" + hashlib.sha256(field_file.name.encode()).hexdigest()
    data = cache.get(key)
    if data is None:
        try:
            with field_file.open("rb") as handle, Image.open(handle) as image:
                image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
                out = io.BytesIO()
                mode = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
                image.convert(mode).save(out, "WEBP", quality=80)
        except (FileNotFoundError, ValueError, OSError, Image.DecompressionBombError) as exc:
            raise Http404 from exc
        data = out.getvalue()
        cache.set(key, data, THUMBNAIL_CACHE_SECONDS)
    response = HttpResponse(data, content_type="image/webp")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
