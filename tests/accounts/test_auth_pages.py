"""Login, logout, password change and reset, language switch, landing redirect."""

import re

import pytest
from django.urls import reverse

from rma_portal.accounts.models import User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_by_email_is_case_insensitive_and_lands_by_role(world_a, client):
    response = client.post(
        reverse("accounts:login"),
        {"username": world_a.customer.email.upper(), "password": PASSWORD},
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).url == reverse("portal:home")
    client.post(reverse("accounts:logout"))
    client.post(reverse("accounts:login"), {"username": world_a.agent.email, "password": PASSWORD})
    assert client.get(reverse("home")).url == reverse("admin:index")
    client.post(reverse("accounts:logout"))
    client.post(
        reverse("accounts:login"), {"username": world_a.manager.email, "password": PASSWORD}
    )
    assert client.get(reverse("home")).url == reverse("dashboard:index")


def test_wrong_password_is_a_clear_error(world_a, client):
    response = client.post(
        reverse("accounts:login"), {"username": world_a.customer.email, "password": "nope"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["__all__"]
    assert "_auth_user_id" not in client.session


def test_login_sets_language_from_user_then_tenant(world_a, client):
    world_a.tenant.default_language = "pl"
    world_a.tenant.save()
    response = client.post(
        reverse("accounts:login"), {"username": world_a.customer.email, "password": PASSWORD}
    )
    assert response.cookies["django_language"].value == "pl"
    page = client.get(reverse("portal:home")).content.decode()
    assert "Ostatnie zamówienia" in page  # "Recent orders" in Polish


def test_language_switch_is_remembered_on_the_user(world_a, login):
    client = login(world_a.customer)
    response = client.post(
        reverse("accounts:set_language"), {"language": "en", "next": reverse("portal:home")}
    )
    assert response.status_code == 302
    world_a.customer.refresh_from_db()
    assert world_a.customer.language == "en"
    assert "Recent orders" in client.get(reverse("portal:home")).content.decode()


def test_logout_requires_post_and_ends_session(world_a, login):
    client = login(world_a.customer)
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("portal:home")).status_code == 302


def test_password_change(world_a, login):
    client = login(world_a.customer)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "An0ther-long-pass",
            "new_password2": "An0ther-long-pass",
        },
    )
    assert response.status_code == 302
    world_a.customer.refresh_from_db()
    assert world_a.customer.check_password("An0ther-long-pass")


def test_password_reset_round_trip(world_a, client, mailoutbox):
    response = client.post(reverse("accounts:password_reset"), {"email": world_a.customer.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mailoutbox[0].body)
    assert link, mailoutbox[0].body
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Brand-new-pass-42", "new_password2": "Brand-new-pass-42"},
    )
    assert response.status_code == 302
    world_a.customer.refresh_from_db()
    assert world_a.customer.check_password("Brand-new-pass-42")


def test_password_reset_for_unknown_email_sends_nothing_and_reveals_nothing(client, mailoutbox, db):
    response = client.post(reverse("accounts:password_reset"), {"email": "ghost@nowhere.example"})
    assert response.status_code == 302
    assert mailoutbox == []


def test_inactive_tenant_cannot_sign_in(world_a, client):
    world_a.tenant.is_active = False
    world_a.tenant.save()
    response = client.post(
        reverse("accounts:login"), {"username": world_a.agent.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_database_refuses_user_without_tenant_or_role(db):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(email="x@example.com", password="x", role="agent")
    from tests.factories import TenantFactory

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(email="y@example.com", password="x", tenant=TenantFactory())
