"""The signed one-click links of every survey (rma_portal.surveys.links; docs/feedback.md):
what a link says reads back, for SURVEY_MAX_AGE and not a second longer, a changed link is
refused, and a link of one survey is no link of another. The clock is given (`now=`)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.core import signing

from complaints.survey import COMPLAINT_SURVEY
from returns.feedback import RETURN_SURVEY
from rma_portal.surveys.links import (
    SURVEY_MAX_AGE,
    SurveyInvitation,
    SurveyLinkExpired,
    SurveyLinkInvalid,
)

T0 = datetime.datetime(2026, 11, 17, 9, 30, tzinfo=datetime.UTC)
CASE = SimpleNamespace(pk=31, tenant_id=7)
RECIPIENT = SimpleNamespace(pk=12)
SURVEYS = [
    pytest.param(RETURN_SURVEY, id="returns"),
    pytest.param(COMPLAINT_SURVEY, id="complaints"),
]


def token(survey, score: int = 4, *, now=T0) -> str:
    return survey.token(case=CASE, recipient=RECIPIENT, score=score, now=now)


@pytest.mark.parametrize("survey", SURVEYS)
def test_a_link_reads_back_as_what_was_signed(survey):
    assert survey.read(token(survey, 3), now=T0) == SurveyInvitation(
        case_id=31, tenant_id=7, user_id=12, score=3
    )


@pytest.mark.parametrize("survey", SURVEYS)
def test_a_link_works_for_sixty_days_and_not_a_second_longer(survey):
    signed = token(survey, 5)

    assert survey.read(signed, now=T0 + SURVEY_MAX_AGE).score == 5
    with pytest.raises(SurveyLinkExpired):
        survey.read(signed, now=T0 + SURVEY_MAX_AGE + datetime.timedelta(seconds=1))


@pytest.mark.parametrize("survey", SURVEYS)
@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda value: value[:-1] + ("A" if value[-1] != "A" else "B"), id="signature"),
        pytest.param(lambda value: "x" + value, id="payload"),
        pytest.param(lambda value: value.rsplit(":", 1)[0], id="cut-short"),
        pytest.param(lambda value: "", id="empty"),
    ],
)
def test_a_changed_link_is_refused(survey, tamper):
    with pytest.raises(SurveyLinkInvalid):
        survey.read(tamper(token(survey)), now=T0)


@pytest.mark.parametrize("survey", SURVEYS)
@pytest.mark.parametrize("score", [0, 6, -1])
def test_a_score_outside_1_to_5_is_no_link(survey, score):
    with pytest.raises(SurveyLinkInvalid):
        survey.read(token(survey, score), now=T0)


@pytest.mark.parametrize(
    ("signed_by", "read_by"),
    [(RETURN_SURVEY, COMPLAINT_SURVEY), (COMPLAINT_SURVEY, RETURN_SURVEY)],
    ids=["return-link-as-complaint", "complaint-link-as-return"],
)
def test_a_link_of_one_survey_is_no_link_of_the_other(signed_by, read_by):
    with pytest.raises(SurveyLinkInvalid):
        read_by.read(token(signed_by), now=T0)


@pytest.mark.parametrize("survey", SURVEYS)
def test_a_value_signed_for_something_else_is_no_link(survey):
    payload = {survey.case_key: 31, "t": 7, "u": 12, "s": 4}
    other_salt = signing.TimestampSigner(salt="something.else").sign_object(payload)
    not_numbers = survey.token(
        case=SimpleNamespace(pk="31", tenant_id=7), recipient=RECIPIENT, score=4, now=T0
    )

    with pytest.raises(SurveyLinkInvalid):
        survey.read(other_salt, now=T0)
    with pytest.raises(SurveyLinkInvalid):
        survey.read(not_numbers, now=T0)
