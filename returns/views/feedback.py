"""The satisfaction survey of a resolved return (docs/feedback.md): the public page the
resolution e-mail's score links open, and the portal's form on the return's page.

The public page needs no sign-in: its signed link names the return, the tenant and the
customer user it was sent to. A GET only shows the form (mail scanners and link previews open
links); the answer is recorded by the form's POST, once per return. The portal's form posts to
`portal_answer`, which reaches the return through the customer's own returns only.
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from customers.views.access import customer_required
from rma_portal.errors import ApplicationError
from rma_portal.forms import add_application_error
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant

from .. import selectors
from ..feedback import (
    ANSWERABLE_STATUSES,
    SURVEY_SCORES,
    SurveyInvitation,
    SurveyLinkExpired,
    SurveyLinkInvalid,
    feedback_record,
    survey_read,
)
from ..feedback_models import (
    COMMENT_MAX_LENGTH,
    NPS_MAX,
    NPS_MIN,
    FeedbackChannel,
    ReturnFeedback,
)
from ..models import ReturnRequest
from ..services.errors import ReturnInvalid


class ReturnFeedbackForm(forms.Form):
    """Checks what the survey's form sent; the pages draw the form themselves
    (templates/feedback/_form_fields.html), the same on every page."""

    csat = forms.TypedChoiceField(
        coerce=int,
        choices=[(score, str(score)) for score in SURVEY_SCORES],
        error_messages={
            "required": _("Choose how satisfied you are, from 1 to 5."),
            "invalid_choice": _("Choose how satisfied you are, from 1 to 5."),
        },
    )
    nps = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        choices=[(n, str(n)) for n in range(NPS_MIN, NPS_MAX + 1)],
        error_messages={
            "invalid_choice": _("Choose a number from 0 to 10, or leave the question out."),
        },
    )
    comment = forms.CharField(required=False, max_length=COMMENT_MAX_LENGTH)

    def entered(self) -> dict:
        """What the form's fields show again: the values sent, as text."""
        return {
            "csat": self.data.get("csat", ""),
            "nps": self.data.get("nps", ""),
            "comment": self.data.get("comment", ""),
        }


def _record(form: ReturnFeedbackForm, *, return_request, actor, channel):
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


def _link_refused(request, *, status: int, expired: bool = False):
    return render(request, "feedback/link_invalid.html", {"expired": expired}, status=status)


def _invited_return(invitation: SurveyInvitation) -> ReturnRequest | None:
    """The return a genuine link asks about, as long as it may still be answered by the
    person it was sent to (the tenant in context is the link's)."""
    rma = (
        ReturnRequest.objects.select_related("requester", "customer_account")
        .filter(pk=invitation.return_id, requester_id=invitation.user_id)
        .first()
    )
    if rma is None or rma.status not in ANSWERABLE_STATUSES or not rma.requester.is_active:
        return None
    return rma


@never_cache
@login_not_required
@require_http_methods(["GET", "HEAD", "POST"])
def survey(request, token: str):
    """The score clicked in the e-mail, pre-selected, with the optional questions; the answer
    is recorded by the POST only."""
    try:
        invitation = survey_read(token)
    except SurveyLinkExpired:
        return _link_refused(request, status=400, expired=True)
    except SurveyLinkInvalid:
        return _link_refused(request, status=400)
    tenant = Tenant.objects.filter(pk=invitation.tenant_id, is_active=True).first()
    # Someone signed in to another tenant never reaches this tenant's return.
    if tenant is None or (request.tenant is not None and request.tenant.pk != tenant.pk):
        return _link_refused(request, status=404)
    with tenant_context(tenant), timezone.override(zoneinfo.ZoneInfo(tenant.timezone)):
        rma = _invited_return(invitation)
        if rma is None:
            return _link_refused(request, status=404)
        context = {"rma": rma, "tenant": tenant, "brand_colour": tenant.brand_colour}
        answer = ReturnFeedback.objects.filter(return_request=rma).first()
        if answer is not None:
            return render(
                request, "feedback/thanks.html", {**context, "answer": answer, "again": True}
            )
        form = None
        fields = {"csat": str(invitation.score), "nps": "", "comment": ""}
        if request.method == "POST":
            form = ReturnFeedbackForm(request.POST)
            fields = form.entered()
            if form.is_valid():
                recorded = _record(
                    form, return_request=rma, actor=rma.requester, channel=FeedbackChannel.EMAIL
                )
                if recorded is not None:
                    answer, created = recorded
                    return render(
                        request,
                        "feedback/thanks.html",
                        {**context, "answer": answer, "again": not created},
                    )
        response = render(request, "feedback/survey.html", {**context, "form": form, **fields})
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


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
