"""Customer admins manage colleagues of their own company in the portal."""

import pytest
from django.urls import reverse

from customers.models import CustomerMembership
from rma_portal.accounts.models import User
from tests.html import visible_text

pytestmark = pytest.mark.django_db


def test_customer_admin_adds_a_colleague_who_gets_a_set_password_email(
    world_a, login, mailoutbox, django_capture_on_commit_callbacks
):
    client = login(world_a.customer_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:team"),
            {
                "full_name": "Nowy Kolega",
                "email": "New.Colleague@Buyer.example",
                "role": "customer_user",
                "language": "pl",
            },
        )
    assert response.status_code == 302
    user = User.objects.get(email="new.colleague@buyer.example")
    assert user.tenant == world_a.tenant
    assert user.role == "customer_user"
    assert not user.has_usable_password()
    assert CustomerMembership.unscoped.get(user=user).customer_account == world_a.company
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.colleague@buyer.example"]
    assert "/accounts/password/reset/" in mailoutbox[0].body
    assert "Nowy" not in mailoutbox[0].subject  # subject names the tenant, in Polish
    assert world_a.tenant.name in mailoutbox[0].subject


def test_a_colleague_already_in_the_team_is_a_form_error_and_saves_nothing(world_a, login):
    # Addresses of other companies and tenants: tests/security/test_invite_leak.py.
    client = login(world_a.customer_admin)
    before = User.objects.count()
    response = client.post(
        reverse("portal:team"),
        {
            "full_name": "X",
            "email": world_a.colleague.email.upper(),
            "role": "customer_user",
            "language": "en",
        },
    )
    assert response.status_code == 200
    assert "is already in your team" in visible_text(response)
    assert User.objects.count() == before


def test_plain_customer_user_cannot_manage_team(world_a, login):
    client = login(world_a.customer)
    assert client.get(reverse("portal:team")).status_code == 403
    response = client.post(
        reverse("portal:team_set_active", args=[world_a.colleague.pk]), {"active": "0"}
    )
    assert response.status_code == 403
    world_a.colleague.refresh_from_db()
    assert world_a.colleague.is_active


def test_admin_deactivates_colleague_who_then_cannot_sign_in(world_a, login, client):
    admin_client = login(world_a.customer_admin)
    response = admin_client.post(
        reverse("portal:team_set_active", args=[world_a.colleague.pk]), {"active": "0"}
    )
    assert response.status_code == 302
    world_a.colleague.refresh_from_db()
    assert not world_a.colleague.is_active


@pytest.mark.parametrize("target", ["other_company_user", "other_tenant_user", "agent"])
def test_foreign_users_answer_404_and_stay_active(world_a, world_b, login, target):
    user = {
        "other_company_user": world_a.other_company_user,
        "other_tenant_user": world_b.customer,
        "agent": world_a.agent,
    }[target]
    client = login(world_a.customer_admin)
    response = client.post(reverse("portal:team_set_active", args=[user.pk]), {"active": "0"})
    assert response.status_code == 404
    user.refresh_from_db()
    assert user.is_active


def test_admin_cannot_deactivate_themselves(world_a, login):
    client = login(world_a.customer_admin)
    client.post(
        reverse("portal:team_set_active", args=[world_a.customer_admin.pk]), {"active": "0"}
    )
    world_a.customer_admin.refresh_from_db()
    assert world_a.customer_admin.is_active


def test_team_page_lists_only_own_company(world_a, world_b, login):
    html = login(world_a.customer_admin).get(reverse("portal:team")).content.decode()
    assert world_a.colleague.email in html
    assert world_a.other_company_user.email not in html
    assert world_b.customer.email not in html
