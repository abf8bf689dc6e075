"""The back-office around the tenant's integration: its system user is no person to manage,
and the API rate limit is the platform's to set."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rma_portal.accounts.models import Role
from rma_portal.credentials.services import integration_user
from tests.html import parse

pytestmark = pytest.mark.django_db


def test_the_integration_user_is_not_listed_nor_reachable_in_users(world_a, login):
    robot = integration_user(world_a.tenant)
    client = login(world_a.tenant_admin)

    listed = client.get(reverse("admin:accounts_user_changelist"))
    assert robot.pk not in {user.pk for user in listed.context["cl"].result_list}
    assert world_a.agent.pk in {user.pk for user in listed.context["cl"].result_list}
    page = client.get(reverse("admin:accounts_user_change", args=[robot.pk]))
    assert page.status_code == 404


def test_integration_is_not_a_role_a_person_can_be_given(world_a, login):
    client = login(world_a.tenant_admin)
    page = client.get(reverse("admin:accounts_user_add"))
    offered = {option["value"] for option in parse(page).select("select[name=role] option")}
    assert Role.AGENT in offered
    assert Role.INTEGRATION not in offered

    answer = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "robot@example.com",
            "full_name": "Robot",
            "language": "en",
            "role": Role.INTEGRATION,
            "password1": "a-long-password-2026",
            "password2": "a-long-password-2026",
        },
    )
    assert answer.status_code == 200  # the form again, with the error
    assert not world_a.tenant.users.filter(email="robot@example.com").exists()


def test_the_api_rate_limit_is_set_by_the_platform_not_the_tenant_admin(
    world_a, superuser, login, client
):
    url = reverse("admin:tenancy_tenant_change", args=[world_a.tenant.pk])
    tenant_admin_page = parse(login(world_a.tenant_admin).get(url))
    assert tenant_admin_page.select("input[name=api_rate_limit_per_minute]") == []
    assert "600" in tenant_admin_page.select_one(".field-api_rate_limit_per_minute").text

    client.logout()
    superuser_client = login(superuser)
    superuser_client.post(reverse("admin:switch_tenant"), {"tenant": world_a.tenant.pk})
    answer = superuser_client.get(url)
    assert answer.status_code == 200, answer
    page = parse(answer)
    assert page.select_one("input[name=api_rate_limit_per_minute]")["value"] == "600"
