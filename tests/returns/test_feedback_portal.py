"""The returns' survey in the portal and the back-office (docs/feedback.md): the requester
answers on the return's page, the company's customer admins (who see the company's returns)
see that it was answered, anyone else gets a 404 and changes nothing; staff read the answers
of their own tenant only."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse

from returns.feedback_models import FeedbackChannel, ReturnFeedback
from returns.models import ReturnRequest, ReturnStatus
from tests.returns.test_feedback_urls import feedback_urls  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("feedback_urls")]

ANSWERED = datetime.datetime(2026, 11, 3, 10, 0, tzinfo=datetime.UTC)


def detail(rma) -> str:
    return f"/portal/returns/{rma.pk}/"


def answer_url(rma) -> str:
    return f"/feedback/returns/{rma.pk}/"


def answers(rma) -> list[dict]:
    return list(ReturnFeedback.unscoped.filter(return_request_id=rma.pk).values())


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def given_answer(rma, *, csat=4, nps=9, comment="The courier was late, the refund quick."):
    return ReturnFeedback.unscoped.create(
        tenant=rma.tenant,
        return_request=rma,
        answered_by=rma.requester,
        csat=csat,
        nps=nps,
        comment=comment,
        channel=FeedbackChannel.EMAIL,
        answered_at=ANSWERED,
    )


@pytest.fixture
def resolved(return_in):
    return return_in(ReturnStatus.RESOLVED)


# --- the return's page ----------------------------------------------------------------------


def test_the_requester_sees_the_survey_on_a_resolved_return(client, login, resolved):
    login(resolved.requester)

    page = text_of(client.get(detail(resolved)))

    assert 'id="feedback"' in page
    assert f'action="{answer_url(resolved)}"' in page
    assert "How satisfied are you with how we handled your return?" in page
    assert 'name="nps" value="10"' in page
    assert " checked" not in page  # nothing chosen for them


def test_no_survey_before_the_return_is_resolved(client, login, return_in):
    inspected = return_in(ReturnStatus.INSPECTED)
    login(inspected.requester)

    page = text_of(client.get(detail(inspected)))

    assert 'id="feedback"' not in page


def test_the_customer_admin_sees_the_return_but_gets_no_form(client, login, resolved, world_a):
    login(world_a.customer_admin)

    response = client.get(detail(resolved))

    assert response.status_code == 200
    assert 'id="feedback"' not in text_of(response)


def test_the_requester_answers_once_in_the_portal(client, login, resolved):
    login(resolved.requester)

    sent = client.post(answer_url(resolved), {"csat": "5", "nps": "10", "comment": "Great."})
    again = client.post(answer_url(resolved), {"csat": "2", "nps": "3", "comment": "Bad."})

    assert sent.status_code == 302 and sent["Location"] == detail(resolved) + "#feedback"
    (answer,) = answers(resolved)
    assert (answer["csat"], answer["nps"], answer["comment"]) == (5, 10, "Great.")
    assert answer["channel"] == FeedbackChannel.PORTAL
    assert answer["answered_by_id"] == resolved.requester_id
    assert again.status_code == 302
    page = text_of(client.get(detail(resolved)))
    assert "Thank you, we already have your answer." in page
    assert "Would recommend us: 10 of 10" in page and "Great." in page
    assert 'action="' + answer_url(resolved) + '"' not in page  # no form any more
    assert answers(resolved) == [answer]


def test_a_refused_portal_answer_shows_the_form_again(client, login, resolved):
    login(resolved.requester)

    response = client.post(answer_url(resolved), {"csat": "9", "comment": "Kept text"})

    assert response.status_code == 200
    page = text_of(response)
    assert "Choose how satisfied you are, from 1 to 5." in page
    assert "Kept text" in page
    assert answers(resolved) == []


def test_the_customer_admin_cannot_answer_for_the_requester(client, login, resolved, world_a):
    login(world_a.customer_admin)

    response = client.post(answer_url(resolved), {"csat": "1"}, follow=True)

    assert "Only the person who filed the return answers its survey." in text_of(response)
    assert answers(resolved) == []


@pytest.mark.parametrize("who", ["colleague", "other_company_user", "other_tenant_customer"])
def test_whoever_does_not_see_the_return_gets_a_404_and_changes_nothing(
    client, login, resolved, world_a, world_b, who
):
    user = world_b.customer if who == "other_tenant_customer" else getattr(world_a, who)
    login(user)

    assert client.post(answer_url(resolved), {"csat": "1"}).status_code == 404
    missing = f"/feedback/returns/{resolved.pk + 10_000}/"
    assert client.post(missing, {"csat": "1"}).status_code == 404
    assert answers(resolved) == []


def test_the_portal_form_takes_posts_only(client, login, resolved):
    login(resolved.requester)

    assert client.get(answer_url(resolved)).status_code == 405


def test_an_answer_not_resolved_yet_is_refused(client, login, return_in):
    inspected = return_in(ReturnStatus.INSPECTED)
    login(inspected.requester)

    response = client.post(answer_url(inspected), {"csat": "4"}, follow=True)

    assert "The survey opens once the return is resolved." in text_of(response)
    assert answers(inspected) == []


def test_the_requester_sees_their_answer_and_the_customer_admin_only_the_score(
    client, login, resolved, world_a
):
    given_answer(resolved)

    login(resolved.requester)
    own = text_of(client.get(detail(resolved)))
    client.logout()
    login(world_a.customer_admin)
    admin = text_of(client.get(detail(resolved)))

    assert "4 of 5 – Satisfied" in own
    assert "Would recommend us: 9 of 10" in own
    assert "The courier was late, the refund quick." in own
    name = resolved.requester.get_full_name()
    assert f"{name} rated how we handled this return 4 of 5." in admin
    assert "The courier was late" not in admin
    assert "Would recommend us" not in admin


# --- the back-office ------------------------------------------------------------------------


@pytest.fixture
def answered_in_both(resolved, world_b):
    own = given_answer(resolved, comment="Alpha's comment")
    foreign_return = ReturnRequest.unscoped.create(
        tenant=world_b.tenant,
        number="RMA-BETA-9",
        customer_account=world_b.company,
        requester=world_b.customer,
        status=ReturnStatus.RESOLVED,
        resolution="refund",
    )
    foreign = given_answer(foreign_return, csat=1, nps=2, comment="Beta's comment")
    return own, foreign


@pytest.mark.parametrize("role", ["agent", "manager", "tenant_admin"])
def test_staff_list_their_own_tenants_answers_only(client, login, world_a, answered_in_both, role):
    own, _foreign = answered_in_both
    login(getattr(world_a, role))

    response = client.get(reverse("admin:returns_returnfeedback_changelist"))

    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [own.pk]
    page = text_of(response)
    assert own.return_request.number in page and "Alpha&#x27;s comment" in page
    assert "Beta" not in page


def test_answers_are_read_only_and_another_tenants_is_a_404(
    client, login, world_a, answered_in_both
):
    own, foreign = answered_in_both
    login(world_a.tenant_admin)

    def url(view, *args):
        return reverse(f"admin:returns_returnfeedback_{view}", args=args)

    assert client.get(url("change", own.pk)).status_code == 200
    assert client.get(url("change", foreign.pk)).status_code == 404
    assert client.get(url("add")).status_code == 403
    assert client.post(url("change", own.pk), {"csat": "1"}).status_code == 403
    assert client.post(url("delete", own.pk), {"post": "yes"}).status_code == 403
    assert answers(own.return_request)[0]["csat"] == 4


def test_the_promoter_filter_keeps_answers_of_9_and_10(client, login, world_a, return_in):
    promoter = given_answer(return_in(ReturnStatus.RESOLVED), nps=9)
    detractor = given_answer(return_in(ReturnStatus.RESOLVED), nps=6)
    login(world_a.manager)

    listed = {
        group: [
            row.pk
            for row in client.get(
                reverse("admin:returns_returnfeedback_changelist"), {"nps_group": group}
            )
            .context["cl"]
            .result_list
        ]
        for group in ("promoter", "detractor")
    }

    assert listed == {"promoter": [promoter.pk], "detractor": [detractor.pk]}
