"""The complaints' satisfaction survey (docs/feedback.md): the signed score links of the
resolution e-mail, the public page they open (a GET records nothing, a POST rates once), the
optional 0–10 question in the portal's rating form, the service, the API and the back-office.
"""

from __future__ import annotations

import datetime
import re
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import services
from complaints.models import (
    Complaint,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStatus,
    SatisfactionRating,
)
from complaints.survey import COMPLAINT_SURVEY, survey_links
from rma_portal.surveys import SurveyChannel
from rma_portal.surveys.links import SURVEY_MAX_AGE
from rma_portal.tenancy.context import tenant_context
from tests.api import api_as

pytestmark = pytest.mark.django_db

SITE = "https://rma.example.com"
T0 = datetime.datetime(2026, 11, 17, 9, 30, tzinfo=datetime.UTC)
NPS_REFUSED = "Choose a number from 0 to 10, or leave the question out."


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE + "/"


def file_complaint(user, company) -> Complaint:
    with tenant_context(company.tenant):
        return services.complaint_file(
            customer_account=company,
            reporter=user,
            category="product_quality",
            priority="normal",
            subject="Cracked housings",
            description="Three housings arrived cracked.",
        )


def resolve(complaint: Complaint, agent) -> Complaint:
    with tenant_context(agent.tenant):
        services.complaint_reply(complaint=complaint, actor=agent, body="We are on it.")
        return services.complaint_resolve(
            complaint=complaint, actor=agent, resolution="A new batch was sent."
        )


def resolved_of(world, user=None, company=None) -> Complaint:
    return resolve(file_complaint(user or world.customer, company or world.company), world.agent)


@pytest.fixture
def resolved(world_a) -> Complaint:
    return resolved_of(world_a)


def page_path(token: str) -> str:
    return f"/feedback/c/{token}/"


def link(complaint, score: int = 4, *, recipient=None, now=None) -> str:
    token = COMPLAINT_SURVEY.token(
        case=complaint, recipient=recipient or complaint.reporter, score=score, now=now
    )
    return page_path(token)


def ratings(complaint) -> list[dict]:
    return list(SatisfactionRating.unscoped.filter(complaint_id=complaint.pk).values())


def untouched(complaint) -> tuple:
    """What a refused or read-only request must leave alone: the complaint, its thread, its
    timeline and its rating."""
    return (
        Complaint.unscoped.filter(pk=complaint.pk).values().get(),
        list(ComplaintMessage.unscoped.filter(complaint_id=complaint.pk).values_list("pk")),
        list(ComplaintEvent.unscoped.filter(complaint_id=complaint.pk).values_list("pk")),
        ratings(complaint),
    )


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- the signed link ------------------------------------------------------------------------


# Signing, expiry and tampering of every survey's links: tests/surveys/test_links.py.


def test_the_links_are_the_sites_own_one_per_score(resolved):
    links = survey_links(resolved, recipient=resolved.reporter, now=T0)

    assert [entry["score"] for entry in links] == [1, 2, 3, 4, 5]
    for entry in links:
        assert entry["url"].startswith(SITE + "/feedback/c/")
        token = entry["url"].removeprefix(SITE + "/feedback/c/").rstrip("/")
        assert COMPLAINT_SURVEY.read(token, now=T0).score == entry["score"]


# --- the resolution e-mail ------------------------------------------------------------------


def test_the_resolution_mail_carries_five_signed_score_links(
    world_a, mailoutbox, django_capture_on_commit_callbacks
):
    complaint = file_complaint(world_a.customer, world_a.company)
    with tenant_context(world_a.tenant):
        services.complaint_reply(complaint=complaint, actor=world_a.agent, body="On it.")
    start = len(mailoutbox)
    with tenant_context(world_a.tenant), django_capture_on_commit_callbacks(execute=True):
        services.complaint_resolve(
            complaint=complaint, actor=world_a.agent, resolution="A new batch was sent."
        )

    (mail,) = mailoutbox[start:]
    (html, _mimetype), *_ = mail.alternatives
    pattern = re.compile(re.escape(SITE) + r"/feedback/c/([^/\s\"]+)/")
    in_text, in_html = pattern.findall(mail.body), pattern.findall(html)
    assert len(in_text) == 5
    assert in_html == in_text
    invitations = [COMPLAINT_SURVEY.read(token) for token in in_text]
    assert [invitation.score for invitation in invitations] == [1, 2, 3, 4, 5]
    assert {(i.case_id, i.tenant_id, i.user_id) for i in invitations} == {
        (complaint.pk, world_a.tenant.pk, world_a.customer.pk)
    }
    assert "5 – Very satisfied: " + SITE + "/feedback/c/" in mail.body
    assert f"{SITE}/portal/complaints/{complaint.pk}/" in mail.body  # to reopen it there


# --- the page a link opens ------------------------------------------------------------------


def test_opening_a_link_shows_the_chosen_score_and_records_nothing(client, resolved):
    before = untouched(resolved)

    page = client.get(link(resolved, 2))
    head = client.head(link(resolved, 5))

    assert page.status_code == 200 and head.status_code == 200
    html = text_of(page)
    assert f"How did we handle complaint {resolved.code}?" in html
    assert "How satisfied are you with how we handled your complaint?" in html
    assert 'name="csat" value="2" id="feedback-csat-2" checked' in html
    assert html.count(" checked") == 1  # the 0–10 question is open
    assert 'name="nps" value="0"' in html and 'name="nps" value="10"' in html
    assert 'name="csrfmiddlewaretoken"' in html and 'method="post"' in html
    assert "no-cache" in page["Cache-Control"]
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert untouched(resolved) == before


def test_the_form_rates_the_complaint_once(client, resolved):
    url = link(resolved, 4)

    sent = client.post(url, {"csat": "5", "nps": "9", "comment": "  Quick, thanks.  "})
    before = untouched(resolved)
    again = client.post(url, {"csat": "1", "nps": "0", "comment": "Changed my mind."})
    other_score = client.get(link(resolved, 1))

    assert sent.status_code == 200
    assert "Thank you for your answer" in text_of(sent)
    (rating,) = ratings(resolved)
    assert (rating["score"], rating["nps"], rating["comment"]) == (5, 9, "Quick, thanks.")
    assert rating["channel"] == SurveyChannel.EMAIL
    assert rating["rated_by_id"] == resolved.reporter_id
    assert rating["tenant_id"] == resolved.tenant_id
    # A rated complaint stays resolved until its reopen window ends, as in the portal.
    assert Complaint.unscoped.get(pk=resolved.pk).status == ComplaintStatus.RESOLVED
    for response in (again, other_score):
        assert response.status_code == 200
        page = text_of(response)
        assert "Thank you, we already have your answer" in page
        assert f"Complaint {resolved.code} was rated on" in page
        assert "Changed my mind" not in page and "Quick, thanks." not in page
    assert untouched(resolved) == before


def test_the_other_questions_may_be_left_out(client, resolved):
    response = client.post(link(resolved, 3), {"csat": "3"})

    assert response.status_code == 200
    (rating,) = ratings(resolved)
    assert (rating["score"], rating["nps"], rating["comment"]) == (3, None, "")


@pytest.mark.parametrize("nps", [0, 10])
def test_the_ends_of_the_0_to_10_question_are_accepted(client, resolved, nps):
    response = client.post(link(resolved, 4), {"csat": "4", "nps": str(nps)})

    assert response.status_code == 200
    assert [r["nps"] for r in ratings(resolved)] == [nps]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"csat": "4", "nps": "-1"}, NPS_REFUSED),
        ({"csat": "4", "nps": "11"}, NPS_REFUSED),
        ({"csat": "4", "nps": "nine"}, NPS_REFUSED),
        ({"nps": "7"}, "Choose how satisfied you are, from 1 to 5."),
        ({"csat": "6"}, "Choose how satisfied you are, from 1 to 5."),
        ({"csat": "3", "comment": "x" * 10_001}, "Ensure this value has at most 10000 characters"),
    ],
)
def test_a_refused_answer_shows_why_and_records_nothing(client, resolved, data, error):
    before = untouched(resolved)

    response = client.post(link(resolved, 3), data)

    assert response.status_code == 200
    assert error in text_of(response)
    assert untouched(resolved) == before


def test_an_expired_link_says_so_and_records_nothing(client, resolved):
    before = untouched(resolved)
    url = link(resolved, 4, now=timezone.now() - SURVEY_MAX_AGE - datetime.timedelta(hours=1))

    for response in (client.get(url), client.post(url, {"csat": "4"})):
        assert response.status_code == 400
        assert "This survey link has expired" in text_of(response)
        assert "after the complaint was resolved" in text_of(response)
    assert untouched(resolved) == before


def test_a_tampered_link_is_refused_and_records_nothing(client, resolved):
    before = untouched(resolved)
    token = COMPLAINT_SURVEY.token(case=resolved, recipient=resolved.reporter, score=4)
    tampered = page_path(token[:-2] + ("xy" if not token.endswith("xy") else "zz"))

    for response in (client.get(tampered), client.post(tampered, {"csat": "4"})):
        assert response.status_code == 400
        assert "This survey link is not valid" in text_of(response)
    assert untouched(resolved) == before


def _token(*, complaint_id: int, tenant_id: int, user_id: int) -> str:
    """A link signed like the e-mail's, for a combination the e-mail would never send."""
    case = SimpleNamespace(pk=complaint_id, tenant_id=tenant_id)
    return COMPLAINT_SURVEY.token(case=case, recipient=SimpleNamespace(pk=user_id), score=4)


def test_a_link_naming_another_tenant_is_a_404_and_records_nothing(
    client, resolved, world_a, world_b
):
    foreign = resolved_of(world_b)
    before = untouched(resolved), untouched(foreign)
    crossed = [
        _token(complaint_id=resolved.pk, tenant_id=world_b.tenant.pk, user_id=world_a.customer.pk),
        _token(complaint_id=foreign.pk, tenant_id=world_a.tenant.pk, user_id=world_b.customer.pk),
        _token(complaint_id=foreign.pk, tenant_id=world_a.tenant.pk, user_id=world_a.customer.pk),
    ]

    for token in crossed:
        assert client.get(page_path(token)).status_code == 404
        assert client.post(page_path(token), {"csat": "5"}).status_code == 404
    assert (untouched(resolved), untouched(foreign)) == before


def test_someone_signed_in_to_another_tenant_does_not_reach_the_complaint(
    client, resolved, world_b, login
):
    before = untouched(resolved)
    login(world_b.customer)

    assert client.get(link(resolved, 4)).status_code == 404
    assert client.post(link(resolved, 4), {"csat": "4"}).status_code == 404
    assert untouched(resolved) == before


@pytest.mark.parametrize("who", ["colleague", "customer_admin", "other_company_user"])
def test_a_link_for_anyone_but_the_reporter_is_a_404(client, resolved, world_a, who):
    before = untouched(resolved)
    url = link(resolved, 4, recipient=getattr(world_a, who))

    assert client.get(url).status_code == 404
    assert client.post(url, {"csat": "4"}).status_code == 404
    assert untouched(resolved) == before


def test_another_customers_complaint_is_a_404_through_a_link_for_its_id(client, world_a):
    # A complaint of another company of the same tenant, with a link naming our customer.
    foreign = resolved_of(world_a, world_a.other_company_user, world_a.other_company)
    before = untouched(foreign)
    url = page_path(
        _token(complaint_id=foreign.pk, tenant_id=world_a.tenant.pk, user_id=world_a.customer.pk)
    )

    assert client.get(url).status_code == 404
    assert client.post(url, {"csat": "4"}).status_code == 404
    assert untouched(foreign) == before


def test_a_complaint_not_resolved_or_a_reporter_who_left_is_a_404(client, world_a):
    filed = file_complaint(world_a.customer, world_a.company)
    reopened = resolved_of(world_a)
    Complaint.unscoped.filter(pk=reopened.pk).update(status=ComplaintStatus.IN_PROGRESS)
    left = resolved_of(world_a, world_a.colleague)
    type(world_a.colleague).objects.filter(pk=world_a.colleague.pk).update(is_active=False)

    for complaint in (filed, reopened, left):
        before = untouched(complaint)
        assert client.get(link(complaint, 4)).status_code == 404
        assert client.post(link(complaint, 4), {"csat": "4"}).status_code == 404
        assert untouched(complaint) == before


def test_a_complaint_rated_in_the_portal_is_already_answered(client, resolved, login):
    with tenant_context(resolved.tenant):
        services.complaint_rate(complaint=resolved, actor=resolved.reporter, score=2, nps=3)
    before = untouched(resolved)

    response = client.post(link(resolved, 5), {"csat": "5", "nps": "10"})

    assert "Thank you, we already have your answer" in text_of(response)
    assert "2 of 5" in text_of(response)
    assert untouched(resolved) == before


def test_a_closed_complaint_may_still_be_rated(client, world_a, resolved):
    with tenant_context(world_a.tenant):
        services.complaint_close(complaint=resolved, actor=world_a.agent)

    response = client.post(link(resolved, 4), {"csat": "4"})

    assert response.status_code == 200
    assert [r["score"] for r in ratings(resolved)] == [4]


def test_the_page_only_answers_get_head_and_post(client, resolved):
    before = untouched(resolved)

    assert client.put(link(resolved, 4)).status_code == 405
    assert untouched(resolved) == before


# --- the service ----------------------------------------------------------------------------


def rate(complaint, **values):
    with tenant_context(complaint.tenant):
        return services.complaint_rate(
            complaint=complaint, actor=complaint.reporter, now=T0, **values
        )


@pytest.mark.parametrize("nps", [0, 10, None])
def test_the_service_takes_0_to_10_or_nothing(resolved, nps):
    rating = rate(resolved, score=4, nps=nps, channel=SurveyChannel.EMAIL)

    assert (rating.nps, rating.channel) == (nps, SurveyChannel.EMAIL)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"nps": -1}, "nps"),
        ({"nps": 11}, "nps"),
        ({"nps": True}, "nps"),
        ({"nps": "9"}, "nps"),
    ],
)
def test_the_service_refuses_other_numbers_and_writes_nothing(resolved, values, field):
    before = untouched(resolved)

    with pytest.raises(services.ComplaintInvalid) as refused:
        rate(resolved, score=4, **values)

    assert refused.value.fields == {field: [NPS_REFUSED]}
    assert untouched(resolved) == before


def test_the_service_refuses_an_unknown_channel(resolved):
    before = untouched(resolved)

    with pytest.raises(services.ComplaintInvalid):
        rate(resolved, score=4, channel="fax")

    assert untouched(resolved) == before


def test_the_database_refuses_an_nps_out_of_range(resolved):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        SatisfactionRating.unscoped.create(
            tenant=resolved.tenant, complaint=resolved, score=4, nps=11, rated_by=resolved.reporter
        )


# --- the portal's rating form ---------------------------------------------------------------


def rate_url(complaint) -> str:
    return reverse("portal:complaint_rate", args=[complaint.pk])


def detail(complaint) -> str:
    return reverse("portal:complaint_detail", args=[complaint.pk])


def test_the_portal_form_asks_the_optional_question(client, login, resolved):
    login(resolved.reporter)

    page = text_of(client.get(detail(resolved)))

    assert f'action="{rate_url(resolved)}"' in page
    assert "How likely are you to recommend us to a colleague or business partner?" in page
    assert 'name="nps" value="0"' in page and 'name="nps" value="10"' in page


@pytest.mark.parametrize(("nps", "stored"), [("", None), ("0", 0), ("10", 10)])
def test_the_portal_rates_with_or_without_the_question(client, login, resolved, nps, stored):
    login(resolved.reporter)

    response = client.post(rate_url(resolved), {"score": "4", "nps": nps, "comment": "Fine."})

    assert response.status_code == 302
    (rating,) = ratings(resolved)
    assert (rating["score"], rating["nps"], rating["comment"]) == (4, stored, "Fine.")
    assert rating["channel"] == SurveyChannel.PORTAL
    page = text_of(client.get(detail(resolved)))
    if stored is None:
        assert "Would recommend us" not in page
    else:
        assert f"Would recommend us: {stored} of 10" in page


@pytest.mark.parametrize("nps", ["-1", "11", "x"])
def test_the_portal_refuses_other_numbers_and_keeps_what_was_typed(client, login, resolved, nps):
    login(resolved.reporter)
    before = untouched(resolved)

    response = client.post(rate_url(resolved), {"score": "4", "nps": nps, "comment": "Kept"})

    assert response.status_code == 200
    page = text_of(response)
    assert NPS_REFUSED in page and "Kept" in page
    assert untouched(resolved) == before


def test_the_customer_admin_sees_the_score_but_not_the_reporters_0_to_10(
    client, login, resolved, world_a
):
    rate(resolved, score=4, nps=9)

    login(world_a.customer_admin)
    page = text_of(client.get(detail(resolved)))

    assert "4 of 5" in page
    assert "Would recommend us" not in page


@pytest.mark.parametrize("owner", ["other_tenant", "other_company", "colleague"])
def test_a_foreign_complaint_cannot_be_rated_in_the_portal(client, login, world_a, world_b, owner):
    if owner == "other_tenant":
        foreign = resolved_of(world_b)
    elif owner == "other_company":
        foreign = resolved_of(world_a, world_a.other_company_user, world_a.other_company)
    else:
        foreign = resolved_of(world_a, world_a.colleague)
    before = untouched(foreign)
    login(world_a.customer)

    response = client.post(rate_url(foreign), {"score": "5", "nps": "10"})

    assert response.status_code == 404
    assert untouched(foreign) == before


# --- the API --------------------------------------------------------------------------------


def test_the_api_rates_with_the_question_and_shows_it(resolved):
    customer = api_as(resolved.reporter)
    url = f"/api/v1/complaints/{resolved.pk}/rating/"

    response = customer.post(url, {"score": 4, "nps": 10}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["rating"]["nps"] == 10
    assert [(r["nps"], r["channel"]) for r in ratings(resolved)] == [(10, SurveyChannel.PORTAL)]
    shown = customer.get(f"/api/v1/complaints/{resolved.pk}/").json()["rating"]
    assert (shown["score"], shown["nps"]) == (4, 10)


@pytest.mark.parametrize("nps", [-1, 11])
def test_the_api_refuses_other_numbers(resolved, nps):
    before = untouched(resolved)

    response = api_as(resolved.reporter).post(
        f"/api/v1/complaints/{resolved.pk}/rating/", {"score": 4, "nps": nps}, format="json"
    )

    assert response.status_code == 400
    assert "nps" in response.json()["error"]["fields"]
    assert untouched(resolved) == before


# --- the back-office ------------------------------------------------------------------------


def test_the_complaint_page_shows_the_0_to_10_score_and_the_channel(
    client, login, world_a, resolved
):
    rate(resolved, score=4, nps=7, channel=SurveyChannel.EMAIL)
    login(world_a.manager)

    page = text_of(client.get(reverse("admin:complaints_complaint_change", args=[resolved.pk])))

    assert "7 of 10" in page
    assert "E-mail link" in page


def test_staff_list_their_own_tenants_ratings_with_nps_and_channel(
    client, login, world_a, world_b, resolved
):
    own = rate(resolved, score=4, nps=10, comment="Alpha's comment", channel="email")
    rate(resolved_of(world_b), score=1, nps=0, comment="Beta's comment")
    login(world_a.manager)

    response = client.get(reverse("admin:complaints_satisfactionrating_changelist"))

    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [own.pk]
    page = text_of(response)
    assert resolved.code in page and "Alpha&#x27;s comment" in page and "E-mail link" in page
    assert "Beta" not in page
    promoters = client.get(
        reverse("admin:complaints_satisfactionrating_changelist"), {"nps_group": "promoter"}
    )
    assert [row.pk for row in promoters.context["cl"].result_list] == [own.pk]


def test_the_ratings_list_does_not_query_per_row(client, login, world_a):
    login(world_a.manager)
    url = reverse("admin:complaints_satisfactionrating_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    rate(resolved_of(world_a), score=4, nps=9)
    few = queries()
    for _ in range(3):
        rate(resolved_of(world_a), score=2, nps=3)

    assert queries() == few


def test_ratings_are_read_only_and_another_tenants_is_a_404(
    client, login, world_a, world_b, resolved
):
    own = rate(resolved, score=4, nps=8)
    foreign = rate(resolved_of(world_b), score=1)
    login(world_a.tenant_admin)

    def url(view, *args):
        return reverse(f"admin:complaints_satisfactionrating_{view}", args=args)

    assert client.get(url("change", own.pk)).status_code == 200
    assert client.get(url("change", foreign.pk)).status_code == 404
    assert client.post(url("change", own.pk), {"score": "1"}).status_code == 403
    assert client.post(url("delete", own.pk), {"post": "yes"}).status_code == 403
    assert [(r["score"], r["nps"]) for r in ratings(resolved)] == [(4, 8)]
