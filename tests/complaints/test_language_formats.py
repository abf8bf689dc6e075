"""Complaints write dates one way per language (rma_portal/formats): the portal's complaint
page with its "we will answer by" promise, and the SLA notices to staff."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from complaints.emails import sla_email_context
from rma_portal.notifications.rendering import render_email
from rma_portal.tenancy.context import tenant_context
from tests.formats import dates_in, double_stops_after_dates, foreign_dates
from tests.html import parse, visible_text

from .test_portal import file_complaint

pytestmark = pytest.mark.django_db

PROMISE = {"en": "We will answer by", "pl": "Odpowiemy do"}


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_answer_by_date_ends_its_sentence_once(world_a, login, language):
    complaint = file_complaint(world_a.customer, world_a.company)
    client = login(world_a.customer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(reverse("portal:complaint_detail", args=[complaint.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    due = timezone.localtime(complaint.first_response_due_at, timezone.get_default_timezone())
    with translation.override(language):
        expected = date_format(due, "DATETIME_FORMAT")
    promise = " ".join(parse(html).select_one("section.sla-promise p").text.split())
    assert promise.endswith(f"{expected}."), promise
    assert not promise.endswith(".."), promise
    text = visible_text(html)
    assert dates_in(text, language)
    assert foreign_dates(text, language) == []
    assert double_stops_after_dates(text) == []


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "7 Dec 2026, 11:39"), ("pl", "7.12.2026, 11:39")]
)
def test_the_sla_notice_writes_the_due_moment_in_the_recipients_format(world_a, language, expected):
    complaint = file_complaint(world_a.customer, world_a.company)
    due = datetime.datetime(2026, 12, 7, 10, 39, tzinfo=datetime.UTC)  # 11:39 in Warsaw
    with tenant_context(world_a.tenant):
        context = sla_email_context(complaint, clock="first_response", due_at=due)
    context["tenant"] = {"name": world_a.tenant.name}
    mail = render_email(event="complaint.sla_at_risk", language=language, context=context)
    for part in (mail.text, mail.html):
        text = " ".join(part.split())
        assert f"{expected} (Europe/Warsaw)" in text
        assert foreign_dates(text, language) == []
        assert double_stops_after_dates(text) == []
