"""The returns' satisfaction survey (docs/feedback.md): the signed links of the resolution
e-mail, the public page they open (a GET records nothing, a POST records once), and the
service that records the requester's one answer."""

from __future__ import annotations

import datetime
import re
from types import ModuleType, SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.urls import include, path
from django.utils import timezone

from returns import services
from returns.feedback import (
    SURVEY_MAX_AGE,
    SurveyInvitation,
    feedback_record,
    survey_links,
    survey_read,
    survey_token,
)
from returns.feedback_models import FeedbackChannel, ReturnFeedback
from returns.models import ReturnEvent, ReturnRequest, ReturnStatus
from returns.services import ReturnAccessDenied, ReturnConflict, ReturnInvalid
from rma_portal import urls as root_urls
from rma_portal.surveys.links import SurveySigner
from rma_portal.tenancy.context import tenant_context
from tests.returns.test_feedback_urls import feedback_urls  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("feedback_urls")]

SITE = "https://rma.example.com"
T0 = datetime.datetime(2026, 11, 2, 9, 30, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE + "/"


@pytest.fixture
def resolved(return_in):
    return return_in(ReturnStatus.RESOLVED)


def page_path(token: str) -> str:
    return f"/feedback/r/{token}/"


def link(rma, score: int = 4, *, recipient=None, now=None) -> str:
    return page_path(
        survey_token(return_request=rma, recipient=recipient or rma.requester, score=score, now=now)
    )


def answers(rma) -> list[dict]:
    return list(ReturnFeedback.unscoped.filter(return_request_id=rma.pk).values())


def untouched(rma) -> tuple:
    """What opening a link must leave alone: the return, its timeline, its answers."""
    row = ReturnRequest.unscoped.filter(pk=rma.pk).values().get()
    events = list(ReturnEvent.unscoped.filter(return_request_id=rma.pk).values_list("pk"))
    return row, events, answers(rma)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- the signed link ------------------------------------------------------------------------


def test_a_link_reads_back_as_what_was_signed(resolved):
    token = survey_token(return_request=resolved, recipient=resolved.requester, score=3, now=T0)

    assert survey_read(token, now=T0) == SurveyInvitation(
        case_id=resolved.pk,
        tenant_id=resolved.tenant_id,
        user_id=resolved.requester_id,
        score=3,
    )


def test_links_sent_before_the_surveys_shared_their_links_still_read():
    # The returns' salt and payload of the resolution e-mails already sent.
    payload = {"r": 31, "t": 7, "u": 12, "s": 4}
    signed = SurveySigner(salt="returns.feedback.survey", now=T0).sign_object(payload)

    assert survey_read(signed, now=T0) == SurveyInvitation(
        case_id=31, tenant_id=7, user_id=12, score=4
    )


# Expiry, tampering and other salts of every survey's links (these links included):
# tests/surveys/test_links.py.


# --- the resolution e-mail ------------------------------------------------------------------


@pytest.fixture
def mails(mailoutbox, django_capture_on_commit_callbacks):
    """Runs a block, commits it (the outbox delivers eagerly) and returns what it sent."""

    class Capture:
        def __enter__(self):
            self.start = len(mailoutbox)
            self.sent = []
            self.callbacks = django_capture_on_commit_callbacks(execute=True)
            self.callbacks.__enter__()
            return self.sent

        def __exit__(self, *exc):
            result = self.callbacks.__exit__(*exc)
            self.sent.extend(mailoutbox[self.start :])
            return result

    return Capture


def test_the_resolution_mail_carries_five_signed_score_links_in_text_and_html(
    return_in, world_a, mails
):
    rma = return_in(ReturnStatus.INSPECTED)
    with tenant_context(world_a.tenant), mails() as sent:
        services.return_request_resolve(
            return_request=rma, actor=world_a.agent, resolution="refund"
        )

    (mail,) = sent
    (html, _mimetype), *_ = mail.alternatives
    pattern = re.compile(re.escape(SITE) + r"/feedback/r/([^/\s\"]+)/")
    in_text, in_html = pattern.findall(mail.body), pattern.findall(html)
    assert len(in_text) == 5
    assert in_html == in_text  # the same five links, in the same order
    invitations = [survey_read(token) for token in in_text]
    assert [invitation.score for invitation in invitations] == [1, 2, 3, 4, 5]
    assert {(i.case_id, i.tenant_id, i.user_id) for i in invitations} == {
        (rma.pk, world_a.tenant.pk, world_a.customer.pk)
    }
    assert "How satisfied are you with how we handled your return?" in mail.body
    assert "5 – Very satisfied: " + SITE + "/feedback/r/" in mail.body
    assert "How satisfied are you with how we handled your return?" in html


def test_without_the_survey_mounted_the_mail_goes_without_it(resolved, settings):
    # A URL configuration that does not mount returns.feedback_urls.
    unmounted = ModuleType("unmounted_urls")
    unmounted.urlpatterns = [path("portal/", include((root_urls.portal_urlpatterns, "portal")))]
    settings.ROOT_URLCONF = unmounted

    assert survey_links(resolved, recipient=resolved.requester) == []


# --- the page a link opens ------------------------------------------------------------------


def test_opening_a_link_shows_the_chosen_score_and_records_nothing(client, resolved):
    before = untouched(resolved)

    page = client.get(link(resolved, 4))
    head = client.head(link(resolved, 2))

    assert page.status_code == 200 and head.status_code == 200
    html = text_of(page)
    assert 'name="csat" value="4" id="feedback-csat-4" checked' in html
    assert html.count(" checked") == 1  # only the score clicked; the 0–10 question is open
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'method="post"' in html
    assert "no-cache" in page["Cache-Control"]
    assert untouched(resolved) == before
    assert answers(resolved) == []


def test_the_form_records_the_answer_once(client, resolved):
    url = link(resolved, 4)

    sent = client.post(url, {"csat": "5", "nps": "9", "comment": "  Quick refund, thanks.  "})
    again = client.post(url, {"csat": "1", "nps": "0", "comment": "Changed my mind."})
    reopened = client.get(link(resolved, 2))

    assert sent.status_code == 200
    assert "Thank you for your answer" in text_of(sent)
    (answer,) = answers(resolved)
    assert (answer["csat"], answer["nps"], answer["comment"]) == (5, 9, "Quick refund, thanks.")
    assert answer["channel"] == FeedbackChannel.EMAIL
    assert answer["answered_by_id"] == resolved.requester_id
    assert answer["tenant_id"] == resolved.tenant_id
    for response in (again, reopened):
        assert response.status_code == 200
        assert "Thank you, we already have your answer" in text_of(response)
        assert "Changed my mind" not in text_of(response)
    assert answers(resolved) == [answer]


def test_the_other_questions_may_be_left_out(client, resolved):
    response = client.post(link(resolved, 2), {"csat": "2"})

    assert response.status_code == 200
    (answer,) = answers(resolved)
    assert (answer["csat"], answer["nps"], answer["comment"]) == (2, None, "")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"nps": "7"}, "Choose how satisfied you are, from 1 to 5."),
        ({"csat": "6"}, "Choose how satisfied you are, from 1 to 5."),
        ({"csat": "3", "nps": "11"}, "Choose a number from 0 to 10, or leave the question out."),
        ({"csat": "3", "comment": "x" * 2001}, "Ensure this value has at most 2000 characters"),
    ],
)
def test_a_refused_answer_shows_why_and_records_nothing(client, resolved, data, error):
    response = client.post(link(resolved, 3), data)

    assert response.status_code == 200
    assert error in text_of(response)
    assert answers(resolved) == []


def test_an_expired_link_says_so_and_records_nothing(client, resolved):
    url = link(resolved, 4, now=timezone.now() - SURVEY_MAX_AGE - datetime.timedelta(hours=1))

    shown = client.get(url)
    posted = client.post(url, {"csat": "4"})

    for response in (shown, posted):
        assert response.status_code == 400
        assert "This survey link has expired" in text_of(response)
    assert answers(resolved) == []


def test_a_tampered_link_is_refused_and_records_nothing(client, resolved):
    token = survey_token(return_request=resolved, recipient=resolved.requester, score=4)
    tampered = token[:-2] + ("xy" if not token.endswith("xy") else "zz")

    shown = client.get(page_path(tampered))
    posted = client.post(page_path(tampered), {"csat": "4"})

    for response in (shown, posted):
        assert response.status_code == 400
        assert "This survey link is not valid" in text_of(response)
    assert answers(resolved) == []


def _token(*, return_id: int, tenant_id: int, user_id: int, score: int = 4) -> str:
    """A link signed like the e-mail's, for a combination the e-mail would never send."""
    rma = SimpleNamespace(pk=return_id, tenant_id=tenant_id)
    return survey_token(return_request=rma, recipient=SimpleNamespace(pk=user_id), score=score)


def test_a_link_naming_another_tenant_is_a_404_and_records_nothing(
    client, resolved, world_a, world_b
):
    other_return = ReturnRequest.unscoped.create(
        tenant=world_b.tenant,
        number="RMA-BETA-1",
        customer_account=world_b.company,
        requester=world_b.customer,
        status=ReturnStatus.RESOLVED,
        resolution="refund",
    )
    # tenant B's id with tenant A's return, and tenant A's id with tenant B's return
    crossed = [
        _token(return_id=resolved.pk, tenant_id=world_b.tenant.pk, user_id=world_a.customer.pk),
        _token(return_id=other_return.pk, tenant_id=world_a.tenant.pk, user_id=world_b.customer.pk),
        _token(return_id=other_return.pk, tenant_id=world_a.tenant.pk, user_id=world_a.customer.pk),
    ]

    for token in crossed:
        assert client.get(page_path(token)).status_code == 404
        assert client.post(page_path(token), {"csat": "5"}).status_code == 404
    assert answers(resolved) == [] and answers(other_return) == []


def test_a_link_for_someone_else_or_a_return_not_resolved_is_a_404(client, return_in, world_a):
    resolved = return_in(ReturnStatus.RESOLVED)
    colleague = link(resolved, 4, recipient=world_a.colleague)
    ReturnRequest.unscoped.filter(pk=resolved.pk).update(status=ReturnStatus.RECEIVED)
    not_resolved = link(resolved, 4)

    for url in (colleague, not_resolved):
        assert client.get(url).status_code == 404
        assert client.post(url, {"csat": "4"}).status_code == 404
    assert answers(resolved) == []


def test_a_requester_who_left_cannot_answer_any_more(client, resolved):
    url = link(resolved, 4)
    type(resolved.requester).objects.filter(pk=resolved.requester_id).update(is_active=False)

    assert client.post(url, {"csat": "4"}).status_code == 404
    assert answers(resolved) == []


def test_someone_signed_in_to_another_tenant_does_not_reach_the_return(
    client, resolved, world_b, login
):
    login(world_b.customer)

    assert client.get(link(resolved, 4)).status_code == 404
    assert client.post(link(resolved, 4), {"csat": "4"}).status_code == 404
    assert answers(resolved) == []


def test_the_requester_signed_in_answers_through_the_link_too(client, resolved, login):
    login(resolved.requester)

    response = client.post(link(resolved, 4), {"csat": "4"})

    assert response.status_code == 200
    assert [a["channel"] for a in answers(resolved)] == [FeedbackChannel.EMAIL]


def test_the_page_only_answers_get_head_and_post(client, resolved):
    assert client.put(link(resolved, 4)).status_code == 405
    assert answers(resolved) == []


def test_the_links_are_the_sites_own(resolved):
    links = survey_links(resolved, recipient=resolved.requester)

    assert [entry["score"] for entry in links] == [1, 2, 3, 4, 5]
    for entry in links:
        parts = urlsplit(entry["url"])
        assert f"{parts.scheme}://{parts.netloc}" == SITE
        assert parts.path.startswith("/feedback/r/")


# --- the service ----------------------------------------------------------------------------


def record(rma, actor, **values):
    with tenant_context(rma.tenant):
        return feedback_record(
            return_request=rma,
            actor=actor,
            channel=values.pop("channel", FeedbackChannel.PORTAL),
            now=T0,
            **values,
        )


def test_the_first_answer_stays(resolved):
    first, created = record(resolved, resolved.requester, csat=4, nps=8, comment="Fine.")
    second, created_again = record(resolved, resolved.requester, csat=1, nps=0, comment="No.")

    assert created is True and created_again is False
    assert second.pk == first.pk
    (answer,) = answers(resolved)
    assert (answer["csat"], answer["nps"], answer["comment"]) == (4, 8, "Fine.")
    assert answer["answered_at"] == T0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"csat": 0}, "csat"),
        ({"csat": 6}, "csat"),
        ({"csat": True}, "csat"),
        ({"csat": "5"}, "csat"),
        ({"csat": 3, "nps": -1}, "nps"),
        ({"csat": 3, "nps": 11}, "nps"),
        ({"csat": 3, "comment": "x" * 2001}, "comment"),
    ],
)
def test_out_of_range_answers_are_refused(resolved, values, field):
    with pytest.raises(ReturnInvalid) as refused:
        record(resolved, resolved.requester, **values)

    assert field in refused.value.fields
    assert answers(resolved) == []


def test_only_the_requester_answers_and_only_once_resolved(return_in, world_a):
    resolved = return_in(ReturnStatus.RESOLVED)
    with pytest.raises(ReturnAccessDenied):
        record(resolved, world_a.colleague, csat=5)
    with pytest.raises(ReturnAccessDenied):
        record(resolved, world_a.agent, csat=5)
    ReturnRequest.unscoped.filter(pk=resolved.pk).update(status=ReturnStatus.INSPECTED)
    resolved.refresh_from_db()
    with pytest.raises(ReturnConflict):
        record(resolved, resolved.requester, csat=5)

    assert answers(resolved) == []


def test_a_closed_return_may_still_be_answered(return_in):
    closed = return_in(ReturnStatus.CLOSED)

    _answer, created = record(closed, closed.requester, csat=3)

    assert created is True
