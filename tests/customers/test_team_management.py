"""The portal's team list: members' state, invitation date and last sign-in; changing a
member's role (the company keeps an active administrator); sending an invitation again at
most once per INVITATION_RESEND_INTERVAL; isolation, CSRF and the audit rows."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone, translation

from customers import services
from customers.models import CustomerMembership, TeamInvitation
from customers.services.users import INVITATION_RESEND_INTERVAL
from rma_portal.accounts.models import Role, User
from rma_portal.errors import ApplicationError
from rma_portal.security.models import AuditAction, AuditEvent
from rma_portal.tenancy.context import tenant_context
from tests.factories import PASSWORD, customer_user
from tests.html import parse, table_rows, visible_text

pytestmark = pytest.mark.django_db


def _invite(client, email: str, *, role: str = "customer_user", name: str = "Nowa Osoba"):
    return client.post(
        reverse("portal:team"),
        {"full_name": name, "email": email, "role": role, "language": "pl"},
    )


def _rows(response) -> dict[str, dict]:
    """The team table's rows by e-mail: each row's cells and its state."""
    page = parse(response)
    rows = {}
    for row in page.select("table.team tbody tr"):
        cells = [cell.text for cell in row.select("td")]
        rows[cells[1]] = {"cells": cells, "state": row.attrs.get("data-state")}
    return rows


def _age_invitation(invitation: TeamInvitation, by: datetime.timedelta) -> None:
    TeamInvitation.unscoped.filter(pk=invitation.pk).update(
        last_sent_at=invitation.last_sent_at - by, first_sent_at=invitation.first_sent_at - by
    )
    invitation.refresh_from_db()


# --- the list ---------------------------------------------------------------------------


def test_the_list_shows_active_deactivated_and_invited_with_dates(
    world_a, login, django_capture_on_commit_callbacks
):
    client = login(world_a.customer_admin)
    world_a.colleague.is_active = False
    world_a.colleague.save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        _invite(client, "fresh@buyer.example")
    response = client.get(reverse("portal:team"))
    rows = _rows(response)
    assert rows[world_a.customer_admin.email]["state"] == "active"
    assert rows[world_a.colleague.email]["state"] == "deactivated"
    assert rows["fresh@buyer.example"]["state"] == "invited"
    assert rows["fresh@buyer.example"]["cells"][3] == "invited"
    assert rows["fresh@buyer.example"]["cells"][5] == "never"
    # the signed-in admin's own last sign-in, in the tenant's time and the reader's format
    admin = User.objects.get(pk=world_a.customer_admin.pk)
    shown = formats.date_format(timezone.localtime(admin.last_login), "SHORT_DATETIME_FORMAT")
    assert rows[admin.email]["cells"][5] == shown
    invitation = TeamInvitation.unscoped.get(email="fresh@buyer.example")
    assert rows["fresh@buyer.example"]["cells"][4] == formats.date_format(
        timezone.localtime(invitation.last_sent_at), "SHORT_DATETIME_FORMAT"
    )


def test_dates_are_in_the_readers_language(world_a, login):
    world_a.customer_admin.language = "pl"
    world_a.customer_admin.save(update_fields=["language"])
    client = login(world_a.customer_admin)
    response = client.get(reverse("portal:team"))
    admin = User.objects.get(pk=world_a.customer_admin.pk)
    with translation.override("pl"), timezone.override(world_a.tenant.timezone):
        expected = formats.date_format(
            timezone.localtime(admin.last_login), "SHORT_DATETIME_FORMAT"
        )
    row = _rows(response)[admin.email]
    assert row["cells"][5] == " ".join(expected.split())
    assert "nigdy" in [cells[5] for cells in (r["cells"] for r in _rows(response).values())]


def test_a_member_who_takes_up_the_invitation_moves_from_invited_to_active(
    world_a, login, django_capture_on_commit_callbacks
):
    client = login(world_a.customer_admin)
    with django_capture_on_commit_callbacks(execute=True):
        _invite(client, "joiner@buyer.example")
    joiner = User.objects.get(email="joiner@buyer.example")
    joiner.set_password(PASSWORD)
    joiner.save()
    rows = _rows(client.get(reverse("portal:team")))
    assert rows["joiner@buyer.example"]["state"] == "active"
    invitation = TeamInvitation.unscoped.get(email="joiner@buyer.example")
    assert rows["joiner@buyer.example"]["cells"][4] == formats.date_format(
        timezone.localtime(invitation.first_sent_at), "SHORT_DATE_FORMAT"
    )
    assert len([row for row in rows if row == "joiner@buyer.example"]) == 1


def test_an_address_with_an_account_elsewhere_is_listed_exactly_like_a_fresh_one(
    world_a, world_b, login, django_capture_on_commit_callbacks
):
    """Listing the invitations tells nothing the invitation's answer keeps back
    (docs/security.md#team-invitations)."""
    client = login(world_a.customer_admin)
    with django_capture_on_commit_callbacks(execute=True):
        _invite(client, "fresh@buyer.example", name="Ta Sama")
        _invite(client, world_b.customer.email, name="Ta Sama")
    rows = _rows(client.get(reverse("portal:team")))
    fresh = rows["fresh@buyer.example"]["cells"]
    taken = rows[world_b.customer.email]["cells"]
    assert fresh[0] == taken[0] == "Ta Sama"
    assert fresh[2:4] == taken[2:4] == ["Customer user", "invited"]
    assert fresh[5:] == taken[5:]
    world_b.customer.refresh_from_db()
    assert world_b.customer.role == Role.CUSTOMER_USER
    assert not CustomerMembership.unscoped.filter(
        user=world_b.customer, customer_account=world_a.company
    ).exists()


def test_the_list_is_a_constant_number_of_queries(
    world_a, login, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world_a.customer_admin)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("portal:team")).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(6):
            customer_user(world_a.company, admin=n % 2 == 0)
            _invite(client, f"invited{n}@buyer.example")
    accepted = User.objects.get(email="invited0@buyer.example")
    accepted.set_password(PASSWORD)
    accepted.save()
    many = count()
    assert len(_rows(client.get(reverse("portal:team")))) == 3 + 6 + 6
    assert many == few


# --- roles ------------------------------------------------------------------------------


def test_admin_makes_a_colleague_an_admin_and_back(world_a, login):
    client = login(world_a.customer_admin)
    url = reverse("portal:team_set_role", args=[world_a.colleague.pk])
    response = client.post(url, {"role": "customer_admin"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:team")
    assert f"{world_a.colleague.email} is now: Customer admin." in visible_text(response)
    world_a.colleague.refresh_from_db()
    assert world_a.colleague.role == Role.CUSTOMER_ADMIN
    client.post(url, {"role": "customer_user"})
    world_a.colleague.refresh_from_db()
    assert world_a.colleague.role == Role.CUSTOMER_USER
    events = AuditEvent.objects.filter(action=AuditAction.USER_ROLE_CHANGED).order_by("pk")
    assert [(e.actor_id, e.details["from"], e.details["to"]) for e in events] == [
        (world_a.customer_admin.pk, "customer_user", "customer_admin"),
        (world_a.customer_admin.pk, "customer_admin", "customer_user"),
    ]


def test_the_last_active_admin_cannot_demote_themself(world_a, login):
    client = login(world_a.customer_admin)
    response = client.post(
        reverse("portal:team_set_role", args=[world_a.customer_admin.pk]),
        {"role": "customer_user"},
        follow=True,
    )
    assert "You are your company's only active administrator." in visible_text(response)
    world_a.customer_admin.refresh_from_db()
    assert world_a.customer_admin.role == Role.CUSTOMER_ADMIN
    assert not AuditEvent.objects.filter(action=AuditAction.USER_ROLE_CHANGED).exists()


def test_a_deactivated_admin_does_not_count_as_another_admin(world_a, login):
    other = customer_user(world_a.company, admin=True, is_active=False)
    client = login(world_a.customer_admin)
    client.post(
        reverse("portal:team_set_role", args=[world_a.customer_admin.pk]),
        {"role": "customer_user"},
    )
    world_a.customer_admin.refresh_from_db()
    assert world_a.customer_admin.role == Role.CUSTOMER_ADMIN
    other.refresh_from_db()
    assert other.role == Role.CUSTOMER_ADMIN and not other.is_active


def test_an_admin_with_another_active_admin_may_step_down(world_a, login):
    customer_user(world_a.company, admin=True)
    client = login(world_a.customer_admin)
    response = client.post(
        reverse("portal:team_set_role", args=[world_a.customer_admin.pk]),
        {"role": "customer_user"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    world_a.customer_admin.refresh_from_db()
    assert world_a.customer_admin.role == Role.CUSTOMER_USER
    assert client.get(reverse("portal:team")).status_code == 403


def test_the_service_keeps_an_active_admin_whoever_asks(world_a):
    """The rule is the service's: with the other administrator deactivated, the remaining one
    cannot step down."""
    second = customer_user(world_a.company, admin=True)
    User.objects.filter(pk=world_a.customer_admin.pk).update(is_active=False)
    with tenant_context(world_a.tenant), pytest.raises(ApplicationError) as raised:
        services.customer_user_set_role(user=second, role=Role.CUSTOMER_USER, actor=second)
    assert raised.value.code == "last_admin"
    second.refresh_from_db()
    assert second.role == Role.CUSTOMER_ADMIN


@pytest.mark.parametrize("role", ["agent", "tenant_admin", "", "nonsense"])
def test_a_role_that_is_no_customer_role_is_refused(world_a, login, role):
    client = login(world_a.customer_admin)
    response = client.post(
        reverse("portal:team_set_role", args=[world_a.colleague.pk]), {"role": role}, follow=True
    )
    assert response.status_code == 200
    assert "Choose a customer role." in visible_text(response)
    world_a.colleague.refresh_from_db()
    assert world_a.colleague.role == Role.CUSTOMER_USER


@pytest.mark.parametrize("target", ["other_company_user", "other_tenant_user", "agent"])
def test_foreign_users_role_answers_404_and_nothing_changes(world_a, world_b, login, target):
    user = {
        "other_company_user": world_a.other_company_user,
        "other_tenant_user": world_b.customer,
        "agent": world_a.agent,
    }[target]
    before = user.role
    client = login(world_a.customer_admin)
    response = client.post(
        reverse("portal:team_set_role", args=[user.pk]), {"role": "customer_admin"}
    )
    assert response.status_code == 404
    user.refresh_from_db()
    assert user.role == before
    assert not AuditEvent.objects.filter(action=AuditAction.USER_ROLE_CHANGED).exists()


def test_a_customer_user_may_not_change_roles_or_resend(world_a, login):
    invitation = _pending(world_a, "someone@buyer.example")
    client = login(world_a.customer)
    response = client.post(
        reverse("portal:team_set_role", args=[world_a.customer.pk]), {"role": "customer_admin"}
    )
    assert response.status_code == 403
    response = client.post(reverse("portal:team_invitation_resend", args=[invitation.pk]))
    assert response.status_code == 403
    world_a.customer.refresh_from_db()
    assert world_a.customer.role == Role.CUSTOMER_USER
    invitation.refresh_from_db()
    assert invitation.times_sent == 1


def test_posts_without_the_csrf_token_are_refused(world_a):
    invitation = _pending(world_a, "someone@buyer.example")
    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.customer_admin)
    for url, data in [
        (reverse("portal:team_set_role", args=[world_a.colleague.pk]), {"role": "customer_admin"}),
        (reverse("portal:team_set_active", args=[world_a.colleague.pk]), {"active": "0"}),
        (reverse("portal:team_invitation_resend", args=[invitation.pk]), {}),
    ]:
        assert client.post(url, data).status_code == 403
    world_a.colleague.refresh_from_db()
    assert world_a.colleague.role == Role.CUSTOMER_USER and world_a.colleague.is_active
    invitation.refresh_from_db()
    assert invitation.times_sent == 1


def test_get_is_not_allowed_on_the_actions(world_a, login):
    invitation = _pending(world_a, "someone@buyer.example")
    client = login(world_a.customer_admin)
    assert (
        client.get(reverse("portal:team_set_role", args=[world_a.colleague.pk])).status_code == 405
    )
    url = reverse("portal:team_invitation_resend", args=[invitation.pk])
    assert client.get(url).status_code == 405


# --- sending an invitation again --------------------------------------------------------


def _pending(world, email: str, *, actor=None) -> TeamInvitation:
    with tenant_context(world.tenant):
        services.customer_user_create(
            customer_account=world.company,
            email=email,
            full_name="Zaproszona Osoba",
            role=Role.CUSTOMER_USER,
            language="pl",
            actor=actor or world.customer_admin,
            base_url="http://testserver/",
        )
    return TeamInvitation.unscoped.get(customer_account=world.company, email=email)


def test_resend_sends_a_new_link_through_the_invitation(
    world_a, login, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = _pending(world_a, "late@buyer.example")
    _age_invitation(invitation, INVITATION_RESEND_INTERVAL)
    mailoutbox.clear()
    client = login(world_a.customer_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:team_invitation_resend", args=[invitation.pk]), follow=True
        )
    assert "We sent the invitation to late@buyer.example again." in visible_text(response)
    assert [message.to for message in mailoutbox] == [["late@buyer.example"]]
    assert "/accounts/password/reset/" in mailoutbox[0].body
    before = invitation.last_sent_at
    invitation.refresh_from_db()
    assert invitation.times_sent == 2
    assert invitation.last_sent_at > before
    assert User.objects.filter(email="late@buyer.example").count() == 1


def test_resend_again_too_soon_says_when_and_sends_nothing(
    world_a, login, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = _pending(world_a, "late@buyer.example")
    mailoutbox.clear()
    client = login(world_a.customer_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:team_invitation_resend", args=[invitation.pk]), follow=True
        )
    sent = formats.time_format(timezone.localtime(invitation.last_sent_at))
    again = formats.time_format(
        timezone.localtime(invitation.last_sent_at + INVITATION_RESEND_INTERVAL)
    )
    assert (
        f"The invitation to late@buyer.example was sent at {sent}. You can send it again "
        f"from {again}." in visible_text(response)
    )
    assert mailoutbox == []
    invitation.refresh_from_db()
    assert invitation.times_sent == 1


def test_resend_is_guarded_by_the_clock_passed_in(world_a, mailoutbox):
    invitation = _pending(world_a, "late@buyer.example")
    just_before = (
        invitation.last_sent_at + INVITATION_RESEND_INTERVAL - datetime.timedelta(seconds=1)
    )
    with tenant_context(world_a.tenant):
        with pytest.raises(ApplicationError) as raised:
            services.customer_invitation_resend(
                invitation=invitation,
                actor=world_a.customer_admin,
                base_url="http://testserver/",
                now=just_before,
            )
        assert raised.value.code == "too_soon"
        at = invitation.last_sent_at + INVITATION_RESEND_INTERVAL
        resent = services.customer_invitation_resend(
            invitation=invitation, actor=world_a.customer_admin, base_url="http://x/", now=at
        )
    assert resent.last_sent_at == at
    assert resent.times_sent == 2


def test_resend_to_an_address_with_an_account_elsewhere_sends_the_notice_again(
    world_a, world_b, login, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = _pending(world_a, world_b.customer.email)
    _age_invitation(invitation, INVITATION_RESEND_INTERVAL)
    mailoutbox.clear()
    client = login(world_a.customer_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:team_invitation_resend", args=[invitation.pk]), follow=True
        )
    assert f"We sent the invitation to {world_b.customer.email} again." in visible_text(response)
    assert [message.to for message in mailoutbox] == [[world_b.customer.email]]
    assert "/accounts/password/reset/" not in mailoutbox[0].body
    assert (
        not CustomerMembership.unscoped.filter(customer_account=world_a.company)
        .filter(user=world_b.customer)
        .exists()
    )


def test_resend_of_a_member_who_has_joined_answers_404(world_a, login, mailoutbox):
    invitation = _pending(world_a, "joined@buyer.example")
    joined = User.objects.get(email="joined@buyer.example")
    joined.set_password(PASSWORD)
    joined.save()
    mailoutbox.clear()
    client = login(world_a.customer_admin)
    response = client.post(reverse("portal:team_invitation_resend", args=[invitation.pk]))
    assert response.status_code == 404
    assert mailoutbox == []


@pytest.mark.parametrize("whose", ["other_company", "other_tenant"])
def test_resend_of_another_companys_invitation_answers_404(
    world_a, world_b, login, mailoutbox, django_capture_on_commit_callbacks, whose
):
    if whose == "other_company":
        admin = customer_user(world_a.other_company, admin=True)
        with tenant_context(world_a.tenant):
            services.customer_user_create(
                customer_account=world_a.other_company,
                email="theirs@buyer.example",
                full_name="X",
                role=Role.CUSTOMER_USER,
                language="en",
                actor=admin,
                base_url="http://testserver/",
            )
        invitation = TeamInvitation.unscoped.get(email="theirs@buyer.example")
    else:
        invitation = _pending(world_b, "theirs@buyer.example")
    _age_invitation(invitation, INVITATION_RESEND_INTERVAL)
    mailoutbox.clear()
    client = login(world_a.customer_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:team_invitation_resend", args=[invitation.pk]))
    assert response.status_code == 404
    assert mailoutbox == []
    invitation.refresh_from_db()
    assert invitation.times_sent == 1


def test_every_invitation_is_in_the_audit_log(world_a):
    invitation = _pending(world_a, "late@buyer.example")
    with tenant_context(world_a.tenant):
        services.customer_invitation_resend(
            invitation=invitation,
            actor=world_a.customer_admin,
            base_url="http://x/",
            now=invitation.last_sent_at + INVITATION_RESEND_INTERVAL,
        )
    events = AuditEvent.objects.filter(action=AuditAction.USER_INVITED)
    assert [event.details["email"] for event in events] == ["late@buyer.example"] * 2


def test_team_table_header(world_a, login):
    rows = table_rows(login(world_a.customer_admin).get(reverse("portal:team")), "table.team")
    assert rows[0] == [
        "Name",
        "E-mail",
        "Role",
        "Status",
        "Invitation sent",
        "Last sign-in",
        "Actions",
    ]
