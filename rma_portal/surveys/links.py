"""The signed one-click links of a survey's e-mail (docs/feedback.md#the-links).

A link names the case, its tenant, the customer user it was sent to and the score they
clicked, signed with the survey's own salt and valid for its `max_age`. Opening it records
nothing (mail scanners open links); the answer is recorded by the page's POST.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass

from django.core import signing
from django.urls import NoReverseMatch, reverse

from rma_portal.notifications.links import portal_url

from . import CSAT_SCORES

logger = logging.getLogger(__name__)

SURVEY_MAX_AGE = datetime.timedelta(days=60)


class SurveyLinkInvalid(Exception):
    """The link was changed, cut short or signed for something else."""


class SurveyLinkExpired(SurveyLinkInvalid):
    """The link is genuine but older than its survey's max age."""


class SurveySigner(signing.TimestampSigner):
    """A TimestampSigner whose clock is `now` when given (tests drive it explicitly)."""

    def __init__(self, *, salt: str, now: datetime.datetime | None = None):
        super().__init__(salt=salt)
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
    """What a survey link says: this case of this tenant, asked of this user, who chose this
    score in the e-mail."""

    case_id: int
    tenant_id: int
    user_id: int
    score: int


@dataclass(frozen=True)
class SurveyLinks:
    """The links of one survey: its own salt (a link of one survey is no link of another),
    the key its payload names the case by, the URL name of its page and how long a link
    works."""

    salt: str
    case_key: str
    url_name: str
    max_age: datetime.timedelta = SURVEY_MAX_AGE
    scores: tuple[int, ...] = CSAT_SCORES

    def token(self, *, case, recipient, score: int, now: datetime.datetime | None = None) -> str:
        """The signed value of one link; `case` has a `pk` and a `tenant_id`."""
        payload = {self.case_key: case.pk, "t": case.tenant_id, "u": recipient.pk, "s": score}
        return SurveySigner(salt=self.salt, now=now).sign_object(payload)

    def read(self, token: str, *, now: datetime.datetime | None = None) -> SurveyInvitation:
        """The invitation of a link; SurveyLinkExpired or SurveyLinkInvalid when it is not
        one."""
        try:
            payload = SurveySigner(salt=self.salt, now=now).unsign_object(
                token, max_age=self.max_age
            )
        except signing.SignatureExpired as exc:
            raise SurveyLinkExpired(str(exc)) from exc
        except (signing.BadSignature, ValueError) as exc:
            raise SurveyLinkInvalid(str(exc)) from exc
        try:
            invitation = SurveyInvitation(
                case_id=payload[self.case_key],
                tenant_id=payload["t"],
                user_id=payload["u"],
                score=payload["s"],
            )
        except (KeyError, TypeError) as exc:
            raise SurveyLinkInvalid("not a survey link") from exc
        numbers = (invitation.case_id, invitation.tenant_id, invitation.user_id, invitation.score)
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            raise SurveyLinkInvalid("not a survey link")
        if invitation.score not in self.scores:
            raise SurveyLinkInvalid("not a survey score")
        return invitation

    def links(self, case, *, recipient, now: datetime.datetime | None = None) -> list[dict]:
        """One link per score, as JSON for the outbox: [{"score": 1, "url": "https://…"}, …].
        Empty (and logged) when the survey's page is not mounted: the e-mail is sent without
        the survey rather than not at all."""
        links = []
        for score in self.scores:
            token = self.token(case=case, recipient=recipient, score=score, now=now)
            try:
                path = reverse(self.url_name, args=[token])
            except NoReverseMatch:
                logger.error(
                    "survey links left out: the survey's page is not mounted",
                    extra={"url_name": self.url_name, "case_id": case.pk},
                )
                return []
            links.append({"score": score, "url": portal_url(path)})
        return links
