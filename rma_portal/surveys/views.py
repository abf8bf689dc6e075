"""The public page a survey link of an e-mail opens (docs/feedback.md): no sign-in, the score
clicked pre-selected, the optional questions, and the answer recorded by the form's POST only,
once per case.

An app's page is a `SurveyLinkView` that says which case a link asks about, what was already
answered and how an answer is recorded (through the app's service); everything else is here:
reading the link, the tenant, the refusals, GET against POST, the thank-you page.
"""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.decorators import login_not_required
from django.db import models
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant

from .forms import SurveyAnswerForm
from .links import SurveyInvitation, SurveyLinkExpired, SurveyLinkInvalid, SurveyLinks


@method_decorator([never_cache, login_not_required], name="dispatch")
class SurveyLinkView(View):
    """GET and HEAD show the form and record nothing (mail scanners and link previews open
    links); POST records the answer, once. A link that was changed or has expired is a 400
    page saying so; a genuine link whose case may not be answered (any more) by the person it
    was sent to, or of another tenant than the browser's signed-in user, is a 404. Nothing is
    recorded in any of these."""

    http_method_names = ["get", "head", "post"]
    links: SurveyLinks
    form_class: type[SurveyAnswerForm] = SurveyAnswerForm
    case_model: type[models.Model]
    recipient_field = ""  # the case's field naming the customer user the e-mail was sent to
    answerable_statuses: frozenset[str] = frozenset()  # the case's statuses that take answers
    answer_model: type[models.Model]
    answer_case_field = ""  # the answer's one-to-one field naming its case
    # Context of every template: case, tenant, brand_colour and the app's case_context().
    template_name = ""  # the form; also csat, nps, comment (shown again) and form (after a POST)
    thanks_template_name = ""  # also again (answered before), score and answered_at
    refused_template_name = ""  # expired (or not valid); no case

    # --- the app's part: its models and statuses above, its service and sentences below -----

    def invited_case(self, invitation: SurveyInvitation):
        """The case the link asks about, as long as the person it was sent to may still answer
        (the tenant in context is the link's): still the case's `recipient_field`, active, and
        the case in one of `answerable_statuses`; None otherwise."""
        case = (
            self.case_model.objects.select_related(self.recipient_field)
            .filter(pk=invitation.case_id, **{f"{self.recipient_field}_id": invitation.user_id})
            .first()
        )
        if (
            case is None
            or case.status not in self.answerable_statuses
            or not getattr(case, self.recipient_field).is_active
        ):
            return None
        return case

    def answer_of(self, case):
        """The answer already given about `case`, or None."""
        return self.answer_model.objects.filter(**{self.answer_case_field: case}).first()

    def answer_summary(self, answer) -> dict:
        """What the thank-you page shows of an answer: {"score": 1–5, "answered_at": …}."""
        raise NotImplementedError

    def record(self, form: SurveyAnswerForm, case):
        """Record the valid form's answer through the app's service: (answer, created), or None
        with the service's complaint added to the form."""
        raise NotImplementedError

    def case_context(self, case) -> dict:
        return {}

    # --- the page ---------------------------------------------------------------------------

    def get(self, request, token: str):
        return self.answer(request, token)

    def post(self, request, token: str):
        return self.answer(request, token)

    def refused(self, request, *, status: int, expired: bool = False):
        return render(request, self.refused_template_name, {"expired": expired}, status=status)

    def thanks(self, request, context: dict, answer, *, again: bool):
        context = {**context, **self.answer_summary(answer), "again": again}
        return render(request, self.thanks_template_name, context)

    def answer(self, request, token: str):
        try:
            invitation = self.links.read(token)
        except SurveyLinkExpired:
            return self.refused(request, status=400, expired=True)
        except SurveyLinkInvalid:
            return self.refused(request, status=400)
        tenant = Tenant.objects.filter(pk=invitation.tenant_id, is_active=True).first()
        # Someone signed in to another tenant never reaches this tenant's case.
        if tenant is None or (request.tenant is not None and request.tenant.pk != tenant.pk):
            return self.refused(request, status=404)
        with tenant_context(tenant), timezone.override(zoneinfo.ZoneInfo(tenant.timezone)):
            case = self.invited_case(invitation)
            if case is None:
                return self.refused(request, status=404)
            context = {
                "case": case,
                "tenant": tenant,
                "brand_colour": tenant.brand_colour,
                **self.case_context(case),
            }
            answer = self.answer_of(case)
            if answer is not None:
                return self.thanks(request, context, answer, again=True)
            form = None
            fields = {"csat": str(invitation.score), "nps": "", "comment": ""}
            if request.method == "POST":
                form = self.form_class(request.POST)
                fields = form.entered()
                if form.is_valid():
                    recorded = self.record(form, case)
                    if recorded is not None:
                        answer, created = recorded
                        return self.thanks(request, context, answer, again=not created)
            comment_max = self.form_class.base_fields["comment"].max_length
            response = render(
                request,
                self.template_name,
                {**context, "form": form, "comment_max": comment_max, **fields},
            )
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
