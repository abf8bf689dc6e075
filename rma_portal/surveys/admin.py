"""The back-office's pieces of every survey's answers (docs/feedback.md): read-only lists
scoped to the tenant, filtered by NPS band, with an excerpt of the comment."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy

from rma_portal.backoffice.admin import ReadOnlyAdminMixin, TenantScopedAdmin

from . import NPS_DETRACTOR_UNTIL, NPS_PROMOTER_FROM

COMMENT_EXCERPT = 80


class NpsGroupFilter(admin.SimpleListFilter):
    """Promoters, passives, detractors, or the 0–10 question left out."""

    title = gettext_lazy("would recommend us")
    parameter_name = "nps_group"

    def lookups(self, request, model_admin):
        return [
            ("promoter", gettext_lazy("Promoters (9–10)")),
            ("passive", gettext_lazy("Passives (7–8)")),
            ("detractor", gettext_lazy("Detractors (0–6)")),
            ("none", gettext_lazy("Not answered")),
        ]

    def queryset(self, request, queryset):
        conditions = {
            "promoter": Q(nps__gte=NPS_PROMOTER_FROM),
            "passive": Q(nps__gt=NPS_DETRACTOR_UNTIL, nps__lt=NPS_PROMOTER_FROM),
            "detractor": Q(nps__lte=NPS_DETRACTOR_UNTIL),
            "none": Q(nps__isnull=True),
        }
        condition = conditions.get(self.value())
        return queryset if condition is None else queryset.filter(condition)


def case_change_link(case, label: str) -> str:
    """A link to the case's own page of the back-office, named `label` (its number)."""
    opts = case._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[case.pk])
    return format_html('<a href="{}">{}</a>', url, label)


class SurveyAnswersAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """A survey's answers: the customers' own, so nothing here changes them. The comment is
    shown to the tenant's staff only (docs/feedback.md#privacy)."""

    list_display_links = None

    @admin.display(description=gettext_lazy("comment"))
    def comment_excerpt(self, answer) -> str:
        return Truncator(answer.comment).chars(COMMENT_EXCERPT) or "—"
