"""The back-office's read-only list of the answers to the returns' satisfaction survey
(docs/feedback.md), scoped to the tenant like every admin, and the inline that shows a
return's answer on its page. Answers are the customers' own: nothing here changes them."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from rma_portal.backoffice.admin import ReadOnlyAdminMixin, TenantScopedTabularInline
from rma_portal.surveys.admin import NpsGroupFilter, SurveyAnswersAdmin, case_change_link

from .feedback_models import ReturnFeedback


@admin.register(ReturnFeedback)
class ReturnFeedbackAdmin(SurveyAnswersAdmin):
    list_display = [
        "return_link",
        "customer",
        "csat",
        "nps",
        "comment_excerpt",
        "channel",
        "answered_at",
    ]
    list_filter = [
        "csat",
        NpsGroupFilter,
        "channel",
        "answered_at",
        "return_request__resolution",
        ("return_request__customer_account", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["return_request__customer_account", "answered_by"]
    search_fields = ["return_request__number", "return_request__customer_account__name", "comment"]
    search_help_text = gettext_lazy("RMA number, customer name or words of the comment.")
    ordering = ["-answered_at", "-pk"]
    fields = readonly_fields = [
        "return_link",
        "customer",
        "answered_by",
        "csat",
        "nps",
        "comment",
        "channel",
        "answered_at",
    ]

    @admin.display(description=gettext_lazy("return"), ordering="return_request__number")
    def return_link(self, answer: ReturnFeedback) -> str:
        return case_change_link(answer.return_request, answer.return_request.number)

    @admin.display(
        description=gettext_lazy("customer"), ordering="return_request__customer_account__name"
    )
    def customer(self, answer: ReturnFeedback) -> str:
        return answer.return_request.customer_account.name


class ReturnFeedbackInline(ReadOnlyAdminMixin, TenantScopedTabularInline):
    """The requester's answer on the return's page (returns.admin.ReturnRequestAdmin)."""

    model = ReturnFeedback
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name = verbose_name_plural = gettext_lazy("survey answer")
    fields = readonly_fields = ["csat", "nps", "comment", "channel", "answered_by", "answered_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("answered_by")
