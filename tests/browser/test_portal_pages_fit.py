"""Every page of the customer portal fits the screen and passes axe-core, on a desktop
(1366 × 900) and a phone (390 × 844), with the checks of test_staff_pages_fit.py: the document
is no wider than the window, no box in it scrolls sideways, and axe-core finds no violation of
impact "serious" or "critical".

The pages are not listed by hand: every route of the portal's URL namespace is opened, each
case page for every state the data has, so a page added later is covered without a change
here. A route whose address needs a value this test cannot fill fails the test (say here how
to fill it); a route that is no page (a POST-only action, a download) is recognised by its
answer (405, or not HTML) and skipped. The pages around the portal (signing in, the password
reset, the security page, the survey) are opened too.

The customer is the company's administrator (who sees every page, the team included), with
long company, person and subject names, so a layout that cannot wrap them shows. Every
problem of every page is reported at once.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from customers import services as customer_services
from customers.models import Order, OrderLine, TeamInvitation
from rma_portal.accounts.models import Role
from rma_portal.tenancy.context import tenant_context
from tests.browser.test_staff_pages_fit import (
    SCREENS,
    _check,
    delivered_order,  # noqa: F401 - fixtures of the staff pages' data, shared
    file_return,  # noqa: F401
    policy_a,  # noqa: F401
    staff_data,  # noqa: F401
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Pages that answer a GET but are asked for by the pages' scripts, not opened by a person.
NOT_PAGES = {"portal:order_search"}


def _portal_routes() -> list[tuple[str, URLPattern]]:
    """(name, pattern) of every named route in the portal's namespace."""
    resolver = get_resolver()
    _prefix, portal = resolver.namespace_dict["portal"]
    routes = []

    def walk(patterns, namespace):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(
                    entry.url_patterns,
                    f"{namespace}:{entry.namespace}" if entry.namespace else namespace,
                )
            elif entry.name:
                routes.append((f"{namespace}:{entry.name}", entry))

    walk(portal.url_patterns, "portal")
    return sorted(routes, key=lambda route: route[0])


def _values(world, returns, complaints) -> dict[str, list]:
    """The values each URL parameter takes: every case of the data (one per state)."""
    order = Order.unscoped.filter(customer_account=world.company).order_by("pk").first()
    # An invitation not taken up, for the team list's "send again" action.
    with tenant_context(world.tenant):
        customer_services.customer_user_create(
            customer_account=world.company,
            email="invited.colleague@buyer.example",
            full_name="Invited Colleague",
            role=Role.CUSTOMER_USER,
            language="en",
            actor=world.customer_admin,
            base_url="http://testserver/",
        )
    invitation = TeamInvitation.unscoped.get(customer_account=world.company)
    return {
        "return_id": [r.pk for r in returns.values()],
        "complaint_id": [c.pk for c in complaints],
        "order_id": [order.pk],
        "user_id": [world.colleague.pk],
        "invitation_id": [invitation.pk],
    }


def _urls(world, returns, complaints) -> tuple[list[tuple[str, str]], list[str]]:
    values = _values(world, returns, complaints)
    urls, unfillable = [], []
    for name, pattern in _portal_routes():
        if name in NOT_PAGES:
            continue
        parameters = list(pattern.pattern.converters)
        if any(parameter not in values for parameter in parameters):
            if parameters == ["return_id", "attachment_id"] or parameters == [
                "complaint_id",
                "attachment_id",
            ]:
                continue  # a file download: its page shows it (checked there)
            unfillable.append(f"{name}: {parameters}")
            continue
        if not parameters:
            urls.append((name, reverse(name)))
            continue
        first, *rest = parameters
        for value in values[first]:
            kwargs = {first: value, **{other: values[other][0] for other in rest}}
            urls.append((name, reverse(name, kwargs=kwargs)))
    return urls, unfillable


@SCREENS
def test_every_portal_page_fits_the_screen_and_passes_axe(
    page,
    sign_in,
    staff_data,  # noqa: F811
    delivered_order,  # noqa: F811
    file_return,  # noqa: F811
    viewport,
):
    world, returns, complaints = staff_data
    # A draft of the administrator's own, for the return wizard's steps.
    line = OrderLine.unscoped.get(order=delivered_order, line_number=2)
    returns = {
        **returns,
        "draft": file_return(
            world.customer_admin,
            world.company,
            [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
            submit=False,
        ),
    }
    world.customer_admin.full_name = world.customer.full_name + " (administrator)"
    world.customer_admin.save(update_fields=["full_name"])
    problems: list[str] = []
    urls, unfillable = _urls(world, returns, complaints)
    assert not unfillable, "routes this test cannot fill (say how in _values):\n" + "\n".join(
        unfillable
    )

    # Before signing in: the sign-in page and the password reset.
    for url in (reverse("accounts:login"), reverse("accounts:password_reset")):
        response = page.goto(page.base_url + url)
        assert response is not None and response.ok, (url, response and response.status)
        _check(page, page.url, problems)

    sign_in(page, world.customer_admin)
    extra = [("accounts:security", reverse("accounts:security"))]
    extra.append(("accounts:password_change", reverse("accounts:password_change")))
    opened, answered = [], set()
    for name, url in [*urls, *extra]:
        # Asked first with the page's cookies: the browser shows no page for an empty 405.
        answer = page.request.get(page.base_url + url, max_redirects=0)
        if answer.status in (302, 404):
            # Not in this case's state (a label before approval, the wizard's steps of a
            # submitted return): another case of the data has it.
            continue
        answered.add(name)
        if answer.status == 405:
            continue  # an action: its form is on a page opened here
        assert answer.ok, (url, answer.status)
        if "text/html" not in (answer.headers.get("content-type") or ""):
            continue  # a download (a label, a document)
        response = page.goto(page.base_url + url)
        assert response is not None and response.ok, (url, response and response.status)
        opened.append(url)
        _check(page, page.url, problems)
    never = sorted({name for name, _url in urls} - answered)
    assert not never, f"routes no case of the data answers (404 for each): {never}"

    # The pages every customer works in were among them (the walk found the routes).
    for name in ("portal:home", "portal:return_list", "portal:complaint_list", "portal:team"):
        assert reverse(name) in opened, name
    assert sum("/returns/" in url for url in opened) > len(returns)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
