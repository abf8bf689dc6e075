"""Media paths of stored files: always under the owning tenant's folder, names made by us."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}


def tenant_media_path(tenant_id: int | str, folder: str, original_name: str = "") -> str:
    """`tenants/<id>/<folder>/<uuid><ext>`; the uploader's file name never reaches the disk."""
    suffix = PurePosixPath(original_name).suffix.lower()
    if not suffix[1:].isalnum() or len(suffix) > 6:
        suffix = ""
    return f"tenants/{tenant_id}/{folder}/{uuid.uuid4().hex}{suffix}"


def tenant_logo_upload_to(instance, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()
    safe_name = f"logo{suffix}" if suffix in IMAGE_TYPES else "logo.png"
    return tenant_media_path(instance.pk or instance.slug, "branding", safe_name)


def image_content_type(name: str) -> str:
    return IMAGE_TYPES.get(PurePosixPath(name).suffix.lower(), "application/octet-stream")
