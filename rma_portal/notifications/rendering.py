"""E-mails from Django templates, in the recipient's language, with the tenant's branding.

An event `return.approved` uses templates/emails/return.approved/{subject.txt,body.txt,body.html}.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation


def subject_line(rendered: str) -> str:
    """A rendered subject template as one header line: no leading or trailing whitespace, no
    line breaks (a template's own new lines, a translation's spaces), runs of spaces made one.
    Every e-mail the platform sends takes its subject through here."""
    return " ".join(rendered.split())


def render_subject_template(template_name: str, context: dict) -> str:
    """`subject_line` of a subject template rendered in the active language."""
    return subject_line(render_to_string(template_name, context))


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(*, event: str, language: str, context: dict) -> RenderedEmail:
    folder = f"emails/{event}"
    with translation.override(language):
        subject = render_to_string(f"{folder}/subject.txt", context)
        text = render_to_string(f"{folder}/body.txt", context)
        html = render_to_string(f"{folder}/body.html", context)
    return RenderedEmail(subject=subject_line(subject), text=text, html=html)


def render_subject(*, event: str, language: str, context: dict) -> str:
    """Only the subject of the e-mail (a case page lists what was sent); "" when the event
    has no templates any more."""
    try:
        with translation.override(language):
            subject = render_to_string(f"emails/{event}/subject.txt", context)
    except TemplateDoesNotExist:
        return ""
    return subject_line(subject)
