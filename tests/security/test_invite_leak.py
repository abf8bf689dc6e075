"""Inviting a colleague never tells a customer admin whether an address has an account
somewhere on the platform; the back-office refuses a taken address without saying where."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from customers.models import CustomerMembership, TeamInvitation
from rma_portal.accounts.models import User
from tests.html import parse, texts

pytestmark = pytest.mark.django_db

FRESH = "new.colleague@buyer.example"


def _invite(client, email: str):
    return client.post(
        reverse("portal:team"),
        {"full_name": "Nowy Kolega", "email": email, "role": "customer_user", "language": "en"},
    )


def _what_the_admin_sees(client, response, email: str) -> tuple:
    """The answer to the invitation and the page it leads to (the team list, with the
    invitation as invited), the typed address and the time it was sent blanked."""
    assert response.status_code == 302, response.status_code
    page = client.get(response["Location"])
    text = parse(page).select_one("main").text.replace(email.lower(), "<address>")
    for invitation in TeamInvitation.unscoped.filter(email=email.lower()):
        sent = formats.date_format(
            timezone.localtime(invitation.last_sent_at), "SHORT_DATETIME_FORMAT"
        )
        text = text.replace(" ".join(sent.split()), "<sent>")
    return response.status_code, response["Location"], page.status_code, text


def _accounts() -> list[tuple]:
    return list(
        User.objects.order_by("pk").values_list("pk", "email", "full_name", "tenant_id", "role")
    )


@pytest.fixture
def sent(mailoutbox, django_capture_on_commit_callbacks):
    """Runs a call, commits (sending its e-mails) and returns the e-mails it sent."""

    def _run(call):
        start = len(mailoutbox)
        with django_capture_on_commit_callbacks(execute=True):
            result = call()
        return result, mailoutbox[start:]

    return _run


def test_answers_for_fresh_and_taken_addresses_are_indistinguishable(
    world_a, world_b, superuser, login, sent
):
    client = login(world_a.customer_admin)
    taken = {
        "another tenant's customer": world_b.customer.email,
        "another tenant's staff": world_b.tenant_admin.email,
        "another company of the same tenant": world_a.other_company_user.email,
        "staff of the same tenant": world_a.agent.email,
        "a platform superuser": superuser.email,
    }
    memberships = CustomerMembership.unscoped.count()
    accounts = _accounts()

    response, mails = sent(lambda: _invite(client, FRESH.upper()))
    fresh = _what_the_admin_sees(client, response, FRESH)
    # The fresh address is invited: an account waiting for its password, a link to set it.
    invited = User.objects.get(email=FRESH)
    assert invited.tenant == world_a.tenant and not invited.has_usable_password()
    assert [mail.to for mail in mails] == [[FRESH]]
    assert "/accounts/password/reset/" in mails[0].body
    accounts = _accounts()

    for kind, email in taken.items():
        # Each address is compared on a team list showing only its own invitation.
        TeamInvitation.unscoped.filter(customer_account=world_a.company).delete()
        response, mails = sent(lambda email=email: _invite(client, email.upper()))
        assert _what_the_admin_sees(client, response, email) == fresh, kind
        # Nothing is created or changed; the owner hears who tried, and gets no link.
        assert _accounts() == accounts, kind
        assert CustomerMembership.unscoped.count() == memberships + 1, kind
        assert [mail.to for mail in mails] == [[email]], kind
        notice = mails[0]
        assert "Someone tried to add your e-mail address" in notice.subject, kind
        assert world_a.company.name in notice.body and "no invitation was sent" in notice.body
        assert "/accounts/password/" not in notice.body, kind


def test_the_team_list_shows_an_invited_colleague_as_a_member_once_they_chose_a_password(
    world_a, login, sent
):
    client = login(world_a.customer_admin)
    sent(lambda: _invite(client, FRESH))
    page = client.get(reverse("portal:team"))
    assert texts(page, "tr[data-state=invited] td")[1] == FRESH
    assert texts(page, "tr[data-state=active] td").count(FRESH) == 0

    invited = User.objects.get(email=FRESH)
    invited.set_password("Chosen-pass-123")
    invited.save()
    page = client.get(reverse("portal:team"))
    assert FRESH in texts(page, "tr[data-state=active] td")
    assert texts(page, "tr[data-state=invited] td") == []


def test_inviting_a_pending_colleague_again_sends_the_invitation_again(world_a, login, sent):
    client = login(world_a.customer_admin)
    first, _ = sent(lambda: _invite(client, FRESH))
    first = _what_the_admin_sees(client, first, FRESH)
    again, mails = sent(lambda: _invite(client, FRESH))
    assert _what_the_admin_sees(client, again, FRESH) == first
    assert User.objects.filter(email=FRESH).count() == 1
    assert [mail.to for mail in mails] == [[FRESH]]
    assert "/accounts/password/reset/" in mails[0].body


def test_the_notice_speaks_the_owners_language(world_a, world_b, login, sent):
    owner = world_b.customer
    owner.language = "pl"
    owner.save(update_fields=["language"])
    client = login(world_a.customer_admin)
    _, mails = sent(lambda: _invite(client, owner.email))
    (notice,) = mails
    assert notice.to == [owner.email]
    with translation.override("pl"):
        expected = gettext("Someone tried to add your e-mail address to %(company)s")
    assert notice.subject == expected % {"company": world_a.company.name}


# --- the back-office ------------------------------------------------------------------------


def _create_in_backoffice(client, email: str, world):
    return client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": email,
            "full_name": "Fresh",
            "language": "en",
            "role": "customer_user",
            "customer_account": world.company.pk,
            "password1": "Very-long-pass-123",
            "password2": "Very-long-pass-123",
            "usable_password": "true",
        },
    )


def test_backoffice_refuses_a_taken_address_alike_wherever_it_is(
    world_a, world_b, superuser, login
):
    client = login(world_a.tenant_admin)
    accounts = _accounts()
    answers = {}
    for kind, email in {
        "own tenant": world_a.customer.email,
        "own tenant, other case": world_a.agent.email.upper(),
        "another tenant": world_b.customer.email,
        "another tenant, other case": world_b.tenant_admin.email.title(),
        "a platform superuser": superuser.email,
    }.items():
        response = _create_in_backoffice(client, email, world_a)
        form = response.context["adminform"].form
        answers[kind] = (response.status_code, tuple(form.errors.get("email", ())))
    assert set(answers.values()) == {
        (200, ("This e-mail address cannot be used: it already has an account.",))
    }, answers
    assert _accounts() == accounts


def test_backoffice_stores_a_new_address_lower_cased(world_a, login):
    client = login(world_a.tenant_admin)
    response = _create_in_backoffice(client, "Fresh.Person@Buyer.Example", world_a)
    assert response.status_code == 302
    assert User.objects.get(email="fresh.person@buyer.example").tenant == world_a.tenant
