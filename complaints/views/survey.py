"""The public page the score links of a complaint's resolution e-mail open (docs/feedback.md):
every survey's link page (rma_portal.surveys.views.SurveyLinkView) for the complaint's
rating. No sign-in: the signed link names the complaint, its tenant and the reporter it was
sent to. A GET only shows the form; the POST rates the complaint through the service, once
(a rated resolved complaint may still be reopened until its reopen window ends, as in the
portal)."""

from __future__ import annotations

from django import forms
from django.http import Http404
from django.utils.translation import gettext as _

from rma_portal.forms import add_application_error
from rma_portal.surveys import SurveyChannel
from rma_portal.surveys.forms import SurveyAnswerForm
from rma_portal.surveys.links import SurveyInvitation
from rma_portal.surveys.views import SurveyLinkView

from .. import services
from ..models import Complaint, SatisfactionRating
from ..services.complaints import MAX_TEXT
from ..survey import COMPLAINT_SURVEY, RATEABLE_STATUSES


def rate_from_form(form, *, complaint: Complaint, actor, score: int, channel: str):
    """Rate `complaint` through the service with the valid form's 0–10 answer and comment: the
    rating, or None with the service's complaint about the answer on the form. The service's
    other refusals (ApplicationError) are the caller's to show."""
    try:
        return services.complaint_rate(
            complaint=complaint,
            actor=actor,
            score=score,
            nps=form.cleaned_data["nps"],
            comment=form.cleaned_data["comment"],
            channel=channel,
        )
    except services.ComplaintInvalid as error:
        add_application_error(form, error)
        return None


class ComplaintSurveyForm(SurveyAnswerForm):
    """The survey's questions; a complaint's comment may be as long as its other texts."""

    comment = forms.CharField(required=False, max_length=MAX_TEXT)


class ComplaintSurveyView(SurveyLinkView):
    """The score clicked in the resolution e-mail, pre-selected, with the optional questions."""

    links = COMPLAINT_SURVEY
    form_class = ComplaintSurveyForm
    template_name = "feedback/complaint_survey.html"
    thanks_template_name = "feedback/complaint_thanks.html"
    refused_template_name = "feedback/complaint_link_invalid.html"
    case_model = Complaint
    recipient_field = "reporter"
    answerable_statuses = RATEABLE_STATUSES
    answer_model = SatisfactionRating
    answer_case_field = "complaint"

    def invited_case(self, invitation: SurveyInvitation) -> Complaint | None:
        complaint = super().invited_case(invitation)
        if complaint is None:
            return None
        # The service lets the reporter rate while they are still of the complaint's company.
        membership = getattr(complaint.reporter, "customer_membership", None)
        if membership is None or membership.customer_account_id != complaint.customer_account_id:
            return None
        return complaint

    def answer_summary(self, answer: SatisfactionRating) -> dict:
        return {"score": answer.score, "answered_at": answer.created_at}

    def record(self, form: ComplaintSurveyForm, case: Complaint):
        try:
            rating = rate_from_form(
                form,
                complaint=case,
                actor=case.reporter,
                score=form.cleaned_data["csat"],
                channel=SurveyChannel.EMAIL,
            )
        except services.ComplaintConflict:
            # Rated meanwhile (a double click, the portal): the first rating stays.
            rating = self.answer_of(case)
            if rating is None:  # no longer resolved: like a link that leads nowhere
                raise Http404 from None
            return rating, False
        except services.ComplaintAccessDenied:  # the reporter left the company meanwhile
            raise Http404 from None
        return None if rating is None else (rating, True)

    def case_context(self, case: Complaint) -> dict:
        return {
            "complaint": case,
            "question": _("How satisfied are you with how we handled your complaint?"),
            "comment_shared": True,  # the company's customer admins see the complaint's rating
        }


survey = ComplaintSurveyView.as_view()
