"""The satisfaction survey of a resolved complaint (docs/feedback.md): the signed score links
of the resolution e-mail. They are every survey's links (rma_portal.surveys.links) with the
complaints' own salt, naming the complaint, its tenant, the reporter they were sent to and
the score clicked; the page they open is complaints.views.survey, and the answer is the
complaint's rating (complaints.services.complaint_rate)."""

from __future__ import annotations

import datetime

from rma_portal.surveys.links import SurveyLinks

from .models import Complaint, ComplaintStatus

SURVEY_SALT = "complaints.rating.survey"
COMPLAINT_SURVEY = SurveyLinks(salt=SURVEY_SALT, case_key="c", url_name="feedback:complaint_survey")
# Complaints that may be rated: resolved (they stay so until the reopen window ends) or closed.
RATEABLE_STATUSES = frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED})


def survey_links(
    complaint: Complaint, *, recipient, now: datetime.datetime | None = None
) -> list[dict]:
    """The five score links of the resolution e-mail, as JSON for the outbox; empty when the
    survey's page is not mounted (the e-mail then offers the portal's rating form)."""
    return COMPLAINT_SURVEY.links(complaint, recipient=recipient, now=now)
