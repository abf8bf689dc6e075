"""Tenant API keys: issued once and kept as a hash, acting as the tenant's integration within
their scopes, expiring, revoked and rotated with a grace period; managed by tenant admins
through the API and the back-office; audited as the integration."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from customers.models import OrderLine
from returns.models import ReturnRequest, ReturnStatus
from rma_portal.accounts.models import Role, User
from rma_portal.api.views import TenantScopedAPIMixin
from rma_portal.credentials import keys
from rma_portal.credentials.models import ApiKey, ApiScope, IdempotencyRecord
from rma_portal.credentials.services import (
    API_KEY_USE_AUDIT_INTERVAL,
    find_api_key,
    issue_api_key,
    may_hold_tokens,
    record_api_key_use,
    rotate_api_key,
)
from rma_portal.security.audit import acting_api_key, record
from rma_portal.security.models import ActorKind, AuditAction, AuditEvent
from rma_portal.tenancy.models import Tenant
from tests.factories import PASSWORD
from tests.html import parse
from tests.returns import conftest as returns_fixtures

from . import api_as, assert_error, assert_not_found, personal_token

pytestmark = pytest.mark.django_db

policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return

URL = "/api/v1/api-keys/"
RETURNS_URL = "/api/v1/returns/"
COMPLAINTS_URL = "/api/v1/complaints/"
ALL_SCOPES = list(ApiScope.values)


def new_key(world, *, scopes=("returns:read",), name: str = "ERP", **options):
    """A key of the world's tenant, issued by its tenant admin; returns (row, secret)."""
    issued = issue_api_key(
        tenant=world.tenant,
        name=name,
        scopes=list(scopes),
        actor=world.tenant_admin,
        via="test",
        **options,
    )
    return issued.api_key, issued.key


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def key_client(world, *, scopes=("returns:read",), name: str = "ERP") -> APIClient:
    return with_key(new_key(world, scopes=scopes, name=name)[1])


@pytest.fixture
def submitted_return(world_a, delivered_order, file_return):
    line = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number").first()
    return file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )


# --- issuing --------------------------------------------------------------------------------


def test_a_tenant_admin_creates_a_key_shown_once_and_stored_as_a_hash(world_a):
    admin = api_as(world_a.tenant_admin)

    response = admin.post(
        URL, {"name": "ERP", "scopes": ["returns:read", "orders:write"]}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["key"]
    stored = ApiKey.objects.get(pk=body["id"])
    assert secret.startswith(f"{stored.prefix}_") and stored.prefix.startswith("rma_key_")
    assert keys.parse(secret).kind == keys.API_KEY
    assert stored.key_hash == keys.digest(secret)
    assert secret not in str(ApiKey.objects.filter(pk=stored.pk).values().get())
    assert stored.scopes == ["orders:write", "returns:read"]  # in the list's order
    assert stored.created_by == world_a.tenant_admin
    assert stored.expires_at is None
    assert response["Location"] == f"http://testserver{URL}{stored.pk}/"
    # never again: not in the list, not in the detail
    listed = admin.get(URL).json()["results"]
    assert [row["id"] for row in listed] == [stored.pk]
    assert "key" not in listed[0] and listed[0]["state"] == "active"
    assert "key" not in admin.get(response["Location"]).json()
    audit = AuditEvent.objects.get(action=AuditAction.API_KEY_CREATED)
    assert (audit.actor, audit.actor_kind, audit.tenant) == (
        world_a.tenant_admin,
        ActorKind.USER,
        world_a.tenant,
    )
    assert audit.details["prefix"] == stored.prefix and secret not in str(audit.details)


def test_the_key_acts_as_the_tenants_one_integration_user(world_a):
    first, _ = new_key(world_a, name="ERP")
    second, _ = new_key(world_a, name="Warehouse")

    integration = first.user
    assert second.user == integration
    assert integration.role == Role.INTEGRATION and integration.tenant == world_a.tenant
    assert integration.email == f"integration@{world_a.tenant.slug}.invalid"
    assert not integration.has_usable_password()
    assert not integration.is_staff  # no back-office
    assert set(integration.email_preferences.values()) == {"never"}
    # timelines and threads name it as the integration
    assert integration.get_full_name() == "Integration" == str(integration)
    assert not may_hold_tokens(integration)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scopes": ["returns:read"]}, "name"),
        ({"name": "   ", "scopes": ["returns:read"]}, "name"),
        ({"name": "ERP", "scopes": []}, "scopes"),
        ({"name": "ERP"}, "scopes"),
        ({"name": "ERP", "scopes": ["returns:delete"]}, "scopes[0]"),
        ({"name": "ERP", "scopes": ["returns:read"], "expires_at": "2001-01-01T00:00:00Z"}, None),
        # the schema's types only: no number for a name, no text for a number
        ({"name": 7, "scopes": ["returns:read"]}, "name"),
        ({"name": "ERP", "scopes": "returns:read"}, "scopes"),
    ],
)
def test_bad_input_creates_no_key(world_a, payload, field):
    response = api_as(world_a.tenant_admin).post(URL, payload, format="json")

    error = assert_error(response, 400, "invalid")
    assert (field or "expires_at") in error["fields"]
    assert not ApiKey.objects.exists()
    assert not User.objects.filter(role=Role.INTEGRATION).exists()


def test_a_key_without_expiry_is_asked_for_with_null_or_by_leaving_it_out(world_a):
    admin = api_as(world_a.tenant_admin)

    for name, extra in (("ERP", {"expires_at": None}), ("Warehouse", {})):
        response = admin.post(
            URL, {"name": name, "scopes": ["returns:read"], **extra}, format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["expires_at"] is None
        assert response.json()["rotated_to"] is None
    assert list(ApiKey.objects.values_list("expires_at", flat=True)) == [None, None]


@pytest.mark.parametrize("role", ["agent", "coordinator", "manager", "customer", "customer_admin"])
def test_only_tenant_admins_manage_keys(world_a, role):
    api_key, _ = new_key(world_a)
    client = api_as(getattr(world_a, role))

    assert_error(client.get(URL), 403, "forbidden")
    assert_error(client.post(URL, {"name": "x", "scopes": ["returns:read"]}), 403, "forbidden")
    assert_error(client.delete(f"{URL}{api_key.pk}/"), 403, "forbidden")
    assert_error(client.post(f"{URL}{api_key.pk}/rotate/"), 403, "forbidden")
    assert ApiKey.objects.get().state == "active" and ApiKey.objects.count() == 1


def test_a_key_cannot_manage_keys(world_a):
    api_key, secret = new_key(world_a, scopes=ALL_SCOPES)
    client = with_key(secret)

    assert_error(client.get(URL), 403, "forbidden")
    assert_error(client.post(URL, {"name": "x", "scopes": ["returns:read"]}), 403, "forbidden")
    assert_error(client.delete(f"{URL}{api_key.pk}/"), 403, "forbidden")
    assert_error(client.post(f"{URL}{api_key.pk}/rotate/"), 403, "forbidden")
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None


def test_another_tenants_key_ids_answer_404_and_change_nothing(world_a, world_b):
    theirs, their_secret = new_key(world_b)
    before = ApiKey.objects.filter(pk=theirs.pk).values().get()
    admin = api_as(world_a.tenant_admin)

    assert_not_found(admin.get(f"{URL}{theirs.pk}/"))
    assert_not_found(admin.delete(f"{URL}{theirs.pk}/"))
    assert_not_found(admin.post(f"{URL}{theirs.pk}/rotate/", {}, format="json"))
    assert admin.get(URL).json()["results"] == []

    assert ApiKey.objects.filter(pk=theirs.pk).values().get() == before
    assert ApiKey.objects.count() == 1
    assert with_key(their_secret).get(RETURNS_URL).status_code == 200


def test_the_list_costs_the_same_queries_for_one_key_or_many(
    world_a, django_assert_max_num_queries
):
    admin = api_as(world_a.tenant_admin)
    new_key(world_a)
    with django_assert_max_num_queries(8) as one:
        assert admin.get(URL).status_code == 200
    for number in range(5):
        new_key(world_a, name=f"System {number}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(admin.get(URL).json()["results"]) == 6


# --- using a key ----------------------------------------------------------------------------


def test_a_key_reads_the_whole_tenant_as_staff_do(world_a, world_b, submitted_return):
    client = key_client(world_a, scopes=["returns:read"])

    listed = client.get(RETURNS_URL)

    assert listed.status_code == 200, listed.content
    assert [row["id"] for row in listed.json()["results"]] == [submitted_return.pk]
    assert client.get(f"{RETURNS_URL}{submitted_return.pk}/").status_code == 200
    # never another tenant's
    assert key_client(world_b).get(RETURNS_URL).json()["results"] == []
    assert_not_found(key_client(world_b).get(f"{RETURNS_URL}{submitted_return.pk}/"))


def test_scopes_decide_what_a_key_may_do(world_a, submitted_return):
    approve = f"{RETURNS_URL}{submitted_return.pk}/approve/"
    reader = key_client(world_a, scopes=["returns:read"])

    # returns:read lists, but approving needs returns:write
    assert reader.get(RETURNS_URL).status_code == 200
    error = assert_error(reader.post(approve, {}, format="json"), 403, "insufficient_scope")
    assert "returns:write" in error["message"]
    assert ReturnRequest.unscoped.get(pk=submitted_return.pk).status == ReturnStatus.SUBMITTED

    # without returns:read, no list
    other = key_client(world_a, scopes=["complaints:read"], name="Helpdesk")
    error = assert_error(other.get(RETURNS_URL), 403, "insufficient_scope")
    assert "returns:read" in error["message"]
    assert other.get(COMPLAINTS_URL).status_code == 200
    assert_error(other.post(COMPLAINTS_URL, {}, format="json"), 403, "insufficient_scope")

    # people are governed by their role, not by scopes
    assert api_as(world_a.agent).get(RETURNS_URL).status_code == 200


def test_the_refusal_names_the_scopes_this_request_lacks(world_a):
    client = key_client(world_a, scopes=["complaints:read"])

    read = assert_error(client.get(RETURNS_URL), 403, "insufficient_scope")["message"]
    write = assert_error(client.post(COMPLAINTS_URL, {}, format="json"), 403, "insufficient_scope")

    assert read == "This API key lacks the scope this request needs: returns:read."
    assert write["message"] == "This API key lacks the scope this request needs: complaints:write."


class NoScopeView(TenantScopedAPIMixin, APIView):
    """An endpoint that names no scope, as a new one would before it is given one."""

    def get(self, request):
        return Response({"ok": True})


def test_a_key_is_refused_on_endpoints_that_name_no_scope(world_a):
    _, secret = new_key(world_a, scopes=ALL_SCOPES)
    factory = APIRequestFactory()

    refused = NoScopeView.as_view()(factory.get("/x/", HTTP_AUTHORIZATION=f"Api-Key {secret}"))

    assert refused.status_code == 403
    assert refused.data["error"]["code"] == "forbidden"
    assert refused.data["error"]["message"] == "API keys cannot use this endpoint."
    person = factory.get("/x/", HTTP_AUTHORIZATION=f"Token {personal_token(world_a.agent)}")
    assert NoScopeView.as_view()(person).status_code == 200


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Api-Key rma_key_AAAAAAAA_" + "A" * 43, "authentication_failed"),
        ("Api-Key not-a-key", "authentication_failed"),
        ("Api-Key", "authentication_failed"),
        ("Api-Key a b", "authentication_failed"),
    ],
)
def test_unknown_or_malformed_keys_answer_401(world_a, header, code):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get(RETURNS_URL), 401, code)


def test_a_personal_token_is_no_api_key_and_the_other_way_round(world_a):
    _, secret = new_key(world_a)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert_error(client.get(RETURNS_URL), 401, "authentication_failed")


def test_an_expired_key_is_refused(world_a):
    now = timezone.now()
    api_key, secret = new_key(world_a, expires_at=now + datetime.timedelta(days=1))
    client = with_key(secret)
    assert client.get(RETURNS_URL).status_code == 200

    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=now - datetime.timedelta(seconds=1))

    error = assert_error(client.get(RETURNS_URL), 401, "api_key_expired")
    assert error["message"] == "This API key has expired."


def test_a_revoked_key_stops_at_once_and_stays_listed(world_a):
    api_key, secret = new_key(world_a)
    client = with_key(secret)
    assert client.get(RETURNS_URL).status_code == 200
    admin = api_as(world_a.tenant_admin)

    assert admin.delete(f"{URL}{api_key.pk}/").status_code == 204
    assert admin.delete(f"{URL}{api_key.pk}/").status_code == 204  # already revoked: no change

    assert_error(client.get(RETURNS_URL), 401, "api_key_revoked")
    row = admin.get(f"{URL}{api_key.pk}/").json()
    assert (row["state"], row["revoked_reason"]) == ("revoked", "by_api")
    assert AuditEvent.objects.filter(action=AuditAction.API_KEY_REVOKED).count() == 1


@pytest.mark.parametrize("what", ["tenant", "integration user"])
def test_a_key_stops_when_its_tenant_or_integration_user_is_deactivated(world_a, what):
    api_key, secret = new_key(world_a)
    if what == "tenant":
        Tenant.objects.filter(pk=world_a.tenant.pk).update(is_active=False)
    else:
        User.objects.filter(pk=api_key.user_id).update(is_active=False)

    assert_error(with_key(secret).get(RETURNS_URL), 401, "authentication_failed")


def test_a_key_whose_user_is_no_longer_the_integration_is_refused(world_a):
    api_key, secret = new_key(world_a)
    User.objects.filter(pk=api_key.user_id).update(role=Role.TENANT_ADMIN)

    assert_error(with_key(secret).get(RETURNS_URL), 401, "authentication_failed")


# --- rotation -------------------------------------------------------------------------------


def test_rotation_issues_a_new_key_and_the_old_one_works_until_the_grace_ends(world_a):
    api_key, old_secret = new_key(world_a, scopes=["returns:read", "complaints:read"])
    admin = api_as(world_a.tenant_admin)

    response = admin.post(f"{URL}{api_key.pk}/rotate/", {"grace_hours": 2}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    new = ApiKey.objects.get(pk=body["id"])
    assert response["Location"] == f"http://testserver{URL}{new.pk}/"
    assert new.key_hash == keys.digest(body["key"]) and body["key"] != old_secret
    assert (new.name, new.scopes) == (api_key.name, ["returns:read", "complaints:read"])
    old = ApiKey.objects.get(pk=api_key.pk)
    assert old.rotated_to == new
    grace_end = old.rotated_at + datetime.timedelta(hours=2)
    assert old.expires_at == grace_end
    # both work now
    assert with_key(old_secret).get(RETURNS_URL).status_code == 200
    assert with_key(body["key"]).get(RETURNS_URL).status_code == 200
    # the old one until the grace period ends, then never again; the new one goes on
    assert find_api_key(old_secret, now=grace_end - datetime.timedelta(seconds=1)) == old
    with pytest.raises(Exception, match="grace period is over"):
        find_api_key(old_secret, now=grace_end)
    assert find_api_key(body["key"], now=grace_end + datetime.timedelta(days=30)) == new
    audit = AuditEvent.objects.get(action=AuditAction.API_KEY_ROTATED)
    assert audit.details["replaced_by"] == new.prefix
    assert audit.target_id == str(old.pk)


def test_a_rotation_without_grace_stops_the_old_key_at_once(world_a):
    api_key, old_secret = new_key(world_a)

    response = api_as(world_a.tenant_admin).post(
        f"{URL}{api_key.pk}/rotate/", {"grace_hours": 0}, format="json"
    )

    assert response.status_code == 201
    error = assert_error(with_key(old_secret).get(RETURNS_URL), 401, "api_key_expired")
    assert "use the new key" in error["message"]
    assert with_key(response.json()["key"]).get(RETURNS_URL).status_code == 200


def test_the_default_grace_is_a_day_and_a_key_is_rotated_once(world_a):
    api_key, _ = new_key(world_a)
    now = timezone.now()

    issued = rotate_api_key(api_key, actor=world_a.tenant_admin, via="test", now=now)

    assert ApiKey.objects.get(pk=api_key.pk).expires_at == now + datetime.timedelta(hours=24)
    admin = api_as(world_a.tenant_admin)
    assert_error(admin.post(f"{URL}{api_key.pk}/rotate/", {}, format="json"), 409, "conflict")
    # its replacement may be rotated
    assert admin.post(f"{URL}{issued.api_key.pk}/rotate/", {}, format="json").status_code == 201


def test_a_rotation_never_extends_an_expiry_sooner_than_the_grace_end(world_a):
    now = timezone.now()
    soon = now + datetime.timedelta(hours=1)
    api_key, _ = new_key(world_a, expires_at=soon)

    issued = rotate_api_key(
        api_key, actor=world_a.tenant_admin, grace=datetime.timedelta(days=2), via="test", now=now
    )

    assert ApiKey.objects.get(pk=api_key.pk).expires_at == soon
    assert issued.api_key.expires_at == soon  # the replacement inherits the expiry


@pytest.mark.parametrize("grace_hours", [-1, 169, "soon"])
def test_a_grace_beyond_a_week_is_refused(world_a, grace_hours):
    api_key, _ = new_key(world_a)

    response = api_as(world_a.tenant_admin).post(
        f"{URL}{api_key.pk}/rotate/", {"grace_hours": grace_hours}, format="json"
    )

    assert "grace_hours" in assert_error(response, 400, "invalid")["fields"]
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().rotated_to is None


def test_revoked_keys_are_not_rotated(world_a):
    api_key, _ = new_key(world_a)
    admin = api_as(world_a.tenant_admin)
    admin.delete(f"{URL}{api_key.pk}/")

    assert_error(admin.post(f"{URL}{api_key.pk}/rotate/", {}, format="json"), 409, "conflict")
    assert ApiKey.objects.count() == 1


# --- the integration user never signs in ----------------------------------------------------


def test_the_integration_user_cannot_sign_in_anywhere(world_a, client):
    api_key, _ = new_key(world_a)
    integration = api_key.user
    # even with a password someone managed to set
    User.objects.filter(pk=integration.pk).update(password=make_password(PASSWORD))
    credentials = {"username": integration.email, "password": PASSWORD}

    assert client.post("/accounts/login/", credentials).status_code == 200  # the form again
    assert client.post("/backoffice/login/", credentials).status_code == 200
    assert "_auth_user_id" not in client.session
    token = APIClient().post(
        "/api/v1/auth/token/", {"email": integration.email, "password": PASSWORD}, format="json"
    )
    assert_error(token, 400, "invalid_credentials")
    # a session forced upon it is not honoured either
    client.force_login(integration, backend="rma_portal.accounts.backends.RoleBackend")
    assert client.get(RETURNS_URL).status_code in (401, 403)


# --- audit ----------------------------------------------------------------------------------


def test_use_is_audited_as_the_integration_at_most_once_an_hour(world_a):
    api_key, secret = new_key(world_a, name="ERP")
    client = with_key(secret)

    for _request in range(3):
        assert client.get(RETURNS_URL).status_code == 200

    used = AuditEvent.objects.filter(action=AuditAction.API_KEY_USED)
    assert used.count() == 1
    row = used.get()
    assert (row.actor_kind, row.actor_label, row.actor) == (
        ActorKind.INTEGRATION,
        "API key ERP",
        api_key.user,
    )
    assert row.tenant == world_a.tenant and row.target_id == str(api_key.pk)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None
    # an hour later, once more
    later = ApiKey.objects.select_related("user", "tenant").get(pk=api_key.pk)
    record_api_key_use(later, now=later.use_audited_at + API_KEY_USE_AUDIT_INTERVAL)
    assert used.count() == 2


def test_every_audit_row_the_integration_writes_names_the_key(world_a):
    api_key, _ = new_key(world_a, name="Warehouse")

    with acting_api_key(api_key):
        row = record(AuditAction.SETTINGS_CHANGED, user=api_key.user)
    without_key = record(AuditAction.SETTINGS_CHANGED, user=api_key.user)

    assert (row.actor_kind, row.actor_label) == (ActorKind.INTEGRATION, "API key Warehouse")
    assert (without_key.actor_kind, without_key.actor_label) == (
        ActorKind.INTEGRATION,
        "Integration",
    )
    person = record(AuditAction.SETTINGS_CHANGED, user=world_a.agent)
    assert (person.actor_kind, person.actor_label) == (ActorKind.USER, world_a.agent.email)


# --- back-office ----------------------------------------------------------------------------


def test_a_tenant_admin_creates_a_key_in_the_back_office_and_sees_it_once(world_a, login):
    client = login(world_a.tenant_admin)
    add_url = reverse("admin:credentials_apikey_add")
    assert client.get(add_url).status_code == 200

    response = client.post(add_url, {"name": "ERP", "scopes": ["returns:read", "orders:write"]})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    secret = parse(response).select_one("#api-key-secret").text.strip()
    stored = ApiKey.objects.get()
    assert stored.key_hash == keys.digest(secret)
    assert (stored.name, stored.scopes, stored.tenant) == (
        "ERP",
        ["orders:write", "returns:read"],
        world_a.tenant,
    )
    change = client.get(reverse("admin:credentials_apikey_change", args=[stored.pk]))
    assert secret not in parse(change).text


def test_the_back_office_refuses_bad_input_and_creates_nothing(world_a, login):
    client = login(world_a.tenant_admin)

    response = client.post(reverse("admin:credentials_apikey_add"), {"name": "ERP"})

    assert response.status_code == 200
    assert parse(response).select("#apikey_form .errors")
    assert not ApiKey.objects.exists()


def test_the_back_office_rotates_and_revokes(world_a, login):
    api_key, old_secret = new_key(world_a)
    client = login(world_a.tenant_admin)
    rotate_url = reverse("admin:credentials_apikey_rotate", args=[api_key.pk])
    assert client.get(rotate_url).status_code == 200

    response = client.post(rotate_url, {"grace_hours": "1"})

    assert response.status_code == 200
    secret = parse(response).select_one("#api-key-secret").text.strip()
    new = ApiKey.objects.get(rotated_from=api_key)
    assert new.key_hash == keys.digest(secret)
    assert parse(response).select_one("#old-key-grace") is not None
    # a rotated key has no rotate page worth a second try
    again = client.post(rotate_url, {"grace_hours": "1"})
    assert again.status_code == 302 and ApiKey.objects.count() == 2

    changelist = reverse("admin:credentials_apikey_changelist")
    client.post(changelist, {"action": "revoke_selected", "_selected_action": [new.pk]})
    assert ApiKey.objects.get(pk=new.pk).revoked_at is not None
    assert with_key(old_secret).get(RETURNS_URL).status_code == 200  # its grace goes on


def test_back_office_rotation_of_a_foreign_or_missing_key_answers_404(world_a, world_b, login):
    theirs, _ = new_key(world_b)
    client = login(world_a.tenant_admin)

    foreign = client.post(
        reverse("admin:credentials_apikey_rotate", args=[theirs.pk]), {"grace_hours": "1"}
    )
    missing = client.post(
        reverse("admin:credentials_apikey_rotate", args=[theirs.pk + 1000]), {"grace_hours": "1"}
    )

    assert foreign.status_code == missing.status_code == 404
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().rotated_to is None


@pytest.mark.parametrize("role", ["agent", "coordinator", "manager"])
def test_other_staff_have_no_api_keys_in_the_back_office(world_a, login, role):
    api_key, _ = new_key(world_a)
    client = login(getattr(world_a, role))

    assert client.get(reverse("admin:credentials_apikey_changelist")).status_code == 403
    assert client.get(reverse("admin:credentials_apikey_add")).status_code == 403
    rotate = client.post(
        reverse("admin:credentials_apikey_rotate", args=[api_key.pk]), {"grace_hours": "1"}
    )
    assert rotate.status_code in (403, 404)
    assert ApiKey.objects.count() == 1


def test_idempotency_records_are_not_kept_for_key_management(world_a):
    response = api_as(world_a.tenant_admin).post(
        URL,
        {"name": "ERP", "scopes": ["returns:read"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-erp-key",
    )

    assert "Idempotency-Key" in assert_error(response, 400, "invalid")["fields"]
    assert not ApiKey.objects.exists() and not IdempotencyRecord.unscoped.exists()


def test_a_request_with_a_key_costs_no_more_queries_than_with_a_token(
    world_a, django_assert_max_num_queries
):
    key = key_client(world_a, scopes=["returns:read"])
    assert key.get(RETURNS_URL).status_code == 200  # the first use writes last-used and audit
    token = api_as(world_a.agent)
    with django_assert_max_num_queries(100) as by_token:
        assert token.get(RETURNS_URL).status_code == 200

    with django_assert_max_num_queries(len(by_token.captured_queries)):
        assert key.get(RETURNS_URL).status_code == 200
