"""Back-office: staff of tenant A never see, reach or pick tenant B's objects."""

import datetime
import re

import pytest
from django.contrib import admin
from django.urls import reverse

from complaints.models import (
    Complaint,
    ComplaintStage,
    Holiday,
    SatisfactionRating,
    SlaPolicy,
    SupportSettings,
)
from customers.models import (
    AssignmentRule,
    CannedResponse,
    CustomerAccount,
    FaqArticle,
    Product,
)
from returns.feedback_models import ReturnFeedback
from returns.models import ReturnPolicy, ReturnRequest
from rma_portal.accounts.models import Absence, Team, TeamMembership, User
from rma_portal.inbound.models import InboundMessage, Mailbox
from rma_portal.notifications.models import Notification, WebhookDelivery, WebhookEndpoint
from rma_portal.tenancy.models import TenantOwnedModel
from tests.html import summary

pytestmark = pytest.mark.django_db


def _registered_tenant_models():
    return [
        model
        for model in admin.site._registry
        if issubclass(model, TenantOwnedModel) or model is User
    ]


def _foreign_object(model, world):
    if model is User:
        return world.customer
    obj = model.unscoped.filter(tenant=world.tenant).first()
    assert obj is not None, f"the test world has no {model.__name__}: extend the fixture"
    return obj


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def populated(world_a, world_b, make_order):
    make_order(world_a.company)
    make_order(world_b.company)
    for world in (world_a, world_b):
        # Rows for the returns admins: the tenant's policy and a (draft) return request.
        ReturnPolicy.unscoped.create(tenant=world.tenant)
        ReturnRequest.unscoped.create(
            tenant=world.tenant,
            number=f"RMA-{world.tenant.slug}",
            customer_account=world.company,
            requester=world.customer,
        )
        ReturnFeedback.unscoped.create(
            tenant=world.tenant,
            return_request=ReturnRequest.unscoped.create(
                tenant=world.tenant,
                number=f"RMA-{world.tenant.slug}-answered",
                customer_account=world.company,
                requester=world.customer,
                status="resolved",
                resolution="refund",
            ),
            answered_by=world.customer,
            csat=4,
            channel="email",
            answered_at=datetime.datetime(2026, 11, 3, 10, tzinfo=datetime.UTC),
        )
        # Rows for the complaints admins: a complaint, its rating and the tenant's SLA
        # configuration.
        complaint = Complaint.unscoped.create(
            tenant=world.tenant,
            code=f"CMP-{world.tenant.slug}",
            customer_account=world.company,
            reporter=world.customer,
            category="delivery",
            subject="Late",
            description="Late delivery.",
            first_response_due_at=datetime.datetime(2026, 11, 2, 12, tzinfo=datetime.UTC),
            resolution_due_at=datetime.datetime(2026, 11, 6, 12, tzinfo=datetime.UTC),
        )
        SatisfactionRating.unscoped.create(
            tenant=world.tenant,
            complaint=complaint,
            score=4,
            channel="email",
            rated_by=world.customer,
        )
        SlaPolicy.unscoped.create(
            tenant=world.tenant, priority="normal", first_response_hours=8, resolution_hours=40
        )
        SupportSettings.unscoped.create(tenant=world.tenant)
        Holiday.unscoped.create(tenant=world.tenant, date=datetime.date(2026, 12, 25), name="Xmas")
        CannedResponse.unscoped.create(tenant=world.tenant, title="Thanks", body="Thank you.")
        FaqArticle.unscoped.create(
            tenant=world.tenant, language="en", title="How do I return?", body="In the portal."
        )
        ComplaintStage.unscoped.create(
            tenant=world.tenant,
            key="analysis",
            name="Analysis",
            limit_days=3,
            statuses=["in_progress"],
        )
        # Rows for the outbox admins: a webhook endpoint, a delivery to it, an e-mail.
        endpoint = WebhookEndpoint.unscoped.create(
            tenant=world.tenant, url="https://hooks.example.com/rma", secret="s"
        )
        WebhookDelivery.unscoped.create(
            tenant=world.tenant,
            endpoint=endpoint,
            event="return.closed",
            idempotency_key="k",
            payload={},
        )
        Notification.unscoped.create(
            tenant=world.tenant,
            event="return.closed",
            idempotency_key="k",
            email=world.customer.email,
            language="en",
        )
        # Rows for the inbound e-mail admins: a mailbox and a message fetched from it.
        mailbox = Mailbox.unscoped.create(
            tenant=world.tenant,
            name="Support",
            address="support@example.com",
            host="imap.example.com",
            username="support",
            password="s",
        )
        InboundMessage.unscoped.create(
            tenant=world.tenant, mailbox=mailbox, uidvalidity=1, uid=1, size=0
        )
        # Rows for the automatic assignment admins: a team, an absence and a rule.
        team = Team.unscoped.create(tenant=world.tenant, name="Desk")
        TeamMembership.unscoped.create(tenant=world.tenant, team=team, user=world.agent)
        Absence.unscoped.create(
            tenant=world.tenant,
            user=world.agent,
            first_day=datetime.date(2026, 12, 24),
            last_day=datetime.date(2026, 12, 31),
        )
        AssignmentRule.unscoped.create(tenant=world.tenant, name="Everything", team=team)
    return world_a, world_b


def test_every_change_delete_and_history_page_of_tenant_b_is_404(populated, login):
    world_a, world_b = populated
    client = login(world_a.tenant_admin)
    models = _registered_tenant_models()
    assert len(models) >= 5
    for model in models:
        foreign = _foreign_object(model, world_b)
        own = _foreign_object(model, world_a)
        for view in ("change", "delete", "history"):
            status = client.get(_url(model, view, foreign.pk)).status_code
            if client.get(_url(model, view, own.pk)).status_code == 403:
                # A view the role may not use at all answers 403 alike for every id.
                assert status == 403, (model.__name__, view, status)
            else:
                assert status == 404, (model.__name__, view, status)


def test_post_to_tenant_b_change_page_changes_nothing(populated, login):
    world_a, world_b = populated
    client = login(world_a.tenant_admin)
    company = world_b.company
    response = client.post(
        _url(CustomerAccount, "change", company.pk), {"name": "Hijacked", "number": "X"}
    )
    assert response.status_code == 404
    company.refresh_from_db()
    assert company.name != "Hijacked"
    response = client.post(_url(CustomerAccount, "delete", company.pk), {"post": "yes"})
    assert response.status_code == 404
    assert CustomerAccount.unscoped.filter(pk=company.pk).exists()


def test_changelists_show_only_own_tenant(populated, login):
    world_a, _ = populated
    client = login(world_a.tenant_admin)
    for model in _registered_tenant_models():
        response = client.get(_url(model, "changelist"))
        assert response.status_code == 200, model.__name__
        result_pks = {obj.pk for obj in response.context["cl"].result_list}
        if model is User:
            expected = set(User.objects.filter(tenant=world_a.tenant).values_list("pk", flat=True))
        else:
            expected = set(
                model.unscoped.filter(tenant=world_a.tenant).values_list("pk", flat=True)
            )
        assert result_pks == expected, model.__name__


def _option_values(html: str, name: str) -> set[str]:
    match = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no select {name}"
    return set(re.findall(r'<option value="(\d+)"', match.group(1)))


def test_foreign_key_dropdowns_offer_only_own_tenant(populated, login):
    world_a, _ = populated
    client = login(world_a.tenant_admin)

    html = client.get(_url(Product, "add")).content.decode()
    categories = _option_values(html, "category")
    own = {
        str(pk)
        for pk in Product.unscoped.filter(tenant=world_a.tenant).values_list(
            "category_id", flat=True
        )
    }
    assert categories == own
    assert "tenant" not in _option_values_names(html)

    html = client.get(_url(User, "add")).content.decode()
    accounts = _option_values(html, "customer_account")
    assert accounts == {
        str(pk)
        for pk in CustomerAccount.unscoped.filter(tenant=world_a.tenant).values_list(
            "pk", flat=True
        )
    }


def _option_values_names(html: str) -> set[str]:
    return set(re.findall(r'<select name="([^"]+)"', html))


def test_posting_a_foreign_category_is_rejected(populated, login):
    world_a, world_b = populated
    foreign_category = Product.unscoped.filter(tenant=world_b.tenant).first().category
    client = login(world_a.tenant_admin)
    response = client.post(
        _url(Product, "add"),
        {
            "sku": "NEW-1",
            "name": "New",
            "category": foreign_category.pk,
            "unit_price": "1.00",
            "is_returnable": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "category" in response.context["adminform"].form.errors
    assert not Product.unscoped.filter(sku="NEW-1").exists()


def test_tenant_staff_creates_object_in_own_tenant_and_duplicate_is_a_form_error(populated, login):
    world_a, world_b = populated
    category = Product.unscoped.filter(tenant=world_a.tenant).first().category
    client = login(world_a.tenant_admin)
    data = {
        "sku": "NEW-1",
        "name": "New",
        "category": category.pk,
        "unit_price": "1.00",
        "is_returnable": "on",
        "is_active": "on",
    }
    # A tampered tenant value is ignored: the field is fixed to the user's tenant.
    response = client.post(_url(Product, "add"), {**data, "tenant": world_b.tenant.pk})
    assert response.status_code == 302, summary(response)
    assert Product.unscoped.get(sku="NEW-1").tenant == world_a.tenant
    response = client.post(_url(Product, "add"), data)
    assert response.status_code == 200
    assert Product.unscoped.filter(sku="NEW-1").count() == 1


def test_superuser_sees_all_tenants_and_can_switch_into_one(populated, superuser, login):
    world_a, world_b = populated
    client = login(superuser)
    response = client.get(_url(CustomerAccount, "changelist"))
    assert {o.tenant_id for o in response.context["cl"].result_list} == {
        world_a.tenant.pk,
        world_b.tenant.pk,
    }
    client.post(reverse("admin:switch_tenant"), {"tenant": world_b.tenant.pk})
    response = client.get(_url(CustomerAccount, "changelist"))
    assert {o.tenant_id for o in response.context["cl"].result_list} == {world_b.tenant.pk}
    assert client.get(_url(CustomerAccount, "change", world_a.company.pk)).status_code == 404


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("agent", 200),
        ("coordinator", 200),
        ("manager", 200),
        ("tenant_admin", 200),
        ("customer", 302),
        ("customer_admin", 302),
    ],
)
def test_backoffice_is_for_staff_only(world_a, login, role, expected):
    client = login(getattr(world_a, role))
    assert client.get(reverse("admin:index")).status_code == expected


def test_roles_limit_what_staff_may_change(populated, login):
    world_a, _ = populated
    company = world_a.company
    agent = login(world_a.agent)
    assert agent.get(_url(CustomerAccount, "change", company.pk)).status_code == 200
    response = agent.post(_url(CustomerAccount, "change", company.pk), {"name": "Changed"})
    assert response.status_code == 403
    assert agent.get(_url(User, "changelist")).status_code == 403
    company.refresh_from_db()
    assert company.name != "Changed"


def test_tenant_admin_creates_customer_user_linked_to_own_company(world_a, world_b, login):
    client = login(world_a.tenant_admin)
    data = {
        "email": "fresh@buyer.example",
        "full_name": "Fresh",
        "language": "en",
        "role": "customer_user",
        "customer_account": world_b.company.pk,
        "password1": "Very-long-pass-123",
        "password2": "Very-long-pass-123",
        "usable_password": "true",
    }
    response = client.post(_url(User, "add"), data)
    assert response.status_code == 200  # foreign company is not a valid choice
    assert not User.objects.filter(email="fresh@buyer.example").exists()
    response = client.post(_url(User, "add"), {**data, "customer_account": world_a.company.pk})
    assert response.status_code == 302, summary(response)
    user = User.objects.get(email="fresh@buyer.example")
    assert user.tenant == world_a.tenant
    assert user.customer_membership.customer_account == world_a.company


def test_tenant_admin_edits_own_branding_but_not_another_tenant(world_a, world_b, login):
    from rma_portal.tenancy.models import Tenant

    client = login(world_a.tenant_admin)
    own_url = reverse("admin:tenancy_tenant_change", args=[world_a.tenant.pk])
    page = client.get(own_url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(brand_colour="#123456")
    response = client.post(own_url, data)
    assert response.status_code == 302, page.context["adminform"].form.errors
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.brand_colour == "#123456"

    foreign_url = reverse("admin:tenancy_tenant_change", args=[world_b.tenant.pk])
    assert client.get(foreign_url).status_code == 404
    assert client.post(foreign_url, {**data, "name": "Taken"}).status_code == 404
    assert Tenant.objects.get(pk=world_b.tenant.pk).name == world_b.tenant.name
    changelist = client.get(reverse("admin:tenancy_tenant_changelist"))
    assert [t.pk for t in changelist.context["cl"].result_list] == [world_a.tenant.pk]


def test_agent_cannot_edit_tenant_settings(world_a, login):
    client = login(world_a.agent)
    url = reverse("admin:tenancy_tenant_change", args=[world_a.tenant.pk])
    assert client.get(url).status_code in (403, 404)
