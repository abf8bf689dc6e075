"""The satisfaction survey of a resolved return (docs/feedback.md): the signed links of the
resolution e-mail, reading them back, and recording the requester's one answer.

The links are every survey's (rma_portal.surveys.links) with the returns' own salt: a link
names the return, its tenant, the customer user it was sent to and the score they clicked,
and is valid for SURVEY_MAX_AGE. Opening it records nothing (mail scanners open links); the
answer is recorded by the form's POST, once per return.
"""

from __future__ import annotations

import datetime
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rma_portal.surveys import CSAT_SCORES, checked_nps, checked_score
from rma_portal.surveys.links import (
    SURVEY_MAX_AGE,
    SurveyInvitation,
    SurveyLinkExpired,
    SurveyLinkInvalid,
    SurveyLinks,
)

from .feedback_models import COMMENT_MAX_LENGTH, FeedbackChannel, ReturnFeedback
from .models import ReturnRequest, ReturnStatus
from .services.errors import ReturnAccessDenied, ReturnConflict, ReturnInvalid

logger = logging.getLogger(__name__)

__all__ = [
    "ANSWERABLE_STATUSES",
    "RETURN_SURVEY",
    "SURVEY_MAX_AGE",
    "SURVEY_SALT",
    "SURVEY_SCORES",
    "SurveyInvitation",
    "SurveyLinkExpired",
    "SurveyLinkInvalid",
    "feedback_record",
    "survey_links",
    "survey_read",
    "survey_token",
]

SURVEY_SALT = "returns.feedback.survey"
SURVEY_SCORES = CSAT_SCORES
# The payload names the return "r" (links already sent keep working).
RETURN_SURVEY = SurveyLinks(salt=SURVEY_SALT, case_key="r", url_name="feedback:survey")
# Returns whose survey may be answered: the resolution was decided.
ANSWERABLE_STATUSES = frozenset({ReturnStatus.RESOLVED, ReturnStatus.CLOSED})


# --- signed links ---------------------------------------------------------------------------


def survey_token(
    *, return_request: ReturnRequest, recipient, score: int, now: datetime.datetime | None = None
) -> str:
    return RETURN_SURVEY.token(case=return_request, recipient=recipient, score=score, now=now)


def survey_read(token: str, *, now: datetime.datetime | None = None) -> SurveyInvitation:
    """The invitation of a link (its case_id is the return's); SurveyLinkExpired or
    SurveyLinkInvalid when it is not one."""
    return RETURN_SURVEY.read(token, now=now)


def survey_links(
    return_request: ReturnRequest, *, recipient, now: datetime.datetime | None = None
) -> list[dict]:
    """The five score links of the resolution e-mail (empty when the survey's URLs are not
    mounted: the resolution e-mail is then sent without a survey)."""
    return RETURN_SURVEY.links(return_request, recipient=recipient, now=now)


# --- answers --------------------------------------------------------------------------------


def feedback_record(
    *,
    return_request: ReturnRequest,
    actor,
    csat: int,
    nps: int | None = None,
    comment: str = "",
    channel: str,
    now: datetime.datetime | None = None,
) -> tuple[ReturnFeedback, bool]:
    """Record the requester's answer to the survey of a resolved (or closed) return; returns
    (answer, created). The first answer stays: answering again changes nothing and returns
    the answer already given with created False, however the second one came in."""
    csat = checked_score(
        csat,
        invalid=ReturnInvalid,
        field="csat",
        message=_("Choose how satisfied you are, from 1 to 5."),
    )
    nps = checked_nps(nps, invalid=ReturnInvalid)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        message = _("Keep the comment under %(limit)s characters.") % {"limit": COMMENT_MAX_LENGTH}
        raise ReturnInvalid(message, fields={"comment": [message]})
    if channel not in FeedbackChannel.values:
        raise ReturnInvalid(_("Unknown survey channel."))
    if actor is None or actor.pk != return_request.requester_id:
        raise ReturnAccessDenied(_("Only the person who filed the return answers its survey."))
    if return_request.status not in ANSWERABLE_STATUSES:
        raise ReturnConflict(_("The survey opens once the return is resolved."))
    existing = ReturnFeedback.objects.filter(return_request=return_request).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            feedback = ReturnFeedback.objects.create(
                tenant_id=return_request.tenant_id,
                return_request=return_request,
                answered_by=actor,
                csat=csat,
                nps=nps,
                comment=comment,
                channel=channel,
                answered_at=now or timezone.now(),
            )
    except IntegrityError:
        # The same answer sent twice at once (a double click, two tabs): the first one won.
        return ReturnFeedback.objects.get(return_request=return_request), False
    logger.info(
        "return survey answered",
        extra={"return_id": return_request.pk, "channel": channel, "csat": csat},
    )
    return feedback, True
