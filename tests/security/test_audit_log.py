"""The audit log: sign-ins, failed sign-ins and back-office changes are recorded with the
address the trusted proxies saw; a tenant admin reads and exports only their own tenant's."""

from __future__ import annotations

import csv
import io

import pytest

from rma_portal.security.audit import record
from rma_portal.security.models import ActorKind, AuditAction, AuditEvent
from tests.factories import PASSWORD
from tests.html import table_rows

LIST_URL = "/backoffice/security/auditevent/"
EXPORT_URL = "/backoffice/security/auditevent/export/"


def _events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("pk"))


def test_a_sign_in_is_recorded_with_tenant_address_and_browser(world_a, client):
    client.post(
        "/accounts/login/",
        {"username": world_a.agent.email, "password": PASSWORD},
        HTTP_USER_AGENT="Firefox/140",
        REMOTE_ADDR="203.0.113.7",
    )
    (event,) = _events(action=AuditAction.SIGN_IN)
    assert (event.tenant, event.actor, event.actor_kind) == (
        world_a.tenant,
        world_a.agent,
        ActorKind.USER,
    )
    assert (event.ip_address, event.user_agent) == ("203.0.113.7", "Firefox/140")


def test_the_address_comes_from_the_trusted_proxy_not_the_client(world_a, client, settings):
    settings.NUM_PROXIES = 1
    client.post(
        "/accounts/login/",
        {"username": world_a.agent.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9",
    )
    (event,) = _events(action=AuditAction.SIGN_IN)
    assert event.ip_address == "203.0.113.9"


def test_failed_sign_ins_name_the_tenant_only_for_existing_accounts(world_a, client):
    client.post("/accounts/login/", {"username": world_a.agent.email, "password": "wrong"})
    client.post("/accounts/login/", {"username": "nobody@example.com", "password": "wrong"})
    known, unknown = _events(action=AuditAction.SIGN_IN_FAILED)
    assert (known.tenant, known.actor, known.actor_label) == (
        world_a.tenant,
        None,
        world_a.agent.email,
    )
    assert known.target_id == str(world_a.agent.pk)
    assert (unknown.tenant, unknown.actor_label) == (None, "nobody@example.com")


def test_back_office_changes_are_recorded(world_a, login):
    from complaints.models import Holiday

    client = login(world_a.tenant_admin)
    response = client.post(
        "/backoffice/complaints/holiday/add/",
        {"tenant": world_a.tenant.pk, "date": "2026-12-24", "name": "Christmas Eve"},
    )
    assert response.status_code == 302
    holiday = Holiday.unscoped.get(tenant=world_a.tenant)
    client.post(
        f"/backoffice/complaints/holiday/{holiday.pk}/change/",
        {"tenant": world_a.tenant.pk, "date": "2026-12-24", "name": "Wigilia"},
    )
    added, changed = _events(action__in=[AuditAction.OBJECT_ADDED, AuditAction.OBJECT_CHANGED])
    assert (added.action, added.tenant, added.actor) == (
        AuditAction.OBJECT_ADDED,
        world_a.tenant,
        world_a.tenant_admin,
    )
    assert changed.action == AuditAction.OBJECT_CHANGED
    assert changed.target_label == "2026-12-24 Wigilia"
    assert changed.details["object_type"] == "complaints.Holiday"
    assert changed.details["object_id"] == str(holiday.pk)
    assert "Name" in changed.details["change"]


@pytest.fixture
def events_of_two_tenants(world_a, world_b):
    record(AuditAction.SIGN_IN, user=world_a.agent)
    record(AuditAction.SIGN_IN, user=world_a.customer)
    record(AuditAction.SIGN_IN_FAILED, tenant=world_a.tenant, actor_label="=HYPERLINK(1)")
    record(AuditAction.SIGN_IN, user=world_b.agent)
    return world_a, world_b


def test_the_tenant_admin_reads_only_their_own_tenants_log(events_of_two_tenants, login):
    world_a, world_b = events_of_two_tenants
    client = login(world_a.tenant_admin)
    page = client.get(LIST_URL)
    assert page.status_code == 200
    labels = {row[2] for row in table_rows(page.content, "#result_list")}
    assert world_b.agent.email not in labels
    assert {world_a.agent.email, world_a.customer.email} <= labels
    foreign = AuditEvent.objects.get(tenant=world_b.tenant)
    assert client.get(f"{LIST_URL}{foreign.pk}/change/").status_code == 404
    assert client.get(f"{LIST_URL}999999/change/").status_code == 404
    own = AuditEvent.objects.filter(tenant=world_a.tenant).first()
    assert client.get(f"{LIST_URL}{own.pk}/change/").status_code == 200


@pytest.mark.parametrize("role", ["agent", "coordinator", "manager"])
def test_other_staff_cannot_read_the_log(events_of_two_tenants, login, role):
    world_a, _ = events_of_two_tenants
    client = login(getattr(world_a, role))
    assert client.get(LIST_URL).status_code == 403
    assert client.get(EXPORT_URL).status_code == 403


def test_nobody_can_change_or_delete_an_event(events_of_two_tenants, login):
    world_a, _ = events_of_two_tenants
    client = login(world_a.tenant_admin)
    own = AuditEvent.objects.filter(tenant=world_a.tenant).first()
    before = AuditEvent.objects.count()
    assert client.post(f"{LIST_URL}{own.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{LIST_URL}add/").status_code == 403
    assert AuditEvent.objects.count() == before


def test_the_export_is_the_tenants_rows_and_is_itself_audited(events_of_two_tenants, login):
    world_a, world_b = events_of_two_tenants
    client = login(world_a.tenant_admin)
    response = client.get(EXPORT_URL, {"separator": "comma"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    actors = [row[4] for row in rows[1:]]
    assert world_b.agent.email not in actors
    assert world_a.agent.email in actors
    assert "'=HYPERLINK(1)" in actors  # a formula typed at sign-in stays text
    assert {row[1] for row in rows[1:]} == {world_a.tenant.name}
    (export,) = _events(action=AuditAction.EXPORT)
    assert (export.tenant, export.actor) == (world_a.tenant, world_a.tenant_admin)


def test_the_export_keeps_the_lists_filters(events_of_two_tenants, login):
    world_a, _ = events_of_two_tenants
    client = login(world_a.tenant_admin)
    response = client.get(EXPORT_URL, {"action__exact": AuditAction.SIGN_IN_FAILED})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[4] for row in rows[1:]] == ["'=HYPERLINK(1)"]


def test_the_list_query_count_does_not_grow_with_events(
    events_of_two_tenants, login, django_assert_max_num_queries
):
    world_a, _ = events_of_two_tenants
    client = login(world_a.tenant_admin)
    client.get(LIST_URL)
    for _ in range(30):
        record(AuditAction.SIGN_IN, user=world_a.agent)
    with django_assert_max_num_queries(12):
        assert client.get(LIST_URL).status_code == 200


def test_a_platform_superuser_sees_every_tenant_unless_switched(
    events_of_two_tenants, superuser, login
):
    world_a, world_b = events_of_two_tenants
    client = login(superuser)
    page = client.get(LIST_URL)
    assert page.status_code == 200
    assert AuditEvent.objects.filter(tenant=world_b.tenant).exists()
    client.post("/backoffice/switch-tenant/", {"tenant": world_a.tenant.pk})
    foreign = AuditEvent.objects.get(tenant=world_b.tenant)
    assert client.get(f"{LIST_URL}{foreign.pk}/change/").status_code == 404


def test_a_customer_admins_team_changes_are_in_the_tenants_log(world_a, world_b, login):
    from django.urls import reverse

    client = login(world_a.customer_admin)
    for email in ("fresh.colleague@buyer.example", world_b.agent.email):
        client.post(
            reverse("portal:team"),
            {"full_name": "X", "email": email, "role": "customer_user", "language": "en"},
        )
    client.post(reverse("portal:team_set_active", args=[world_a.colleague.pk]), {"active": "0"})
    client.post(reverse("portal:team_set_active", args=[world_a.colleague.pk]), {"active": "1"})
    events = _events(
        action__in=[
            AuditAction.USER_INVITED,
            AuditAction.USER_DEACTIVATED,
            AuditAction.USER_REACTIVATED,
        ]
    )
    assert [(event.action, event.tenant, event.actor) for event in events] == [
        (AuditAction.USER_INVITED, world_a.tenant, world_a.customer_admin),
        (AuditAction.USER_INVITED, world_a.tenant, world_a.customer_admin),
        (AuditAction.USER_DEACTIVATED, world_a.tenant, world_a.customer_admin),
        (AuditAction.USER_REACTIVATED, world_a.tenant, world_a.customer_admin),
    ]
    assert [event.details["email"] for event in events[:2]] == [
        "fresh.colleague@buyer.example",
        world_b.agent.email,
    ]
    assert events[2].target_id == str(world_a.colleague.pk)
    assert not AuditEvent.objects.filter(tenant=world_b.tenant).exists()
