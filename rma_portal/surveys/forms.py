"""The survey's form fields: the 1–5 score, the optional 0–10 question and the comment. The
pages draw the fields themselves (templates/surveys/_form_fields.html and
templates/surveys/_nps_fieldset.html); these check what was sent."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from . import COMMENT_MAX_LENGTH, CSAT_SCORES, NPS_SCORES


def nps_field() -> forms.TypedChoiceField:
    """The optional "would you recommend us" question, 0–10; left out, it is None."""
    return forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        choices=[(n, str(n)) for n in NPS_SCORES],
        error_messages={
            "invalid_choice": _("Choose a number from 0 to 10, or leave the question out."),
        },
    )


class SurveyAnswerForm(forms.Form):
    """An answer on a survey link's page or a survey form of the portal: `csat` 1–5, the
    optional `nps`, the optional comment (at most COMMENT_MAX_LENGTH; an app with longer
    texts declares its own `comment`)."""

    csat = forms.TypedChoiceField(
        coerce=int,
        choices=[(score, str(score)) for score in CSAT_SCORES],
        error_messages={
            "required": _("Choose how satisfied you are, from 1 to 5."),
            "invalid_choice": _("Choose how satisfied you are, from 1 to 5."),
        },
    )
    nps = nps_field()
    comment = forms.CharField(required=False, max_length=COMMENT_MAX_LENGTH)

    def entered(self) -> dict:
        """What the form's fields show again: the values sent, as text."""
        return {
            "csat": self.data.get("csat", ""),
            "nps": self.data.get("nps", ""),
            "comment": self.data.get("comment", ""),
        }
