"""No e-mail the platform sends has a subject with leading or trailing whitespace or a line
break: every subject template renders to one clean line in every language, and the e-mails
sent by the invitation, the notice to a taken address, the password reset and the outbox
have clean subjects."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from customers import services as customer_services
from rma_portal.accounts.models import Role
from rma_portal.notifications.rendering import render_email, subject_line
from rma_portal.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
SUBJECT_TEMPLATES = sorted(
    str(path.relative_to(TEMPLATES))
    for path in TEMPLATES.rglob("*.txt")
    if path.name == "subject.txt" or path.name.endswith("_subject.txt")
)


def _clean(subject: str) -> bool:
    return (
        bool(subject) and subject == subject.strip() and "\n" not in subject and "\r" not in subject
    )


def test_every_subject_template_is_found():
    assert "registration/welcome_subject.txt" in SUBJECT_TEMPLATES
    assert "portal/team_address_taken_subject.txt" in SUBJECT_TEMPLATES
    assert "registration/password_reset_subject.txt" in SUBJECT_TEMPLATES
    assert "emails/return.approved/subject.txt" in SUBJECT_TEMPLATES


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
@pytest.mark.parametrize("template_name", SUBJECT_TEMPLATES)
def test_subject_templates_render_one_clean_line(world_a, template_name, language):
    """The template itself, before any caller tidies it (Django's password reset, for one,
    only joins the lines): one line, the file's final line break aside."""
    context = {
        "tenant": world_a.tenant,
        "user": world_a.customer,
        "company": world_a.company.name,
        "number": "RMA-2026-000123",
        "code": "CMP-2026-000045",
        "kind": "return",
        "stage_name": "Analysis",
        "month_label": "November 2026",
        "count": 3,
        "day_label": "5 Dec 2026",
    }
    with translation.override(language):
        rendered = render_to_string(template_name, context)
    assert _clean(rendered.removesuffix("\n")), (template_name, language, rendered)


def test_subject_line_removes_what_a_template_or_translation_may_add():
    assert subject_line("  Alpha:\n Return R1 \r\n") == "Alpha: Return R1"


def test_sent_emails_have_clean_subjects(
    world_a, world_b, client, mailoutbox, django_capture_on_commit_callbacks
):
    world_b.customer.language = "pl"
    world_b.customer.save(update_fields=["language"])
    with tenant_context(world_a.tenant), django_capture_on_commit_callbacks(execute=True):
        for email, language in [("fresh@buyer.example", "pl"), ("new@buyer.example", "en")]:
            customer_services.customer_user_create(
                customer_account=world_a.company,
                email=email,
                full_name="Nowa Osoba",
                role=Role.CUSTOMER_USER,
                language=language,
                actor=world_a.customer_admin,
                base_url="http://testserver/",
            )
        customer_services.customer_user_create(
            customer_account=world_a.company,
            email=world_b.customer.email,
            full_name="Zajęty Adres",
            role=Role.CUSTOMER_USER,
            language="en",
            actor=world_a.customer_admin,
            base_url="http://testserver/",
        )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": world_a.customer.email})
    for language in ("en", "pl"):
        rendered = render_email(
            event="return.approved",
            language=language,
            context={"tenant": world_a.tenant, "number": "RMA-1", "recipient": world_a.customer},
        )
        assert _clean(rendered.subject), rendered.subject
    assert len(mailoutbox) == 4
    for message in mailoutbox:
        assert _clean(message.subject), repr(message.subject)
        assert message.message()["Subject"] == message.message()["Subject"].strip()
