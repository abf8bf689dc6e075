"""The API answers what its schema says, and the schema says what the API answers: the cases
a fuzzing run found, one test each (tests/api/contract_fuzzing.py keeps the rest so)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from complaints.models import ComplaintAttachment, ComplaintMessage
from customers.models import OrderLine
from returns.models import ReturnRequest, ReturnStatus
from returns.services.drafts import MAX_COMMENT
from rma_portal.api.exceptions import ERROR_CODES
from rma_portal.api.fields import NOT_BLANK_PATTERN
from tests.complaints.conftest import complaint_file
from tests.returns import conftest as returns_fixtures

from . import api_as, assert_error, assert_not_found, personal_token, png_bytes

pytestmark = pytest.mark.django_db

policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return

RETURNS = "/api/v1/returns/"
COMPLAINTS = "/api/v1/complaints/"


@pytest.fixture
def schema(world_a) -> dict:
    response = api_as(world_a.customer).get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def component(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]


def operation(schema: dict, method: str, path: str) -> dict:
    return schema["paths"][path][method]


@pytest.fixture
def submitted(world_a, delivered_order, file_return):
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    return file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
    )


# --- unrouted paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/returns",  # no trailing slash
        "/api/v1/returns/abc/approve/",  # not an id
        "/api/v1/no-such-thing/",
        "/api/v1/x%0Ay/",  # a newline in the path
    ],
)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "get"])
def test_unrouted_paths_answer_json_404_for_every_method_even_with_csrf_checks(
    world_a, path, method
):
    # A token client sends no CSRF token, and the CSRF check runs before any view: Django's
    # HTML "CSRF failed" page (403) answered unsafe methods before.
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {personal_token(world_a.customer)}")

    response = getattr(client, method)(path, {}, format="json")

    assert response["Content-Type"] == "application/json"
    assert_not_found(response)


# --- answers keep their own schema -----------------------------------------------------------

UNSET_CHOICES = {
    "resolution": "resolution_label",
    "shipping_paid_by": "shipping_paid_by_label",
}
UNSET_LINE_CHOICES = {"condition": "condition_label", "disposition": "disposition_label"}


def test_a_choice_not_made_yet_is_null_not_an_empty_string(world_a, submitted):
    ReturnRequest.unscoped.filter(pk=submitted.pk).update(shipping_paid_by="")

    data = api_as(world_a.agent).get(f"{RETURNS}{submitted.pk}/").json()

    for name, label in UNSET_CHOICES.items():
        assert (data[name], data[label]) == (None, None), name
    line = data["lines"][0]
    for name, label in UNSET_LINE_CHOICES.items():
        assert (line[name], line[label]) == (None, None), name


def test_the_schema_documents_those_choices_as_nullable(schema):
    def allows_null(prop: dict) -> bool:
        types = prop.get("type")
        branches = prop.get("oneOf", []) + prop.get("anyOf", [])
        return (
            prop.get("nullable") is True
            or (isinstance(types, list) and "null" in types)
            or any(
                allows_null(branch) or branch.get("$ref", "").endswith("/NullEnum")
                for branch in branches
            )
        )

    detail = component(schema, "ReturnRequestDetail")["properties"]
    line = component(schema, "ReturnLine")["properties"]
    for name, label in UNSET_CHOICES.items():
        assert allows_null(detail[name]) and allows_null(detail[label]), name
    for name, label in UNSET_LINE_CHOICES.items():
        assert allows_null(line[name]) and allows_null(line[label]), name


def test_customers_answers_may_leave_out_the_internal_notes_and_the_schema_says_so(
    schema, world_a, submitted
):
    line = api_as(world_a.customer).get(f"{RETURNS}{submitted.pk}/").json()["lines"][0]

    assert "inspection_note" not in line
    assert "inspection_note" not in component(schema, "ReturnLine").get("required", [])


# --- schema limits are the server's ----------------------------------------------------------


def test_comment_and_customer_note_limits_are_the_services(schema, world_a, delivered_order):
    create = component(schema, "ReturnCreateRequest")["properties"]
    line_input = component(schema, "ReturnLineInputRequest")["properties"]
    assert create["customer_note"]["maxLength"] == MAX_COMMENT == 2000
    assert line_input["comment"]["maxLength"] == MAX_COMMENT
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    body = {
        "lines": [{"order_line": line.pk, "quantity": 1, "reason": "defective"}],
        "requested_resolution": "refund",
        "return_method": "drop_off",
    }
    client = api_as(world_a.customer)

    too_long = client.post(RETURNS, {**body, "customer_note": "x" * 2001}, format="json")
    at_the_limit = client.post(RETURNS, {**body, "customer_note": "x" * 2000}, format="json")

    assert set(assert_error(too_long, 400, "invalid")["fields"]) == {"customer_note"}
    assert at_the_limit.status_code == 201, at_the_limit.content


def test_required_texts_need_a_character_and_lines_need_one_line(schema):
    for name, field in [
        ("RejectInputRequest", "reason"),
        ("ProvideInfoInputRequest", "answer"),
        ("RequestInfoInputRequest", "question"),
        ("ComplaintCreateRequest", "subject"),
        ("ComplaintCreateRequest", "description"),
        ("ComplaintMessageInputRequest", "body"),
        ("ComplaintReasonInputRequest", "reason"),
        ("ComplaintResolveInputRequest", "resolution"),
    ]:
        prop = component(schema, name)["properties"][field]
        assert prop["minLength"] == 1 and prop["pattern"] == NOT_BLANK_PATTERN, (name, field)
    assert component(schema, "ReturnCreateRequest")["properties"]["lines"]["minItems"] == 1


@pytest.mark.parametrize("reason", ["", "   ", "\x1c", "\ufeff\n"])
def test_a_blank_required_text_is_refused_before_anything_changes(world_a, submitted, reason):
    response = api_as(world_a.agent).post(
        f"{RETURNS}{submitted.pk}/reject/", {"reason": reason}, format="json"
    )

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"reason"}
    submitted.refresh_from_db()
    assert submitted.status == ReturnStatus.SUBMITTED


def test_a_return_without_lines_is_refused(world_a, policy_a):
    response = api_as(world_a.customer).post(
        RETURNS,
        {"lines": [], "requested_resolution": "refund", "return_method": "drop_off"},
        format="json",
    )

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"lines"}
    assert not ReturnRequest.unscoped.exists()


# --- values of the documented type only ------------------------------------------------------


@pytest.mark.parametrize("reason", [0, 12.5, True, ["Not ours"], {"text": "Not ours"}])
def test_a_text_sent_as_another_json_type_is_refused(world_a, submitted, reason):
    response = api_as(world_a.agent).post(
        f"{RETURNS}{submitted.pk}/reject/", {"reason": reason}, format="json"
    )

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"reason"}
    submitted.refresh_from_db()
    assert (submitted.status, submitted.rejection_reason) == (ReturnStatus.SUBMITTED, "")


def test_a_message_body_sent_as_a_number_posts_nothing(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    before = ComplaintMessage.unscoped.filter(complaint_id=complaint.pk).count()

    response = api_as(world_a.customer).post(
        f"{COMPLAINTS}{complaint.pk}/messages/", {"body": 0}, format="json"
    )

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"body"}
    assert ComplaintMessage.unscoped.filter(complaint_id=complaint.pk).count() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": "1"}, "lines[0].quantity"),  # a string for a number
        ({"quantity": True}, "lines[0].quantity"),  # a boolean for a number
        ({"quantity": 1.5}, "lines[0].quantity"),
        ({"order_line": 2**63}, "lines[0].order_line"),  # no row has such an id
    ],
)
def test_numbers_must_be_json_numbers_in_range(world_a, delivered_order, change, field):
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    body = {
        "lines": [{"order_line": line.pk, "quantity": 1, "reason": "defective", **change}],
        "requested_resolution": "refund",
        "return_method": "drop_off",
    }

    response = api_as(world_a.customer).post(RETURNS, body, format="json")

    assert set(assert_error(response, 400, "invalid")["fields"]) == {field}
    assert not ReturnRequest.unscoped.exists()


def test_a_whole_number_written_with_a_point_is_a_number(world_a, delivered_order):
    # JSON Schema counts 1.0 as an integer; so does the API.
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    body = {
        "lines": [{"order_line": line.pk, "quantity": 1.0, "reason": "defective"}],
        "requested_resolution": "refund",
        "return_method": "drop_off",
    }

    response = api_as(world_a.customer).post(RETURNS, body, format="json")

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("submit", [1, "true", "yes"])
def test_a_boolean_must_be_a_json_boolean(world_a, delivered_order, submit):
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    body = {
        "lines": [{"order_line": line.pk, "quantity": 1, "reason": "defective"}],
        "requested_resolution": "refund",
        "return_method": "drop_off",
        "submit": submit,
    }

    response = api_as(world_a.customer).post(RETURNS, body, format="json")

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"submit"}


# --- query parameters ------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "1.5", "201", ""])
def test_a_page_size_that_is_not_a_whole_number_in_range_is_refused(world_a, page_size):
    response = api_as(world_a.agent).get(RETURNS, {"page_size": page_size})

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"page_size"}


@pytest.mark.parametrize("page", ["0", "abc", "last"])
def test_a_page_that_is_not_a_whole_number_is_refused(world_a, page):
    response = api_as(world_a.agent).get(RETURNS, {"page": page})

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"page"}


def test_unknown_query_parameters_are_refused_and_the_allowed_ones_named(world_a):
    response = api_as(world_a.agent).get(RETURNS, {"stauts": "approved"})

    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"stauts"}
    message = error["fields"]["stauts"][0]
    for allowed in ("status", "updated_since", "cursor", "page", "page_size", "customer"):
        assert re.search(rf"\b{allowed}\b", message), allowed


def test_a_single_valued_parameter_given_twice_is_refused(world_a):
    response = api_as(world_a.agent).get(f"{RETURNS}?search=RMA&search=ZAM")

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"search"}


def test_the_other_lists_refuse_unknown_parameters_too(world_a):
    client = api_as(world_a.agent)
    for url in ("/api/v1/orders/", COMPLAINTS, "/api/v1/auth/tokens/"):
        response = client.get(url, {"ordering": "id"})
        assert set(assert_error(response, 400, "invalid")["fields"]) == {"ordering"}, url


def test_repeated_statuses_mean_any_of_them_not_the_last(world_a, delivered_order, file_return):
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    new = {"order_line_id": line.pk, "quantity": 1, "reason": "defective"}
    draft = file_return(world_a.customer, world_a.company, [new], submit=False)
    submitted = file_return(world_a.customer, world_a.company, [new])
    returns_fixtures.advance(
        file_return(world_a.customer, world_a.company, [new]), "approved", agent=world_a.agent
    )

    response = api_as(world_a.agent).get(f"{RETURNS}?status=draft&status=submitted")

    assert response.status_code == 200, response.content
    assert {row["id"] for row in response.json()["results"]} == {draft.pk, submitted.pk}


def test_an_unknown_status_among_several_is_named(world_a):
    response = api_as(world_a.agent).get(f"{RETURNS}?status=draft&status=lost")

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"status"}


# --- the schema ------------------------------------------------------------------------------


def test_attachment_downloads_document_the_types_they_are_served_as(schema):
    for path in (
        "/api/v1/returns/{id}/attachments/{attachment_id}/",
        "/api/v1/complaints/{id}/attachments/{attachment_id}/",
    ):
        content = operation(schema, "get", path)["responses"]["200"]["content"]
        assert set(content) == {"image/jpeg", "image/png", "image/webp", "application/pdf"}


def test_every_operation_documents_405_406_and_415_where_they_can_happen(schema):
    for path, methods in schema["paths"].items():
        for method, spec in methods.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = spec["responses"]
            assert "405" in responses, (method, path)
            if "requestBody" in spec:
                assert "415" in responses, (method, path)
    listed = operation(schema, "get", "/api/v1/returns/")["responses"]
    assert {"400", "406"} <= set(listed)


def test_error_codes_are_an_enum_with_every_code_the_api_answers(schema):
    prop = component(schema, "Error")["properties"]["code"]
    reference = prop.get("$ref") or prop["allOf"][0]["$ref"]
    code = component(schema, reference.rsplit("/", 1)[1])
    assert code["enum"] == list(ERROR_CODES)
    assert {"invalid", "not_found", "forbidden", "conflict", "throttled"} <= set(code["enum"])


CODE_IN_SOURCE = re.compile(
    r"""(?:\b(?:default_)?code\s*=\s*|TokenRejected\((?:[^()]|\([^()]*\))*?,\s*|error_body\(\s*)"""
    r"""["']([a-z_]+)["']"""
)


def test_every_error_code_raised_in_the_code_is_in_the_enum():
    # Codes of services, tokens and views: a new one must be added to ERROR_CODES (and so to
    # the schema and docs/api.md) before it can reach a client.
    root = Path(django_settings.BASE_DIR)
    found = set()
    for package in ("rma_portal", "returns", "complaints", "customers"):
        for source in (root / package).rglob("*.py"):
            if "migrations" in source.parts or "management" in source.parts:
                continue
            found |= set(CODE_IN_SOURCE.findall(source.read_text()))
    not_errors = {  # form fields' codes of the portal's pages
        "required",
        "wrong",
        "too_large",
        "too_many_files",
        "invalid_nip",
        "invalid_vat",
        "unknown_order",
        # the portal team page's services, which no API operation calls
        "last_admin",
        "too_soon",
    }
    assert found - not_errors - set(ERROR_CODES) == set()


def test_every_operation_has_examples(schema):
    for path, methods in schema["paths"].items():
        for method, spec in methods.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            bodies = [
                media
                for response in spec["responses"].values()
                for media in response.get("content", {}).values()
            ]
            assert any("examples" in media or "example" in media for media in bodies), (
                method,
                path,
            )


def test_a_form_field_given_twice_is_refused_not_the_last_one_taken(world_a):
    complaint = complaint_file(world_a.customer, world_a.company)
    upload = SimpleUploadedFile("box.png", png_bytes(), content_type="image/png")

    response = api_as(world_a.agent).post(
        f"{COMPLAINTS}{complaint.pk}/attachments/",
        {"file": upload, "internal": ["true", "false"]},
        format="multipart",
    )

    assert set(assert_error(response, 400, "invalid")["fields"]) == {"internal"}
    assert not ComplaintAttachment.unscoped.filter(complaint_id=complaint.pk).exists()


def test_multipart_bodies_document_no_null(schema):
    upload = component(schema, "AttachmentUploadRequest")["properties"]["line"]
    assert upload.get("type") == "integer" and "null" not in str(upload)
