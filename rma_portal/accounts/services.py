"""Writes on users that are not specific to one domain app."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User


def user_send_welcome(*, user: User, base_url: str, invited_by: User | None = None) -> None:
    """E-mail a new user a link to choose their password, once the transaction commits."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    if invited_by is not None and invited_by.is_integration:
        invited_by = None  # the merchant's ERP is no person to name: "You have an account at…"
    with translation.override(user.preferred_language):
        context = {
            "user": user,
            "tenant": user.tenant,
            "invited_by": invited_by,
            "link": base_url.rstrip("/") + path,
        }
        subject = render_to_string("registration/welcome_subject.txt", context).strip()
        text = render_to_string("registration/welcome_email.txt", context)
        html = render_to_string("registration/welcome_email.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach_alternative(html, "text/html")
    transaction.on_commit(message.send)
