"""Canned responses (CannedResponse): the ones offered in a case's reply box, and their
placeholders filled for one case, the same for returns and complaints."""

from __future__ import annotations

import re

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .models import CannedResponse

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def canned_responses(*, language: str = "") -> QuerySet[CannedResponse]:
    """The tenant's active responses for a customer of `language` (and those for any)."""
    queryset = CannedResponse.objects.filter(is_active=True)
    if language:
        queryset = queryset.filter(Q(language="") | Q(language=language))
    return queryset.order_by("title")


def canned_response_render(
    *, canned: CannedResponse, case_number: str, subject: str, customer_name: str, contact, agent
) -> str:
    """Placeholders: {customer_name}, {contact_name}, {case_number} (also {complaint_code}
    and {return_number}), {agent_name}, {subject}. Anything else in braces is left as written
    (no format-string evaluation)."""
    values = {
        "customer_name": customer_name,
        "contact_name": contact.get_full_name(),
        "case_number": case_number,
        "complaint_code": case_number,
        "return_number": case_number,
        "agent_name": agent.get_full_name(),
        "subject": subject,
    }
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), canned.body)


class CannedPickForm(forms.Form):
    """Picks a canned response to fill into the reply: a GET of the case page."""

    canned = forms.ChoiceField(label=_("canned response"), required=False)

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["canned"].choices = [("", _("— choose a canned response —")), *choices]


def canned_picker(request, *, language: str, render) -> dict:
    """The reply box's picker (templates/admin/_canned_picker.html): the responses for the
    customer's language, each already filled by `render(response)` for the JavaScript
    preview, and `canned_chosen`, the text chosen without JavaScript (?canned=<id> reloads
    the page with it in the box)."""
    canned = list(canned_responses(language=language))
    texts = {str(response.pk): render(response) for response in canned}
    chosen = request.GET.get("canned", "")
    return {
        "canned_form": CannedPickForm(
            initial={"canned": chosen if chosen in texts else ""},
            choices=[(str(response.pk), response.title) for response in canned],
            auto_id="id_canned_%s",
        )
        if canned
        else None,
        "canned_texts": texts,
        "canned_chosen": texts.get(chosen, ""),
        # The picker reloads the page: keep the way back to the filtered list.
        "changelist_filters": request.GET.get("_changelist_filters", ""),
    }
