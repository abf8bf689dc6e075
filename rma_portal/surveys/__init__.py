"""Satisfaction surveys after a case is finished (docs/feedback.md): what the surveys of
returns and of complaints share, whatever the case.

- the questions' ranges: a 1–5 score (CSAT) and the optional 0–10 "would you recommend us"
  (NPS), with NPS's promoter and detractor bands;
- where an answer was given (`SurveyChannel`);
- checking an answer's numbers for a service (`checked_score`, `checked_nps`);
- the signed one-click links of the e-mails (`rma_portal.surveys.links`), the forms' fields
  (`.forms`), the public page a link opens (`.views`) and the back-office's pieces (`.admin`).

Each app keeps its answers in its own table and records them through its own service.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rma_portal.errors import ApplicationError

CSAT_MIN, CSAT_MAX = 1, 5
NPS_MIN, NPS_MAX = 0, 10
CSAT_SCORES = tuple(range(CSAT_MIN, CSAT_MAX + 1))
NPS_SCORES = tuple(range(NPS_MIN, NPS_MAX + 1))
# NPS: 9–10 recommend us (promoters), 0–6 do not (detractors), 7–8 are passive.
NPS_PROMOTER_FROM = 9
NPS_DETRACTOR_UNTIL = 6
# A comment of the survey's forms, unless the app's texts are longer (complaints).
COMMENT_MAX_LENGTH = 2000


class SurveyChannel(models.TextChoices):
    """Where the answer was given."""

    EMAIL = "email", gettext_lazy("E-mail link")
    PORTAL = "portal", gettext_lazy("Portal")


def nps_constraint(name: str) -> models.CheckConstraint:
    """The database's check of an answer's `nps` column: empty or 0–10."""
    return models.CheckConstraint(
        condition=models.Q(nps__isnull=True)
        | (models.Q(nps__gte=NPS_MIN) & models.Q(nps__lte=NPS_MAX)),
        name=name,
    )


def is_score(value, scores: Collection[int]) -> bool:
    """A whole number (not a bool, not text) among `scores`."""
    return isinstance(value, int) and not isinstance(value, bool) and value in scores


def checked_score(
    value,
    *,
    invalid: type[ApplicationError],
    field: str,
    message: str,
    field_message: str | None = None,
    scores: Collection[int] = CSAT_SCORES,
) -> int:
    """`value` when it is one of `scores`; otherwise the app's `invalid` error, naming
    `field` (with `field_message`, or `message`)."""
    if not is_score(value, scores):
        raise invalid(message, fields={field: [field_message or message]})
    return value


def checked_nps(value, *, invalid: type[ApplicationError]) -> int | None:
    """None (the question left out) or a whole number from 0 to 10; otherwise the app's
    `invalid` error on the field `nps`."""
    if value is None:
        return None
    return checked_score(
        value,
        invalid=invalid,
        field="nps",
        message=_("Choose a number from 0 to 10, or leave the question out."),
        scores=NPS_SCORES,
    )
