"""Returns write dates and amounts one way per language (rma_portal/formats): the portal's
return page, the return e-mails and the label PDF; and the wording of refusals and e-mails
about the goods of a return."""

from __future__ import annotations

import datetime
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from returns import services
from returns.models import ReturnPolicy, ReturnRequest, ReturnStatus
from returns.policies import PolicyRules, evaluate_line
from returns.sla_watch import sla_email_context
from rma_portal.notifications.rendering import render_email
from rma_portal.tenancy.context import tenant_context
from tests.formats import dates_in, double_stops_after_dates, foreign_dates
from tests.html import visible_text
from tests.notifications.test_emails import (  # noqa: F401 (fixtures)
    all_text,
    draft_return,
    mails,
    order_line,
    speak,
)

from .conftest import advance
from .test_policies import RULES, days_after, facts

pytestmark = pytest.mark.django_db

ARRIVE_BY = {"en": "The goods must arrive by", "pl": "Towar musi do nas dotrzeć do"}


@pytest.fixture
def shipping_deadline(world_a, order_line):  # noqa: F811
    ReturnPolicy.unscoped.filter(tenant=world_a.tenant).update(ship_within_days=14)
    return order_line


def ship_by_day(rma: ReturnRequest) -> datetime.date:
    return timezone.localtime(rma.ship_by, timezone.get_default_timezone()).date()


def check_one_format(text: str, language: str) -> None:
    assert dates_in(text, language), text[:300]
    assert foreign_dates(text, language) == []
    assert double_stops_after_dates(text) == []


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_approval_e_mail_writes_the_deadline_in_the_recipients_format(
    world_a,
    shipping_deadline,
    mails,  # noqa: F811
    language,
):
    speak(world_a.customer, language)
    rma = advance(
        draft_return(world_a, shipping_deadline), ReturnStatus.SUBMITTED, agent=world_a.agent
    )
    with tenant_context(world_a.tenant), mails() as sent:
        services.return_request_approve(return_request=rma, actor=world_a.agent)
    (mail,) = sent
    rma = ReturnRequest.unscoped.get(pk=rma.pk)
    with translation.override(language):
        day = date_format(ship_by_day(rma), "DATE_FORMAT")
    for part in (mail.body, all_text(mail)):
        assert day in part
        check_one_format(" ".join(part.split()), language)


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_return_page_shows_every_date_and_amount_one_way(
    world_a, shipping_deadline, login, media_root, language
):
    rma = advance(
        draft_return(world_a, shipping_deadline), ReturnStatus.RESOLVED, agent=world_a.agent
    )
    client = login(world_a.customer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(reverse("portal:return_detail", args=[rma.pk]))
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    rma = ReturnRequest.unscoped.get(pk=rma.pk)
    with translation.override(language):
        resolved = date_format(
            timezone.localtime(rma.resolved_at, timezone.get_default_timezone()),
            "DATETIME_FORMAT",
        )
    assert resolved in text
    check_one_format(text, language)
    # The amounts: 2 × 1 250.00 requested, with the currency, grouped the language's way.
    assert ("2,500.00 PLN" if language == "en" else "2\xa0500,00 PLN") in text
    # The machine-readable moments of <time> stay ISO.
    assert re.search(
        r'<time[^>]* datetime="\d{4}-\d{2}-\d{2}T\d{2}:\d{2}', response.content.decode()
    )


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_sla_notice_writes_the_due_moment_in_the_recipients_format(
    world_a,
    order_line,  # noqa: F811
    language,
):
    rma = advance(draft_return(world_a, order_line), ReturnStatus.RECEIVED, agent=world_a.agent)
    due = datetime.datetime(2026, 12, 7, 10, 39, tzinfo=datetime.UTC)  # 11:39 in Warsaw
    with tenant_context(world_a.tenant):
        context = sla_email_context(rma, clock="refund", due_at=due)
    context["tenant"] = {"name": world_a.tenant.name}
    mail = render_email(event="return.sla_at_risk", language=language, context=context)
    expected = "7 Dec 2026, 11:39" if language == "en" else "7.12.2026, 11:39"
    for part in (mail.text, mail.html):
        assert f"{expected} (Europe/Warsaw)" in part
        check_one_format(" ".join(part.split()), language)
    if language == "en":
        assert f"The goods from return {rma.number} of" in mail.text


def test_the_received_e_mail_speaks_of_the_goods_from_the_return(
    world_a,
    order_line,  # noqa: F811
    mails,  # noqa: F811
):
    rma = advance(draft_return(world_a, order_line), ReturnStatus.APPROVED, agent=world_a.agent)
    with tenant_context(world_a.tenant), mails() as sent:
        services.return_request_mark_received(return_request=rma, actor=world_a.agent)
    (mail,) = sent
    assert f"We have received the goods from return {rma.number}" in mail.subject
    assert f"The goods from your return {rma.number} have arrived" in mail.body
    assert "goods of return" not in all_text(mail)


def test_a_non_returnable_category_is_named_not_followed_by_products():
    rules = PolicyRules(non_returnable_categories=frozenset({"personalised"}))
    line = facts(category_code="personalised", category_name="Personalised goods")

    verdict = evaluate_line(rules, line, today=days_after(1))

    assert verdict.refusals == ["Goods in the category “Personalised goods” cannot be returned."]


def test_a_closed_window_names_the_category_as_a_category():
    verdict = evaluate_line(RULES, facts(category_name="Personalised goods"), today=days_after(31))

    assert verdict.refusals == [
        "The return window for the category “Personalised goods” is 30 days; this line was "
        "delivered 31 days ago."
    ]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "It is under warranty until 2 Mar 2027:"),
        ("pl", "Gwarancja obowiązuje do 2.03.2027:"),
    ],
)
def test_the_warranty_date_of_a_refusal_is_in_the_languages_format(language, expected):
    rules = PolicyRules(default_window_days=14, default_warranty_months=12)
    with translation.override(language):
        verdict = evaluate_line(rules, facts(reason="wrong_size"), today=days_after(60))
    assert any(text.startswith(expected) for text in verdict.refusals), verdict.refusals
