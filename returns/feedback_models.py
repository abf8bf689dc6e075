"""The customer's answer to the satisfaction survey of a resolved return (docs/feedback.md):
how satisfied they are with how the return was handled (CSAT, 1–5), optionally how likely
they are to recommend the merchant (NPS, 0–10) and a comment. One answer per return, given by
the customer user who filed it, through the link in the resolution e-mail or in the portal.

Loaded with the other models of the app (returns/models.py imports this module at its end).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from rma_portal.surveys import (
    COMMENT_MAX_LENGTH,
    CSAT_MAX,
    CSAT_MIN,
    NPS_DETRACTOR_UNTIL,
    NPS_MAX,
    NPS_MIN,
    NPS_PROMOTER_FROM,
    nps_constraint,
)
from rma_portal.surveys import SurveyChannel as FeedbackChannel
from rma_portal.tenancy.models import TenantOwnedModel

# The survey's ranges and channels are every survey's (rma_portal.surveys); named here too
# for the code that reads the returns' answers.
__all__ = [
    "COMMENT_MAX_LENGTH",
    "CSAT_MAX",
    "CSAT_MIN",
    "NPS_DETRACTOR_UNTIL",
    "NPS_MAX",
    "NPS_MIN",
    "NPS_PROMOTER_FROM",
    "FeedbackChannel",
    "ReturnFeedback",
]


class ReturnFeedback(TenantOwnedModel):
    return_request = models.OneToOneField(
        "returns.ReturnRequest",
        on_delete=models.CASCADE,
        related_name="feedback",
        verbose_name=_("return request"),
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("answered by"),
    )
    csat = models.PositiveSmallIntegerField(
        _("satisfaction (1–5)"),
        validators=[MinValueValidator(CSAT_MIN), MaxValueValidator(CSAT_MAX)],
    )
    nps = models.PositiveSmallIntegerField(
        _("would recommend us (0–10)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(NPS_MIN), MaxValueValidator(NPS_MAX)],
    )
    # The customer's own words: shown to the merchant's staff only (docs/feedback.md#privacy).
    comment = models.CharField(_("comment"), max_length=COMMENT_MAX_LENGTH, blank=True)
    channel = models.CharField(
        _("answered through"), max_length=10, choices=FeedbackChannel.choices
    )
    answered_at = models.DateTimeField(_("answered"))

    class Meta:
        verbose_name = _("return survey answer")
        verbose_name_plural = _("return survey answers")
        indexes = [
            # The KPIs read a period's answers of one tenant by the moment they were given.
            models.Index(fields=["tenant", "answered_at"], name="return_feedback_answered_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(csat__gte=CSAT_MIN) & models.Q(csat__lte=CSAT_MAX),
                name="return_feedback_csat_1_to_5",
            ),
            nps_constraint("return_feedback_nps_0_to_10"),
        ]

    def __str__(self) -> str:
        return f"{self.return_request_id}: {self.csat}"
