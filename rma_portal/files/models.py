"""The shared shape of a stored upload: the file row every domain's attachments are built on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from django.conf import settings
from django.db import models, router, transaction
from django.utils.translation import gettext_lazy as _

from rma_portal.tenancy.models import TenantOwnedModel

from .transactions import delete_on_rollback
from .uploads import CleanUpload


class StoredUpload(TenantOwnedModel):
    """Abstract base of an attachment table: a checked upload stored under the tenant's folder.

    Subclasses declare `file` themselves, as
    `models.FileField(_("file"), upload_to=<their upload_to>, max_length=255)`, so each keeps
    its own media folder (and its migrations their own upload_to), plus their parent links.
    """

    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=50)
    size = models.PositiveIntegerField(_("size"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    # Deliberately not TenantOwnedModel.Meta: the attachment tables never had its
    # base_manager_name, and inheriting it would change them (and need a migration).
    class Meta:
        abstract = True
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.original_name

    @classmethod
    def store(
        cls,
        clean: CleanUpload,
        *,
        uploaded_by,
        then: Callable[[Self], Any] | None = None,
        **fields: Any,
    ) -> Self:
        """Write `clean` to storage and save a new row for it (`fields` are the rest: tenant,
        parent links). `then(row)` runs after the save.

        The file lives exactly as long as the transaction that stored it: the write, the
        save and `then` run in one `atomic()`, and the file is deleted again if that block,
        or any block around it, rolls back (`rma_portal.files.transactions`). So a failed
        save or `then`, or a caller whose transaction fails later, leaves no file behind."""
        row = cls(
            original_name=clean.original_name,
            content_type=clean.content_type,
            size=clean.size,
            uploaded_by=uploaded_by,
            **fields,
        )
        using = router.db_for_write(cls, instance=row)
        with transaction.atomic(using=using):
            row.file.save(clean.content.name, clean.content, save=False)
            delete_on_rollback(row.file.storage, row.file.name, using=using)
            row.save(using=using)
            if then is not None:
                then(row)
        return row
