"""Invitations the merchant's ERP sends through the API name the merchant, never its
technical integration account, whether the invitation goes out or the address is taken."""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from rma_portal.credentials.services import issue_api_key

pytestmark = pytest.mark.django_db


def _erp(world) -> APIClient:
    issued = issue_api_key(
        tenant=world.tenant,
        name="ERP",
        scopes=["orders:write"],
        actor=world.tenant_admin,
        via="test",
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.key}")
    return client


def _invite(world, email: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = _erp(world).post(
            "/api/v1/customer-users/",
            {"customer_number": world.company.number, "email": email, "language": "en"},
            format="json",
        )
    assert answer.status_code == 202, answer.content
    (message,) = [m for m in mail.outbox if email in m.to]
    return message


def test_the_welcome_mail_of_an_erp_invitation_names_no_integration(
    world_a, django_capture_on_commit_callbacks
):
    message = _invite(world_a, "new.buyer@buyer.example", django_capture_on_commit_callbacks)

    assert f"You have an account at {world_a.tenant.name}'s" in message.body
    assert "Integration" not in message.body
    assert "Integration" not in message.alternatives[0][0]


def test_an_erp_invitation_of_a_taken_address_names_the_merchant(
    world_a, django_capture_on_commit_callbacks
):
    taken = world_a.other_company_user.email

    message = _invite(world_a, taken, django_capture_on_commit_callbacks)

    assert (
        f"{world_a.tenant.name} tried to add {taken} to the team of {world_a.company.name}"
        in message.body
    )
    assert "ask its administrator on the portal" in message.body
    assert "Integration" not in message.body
    assert "Integration" not in message.alternatives[0][0]
