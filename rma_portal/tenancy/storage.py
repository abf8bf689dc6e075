"""Media paths of stored files: always under the owning tenant's folder, names made by us."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath


def tenant_media_path(tenant_id: int | str, folder: str, original_name: str = "") -> str:
    """`tenants/<id>/<folder>/<uuid><ext>`; the customer's file name never reaches the disk."""
    suffix = PurePosixPath(original_name).suffix.lower()
    if not suffix[1:].isalnum() or len(suffix) > 6:
        suffix = ""
    return f"tenants/{tenant_id}/{folder}/{uuid.uuid4().hex}{suffix}"


def tenant_logo_upload_to(instance, filename: str) -> str:
    return tenant_media_path(instance.pk or instance.slug, "branding", filename)
