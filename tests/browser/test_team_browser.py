"""The portal's team page in headless Chromium, on a desktop (1366 × 900) and a phone
(390 × 844): a customer admin sees members and invitations with their state, invites a
colleague, changes a role, sends an invitation again (and is told to wait when too soon);
every step fits the screen and has no serious or critical axe-core finding."""

from __future__ import annotations

import pytest
from django.urls import reverse

from customers.models import TeamInvitation
from customers.services.users import INVITATION_RESEND_INTERVAL
from rma_portal.accounts.models import Role
from tests.browser.test_staff_pages_fit import LONG_COMPANY, LONG_PERSON, _check
from tests.factories import customer_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)


def _fits(page, problems: list[str]) -> None:
    _check(page, page.url, problems)


def _row(page, email: str):
    return page.locator("table.team tbody tr").filter(has=page.locator("td", has_text=email))


@SCREENS
def test_a_customer_admin_manages_the_team(page, sign_in, world_a, viewport):
    problems: list[str] = []
    world_a.company.name = LONG_COMPANY
    world_a.company.save(update_fields=["name"])
    long_named = customer_user(
        world_a.company,
        full_name=LONG_PERSON,
        email="bardzo.dlugi.adres.osoby.z.dzialu.reklamacji@przedsiebiorstwo-przyklad.example",
        is_active=False,
    )

    sign_in(page, world_a.customer_admin)
    page.goto(page.base_url + reverse("portal:team"))
    assert _row(page, long_named.email).get_attribute("data-state") == "deactivated"
    _fits(page, problems)

    # invite a colleague: listed as invited, never signed in
    page.fill("#id_full_name", "Nowa Osoba z Działu Jakości")
    page.fill("#id_email", "nowa.osoba@buyer.example")
    with page.expect_navigation():
        page.get_by_role("button", name="Add colleague").click()
    assert "We sent an e-mail to nowa.osoba@buyer.example." in page.inner_text("main")
    invited = _row(page, "nowa.osoba@buyer.example")
    assert invited.get_attribute("data-state") == "invited"
    assert invited.locator("td").nth(5).inner_text().endswith("never")
    _fits(page, problems)

    # sending it again at once is refused with the time it may be sent again
    with page.expect_navigation():
        invited.get_by_role("button", name="Send invitation again").click()
    assert "You can send it again from" in page.inner_text("main")
    _fits(page, problems)

    # later (the invitation's time moved back), it goes out again
    invitation = TeamInvitation.unscoped.get(email="nowa.osoba@buyer.example")
    TeamInvitation.unscoped.filter(pk=invitation.pk).update(
        last_sent_at=invitation.last_sent_at - INVITATION_RESEND_INTERVAL
    )
    with page.expect_navigation():
        _row(page, "nowa.osoba@buyer.example").get_by_role(
            "button", name="Send invitation again"
        ).click()
    assert "We sent the invitation to nowa.osoba@buyer.example again." in page.inner_text("main")

    # make a colleague an admin
    colleague = _row(page, world_a.colleague.email)
    colleague.get_by_label(f"Role of {world_a.colleague.get_full_name()}").select_option(
        Role.CUSTOMER_ADMIN
    )
    with page.expect_navigation():
        colleague.get_by_role("button", name="Change role").click()
    assert f"{world_a.colleague.email} is now: Customer admin." in page.inner_text("main")
    world_a.colleague.refresh_from_db()
    assert world_a.colleague.role == Role.CUSTOMER_ADMIN
    _fits(page, problems)

    assert problems == []
