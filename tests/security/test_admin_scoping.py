"""Every back-office admin is scoped to the tenant in context and answers another tenant's id
exactly like an id that does not exist: for a tenant admin of tenant A, and for a platform
superuser switched into tenant A.

The models are read from the admin site's registry, so an admin registered later is checked
too: it needs a builder below (two rows, one per tenant), or a line in NOT_APPLICABLE saying
why the check does not apply to it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.contrib import admin
from django.db.models import Max, Model
from django.urls import reverse

from complaints.models import (
    Complaint,
    ComplaintStage,
    Holiday,
    SlaPolicy,
    SupportSettings,
)
from customers.models import CannedResponse, FaqArticle
from returns.models import ReturnPolicy, ReturnRequest
from rma_portal.notifications.models import Notification, WebhookDelivery, WebhookEndpoint
from rma_portal.security.models import AuditAction, AuditEvent
from tests.conftest import World
from tests.factories import OrderFactory, ProductFactory
from tests.html import answer_text, parse

pytestmark = pytest.mark.django_db

# label -> why the foreign-id check does not apply.
NOT_APPLICABLE = {
    "auth.group": "no tenant; roles are the only source of permissions and tenant staff get "
    "403 for every group id alike",
}


def _complaint(world: World, *, code: str = "", **changes) -> Complaint:
    return Complaint.unscoped.create(
        tenant=world.tenant,
        code=code or f"CMP-{world.tenant.slug}",
        customer_account=world.company,
        reporter=world.customer,
        category="delivery",
        subject=f"Late to {world.tenant.name}",
        description="Late delivery.",
        first_response_due_at=datetime.datetime(2026, 11, 2, 12, tzinfo=datetime.UTC),
        resolution_due_at=datetime.datetime(2026, 11, 6, 12, tzinfo=datetime.UTC),
        **changes,
    )


def _delivery(world: World) -> WebhookDelivery:
    endpoint = WebhookEndpoint.unscoped.create(
        tenant=world.tenant, url=f"https://{world.tenant.slug}.example.com/rma", secret="s"
    )
    return WebhookDelivery.unscoped.create(
        tenant=world.tenant,
        endpoint=endpoint,
        event="return.closed",
        idempotency_key=f"k-{world.tenant.slug}",
        payload={},
    )


def _personal_token(world: World) -> Model:
    from rma_portal.credentials.models import PersonalToken
    from tests.api import personal_token

    personal_token(world.tenant_admin, name=f"Token of {world.tenant.name}")
    return PersonalToken.objects.get(user=world.tenant_admin)


def _api_key(world: World) -> Model:
    from rma_portal.credentials.services import issue_api_key

    return issue_api_key(
        tenant=world.tenant,
        name=f"ERP of {world.tenant.name}",
        scopes=["returns:read"],
        actor=world.tenant_admin,
        via="test",
    ).api_key


def _mailbox(world: World) -> Model:
    from rma_portal.inbound.models import Mailbox

    return Mailbox.unscoped.create(
        tenant=world.tenant,
        name=f"Support of {world.tenant.name}",
        address=f"support@{world.tenant.slug}.example.com",
        host=f"imap.{world.tenant.slug}.example.com",
        username="support",
        password="s",
    )


def _team(world: World) -> Model:
    from rma_portal.accounts.models import Team, TeamMembership

    team = Team.unscoped.create(tenant=world.tenant, name=f"Desk of {world.tenant.name}")
    TeamMembership.unscoped.create(tenant=world.tenant, team=team, user=world.agent)
    return team


def _absence(world: World) -> Model:
    from rma_portal.accounts.models import Absence

    return Absence.unscoped.create(
        tenant=world.tenant,
        user=world.agent,
        first_day=datetime.date(2026, 12, 24),
        last_day=datetime.date(2026, 12, 31),
        note=f"Holiday in {world.tenant.name}",
    )


def _assignment_rule(world: World) -> Model:
    from customers.models import AssignmentRule

    return AssignmentRule.unscoped.create(
        tenant=world.tenant, name=f"All of {world.tenant.name}", agent=world.agent
    )


def _inbound_message(world: World) -> Model:
    from rma_portal.inbound.models import InboundMessage

    return InboundMessage.unscoped.create(
        tenant=world.tenant,
        mailbox=_mailbox(world),
        uidvalidity=1,
        uid=1,
        subject=f"Mail to {world.tenant.name}",
        size=0,
    )


def _return_feedback(world: World) -> Model:
    from returns.feedback_models import ReturnFeedback

    answered = ReturnRequest.unscoped.create(
        tenant=world.tenant,
        number=f"RMA-{world.tenant.slug}-answered",
        customer_account=world.company,
        requester=world.customer,
        status="resolved",
        resolution="refund",
    )
    return ReturnFeedback.unscoped.create(
        tenant=world.tenant,
        return_request=answered,
        answered_by=world.customer,
        csat=4,
        comment=f"Answer to {world.tenant.name}",
        channel="email",
        answered_at=datetime.datetime(2026, 11, 3, 10, tzinfo=datetime.UTC),
    )


def _complaint_rating(world: World) -> Model:
    from complaints.models import SatisfactionRating

    rated = _complaint(world, code=f"CMP-{world.tenant.slug}-rated", status="closed")
    return SatisfactionRating.unscoped.create(
        tenant=world.tenant,
        complaint=rated,
        score=4,
        nps=9,
        comment=f"Rating of {world.tenant.name}",
        channel="email",
        rated_by=world.customer,
    )


# label -> a row of the world's tenant, made the way the application makes them.
BUILDERS: dict[str, Callable[[World], Model]] = {
    "tenancy.tenant": lambda world: world.tenant,
    "accounts.user": lambda world: world.customer,
    "accounts.team": _team,
    "accounts.absence": _absence,
    "customers.customeraccount": lambda world: world.company,
    "customers.productcategory": lambda world: ProductFactory(tenant=world.tenant).category,
    "customers.product": lambda world: ProductFactory(tenant=world.tenant),
    "customers.order": lambda world: OrderFactory(
        tenant=world.tenant, customer_account=world.company
    ),
    "customers.assignmentrule": _assignment_rule,
    "returns.returnpolicy": lambda world: ReturnPolicy.unscoped.create(tenant=world.tenant),
    "returns.returnrequest": lambda world: ReturnRequest.unscoped.create(
        tenant=world.tenant,
        number=f"RMA-{world.tenant.slug}",
        customer_account=world.company,
        requester=world.customer,
    ),
    "complaints.complaint": _complaint,
    "complaints.slapolicy": lambda world: SlaPolicy.unscoped.create(
        tenant=world.tenant, priority="normal", first_response_hours=8, resolution_hours=40
    ),
    "complaints.supportsettings": lambda world: SupportSettings.unscoped.create(
        tenant=world.tenant
    ),
    "complaints.holiday": lambda world: Holiday.unscoped.create(
        tenant=world.tenant, date=datetime.date(2026, 12, 25), name=f"Xmas {world.tenant.name}"
    ),
    "customers.cannedresponse": lambda world: CannedResponse.unscoped.create(
        tenant=world.tenant, title=f"Thanks from {world.tenant.name}", body="Thank you."
    ),
    "customers.faqarticle": lambda world: FaqArticle.unscoped.create(
        tenant=world.tenant, language="en", title=f"Returns at {world.tenant.name}?", body="Yes."
    ),
    "returns.returnfeedback": _return_feedback,
    "complaints.satisfactionrating": _complaint_rating,
    "complaints.complaintstage": lambda world: ComplaintStage.unscoped.create(
        tenant=world.tenant,
        key="analysis",
        name=f"Analysis of {world.tenant.name}",
        limit_days=3,
        statuses=["in_progress"],
    ),
    "notifications.webhookendpoint": lambda world: WebhookEndpoint.unscoped.create(
        tenant=world.tenant, url=f"https://{world.tenant.slug}.example.com/hook", secret="s"
    ),
    "notifications.webhookdelivery": _delivery,
    "notifications.notification": lambda world: Notification.unscoped.create(
        tenant=world.tenant,
        event="return.closed",
        idempotency_key=f"k-{world.tenant.slug}",
        email=world.customer.email,
        language="en",
    ),
    "credentials.personaltoken": _personal_token,
    "credentials.apikey": _api_key,
    "inbound.mailbox": _mailbox,
    "inbound.inboundmessage": _inbound_message,
    "security.auditevent": lambda world: AuditEvent.objects.create(
        tenant=world.tenant,
        actor=world.tenant_admin,
        actor_kind="user",
        actor_label=world.tenant_admin.email,
        action=AuditAction.SETTINGS_CHANGED,
        target_label=f"Settings of {world.tenant.name}",
    ),
}

REGISTERED = sorted(model._meta.label_lower for model in admin.site._registry)
CHECKED = [label for label in REGISTERED if label not in NOT_APPLICABLE]
ROLES = ["tenant_admin", "switched_superuser"]
OBJECT_VIEWS = ["change", "history", "delete"]


def test_every_registered_admin_is_checked_or_explained():
    unexplained = [label for label in CHECKED if label not in BUILDERS]
    assert unexplained == [], "add a builder or a NOT_APPLICABLE reason for these admins"


def _model(label: str) -> type[Model]:
    return next(m for m in admin.site._registry if m._meta.label_lower == label)


def _url(model: type[Model], view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _missing_pk(model: type[Model]) -> int:
    highest = model._base_manager.aggregate(top=Max("pk"))["top"] or 0
    return highest + 10_000


def _row(model: type[Model], pk) -> list[dict]:
    return list(model._base_manager.filter(pk=pk).values())


def _answer(response) -> tuple:
    """What the user learns from a response: status, where it sends them, what it says."""
    text = ""
    if response.get("Content-Type", "").startswith("text/html") and response.content:
        text = answer_text(response)
    return response.status_code, response.get("Location", ""), text


@pytest.fixture
def signed_in(world_a, world_b, superuser, login):
    """(model label, role) -> the client of that role, and the rows of both tenants."""

    def _sign_in(label: str, role: str):
        model = _model(label)
        own, foreign = BUILDERS[label](world_a), BUILDERS[label](world_b)
        if role == "tenant_admin":
            client = login(world_a.tenant_admin)
        else:
            client = login(superuser)
            switched = client.post(reverse("admin:switch_tenant"), {"tenant": world_a.tenant.pk})
            assert switched.status_code == 302
            client.get(reverse("admin:index"))  # shows (and so drops) the "switched" message
        return client, model, own, foreign

    return _sign_in


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", OBJECT_VIEWS)
@pytest.mark.parametrize("label", CHECKED)
def test_foreign_id_answers_like_a_missing_one(signed_in, label, view, role):
    client, model, own, foreign = signed_in(label, role)
    before = _row(model, foreign.pk)

    foreign_get = _answer(client.get(_url(model, view, foreign.pk)))
    missing_get = _answer(client.get(_url(model, view, _missing_pk(model))))
    post = {"post": "yes"} if view == "delete" else {"name": "Taken over", "tenant": own.pk}
    foreign_post = _answer(client.post(_url(model, view, foreign.pk), post))
    missing_post = _answer(client.post(_url(model, view, _missing_pk(model)), post))

    assert foreign_get == missing_get
    assert foreign_post == missing_post
    own_status = client.get(_url(model, view, own.pk)).status_code
    if own_status == 403:
        # A view the role may not use at all refuses every id alike.
        assert foreign_get[0] == 403
    else:
        assert foreign_get[0] == 404, (own_status, foreign_get[:2])
        assert foreign_post[0] in (403, 404), foreign_post[:2]
    assert _row(model, foreign.pk) == before, "the foreign row changed"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", CHECKED)
def test_changelist_never_lists_the_other_tenant(signed_in, world_b, label, role):
    client, model, own, foreign = signed_in(label, role)
    response = client.get(_url(model, "changelist"))
    if response.status_code == 403:
        return  # the role may not list these at all
    assert response.status_code == 200
    listed = {obj.pk for obj in response.context["cl"].result_list}
    assert own.pk in listed
    assert foreign.pk not in listed
    content = parse(response).select_one("#content").text
    assert world_b.tenant.name not in content


def test_tenants_are_added_only_when_working_across_all_of_them(world_a, superuser, login):
    client = login(superuser)
    add = reverse("admin:tenancy_tenant_add")
    assert client.get(add).status_code == 200
    client.post(reverse("admin:switch_tenant"), {"tenant": world_a.tenant.pk})
    assert client.get(add).status_code == 403
    assert login(world_a.tenant_admin).get(add).status_code == 403
