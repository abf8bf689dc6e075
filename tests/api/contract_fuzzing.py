"""Generated tests of the API's contract, one module per role (tests/api/test_fuzz_<role>.py,
so that parallel test processes share the roles; `contract_tests(role)` makes their tests):
schemathesis reads the live OpenAPI schema (signed in,
as the API's users read it) and calls every operation with data made from it, valid and
invalid, then checks every answer against the schema (status, content type, headers, body) and
against the API's promises (valid input accepted, invalid input refused, no 5xx, credentials
required, unknown methods refused with Allow, created objects readable, ...). The stateful run
chains operations through the links schemathesis infers from the schema (a return created, then
read and acted on), as each role the API serves.

The run here is bounded and deterministic: derandomized Hypothesis, a fixed number of examples,
no deadlines, no example database, no rate limits. `make api-fuzz` runs the same tests with
API_FUZZ_MAX_EXAMPLES=100 and every phase for every role. Requests go to the WSGI application
in-process, on the test's database connection and transaction: no server, nothing left behind.

Valid input can still be refused for what it refers to: a wrong password, an order line of
another company, a return policy, a file that is not an image by content, two parameters that
exclude each other. Schemathesis' own check takes only 2xx/3xx/401/403/404/409/429 for valid
input; here 400 is let through it, and `refusals_of_valid_input_say_why` holds every such 400 to
the reasons listed in REFUSALS_OF_VALID_INPUT (error code and the fields it names), so a schema
that is merely too loose still fails.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from complaints.models import ComplaintStatus
from customers.models import OrderLine
from returns import services as return_services
from returns.models import ReturnAttachment, ReturnStatus
from rma_portal.api.throttling import ClientAddressScopedRateThrottle, SignInAccountRateThrottle
from rma_portal.credentials import services as credentials
from rma_portal.credentials.models import ApiScope
from rma_portal.credentials.services import TokenRejected
from rma_portal.tenancy.context import tenant_context
from tests.complaints.conftest import advance as complaint_advance
from tests.complaints.conftest import complaint_file
from tests.returns import conftest as returns_fixtures

from . import personal_token, png_bytes

# The per-role modules set this as their own.
PYTESTMARK = [pytest.mark.django_db, pytest.mark.slow]

# The service tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return

# Generated (fuzzing) examples per operation, on top of the schema's examples and, where the
# coverage phase runs, every boundary and every kind of invalid value of each parameter.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_MAX_EXAMPLES", "3"))
FULL_RUN = MAX_EXAMPLES >= 100
# Scenarios of the stateful run, each of up to STATEFUL_STEPS linked calls.
STATEFUL_EXAMPLES = max(MAX_EXAMPLES, 10)
STATEFUL_STEPS = 6

HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Who calls the API: a customer user, an agent, a tenant admin, and an API key (it acts as the
# tenant's integration user) with every scope. The coverage phase sends every boundary and
# every invalid value of each parameter; the bounded run leaves it to the role that reaches the
# most operations, the full run (`make api-fuzz`) gives it to every role.
ROLES = ["customer", "agent", "tenant_admin", "api_key"]
COVERAGE_ROLES = set(ROLES) if FULL_RUN else {"tenant_admin"}

# Operations (a regular expression of "METHOD /path") that this test leaves out for now, each
# with the failures that keep it out; remove a line when its operations keep the contract.
NOT_YET_UNDER_CONTRACT: dict[str, str] = {
    r"^(POST|PATCH) /api/v1/webhooks/endpoints/(\{id\}/)?$": "blank `event_types` items "
    "refused, allowed by the schema",
}

# Operations whose only body is multipart form data, where every value travels as text: a
# "null" or "{}" generated as invalid input for a text field arrives as the text "null" or
# "{}", which the field rightly takes. Their invalid cases are still sent (and every other
# check applies to the answers); only "invalid input must be refused" is not asked of them.
FORM_ONLY_OPERATIONS = r"^POST /api/v1/(returns|complaints)/\{id\}/attachments/$"

# --- valid input refused, and why that is right ---------------------------------------------

ANY_FIELD = None  # the fields named depend on the data (e.g. a return policy's reasons)

# "METHOD /path" -> {error code: the fields the error may name}. Fields are named as in the
# answer, list indexes as [] ("lines[].quantity").
REFUSALS_OF_VALID_INPUT: dict[str, dict[str, set[str] | None]] = {
    # Credentials that open nothing; a lifetime beyond the operator's maximum.
    "POST /api/v1/auth/token/": {
        "invalid_credentials": set(),
        "otp_required": {"otp"},
        "invalid_otp": {"otp"},
        "too_many_tokens": set(),
        "invalid": {"expires_in_days"},
    },
    # Staff file for a customer user of theirs, through a channel; order lines of the
    # customer's company, in delivered quantities, with serial numbers when tracked; the
    # reason "other" described; a courier pickup on a coming working day at an address; the
    # return policy.
    "POST /api/v1/returns/": {
        "invalid": {
            "on_behalf_of",
            "channel",
            "override_reason",
            "lines",
            "lines[].order_line",
            "lines[].quantity",
            "lines[].reason_text",
            "lines[].serial_numbers",
            "pickup_date",
            "pickup_address",
        },
        "policy_refused": ANY_FIELD,
    },
    "POST /api/v1/returns/{id}/submit/": {"policy_refused": ANY_FIELD},
    # Every line of the return, by its id, with at most its quantity accepted.
    "POST /api/v1/returns/{id}/inspect/": {
        "invalid": {"lines", "lines[].id", "lines[].accepted_quantity"}
    },
    # Lines of the return; the documents and amounts a resolution needs.
    "POST /api/v1/returns/{id}/resolve/": {
        "invalid": {
            "resolution",
            "lines",
            "lines[].id",
            "lines[].resolution",
            "lines[].amount",
            "lines[].replacement_sku",
            "lines[].replacement_quantity",
            "lines[].override_reason",
            "credit_note_number",
            "replacement_order_ref",
        }
    },
    "POST /api/v1/returns/{id}/resolution/confirm/": {
        "invalid": {"type", "number", "date", "amount"}
    },
    # A file judged by its content; a line of this return.
    # (A file of no bytes is no file: "invalid", naming it.)
    "POST /api/v1/returns/{id}/attachments/": {
        "invalid_upload": {"file"},
        "invalid": {"file", "line"},
    },
    # A customer user of the tenant, a channel (staff); an order, line and product of the
    # customer's company; files judged by content.
    "POST /api/v1/complaints/": {
        "invalid": {
            "on_behalf_of",
            "channel",
            "order",
            "order_line",
            "product",
            "files",
            "files[]",
        },
        "invalid_upload": {"files"},
    },
    "POST /api/v1/complaints/{id}/messages/": {
        "invalid_upload": {"files"},
        "invalid": {"files", "files[]"},
    },
    "POST /api/v1/complaints/{id}/attachments/": {
        "invalid_upload": {"file"},
        "invalid": {"file"},
    },
    # An agent of the tenant.
    "POST /api/v1/complaints/{id}/assign/": {"invalid": {"assignee"}},
    # A customer company of the tenant, by its number.
    "POST /api/v1/customer-users/": {"invalid": {"customer_number"}},
    # An expiry in the future; at most so many usable keys per tenant.
    "POST /api/v1/api-keys/": {"invalid": {"expires_at"}, "too_many_api_keys": set()},
}

# The ERP's records, checked as the CSV import checks them (customers/services/imports): what
# the schema cannot say of one record. Every kind: the key given in the record is the URL's
# (PUT), each key once per request (bulk).
ERP_REFUSALS: dict[str, set[str]] = {
    "product-categories": {"code"},
    # A category named alike wherever it is named.
    "products": {"sku", "category_name"},
    # A valid NIP or EU VAT number, one customer's; a shipping address whole or empty.
    "customers": {"number", "vat_number", "shipping_street"},
    # A customer and products of the tenant, an order staying with its customer; dates in
    # order; each line once; serial numbers of serial-tracked products, one per unit
    # delivered; no more delivered than ordered, nor less ordered than already delivered.
    "orders": {
        "order_number",
        "customer_number",
        "order_date",
        "delivery_date",
        "lines[].line_number",
        "lines[].sku",
        "lines[].quantity",
        "lines[].serial_numbers",
        "lines[].delivered_quantity",
        "lines[].delivered_on",
    },
    # A customer of the tenant, staying the invoice's; gross = net + tax; orders and lines of
    # that customer, each line on one invoice.
    "invoices": {"number", "customer_number", "gross_amount", "order_numbers", "lines"},
}
for _kind, _fields in ERP_REFUSALS.items():
    REFUSALS_OF_VALID_INPUT[f"PUT /api/v1/{_kind}/by-external-id/{{external_id}}/"] = {
        "invalid": _fields
    }
    REFUSALS_OF_VALID_INPUT[f"POST /api/v1/{_kind}/bulk/"] = {
        "invalid": {f"records[].{name}" for name in _fields}
    }

# A contract override names the tenant's categories and products by code and SKU, which the
# schema cannot know: an unknown one is refused, named by its place (`non_returnable_products[3]`)
# or by itself (`category_windows.<code>`), so the fields cannot be listed in advance.
REFUSALS_OF_VALID_INPUT["PUT /api/v1/customers/by-external-id/{external_id}/return-policy/"] = {
    "invalid": ANY_FIELD
}


def _dated(value) -> str | None:
    return value if isinstance(value, str) else None


def _explained_by_the_query(case, fields: set[str]) -> bool:
    """Rules between query parameters, which a schema cannot state."""
    query = case.query or {}
    if fields == {"cursor"} and "page" in query and "cursor" in query:
        return True  # one way of paging at a time
    start, end = _dated(query.get("created_from")), _dated(query.get("created_to"))
    return fields == {"created_to"} and bool(start and end and start > end)


@schemathesis.check
def refusals_of_valid_input_say_why(ctx, response, case):
    """A schema-valid request answered 400 must be refused for a reason the schema cannot
    express, in the API's error shape, naming it (see REFUSALS_OF_VALID_INPUT)."""
    if (
        response.status_code != 400
        or case.meta is None
        or not case.meta.generation.mode.is_positive
    ):
        return None
    error = response.json()["error"]
    code = error["code"]
    named = {re.sub(r"\[\d+\]", "[]", name) for name in error["fields"]}
    if code == "invalid" and _explained_by_the_query(case, named):
        return True
    label = f"{case.method} {case.operation.path}"
    reasons = REFUSALS_OF_VALID_INPUT.get(label, {})
    if code not in reasons:
        raise AssertionError(f"{label}: valid input refused with {code}: {error}")
    allowed = reasons[code]
    if allowed is not ANY_FIELD and not named <= allowed:
        raise AssertionError(
            f"{label}: valid input refused naming {sorted(named - allowed)}: {error}"
        )
    return True


CONFIG = {
    # PostgreSQL cannot store a NUL character: every text refuses it (400, documented); the
    # schema does not repeat that in a pattern on each field.
    "generation": {"allow-x00": False},
    "checks": {
        "positive_data_acceptance": {
            # 400 is judged by refusals_of_valid_input_say_why.
            "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
        }
    },
}

# --- the world the calls meet ---------------------------------------------------------------


@pytest.fixture
def wsgi_app():
    """The WSGI application, serving requests on the test's database connection: like Django's
    test client, it keeps the per-request connection closing from ending the test's
    transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def quiet_request_log():
    """Thousands of refused requests would each log a warning line."""
    loggers = [logging.getLogger(name) for name in ("django.request", "axes")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def no_rate_limits(settings, monkeypatch, world_a):
    """Limits count requests per minute of the clock: a run must not depend on how fast it
    goes (the throttles have their own tests)."""
    world_a.tenant.api_rate_limit_per_minute = 10**9
    world_a.tenant.save(update_fields=["api_rate_limit_per_minute"])
    settings.API_ANONYMOUS_RATE_LIMIT_PER_MINUTE = 10**9
    unlimited = {"auth_token": "1000000/minute", "auth_token_account": "1000000/minute"}
    monkeypatch.setattr(ClientAddressScopedRateThrottle, "THROTTLE_RATES", unlimited)
    monkeypatch.setattr(SignInAccountRateThrottle, "THROTTLE_RATES", unlimited)


@pytest.fixture
def api_data(settings, tmp_path, world_a, world_b, delivered_order, file_return, no_rate_limits):
    """Objects in every state an operation acts on, so that valid calls reach their success
    paths: returns of world A's customer from draft to inspected (one with a photo), complaints
    new, in progress and resolved; and world B, which no call may reach."""
    settings.MEDIA_ROOT = tmp_path / "media"
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    returns = {}
    for status in (
        ReturnStatus.DRAFT,
        ReturnStatus.SUBMITTED,
        ReturnStatus.APPROVED,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
    ):
        draft = file_return(
            world_a.customer,
            world_a.company,
            [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
            submit=False,
        )
        returns[status] = returns_fixtures.advance(draft, status, agent=world_a.agent)
    with tenant_context(world_a.tenant):
        return_services.return_attachment_add(
            return_request=returns[ReturnStatus.SUBMITTED],
            actor=world_a.customer,
            upload=SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png"),
        )
    complaints = {
        status: complaint_advance(
            complaint_file(world_a.customer, world_a.company), status, agent=world_a.agent
        )
        for status in (ComplaintStatus.NEW, ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED)
    }
    return {"returns": returns, "complaints": complaints}


# Calls that may revoke or rotate the credential they are sent with.
CREDENTIAL_PATHS = re.compile(r"^/api/v1/(auth|api-keys)/")


@dataclass
class Credential:
    """The `Authorization` header of one role. A call may revoke the credential it is sent
    with (DELETE /auth/token/ does, as it should): the next call then gets a new one."""

    role: str
    world: object
    key: str = field(default="", init=False)
    suspect: bool = field(default=True, init=False)

    def header(self) -> str:
        if self.suspect and not self._usable():
            self.key = self._new_key()
        self.suspect = False
        keyword = "Api-Key" if self.role == "api_key" else "Token"
        return f"{keyword} {self.key}"

    def after(self, case) -> None:
        self.suspect = self.suspect or bool(CREDENTIAL_PATHS.match(case.formatted_path))

    def _usable(self) -> bool:
        find = (
            credentials.find_api_key if self.role == "api_key" else credentials.find_personal_token
        )
        try:
            return bool(self.key) and find(self.key) is not None
        except TokenRejected:
            return False

    def _new_key(self) -> str:
        if self.role != "api_key":
            return personal_token(getattr(self.world, self.role))
        return credentials.issue_api_key(
            tenant=self.world.tenant,
            name="Contract tests",
            scopes=list(ApiScope.values),
            actor=self.world.tenant_admin,
            via="test",
        ).key


# Roles whose calls name real objects (below) instead of made-up ids, so that valid input
# reaches the success paths of every operation on one object; the role of the coverage phase
# keeps made-up ids, and with them every lookup that finds nothing.
REAL_OBJECT_ROLES = set(ROLES) - {"tenant_admin"}


def real_objects(api_data) -> list[dict]:
    """[[operations]] entries of the schemathesis configuration: which object each operation
    on one object is called on (a return or complaint in a state the operation acts on)."""
    returns, complaints = api_data["returns"], api_data["complaints"]
    submitted = returns[ReturnStatus.SUBMITTED]
    ids = {
        r"returns/\{id\}/(submit|cancel)/": returns[ReturnStatus.DRAFT].pk,
        r"returns/\{id\}/receive/": returns[ReturnStatus.APPROVED].pk,
        r"returns/\{id\}/inspect/": returns[ReturnStatus.RECEIVED].pk,
        r"returns/\{id\}/(resolve|label)/": returns[ReturnStatus.INSPECTED].pk,
        r"returns/\{id\}/(|approve/|ask-approval/|reject/|request-info/|provide-info/"
        r"|attachments/)": submitted.pk,
        r"complaints/\{id\}/(|assign/|start/|messages/|attachments/|reject/"
        r"|priority/)": complaints[ComplaintStatus.NEW].pk,
        r"complaints/\{id\}/(wait-for-customer|resolve)/": complaints[
            ComplaintStatus.IN_PROGRESS
        ].pk,
        r"complaints/\{id\}/(reopen|close|rating)/": complaints[ComplaintStatus.RESOLVED].pk,
    }
    entries = [
        {"include-path-regex": f"^/api/v1/{path}$", "parameters": {"path.id": pk}}
        for path, pk in ids.items()
    ]
    attachment = ReturnAttachment.unscoped.get(return_request=submitted)
    entries.append(
        {
            "include-path-regex": r"^/api/v1/returns/\{id\}/attachments/\{attachment_id\}/$",
            "parameters": {"path.id": submitted.pk, "path.attachment_id": attachment.pk},
        }
    )
    return entries


@pytest.fixture
def api_schema(request, credential, wsgi_app, api_data):
    # schemathesis' lazy loader renames the test node through `_nodeid`, which pytest 9.2's
    # nodes no longer have (they keep `nodeid` only): give it one to rename.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    config = {**CONFIG, "phases": {"coverage": {"enabled": credential.role in COVERAGE_ROLES}}}
    config["operations"] = [
        {"include-name-regex": "|".join(NOT_YET_UNDER_CONTRACT), "enabled": False}
    ] * bool(NOT_YET_UNDER_CONTRACT)
    config["operations"].append(
        {
            "include-name-regex": FORM_ONLY_OPERATIONS,
            "checks": {"negative_data_rejection": {"enabled": False}},
        }
    )
    if credential.role in REAL_OBJECT_ROLES:
        config["operations"] += real_objects(api_data)
    loaded = schemathesis.openapi.from_wsgi(
        "/api/v1/schema/?format=json",
        wsgi_app,
        headers={"Authorization": credential.header()},
        config=schemathesis.Config.from_dict(config),
    )

    # Every call carries the role's credential (and the checks know it is a real one: they
    # send the call again without it, and with a made-up one, and expect 401).
    @loaded.auth(refresh_interval=None)
    class RoleAuth:
        def get(self, case, context):
            return credential.header()

        def set(self, case, data, context):
            case.headers["Authorization"] = data

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")
if os.environ.get("API_FUZZ_PATHS"):  # a regular expression: fuzz only these paths
    schema = schema.include(path_regex=os.environ["API_FUZZ_PATHS"])


# The coverage phase of the bounded run is the suite's longest stretch: the operations of its
# role are shared out over several modules by path (tests/api/test_fuzz_tenant_admin_<share>.py),
# so parallel test processes share them too.
SHARED_ROLES = {"tenant_admin"}
COVERAGE_SHARES = {
    "returns": r"^/api/v1/returns/",
    "complaints": r"^/api/v1/complaints/",
    "catalogue": r"^/api/v1/(product-categories|products)/",
    "orders": r"^/api/v1/(orders|invoices)/",
    "customers-bulk": r"^/api/v1/customers/bulk/",
    "customers-upsert": r"^/api/v1/customers/by-external-id/",
    "customers": r"^/api/v1/customers/(?!bulk/|by-external-id/)",
}


def contract_tests(role: str, share: str | None = None):
    """(the `credential` fixture, test_every_operation_keeps_the_contract,
    test_linked_calls_keep_the_contract) of one role, for a test module to hold.

    For a role of SHARED_ROLES, `share` (a key of COVERAGE_SHARES) limits the operations to
    those paths, and without it the module holds the role's other operations and the stateful
    run: the shares and the rest together are every operation, exactly once."""
    assert role in ROLES, role
    assert share is None or (role in SHARED_ROLES and share in COVERAGE_SHARES), share
    if share is not None:
        operations = schema.include(path_regex=COVERAGE_SHARES[share])
    elif role in SHARED_ROLES:
        operations = schema.exclude(path_regex="|".join(COVERAGE_SHARES.values()))
    else:
        operations = schema

    @pytest.fixture
    def credential(world_a, api_data, quiet_request_log) -> Credential:
        return Credential(role, world_a)

    @operations.parametrize()
    @HYPOTHESIS
    def test_every_operation_keeps_the_contract(case, credential):
        case.call_and_validate()
        credential.after(case)

    def test_linked_calls_keep_the_contract(api_schema, credential):
        class Workflow(api_schema.as_state_machine()):
            def after_call(self, response, case):
                super().after_call(response, case)
                credential.after(case)

        Workflow.run(
            settings=settings(
                HYPOTHESIS, max_examples=STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS
            )
        )

    return credential, test_every_operation_keeps_the_contract, test_linked_calls_keep_the_contract
