"""The shared shape of a case's timeline row (audit trail): who did what, from which state
to which, with a note, and whether the customer may see it. Returns and complaints add the
link to their case."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import TenantOwnedModel


class TimelineEvent(TenantOwnedModel):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty when the system acted (policy, schedule)."),
    )
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    note = models.TextField(_("note"), blank=True)
    is_public = models.BooleanField(_("visible to the customer"), default=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    # Not TenantOwnedModel.Meta: the concrete timelines never had its base_manager_name,
    # and inheriting it would change them (and need a migration).
    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.from_status}→{self.to_status}"
