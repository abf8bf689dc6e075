"""The satisfaction survey of a resolved return (docs/feedback.md): the signed links of the
resolution e-mail, reading them back, and recording the requester's one answer.

A link names the return, its tenant, the customer user it was sent to and the score they
clicked, signed with its own salt and valid for SURVEY_MAX_AGE. Opening it records nothing
(mail scanners open links); the answer is recorded by the form's POST, once per return.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass

from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from rma_portal.notifications.links import portal_url

from .feedback_models import (
    COMMENT_MAX_LENGTH,
    CSAT_MAX,
    CSAT_MIN,
    NPS_MAX,
    NPS_MIN,
    FeedbackChannel,
    ReturnFeedback,
)
from .models import ReturnRequest, ReturnStatus
from .services.errors import ReturnAccessDenied, ReturnConflict, ReturnInvalid

logger = logging.getLogger(__name__)

SURVEY_SALT = "returns.feedback.survey"
SURVEY_MAX_AGE = datetime.timedelta(days=60)
SURVEY_SCORES = tuple(range(CSAT_MIN, CSAT_MAX + 1))
# Returns whose survey may be answered: the resolution was decided.
ANSWERABLE_STATUSES = frozenset({ReturnStatus.RESOLVED, ReturnStatus.CLOSED})


# --- signed links ---------------------------------------------------------------------------


class SurveyLinkInvalid(Exception):
    """The link was changed, cut short or signed for something else."""


class SurveyLinkExpired(SurveyLinkInvalid):
    """The link is genuine but older than SURVEY_MAX_AGE."""


class _SurveySigner(signing.TimestampSigner):
    """A TimestampSigner whose clock is `now` when given (tests drive it explicitly)."""

    def __init__(self, *, now: datetime.datetime | None = None):
        super().__init__(salt=SURVEY_SALT)
        self.now = now

    def _seconds(self) -> float:
        return time.time() if self.now is None else self.now.timestamp()

    def timestamp(self) -> str:
        return signing.b62_encode(int(self._seconds()))

    def unsign(self, value, max_age=None):
        # The signature first (Signer.unsign), then the age against this signer's clock.
        value, stamp = signing.Signer.unsign(self, value).rsplit(self.sep, 1)
        if max_age is not None:
            if isinstance(max_age, datetime.timedelta):
                max_age = max_age.total_seconds()
            age = self._seconds() - signing.b62_decode(stamp)
            if age > max_age:
                raise signing.SignatureExpired(f"Signature age {age} > {max_age} seconds")
        return value


@dataclass(frozen=True)
class SurveyInvitation:
    """What a survey link says: this return of this tenant, asked of this user, who chose
    this score in the e-mail."""

    return_id: int
    tenant_id: int
    user_id: int
    score: int


def survey_token(
    *, return_request: ReturnRequest, recipient, score: int, now: datetime.datetime | None = None
) -> str:
    payload = {
        "r": return_request.pk,
        "t": return_request.tenant_id,
        "u": recipient.pk,
        "s": score,
    }
    return _SurveySigner(now=now).sign_object(payload)


def survey_read(token: str, *, now: datetime.datetime | None = None) -> SurveyInvitation:
    """The invitation of a link; SurveyLinkExpired or SurveyLinkInvalid when it is not one."""
    try:
        payload = _SurveySigner(now=now).unsign_object(token, max_age=SURVEY_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise SurveyLinkExpired(str(exc)) from exc
    except (signing.BadSignature, ValueError) as exc:
        raise SurveyLinkInvalid(str(exc)) from exc
    try:
        invitation = SurveyInvitation(
            return_id=payload["r"],
            tenant_id=payload["t"],
            user_id=payload["u"],
            score=payload["s"],
        )
    except (KeyError, TypeError) as exc:
        raise SurveyLinkInvalid("not a survey link") from exc
    numbers = (invitation.return_id, invitation.tenant_id, invitation.user_id, invitation.score)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        raise SurveyLinkInvalid("not a survey link")
    if invitation.score not in SURVEY_SCORES:
        raise SurveyLinkInvalid("not a survey score")
    return invitation


def survey_links(
    return_request: ReturnRequest, *, recipient, now: datetime.datetime | None = None
) -> list[dict]:
    """The five score links of the resolution e-mail, as JSON for the outbox: [{"score": 1,
    "url": "https://…"}, …]. Empty (and logged) when the survey's URLs are not mounted: the
    resolution e-mail is sent without a survey rather than not at all."""
    links = []
    for score in SURVEY_SCORES:
        token = survey_token(
            return_request=return_request, recipient=recipient, score=score, now=now
        )
        try:
            path = reverse("feedback:survey", args=[token])
        except NoReverseMatch:
            logger.error(
                "return survey links left out: the feedback URLs are not mounted",
                extra={"return_id": return_request.pk},
            )
            return []
        links.append({"score": score, "url": portal_url(path)})
    return links


# --- answers --------------------------------------------------------------------------------


def _checked_score(value, *, low: int, high: int, field: str, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ReturnInvalid(message, fields={field: [message]})
    return value


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
    csat = _checked_score(
        csat,
        low=CSAT_MIN,
        high=CSAT_MAX,
        field="csat",
        message=_("Choose how satisfied you are, from 1 to 5."),
    )
    if nps is not None:
        nps = _checked_score(
            nps,
            low=NPS_MIN,
            high=NPS_MAX,
            field="nps",
            message=_("Choose a number from 0 to 10, or leave the question out."),
        )
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
