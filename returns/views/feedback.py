"""The satisfaction survey of a resolved return (docs/feedback.md): the public page the
resolution e-mail's score links open, and the portal's form on the return's page.

The public page is every survey's (rma_portal.surveys.views.SurveyLinkView): no sign-in, its
signed link names the return, the tenant and the customer user it was sent to; a GET only
shows the form (mail scanners and link previews open links) and the answer is recorded by the
form's POST, once per return. The portal's form posts to `portal_answer`, which reaches the
return through the customer's own returns only.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.views.access import customer_required
from rma_portal.errors import ApplicationError
from rma_portal.forms import add_application_error
from rma_portal.surveys.forms import SurveyAnswerForm
from rma_portal.surveys.views import SurveyLinkView

from .. import selectors
from ..feedback import ANSWERABLE_STATUSES, RETURN_SURVEY, feedback_record
from ..feedback_models import FeedbackChannel, ReturnFeedback
from ..models import ReturnRequest
from ..services.errors import ReturnInvalid

# The survey's form: the same questions on the link's page and in the portal.
ReturnFeedbackForm = SurveyAnswerForm


def _record(form: SurveyAnswerForm, *, return_request, actor, channel):
    """(answer, created), or None with the service's complaint on the form."""
    try:
        return feedback_record(
            return_request=return_request,
            actor=actor,
            csat=form.cleaned_data["csat"],
            nps=form.cleaned_data["nps"],
            comment=form.cleaned_data["comment"],
            channel=channel,
        )
    except ReturnInvalid as error:
        add_application_error(form, error)
        return None


# --- the e-mail's link ------------------------------------------------------------------------


class ReturnSurveyView(SurveyLinkView):
    """The score clicked in the resolution e-mail, pre-selected, with the optional questions."""

    links = RETURN_SURVEY
    template_name = "feedback/survey.html"
    thanks_template_name = "feedback/thanks.html"
    refused_template_name = "feedback/link_invalid.html"
    case_model = ReturnRequest
    recipient_field = "requester"
    answerable_statuses = ANSWERABLE_STATUSES
    answer_model = ReturnFeedback
    answer_case_field = "return_request"

    def answer_summary(self, answer: ReturnFeedback) -> dict:
        return {"score": answer.csat, "answered_at": answer.answered_at}

    def record(self, form: SurveyAnswerForm, case: ReturnRequest):
        return _record(
            form, return_request=case, actor=case.requester, channel=FeedbackChannel.EMAIL
        )

    def case_context(self, case: ReturnRequest) -> dict:
        return {
            "rma": case,
            "question": _("How satisfied are you with how we handled your return?"),
        }


survey = ReturnSurveyView.as_view()


# --- the portal's form ----------------------------------------------------------------------


@require_POST
@customer_required
def portal_answer(request, return_id: int):
    """The form on the return's page: the requester's answer; another company's return is a
    404 like a missing one."""
    rma = selectors.return_request_for_user(user=request.user, return_id=return_id)
    if rma is None:
        raise Http404
    back = reverse("portal:return_detail", args=[rma.pk]) + "#feedback"
    form = ReturnFeedbackForm(request.POST)
    if form.is_valid():
        try:
            recorded = _record(
                form, return_request=rma, actor=request.user, channel=FeedbackChannel.PORTAL
            )
        except ApplicationError as error:  # not the requester, or not resolved yet
            messages.error(request, error.message)
            return redirect(back)
        if recorded is not None:
            _answer, created = recorded
            if created:
                messages.success(request, _("Thank you for your answer."))
            else:
                messages.info(request, _("Thank you, we already have your answer."))
            return redirect(back)
    return render(
        request,
        "feedback/portal_form.html",
        {"rma": rma, "form": form, **form.entered()},
    )
