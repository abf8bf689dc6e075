"""The site's languages (settings.LANGUAGES) and the ones each tenant offers its customers:
the tenant setting and its validation, who may edit it, the switchers, the team page's
language choice, how a portal page's language is resolved and the fallback of a customer
whose language the tenant no longer offers (docs/languages.md)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from returns import labels
from returns import services as return_services
from returns.models import ReturnRequest
from returns.selectors import tenant_today
from rma_portal.languages import (
    customer_language,
    language_codes,
    native_name,
    offered_languages,
)
from rma_portal.notifications import preferences
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.html import parse

pytestmark = pytest.mark.django_db


def offer(tenant, codes, *, default=None):
    if default is not None:
        tenant.default_language = default
    tenant.offered_languages = codes
    tenant.full_clean()
    tenant.save()


def speak(user, language):
    user.language = language
    user.save(update_fields=["language"])


def switcher_codes(page) -> list[str]:
    return [button["value"] for button in parse(page).select(".lang-switch button")]


# --- the setting ----------------------------------------------------------------------------


def test_the_site_speaks_english_polish_and_russian():
    assert language_codes() == ["en", "pl", "ru"]
    assert native_name("ru") == "Русский" and native_name("pl") == "polski"


def test_a_tenant_offers_every_language_until_it_chooses(world_a):
    assert world_a.tenant.offered_languages == []
    assert offered_languages(world_a.tenant) == ["en", "pl", "ru"]
    offer(world_a.tenant, ["ru", "pl", "ru"], default="pl")
    world_a.tenant.refresh_from_db()
    # In the order of settings.LANGUAGES, once each.
    assert world_a.tenant.offered_languages == ["pl", "ru"]
    assert offered_languages(world_a.tenant) == ["pl", "ru"]


@pytest.mark.parametrize(
    ("offered", "message"),
    [
        (["en"], "Offer the default language (Polish) too, or choose another default language."),
        (["pl", "xx"], "Not a language of this site: xx."),
        ("pl", "Give the offered languages as a list of codes."),
        ([1], "Give the offered languages as a list of codes."),
    ],
)
def test_a_wrong_choice_is_refused_with_a_clear_message(world_a, offered, message):
    tenant = world_a.tenant
    tenant.default_language = "pl"
    tenant.offered_languages = offered
    with pytest.raises(ValidationError) as caught:
        tenant.full_clean()
    assert caught.value.message_dict == {"offered_languages": [message]}
    assert Tenant.objects.get(pk=tenant.pk).offered_languages == []


def test_a_language_settings_no_longer_list_is_not_offered(world_a, settings):
    offer(world_a.tenant, ["en", "ru"], default="en")
    settings.LANGUAGES = [("en", "English"), ("pl", "Polish")]
    assert offered_languages(world_a.tenant) == ["en"]
    # Nothing it chose is left: every language of the site again.
    offer(world_a.tenant, [], default="en")
    Tenant.objects.filter(pk=world_a.tenant.pk).update(offered_languages=["ru"])
    world_a.tenant.refresh_from_db()
    assert offered_languages(world_a.tenant) == ["en", "pl"]


def test_a_customer_whose_language_is_not_offered_gets_the_tenant_default(world_a):
    offer(world_a.tenant, ["en", "pl"], default="pl")
    speak(world_a.customer, "ru")
    assert world_a.customer.preferred_language == "pl"
    assert customer_language(world_a.tenant, "en") == "en"
    # Staff keep every language of the site.
    speak(world_a.agent, "ru")
    assert world_a.agent.preferred_language == "ru"


# --- the back-office ------------------------------------------------------------------------


def _tenant_form_data(client, tenant) -> tuple[str, dict]:
    url = reverse("admin:tenancy_tenant_change", args=[tenant.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    return url, {
        name: value if isinstance(value, list) else (value or "") for name, value in data.items()
    }


def test_tenant_admin_chooses_the_offered_languages_as_tick_boxes(world_a, login):
    client = login(world_a.tenant_admin)
    url, data = _tenant_form_data(client, world_a.tenant)
    page = parse(client.get(url))
    boxes = page.select('input[type="checkbox"][name="offered_languages"]')
    # Every language of the site, named in itself, all ticked while the tenant chose none.
    assert [box["value"] for box in boxes] == ["en", "pl", "ru"]
    assert all("checked" in box.attrs for box in boxes)
    assert "Русский" in page.text

    data.update(default_language="pl", offered_languages=["pl", "ru"])
    response = client.post(url, data)
    assert response.status_code == 302
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.offered_languages == ["pl", "ru"]

    # Every one ticked is every one, including languages added later.
    data.update(offered_languages=["en", "pl", "ru"])
    assert client.post(url, data).status_code == 302
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.offered_languages == []


@pytest.mark.parametrize(
    ("offered", "message"),
    [
        (["en"], "Offer the default language (Polish) too, or choose another default language."),
        ([], "Offer at least one language."),
        (["pl", "xx"], "Select a valid choice. xx is not one of the available choices."),
    ],
)
def test_a_wrong_choice_in_the_back_office_changes_nothing(world_a, login, offered, message):
    offer(world_a.tenant, ["en", "pl"], default="pl")
    speak(world_a.tenant_admin, "en")
    client = login(world_a.tenant_admin)
    url, data = _tenant_form_data(client, world_a.tenant)
    data.update(offered_languages=offered, brand_colour="#654321")
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {"offered_languages": [message]}
    assert message in parse(response).text
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.offered_languages == ["en", "pl"]
    assert world_a.tenant.brand_colour != "#654321"


def test_a_tenant_admin_cannot_change_another_tenants_languages(world_a, world_b, login):
    offer(world_b.tenant, ["en", "pl"], default="pl")
    client = login(world_a.tenant_admin)
    _url, data = _tenant_form_data(client, world_a.tenant)
    foreign = reverse("admin:tenancy_tenant_change", args=[world_b.tenant.pk])
    data.update(default_language="en", offered_languages=["en"])
    assert client.get(foreign).status_code == 404
    assert client.post(foreign, data).status_code == 404
    world_b.tenant.refresh_from_db()
    assert world_b.tenant.offered_languages == ["en", "pl"]
    assert world_b.tenant.default_language == "pl"


def test_an_agent_cannot_change_the_offered_languages(world_a, login):
    client = login(world_a.agent)
    url = reverse("admin:tenancy_tenant_change", args=[world_a.tenant.pk])
    assert client.post(url, {"offered_languages": ["en"]}).status_code in (403, 404)
    world_a.tenant.refresh_from_db()
    assert world_a.tenant.offered_languages == []


# --- the switchers --------------------------------------------------------------------------


def test_the_portal_switcher_offers_the_tenants_languages_and_staff_all(world_a, login):
    offer(world_a.tenant, ["en", "pl"], default="pl")
    client = login(world_a.customer)
    page = client.get(reverse("portal:home"))
    assert switcher_codes(page) == ["en", "pl"]
    titles = [b["title"] for b in parse(page).select(".lang-switch button")]
    assert titles == ["English", "polski"]

    client.logout()
    staff = login(world_a.agent)
    assert switcher_codes(staff.get(reverse("admin:index"))) == ["en", "pl", "ru"]


def test_a_customer_cannot_switch_to_a_language_not_offered(world_a, login):
    offer(world_a.tenant, ["en", "pl"], default="pl")
    speak(world_a.customer, "en")
    client = login(world_a.customer)
    home = reverse("portal:home")
    response = client.post(reverse("accounts:set_language"), {"language": "ru", "next": home})
    assert response.status_code == 302 and response["Location"] == home
    world_a.customer.refresh_from_db()
    assert world_a.customer.language == "en"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert client.get(home)["Content-Language"] == "en"

    client.post(reverse("accounts:set_language"), {"language": "pl", "next": home})
    world_a.customer.refresh_from_db()
    assert world_a.customer.language == "pl"
    assert client.get(home)["Content-Language"] == "pl"


def test_staff_may_switch_to_any_language(world_a, login):
    offer(world_a.tenant, ["en", "pl"], default="pl")
    client = login(world_a.agent)
    client.post(reverse("accounts:set_language"), {"language": "ru", "next": "/backoffice/"})
    world_a.agent.refresh_from_db()
    assert world_a.agent.language == "ru"
    assert client.get(reverse("admin:index"))["Content-Language"] == "ru"


# --- a portal page's language ---------------------------------------------------------------


def test_a_stored_language_no_longer_offered_falls_back_to_the_default(world_a, login):
    speak(world_a.customer, "ru")
    client = login(world_a.customer)  # the sign-in remembers Russian in the cookie
    assert client.get(reverse("portal:home"))["Content-Language"] == "ru"

    offer(world_a.tenant, ["en", "pl"], default="pl")
    page = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "pl"
    assert '<html lang="pl">' in page.content.decode()


def test_the_browser_language_counts_only_among_the_offered(world_a, login):
    offer(world_a.tenant, ["en", "pl"], default="pl")
    client = login(world_a.customer)  # no language of their own: the cookie holds "pl"
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)
    home = reverse("portal:home")
    assert client.get(home, HTTP_ACCEPT_LANGUAGE="ru, en;q=0.5")["Content-Language"] == "en"
    assert client.get(home, HTTP_ACCEPT_LANGUAGE="ru")["Content-Language"] == "pl"
    assert client.get(home, HTTP_ACCEPT_LANGUAGE="pl-PL")["Content-Language"] == "pl"


def test_staff_pages_follow_the_browser_among_every_language(world_a, login):
    offer(world_a.tenant, ["en", "pl"], default="pl")
    client = login(world_a.agent)
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)
    assert client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="ru")["Content-Language"] == (
        "ru"
    )


# --- the team page's language choice --------------------------------------------------------


def test_the_team_page_offers_the_tenants_languages(world_a, login):
    offer(world_a.tenant, ["en", "pl"], default="pl")
    world_a.company.preferred_language = "ru"
    world_a.company.save(update_fields=["preferred_language"])
    client = login(world_a.customer_admin)
    page = parse(client.get(reverse("portal:team")))
    options = page.select('select[name="language"] option')
    assert [(o["value"], o.text) for o in options] == [("en", "English"), ("pl", "polski")]
    # The company's language is not offered: the tenant's default is chosen.
    assert [o["value"] for o in options if "selected" in o.attrs] == ["pl"]

    response = client.post(
        reverse("portal:team"),
        {
            "full_name": "Ivan",
            "email": "ivan@example.com",
            "role": "customer_user",
            "language": "ru",
        },
    )
    assert response.status_code == 200
    assert parse(response).select('.field.has-error select[name="language"]')
    assert not type(world_a.customer).objects.filter(email="ivan@example.com").exists()


# --- PDFs -----------------------------------------------------------------------------------


def test_a_label_is_in_the_default_language_when_the_requesters_is_not_offered(world_a):
    tenant = world_a.tenant
    offer(tenant, ["en", "pl"], default="pl")
    speak(world_a.customer, "ru")
    today = tenant_today(tenant)
    order = OrderFactory(
        tenant=tenant,
        customer_account=world_a.company,
        order_date=today - datetime.timedelta(days=7),
        delivery_date=today - datetime.timedelta(days=5),
    )
    line = OrderLineFactory(
        tenant=tenant,
        order=order,
        line_number=1,
        product=ProductFactory(tenant=tenant, unit_price=Decimal("10.00")),
        quantity=5,
    )
    with tenant_context(tenant):
        rma = return_services.return_request_create(
            customer_account=world_a.company,
            requester=world_a.customer,
            lines=[
                return_services.LineInput(
                    order_line_id=line.pk, quantity=1, reason="ordered_by_mistake"
                )
            ],
            requested_resolution="refund",
            return_method="drop_off",
        )
        return_services.return_request_submit(return_request=rma, actor=world_a.customer)
        rma = ReturnRequest.unscoped.select_related("tenant").get(pk=rma.pk)
        html = labels.return_label_html(
            return_request=rma, lines=labels.return_label_lines(return_request=rma)
        )
    assert '<html lang="pl">' in html
    assert "Przesyłka zwrotna" in html


# --- the profile's language choice ----------------------------------------------------------

EVERY_KIND_AT_ONCE = dict.fromkeys(preferences.KIND_KEYS, "immediately")
EVERY_KIND_IN_THE_DIGEST = dict.fromkeys(preferences.KIND_KEYS, "digest")


def test_the_profile_offers_the_tenants_languages_and_saves_the_choice(world_a, login):
    offer(world_a.tenant, ["en", "pl"], default="en")
    speak(world_a.customer, "ru")
    client = login(world_a.customer)
    url = reverse("portal:profile")
    options = parse(client.get(url)).select('select[name="language"] option')
    assert [(o["value"], o.text) for o in options] == [("en", "English"), ("pl", "polski")]
    # Russian is no longer offered: the tenant's default is what they are served in.
    assert [o["value"] for o in options if "selected" in o.attrs] == ["en"]

    response = client.post(url, {**EVERY_KIND_AT_ONCE, "language": "pl"})
    assert response.status_code == 302
    world_a.customer.refresh_from_db()
    assert world_a.customer.language == "pl"
    assert client.get(url)["Content-Language"] == "pl"

    # A form without the language leaves it as it is.
    assert client.post(url, EVERY_KIND_IN_THE_DIGEST).status_code == 302
    world_a.customer.refresh_from_db()
    assert world_a.customer.language == "pl"
    assert world_a.customer.email_preferences == EVERY_KIND_IN_THE_DIGEST


def test_the_profile_refuses_a_language_not_offered_and_changes_nothing(world_a, login):
    offer(world_a.tenant, ["en", "pl"], default="en")
    speak(world_a.customer, "en")
    client = login(world_a.customer)
    before = dict(world_a.customer.email_preferences or {})
    response = client.post(
        reverse("portal:profile"), {**EVERY_KIND_IN_THE_DIGEST, "language": "ru"}
    )
    assert response.status_code == 200
    assert parse(response).select('.field.has-error select[name="language"]')
    assert "Select a valid choice. ru is not one of the available choices." in (
        parse(response).text
    )
    world_a.customer.refresh_from_db()
    assert world_a.customer.language == "en"
    assert (world_a.customer.email_preferences or {}) == before
