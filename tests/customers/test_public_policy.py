"""The tenant's public return policy and FAQ page (/policy/<tenant slug>/): anyone may read it,
every figure comes from the policy in force at that request, in the reader's language, and one
tenant's page shows nothing of another's."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints.models import SlaPolicy, SupportSettings
from customers.models import FaqArticle
from customers.policy_page import render_faq_body
from returns.models import CategoryWindow, ReturnPolicy
from tests.factories import ProductCategoryFactory, ProductFactory
from tests.html import visible_text

pytestmark = pytest.mark.django_db


def policy_url(tenant, **query) -> str:
    url = reverse("policy:page", args=[tenant.slug])
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


@pytest.fixture
def alpha_policy(world_a):
    """Alpha: 21 days by default, tools 45, personalised goods not returnable, 12.5 % fee,
    free shipping for defects only, 18 months of warranty by default."""
    tenant = world_a.tenant
    policy = ReturnPolicy.unscoped.create(
        tenant=tenant,
        default_window_days=21,
        restocking_fee_percent=Decimal("12.5"),
        free_shipping_reasons=["defective"],
        allowed_reasons=["defective", "wrong_size"],
        allowed_resolutions=["refund", "replacement"],
        conditions_text="Alpha wants goods complete.",
        warranty_months=18,
        ship_within_days=33,
        decision_hours=19,
        refund_days=6,
    )
    tools = ProductCategoryFactory(tenant=tenant, code="tools", name="Alpha Tools")
    CategoryWindow.unscoped.create(tenant=tenant, policy=policy, category=tools, days=45)
    personalised = ProductCategoryFactory(
        tenant=tenant, code="personalised", name="Alpha Engraved", warranty_months=3
    )
    policy.non_returnable_categories.add(personalised)
    ProductFactory(tenant=tenant, category=tools, name="Alpha Custom Saw", is_returnable=False)
    return policy


@pytest.fixture
def beta_policy(world_b):
    tenant = world_b.tenant
    policy = ReturnPolicy.unscoped.create(
        tenant=tenant,
        default_window_days=77,
        restocking_fee_percent=Decimal("3"),
        conditions_text="Beta secret conditions.",
    )
    ProductCategoryFactory(tenant=tenant, code="beta-goods", name="Beta Goods")
    FaqArticle.unscoped.create(
        tenant=tenant, language="en", title="Beta question?", body="Beta answer."
    )
    return policy


def faq(tenant, title: str, *, language: str = "en", position: int = 100, published=True):
    return FaqArticle.unscoped.create(
        tenant=tenant,
        language=language,
        title=title,
        body=f"Answer to {title}",
        position=position,
        is_published=published,
    )


def test_anyone_reads_the_page_without_signing_in(client, world_a, alpha_policy):
    response = client.get(policy_url(world_a.tenant), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Language"] == "en"
    text = visible_text(response.content.decode())
    assert f"Returns and complaints at {world_a.tenant.name}" in text


def test_every_figure_comes_from_the_policy(client, world_a, alpha_policy):
    SupportSettings.unscoped.create(
        tenant=world_a.tenant,
        reopen_window_days=9,
        auto_close_days=11,
        day_start=datetime.time(7, 30),
        day_end=datetime.time(15, 30),
        working_weekdays=[0, 1, 2, 3],
    )
    SlaPolicy.unscoped.create(
        tenant=world_a.tenant,
        priority="normal",
        first_response_hours=Decimal("5.5"),
        resolution_hours=Decimal("27"),
    )
    text = visible_text(client.get(policy_url(world_a.tenant, lang="en")).content.decode())
    assert "within 21 days of their delivery" in text
    assert "Alpha wants goods complete." in text
    # Per category: the window, not returnable, the warranty (category's or the default).
    assert "Alpha Tools 45 days from delivery 18 months" in text
    assert "Alpha Engraved Not returnable 3 months" in text
    assert "Alpha Custom Saw" in text  # a product that is not returnable
    # Reasons: who pays the shipping, which carry the fee.
    assert "Defective / quality issue Paid by us None" in text
    assert "Wrong size or dimensions Paid by you 12.5 %" in text
    assert "Ordered by mistake" not in text  # not an allowed reason
    assert "The restocking fee is 12.5 %" in text
    assert "Refund, Replacement" in text
    assert "within 19 business hours of your request" in text
    assert "within 33 days of the approval" in text
    assert "within 6 working days of the goods' arrival" in text
    assert "carry 18 months of warranty" in text
    # Complaints: the tenant's targets, calendar and time limits.
    assert "Normal 5.5 h 27 h" in text
    assert "Urgent 2 h 8 h" in text  # no target of its own: the defaults the SLA uses
    assert "on Monday, Tuesday, Wednesday, Thursday (Europe/Warsaw)" in text
    assert "possible within 9 days of the resolution" in text
    assert "A resolved complaint closes 11 days after the resolution" in text


def test_a_policy_change_shows_on_the_next_request(client, world_a, alpha_policy):
    url = policy_url(world_a.tenant, lang="en")
    assert "within 21 days of their delivery" in visible_text(client.get(url).content.decode())
    ReturnPolicy.unscoped.filter(pk=alpha_policy.pk).update(
        default_window_days=30, restocking_fee_percent=Decimal("0")
    )
    CategoryWindow.unscoped.filter(policy=alpha_policy).update(days=60)
    text = visible_text(client.get(url).content.decode())
    assert "within 30 days of their delivery" in text
    assert "Alpha Tools 60 days from delivery" in text
    assert "restocking fee is" not in text


def test_a_tenant_without_a_policy_shows_the_engines_defaults(client, world_a):
    text = visible_text(client.get(policy_url(world_a.tenant, lang="en")).content.decode())
    assert "within 14 days of their delivery" in text  # policies.DEFAULT_WINDOW_DAYS
    assert "no warranty period of their own" in text


def test_the_readers_language_from_the_query_or_the_browser(client, world_a, alpha_policy):
    faq(world_a.tenant, "English question?")
    faq(world_a.tenant, "Polskie pytanie?", language="pl")
    polish = client.get(policy_url(world_a.tenant), HTTP_ACCEPT_LANGUAGE="pl")
    assert polish["Content-Language"] == "pl"
    text = visible_text(polish.content.decode())
    assert "Polskie pytanie?" in text and "English question?" not in text
    assert '<html lang="pl">' in polish.content.decode()
    english = client.get(policy_url(world_a.tenant, lang="en"), HTTP_ACCEPT_LANGUAGE="pl")
    text = visible_text(english.content.decode())
    assert "English question?" in text and "Polskie pytanie?" not in text
    assert "within 21 days of their delivery" in text
    # A language the site does not speak: the browser's.
    unknown = client.get(policy_url(world_a.tenant, lang="xx"), HTTP_ACCEPT_LANGUAGE="pl")
    assert unknown["Content-Language"] == "pl"


def test_the_faq_falls_back_to_the_tenants_language(client, world_a, alpha_policy):
    world_a.tenant.default_language = "pl"
    world_a.tenant.save()
    faq(world_a.tenant, "Tylko po polsku?", language="pl")
    response = client.get(policy_url(world_a.tenant, lang="en"))
    html = response.content.decode()
    assert "Tylko po polsku?" in visible_text(html)
    assert 'id="faq" aria-labelledby="faq-title" lang="pl"' in html


def test_only_published_articles_in_their_order(client, world_a, alpha_policy):
    faq(world_a.tenant, "Second?", position=20)
    faq(world_a.tenant, "First?", position=10)
    faq(world_a.tenant, "Draft?", published=False)
    text = visible_text(client.get(policy_url(world_a.tenant, lang="en")).content.decode())
    assert text.index("First?") < text.index("Second?")
    assert "Draft?" not in text


def test_typed_html_in_an_article_is_shown_never_run(client, world_a, alpha_policy):
    FaqArticle.unscoped.create(
        tenant=world_a.tenant,
        language="en",
        title="<b>Bold?</b>",
        body='<script>alert(1)</script>\n\n- one **two**\n- <img src=x onerror="x">',
    )
    html = client.get(policy_url(world_a.tenant, lang="en")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Bold?&lt;/b&gt;" in html
    assert "<li>one <strong>two</strong></li>" in html
    assert "<img src=x" not in html


def test_markdown_lite():
    assert render_faq_body("a\nb\n\nc") == "<p>a<br>b</p><p>c</p>"
    assert render_faq_body("- x\n* y") == "<ul><li>x</li><li>y</li></ul>"
    assert render_faq_body("**a & b**") == "<p><strong>a &amp; b</strong></p>"
    assert render_faq_body("") == ""


def test_an_unknown_or_inactive_tenant_is_the_404_page(client, world_a):
    response = client.get("/policy/no-such-tenant/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    world_a.tenant.is_active = False
    world_a.tenant.save()
    assert client.get(policy_url(world_a.tenant)).status_code == 404


def test_a_page_shows_nothing_of_another_tenant(
    client, world_a, world_b, alpha_policy, beta_policy
):
    faq(world_a.tenant, "Alpha question?")
    text = visible_text(client.get(policy_url(world_a.tenant, lang="en")).content.decode())
    for foreign in ("Beta question?", "Beta answer.", "Beta secret conditions.", "Beta Goods"):
        assert foreign not in text
    assert "77 days" not in text
    assert "Alpha question?" in text
    other = visible_text(client.get(policy_url(world_b.tenant, lang="en")).content.decode())
    assert "Alpha question?" not in other and "Alpha Tools" not in other
    assert "Beta question?" in other and "within 77 days" in other


def test_signed_in_users_of_another_tenant_read_it_in_its_owners_colours(
    client, login, world_a, world_b, alpha_policy, beta_policy
):
    login(world_b.customer)
    response = client.get(policy_url(world_a.tenant, lang="en"))
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    assert world_a.tenant.name in text and "Beta question?" not in text
    assert "Alpha Tools" in text
    # Nothing the visitor could change: it is a read-only page.
    assert client.post(policy_url(world_a.tenant)).status_code == 405


def _queries(client, tenant) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(policy_url(tenant, lang="en")).status_code == 200
    return len(captured)


def test_the_number_of_queries_does_not_grow_with_categories_or_articles(
    client, world_a, alpha_policy
):
    tenant = world_a.tenant
    faq(tenant, "Q0?")
    few = _queries(client, tenant)
    for n in range(1, 8):
        category = ProductCategoryFactory(tenant=tenant, code=f"cat-{n}", name=f"Cat {n}")
        CategoryWindow.unscoped.create(
            tenant=tenant, policy=alpha_policy, category=category, days=n
        )
        alpha_policy.non_returnable_products.add(ProductFactory(tenant=tenant, category=category))
        ProductFactory(tenant=tenant, category=category, warranty_months=n)
        faq(tenant, f"Q{n}?")
    assert _queries(client, tenant) == few
