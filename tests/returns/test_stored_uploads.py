"""A stored upload whose row (or follow-up write) fails leaves no file behind."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image

from returns.models import ReturnAttachment
from rma_portal.files.uploads import clean_upload
from rma_portal.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 0)).save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def test_failed_follow_up_deletes_the_file_and_keeps_no_row(
    world_a, delivered_order, file_return, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    line = delivered_order.lines.model.unscoped.filter(order=delivered_order).first()
    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )

    def fail(_row):
        raise RuntimeError("event could not be written")

    with tenant_context(world_a.tenant), pytest.raises(RuntimeError), transaction.atomic():
        ReturnAttachment.store(
            clean_upload(_png()),
            uploaded_by=world_a.customer,
            then=fail,
            tenant=world_a.tenant,
            return_request=rma,
        )

    assert not ReturnAttachment.unscoped.exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_stored_upload_lands_under_the_tenant_folder(
    world_a, delivered_order, file_return, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    line = delivered_order.lines.model.unscoped.filter(order=delivered_order).first()
    rma = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )
    with tenant_context(world_a.tenant):
        row = ReturnAttachment.store(
            clean_upload(_png()),
            uploaded_by=world_a.customer,
            tenant=world_a.tenant,
            return_request=rma,
        )
    assert row.file.name.startswith(f"tenants/{world_a.tenant.pk}/returns/")
    assert (tmp_path / row.file.name).is_file()
