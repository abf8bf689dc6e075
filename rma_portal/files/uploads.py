"""Validation and normalisation of uploads: JPEG, PNG, WebP and PDF only, judged by content."""

from __future__ import annotations

import io
import itertools
import re
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from rma_portal.errors import ApplicationError

ALLOWED = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
    "PDF": ("application/pdf", ".pdf"),
}
MAX_IMAGE_PIXELS = 40_000_000  # ~ 8000 × 5000; larger images are refused, not resized
# A PDF name ends at whitespace or a delimiter; requiring one keeps bytes of binary stream data
# (scanned images) that merely spell "/JS" from getting a document refused.
_PDF_NAME_END = rb"(?=[\x00\t\n\x0c\r ()<>\[\]{}/%]|\Z)"
PDF_ACTIVE_CONTENT = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|OpenAction)" + _PDF_NAME_END)
# "/J#61vaScript" is the same name as "/JavaScript" (PDF 32000-1, 7.3.5).
PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# A stream's dictionary; object streams (PDF 1.5) are the ones with /First (and /Type /ObjStm).
PDF_STREAM_DICTIONARY = re.compile(rb"obj\s*<<(.{0,4096}?)>>\s*stream(?:\r\n|\n|\r)", re.DOTALL)
PDF_OBJECT_STREAM_KEY = re.compile(rb"/(ObjStm|First)" + _PDF_NAME_END)
PDF_FLATE_ONLY = re.compile(rb"/Filter\s*(?:/FlateDecode|\[\s*/FlateDecode\s*\])" + _PDF_NAME_END)


class UploadRejected(ApplicationError):
    code = "invalid_upload"


@dataclass(frozen=True)
class CleanUpload:
    content: ContentFile
    content_type: str
    original_name: str
    size: int


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"%PDF-"):
        return "PDF"
    return None


def safe_display_name(name: str) -> str:
    """The uploader's file name, for display and downloads only: no paths, no control chars."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>:|?*')
    return name.strip(" .")[:120] or "file"


def _reencode_image(data: bytes, kind: str) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise UploadRejected(_("The image is too large in pixels."))
            image = ImageOps.exif_transpose(image)  # keeps orientation, drops EXIF (GPS etc.)
            out = io.BytesIO()
            if kind == "JPEG":
                image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
            elif kind == "PNG":
                image.save(out, "PNG", optimize=True)
            else:
                image.save(out, "WEBP", quality=85)
            return out.getvalue()
    except UploadRejected:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise UploadRejected(_("The image is damaged or not a real image.")) from exc


def _unescape_pdf_names(data: bytes) -> bytes:
    return PDF_NAME_ESCAPE.sub(lambda match: bytes([int(match.group(1), 16)]), data)


def _pdf_object_streams(data: bytes) -> Iterator[bytes]:
    """The inflated content of each object stream: objects stored there, compressed, never
    show in the file's raw bytes."""
    budget = 8 * settings.UPLOAD_MAX_BYTES  # bounds a compression bomb
    view = memoryview(data)
    for match in PDF_STREAM_DICTIONARY.finditer(data):
        dictionary = _unescape_pdf_names(match.group(1))
        if not PDF_OBJECT_STREAM_KEY.search(dictionary):
            continue
        if b"/Filter" not in dictionary:
            continue  # stored as is: already part of the raw bytes that are checked
        if not PDF_FLATE_ONLY.search(dictionary):
            # An encoding we do not decode could hide anything.
            raise UploadRejected(_("The PDF is damaged or incomplete."))
        inflater = zlib.decompressobj()
        try:
            inflated = inflater.decompress(view[match.end() :], budget + 1)
        except zlib.error as exc:
            raise UploadRejected(_("The PDF is damaged or incomplete.")) from exc
        if len(inflated) > budget:
            raise UploadRejected(_("The PDF is damaged or incomplete."))
        budget -= len(inflated)
        yield inflated


def _check_pdf(data: bytes) -> bytes:
    if b"%%EOF" not in data[-2048:]:
        raise UploadRejected(_("The PDF is damaged or incomplete."))
    for part in itertools.chain([data], _pdf_object_streams(data)):
        if PDF_ACTIVE_CONTENT.search(_unescape_pdf_names(part)):
            raise UploadRejected(
                _("PDFs with scripts, actions or embedded files are not accepted.")
            )
    return data


def clean_upload(upload) -> CleanUpload:
    """Check an uploaded file and return what may be stored; raise UploadRejected otherwise."""
    limit = settings.UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise UploadRejected(
            _("%(name)s is too large (%(size)s); the limit is %(limit)s.")
            % {
                "name": safe_display_name(upload.name),
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(limit),
            }
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected(
            _("The file is too large; the limit is %(limit)s.") % {"limit": filesizeformat(limit)}
        )
    if not data:
        raise UploadRejected(_("The file is empty."))
    kind = _sniff(data[:16])
    if kind is None:
        raise UploadRejected(
            _("%(name)s is not a JPEG, PNG, WebP or PDF file.")
            % {"name": safe_display_name(upload.name)}
        )
    data = _check_pdf(data) if kind == "PDF" else _reencode_image(data, kind)
    content_type, extension = ALLOWED[kind]
    display = safe_display_name(upload.name)
    stem = display.rsplit(".", 1)[0] if "." in display else display
    return CleanUpload(
        content=ContentFile(data, name=f"upload{extension}"),
        content_type=content_type,
        original_name=f"{stem}{extension}",
        size=len(data),
    )
