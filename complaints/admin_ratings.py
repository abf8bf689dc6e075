"""The back-office's read-only list of the complaints' satisfaction ratings (docs/feedback.md):
the 1–5 score, the optional 0–10 "would you recommend us", the comment and where the rating
was given, scoped to the tenant like every admin. Ratings are the customers' own: nothing here
changes them."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from rma_portal.surveys.admin import NpsGroupFilter, SurveyAnswersAdmin, case_change_link

from .models import SatisfactionRating


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(SurveyAnswersAdmin):
    list_display = [
        "complaint_link",
        "customer",
        "score",
        "nps",
        "comment_excerpt",
        "channel",
        "created_at",
    ]
    list_filter = [
        "score",
        NpsGroupFilter,
        "channel",
        "created_at",
        "complaint__category",
        ("complaint__customer_account", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["complaint__customer_account", "rated_by"]
    search_fields = ["complaint__code", "complaint__customer_account__name", "comment"]
    search_help_text = gettext_lazy("Complaint number, customer name or words of the comment.")
    ordering = ["-created_at", "-pk"]
    fields = readonly_fields = [
        "complaint_link",
        "customer",
        "rated_by",
        "score",
        "nps",
        "comment",
        "channel",
        "created_at",
    ]

    @admin.display(description=gettext_lazy("complaint"), ordering="complaint__code")
    def complaint_link(self, rating: SatisfactionRating) -> str:
        return case_change_link(rating.complaint, rating.complaint.code)

    @admin.display(
        description=gettext_lazy("customer"), ordering="complaint__customer_account__name"
    )
    def customer(self, rating: SatisfactionRating) -> str:
        return rating.complaint.customer_account.name
