"""Ids out of range never cost a 500.

Every URL pattern of the project with a numeric id in its path is requested, read from the
urlconf (so a page added later is checked too), as a signed-in user of the right kind, with
ids that are no row's: 0, -1, one past PostgreSQL's bigint, and one far past it. Each answers
4xx (404 for an id in the path), never a server error. The query-string ids the pages read
(`?order=`, `?complaint=`, list filters, drill-downs, the back-office's own parameters, the
API's filters) are checked below with the same values.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.converters import IntConverter
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RoutePattern

from rma_portal.credentials.models import ApiScope
from rma_portal.ids import MAX_ID, IdConverter, id_or_404, parse_id, parse_ids
from tests.api import api_as, api_with_key

pytestmark = pytest.mark.django_db

# Ids that are no row's: none, negative, the first past bigint, far past it (20 digits).
BAD_IDS = ["0", "-1", str(2**63), str(10**20)]
# ... and those a path's `[0-9]+` lets through, plus the largest id PostgreSQL can hold.
PATH_IDS = [*BAD_IDS, str(MAX_ID)]
# Query-string values: the above, and some that are no number at all.
QUERY_IDS = [*PATH_IDS, "abc", "1.5", "", " 7", "1e3", "٣", "²", "0" * 30 + "1"]

ID_CONVERTERS = ("IntConverter", "IdConverter")
ADMIN_ID_NAMES = {"object_id", "id"}
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _routes(resolver: URLResolver, prefix: str = ""):
    """(route, pattern) of every URL pattern below `resolver`, routes joined."""
    for entry in resolver.url_patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue  # regular expressions: the back-office's catch-all and app index, the API's
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def _takes_an_id(route: str, pattern: URLPattern) -> bool:
    converters = {
        name: type(converter).__name__ for name, converter in pattern.pattern.converters.items()
    }
    if any(name in ID_CONVERTERS for name in converters.values()):
        return True
    # The back-office's object pages take the id as a path or a string (Django's admin): ids too.
    return route.startswith("backoffice/") and bool(ADMIN_ID_NAMES & set(converters))


ID_ROUTES = sorted(
    route for route, pattern in _routes(get_resolver()) if _takes_an_id(route, pattern)
)


def _url(route: str, value: str, *, tenant_slug: str) -> str:
    def fill(match: re.Match) -> str:
        converter, name = match.group("converter"), match.group("name")
        if converter in (None, "str", "path") and name not in ADMIN_ID_NAMES:
            return "x1"
        if converter == "slug":
            return tenant_slug
        return value

    return "/" + PARAMETER.sub(fill, route)


def test_the_walk_finds_the_pages_with_ids():
    # A guard on the walk itself: a change to how routes are read would otherwise pass
    # silently with nothing checked.
    assert len(ID_ROUTES) > 100
    for expected in (
        "portal/returns/<id:return_id>/",
        "portal/complaints/<id:complaint_id>/attachments/<id:attachment_id>/",
        "api/v1/returns/<id:pk>/",
        "backoffice/returns/returnrequest/<path:object_id>/inspect/",
        "backoffice/my-work/views/<id:pk>/delete/",
        "backoffice/accounts/user/<id>/password/",
        "dashboard/reports/<int:year>-<int:month>.pdf",
        "feedback/returns/<id:return_id>/",
        "inbound/mailgun/<slug:tenant_slug>/<id:mailbox_id>/mime",
    ):
        assert expected in ID_ROUTES


@pytest.fixture
def clients(world_a, client, login):
    """A client per kind of caller, keyed by the URL's first segment."""
    from django.test import Client

    from rma_portal.credentials.services import issue_api_key

    def signed_in(user) -> Client:
        other = Client(raise_request_exception=False)
        other.force_login(user)
        return other

    key = issue_api_key(
        tenant=world_a.tenant,
        name="ERP",
        scopes=list(ApiScope.values),
        actor=world_a.tenant_admin,
        via="test",
    ).key
    return {
        "portal": [signed_in(world_a.customer_admin)],
        "feedback": [signed_in(world_a.customer)],
        "backoffice": [signed_in(world_a.tenant_admin), signed_in(world_a.agent)],
        "dashboard": [signed_in(world_a.manager)],
        "api": [api_as(world_a.tenant_admin), api_with_key(key), api_as(world_a.customer)],
        "inbound": [Client(raise_request_exception=False)],
    }


@pytest.mark.parametrize("route", ID_ROUTES)
def test_an_id_out_of_range_in_the_path_is_not_found(route, clients, world_a):
    callers = clients[route.split("/", 1)[0]]
    for caller in callers:
        if hasattr(caller, "raise_request_exception"):
            caller.raise_request_exception = False
        for value in PATH_IDS:
            url = _url(route, value, tenant_slug=world_a.tenant.slug)
            for method in ("get", "post"):
                response = getattr(caller, method)(url)
                assert response.status_code < 500, (method, url, response.status_code)


# --- ids in the query string and in forms ----------------------------------------------------


@pytest.fixture
def case_pages(world_a):
    """A complaint (whose back-office page reads `?canned=`) and a delivered order line."""
    from tests.api import delivered_line
    from tests.complaints.conftest import complaint_file

    return {
        "complaint": complaint_file(world_a.customer_admin, world_a.company),
        "line": delivered_line(world_a.company),
    }


def _caller(world, kind: str, superuser=None):
    from django.test import Client

    if kind.startswith("api:"):
        return api_as(getattr(world, kind.removeprefix("api:")))
    client = Client(raise_request_exception=False)
    client.force_login(superuser if kind == "superuser" else getattr(world, kind))
    return client


# (who, method, path, parameters with "{}" where the id goes). `{complaint}` in a path is the
# id of the fixture's complaint.
QUERY_CASES = [
    ("customer_admin", "get", "/portal/returns/new/", {"order": "{}"}),
    ("customer_admin", "get", "/portal/returns/new/", {"order": ["{}", "{}"]}),
    ("customer_admin", "get", "/portal/returns/new/", {"complaint": "{}"}),
    ("customer_admin", "post", "/portal/returns/new/", {"complaint": "{}", "orders": "{}"}),
    ("customer_admin", "get", "/portal/returns/new/", {"page": "{}"}),
    ("customer_admin", "get", "/portal/returns/", {"page": "{}", "order": "{}", "q": "{}"}),
    ("customer_admin", "get", "/portal/complaints/new/", {"order": "{}"}),
    ("customer_admin", "get", "/portal/complaints/new/", {"order_line": "{}"}),
    ("customer_admin", "post", "/portal/complaints/new/", {"order": "{}", "show_lines": "1"}),
    ("customer_admin", "post", "/portal/complaints/new/", {"order": "{}", "order_line": "{}"}),
    ("customer_admin", "get", "/portal/complaints/", {"page": "{}", "q": "{}"}),
    ("customer_admin", "get", "/portal/", {"page": "{}"}),
    ("agent", "post", "/accounts/api-tokens/", {"action": "revoke", "token": "{}"}),
    ("agent", "get", "/backoffice/", {"company": "{}", "customer": "{}", "page": "{}"}),
    ("agent", "get", "/backoffice/returns/returnrequest/file/", {"company": "{}"}),
    (
        "agent",
        "post",
        "/backoffice/returns/returnrequest/file/?company={company}&customer={customer}",
        {"lines-TOTAL_FORMS": "1", "lines-0-order_line": "{}", "channel": "phone"},
    ),
    ("agent", "get", "/backoffice/complaints/complaint/file/", {"company": "{}", "customer": "{}"}),
    ("coordinator", "get", "/backoffice/accounts/team/load/", {"team": "{}"}),
    ("agent", "get", "/backoffice/complaints/complaint/{complaint}/change/", {"canned": "{}"}),
    (
        "agent",
        "get",
        "/backoffice/returns/returnrequest/",
        {"customer_account__id__exact": "{}", "assignee__id__exact": "{}", "p": "{}"},
    ),
    (
        "agent",
        "get",
        "/backoffice/complaints/complaint/",
        {"stage__id__exact": "{}", "customer_account__id__exact": "{}", "o": "{}"},
    ),
    (
        "tenant_admin",
        "get",
        "/backoffice/notifications/webhookdelivery/",
        {"endpoint__id__exact": "{}"},
    ),
    ("superuser", "post", "/backoffice/switch-tenant/", {"tenant": "{}"}),
    (
        "agent",
        "post",
        "/backoffice/returns/returnrequest/",
        {"action": "bulk_close", "_selected_action": ["{}", "{}"]},
    ),
    (
        "agent",
        "post",
        "/backoffice/complaints/complaint/",
        {"action": "bulk_close", "_selected_action": "{}", "bulk_confirmed": "yes"},
    ),
    ("manager", "get", "/dashboard/", {"customer": "{}", "category": "{}", "product": "{}"}),
    ("manager", "get", "/dashboard/returns/", {"customer": "{}", "page": "{}"}),
    ("manager", "get", "/dashboard/complaints/", {"agent": "{}", "product": "{}"}),
    ("manager", "get", "/dashboard/export/returns.csv", {"customer": "{}"}),
    ("agent", "get", "/dashboard/", {"period": "30d", "customer": "{}"}),
    ("api:tenant_admin", "get", "/api/v1/returns/", {"customer": "{}"}),
    ("api:tenant_admin", "get", "/api/v1/returns/", {"assignee": "{}"}),
    ("api:tenant_admin", "get", "/api/v1/returns/", {"page": "{}"}),
    ("api:tenant_admin", "get", "/api/v1/complaints/", {"customer": "{}"}),
    ("api:tenant_admin", "get", "/api/v1/complaints/", {"assignee": "{}"}),
    ("api:tenant_admin", "get", "/api/v1/orders/", {"customer": "{}"}),
    ("api:tenant_admin", "get", "/api/v1/customer-users/", {"customer": "{}"}),
    ("api:tenant_admin", "get", "/api/v1/webhooks/deliveries/", {"endpoint": "{}"}),
    ("api:customer_admin", "get", "/api/v1/returns/", {"page": "{}"}),
]


def _fill(template, value: str, *, ids: dict):
    if isinstance(template, list):
        return [_fill(item, value, ids=ids) for item in template]
    return value if template == "{}" else template.format(**ids)


@pytest.mark.parametrize(("who", "method", "path", "parameters"), QUERY_CASES)
def test_an_id_out_of_range_in_the_query_string_is_no_server_error(
    who, method, path, parameters, world_a, superuser, case_pages
):
    ids = {
        "complaint": case_pages["complaint"].pk,
        "company": world_a.company.pk,
        "customer": world_a.customer.pk,
    }
    caller = _caller(world_a, who, superuser)
    url = path.format(**ids)
    for value in QUERY_IDS:
        data = {name: _fill(template, value, ids=ids) for name, template in parameters.items()}
        response = getattr(caller, method)(url, data)
        assert response.status_code < 500, (method, url, data, response.status_code)
        if who.startswith("api:") and value not in (str(MAX_ID),):
            assert response.status_code in (200, 400, 404), (url, data, response.status_code)


# --- the shared pieces -----------------------------------------------------------------------

# `int` in a URL pattern is for numbers that are no ids; an id is `<id:...>`.
NOT_IDS = {"year", "month", "quarter"}


def test_ids_in_url_patterns_use_the_id_converter():
    plain = [
        (route, name)
        for route, pattern in _routes(get_resolver())
        for name, converter in pattern.pattern.converters.items()
        if isinstance(converter, IntConverter) and name not in NOT_IDS
    ]
    assert plain == []


@pytest.mark.parametrize("value", ["0", str(2**63), str(10**20)])
def test_an_id_out_of_range_matches_no_id_pattern(value):
    """The converter turns the URL away before any view: it resolves to another pattern (the
    API's and the back-office's catch-alls) or to none."""
    for route, pattern in _routes(get_resolver()):
        if not any(isinstance(c, IdConverter) for c in pattern.pattern.converters.values()):
            continue
        url = _url(route, value, tenant_slug="alpha")
        try:
            match = resolve(url)
        except Resolver404:
            continue
        assert match.route != route, url


def test_the_largest_id_still_matches():
    match = resolve(f"/portal/returns/{MAX_ID}/")
    assert match.kwargs == {"return_id": MAX_ID}
    assert match.route == "portal/returns/<id:return_id>/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        (" 42 ", 42),
        ("007", 7),
        ("0" * 40 + "9", 9),
        (str(MAX_ID), MAX_ID),
        (17, 17),
        (MAX_ID, MAX_ID),
        ("", None),
        (None, None),
        ("0", None),
        ("000", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        ("1e3", None),
        ("1_000", None),
        ("²", None),
        ("٣", None),
        ("１", None),  # a full-width digit
        (str(MAX_ID + 1), None),
        (str(10**20), None),
        ("9" * 5000, None),
        (0, None),
        (-5, None),
        (MAX_ID + 1, None),
        (True, None),
        (1.0, None),
        (["1"], None),
    ],
)
def test_parse_id(value, expected):
    assert parse_id(value) == expected


def test_parse_ids_leaves_out_what_names_no_row_and_reads_at_most_the_limit():
    assert parse_ids(["3", "x", str(2**63), "", "4", "5"], limit=5) == [3, 4]
    assert parse_ids(["3", "4"]) == [3, 4]


def test_id_or_404():
    from django.http import Http404

    assert id_or_404("12") == 12
    with pytest.raises(Http404):
        id_or_404(str(10**20))


def test_wizard_orders_past_bigint_are_an_error_of_the_form(world_a):
    from customers.models import Order
    from returns.forms import WizardOrdersForm

    form = WizardOrdersForm(
        {"orders": [str(10**20)]}, orders=Order.unscoped.filter(tenant=world_a.tenant)
    )
    assert not form.is_valid()
    assert form.errors["orders"] == ["Choose delivered orders of your company."]


# --- what the pages do with such ids ------------------------------------------------------------


def test_a_new_return_ignores_an_order_id_out_of_range_and_keeps_the_valid_one(world_a, client):
    from tests.api import delivered_line

    order = delivered_line(world_a.company).order
    client.force_login(world_a.customer_admin)

    response = client.get(
        "/portal/returns/new/",
        {"order": ["99999999999999999999", str(2**63), "²", "0", "-1", str(order.pk)]},
    )

    assert response.status_code == 200
    assert [chosen.pk for chosen in response.context["selected"]] == [order.pk]


@pytest.mark.parametrize("value", [*BAD_IDS, "²", "abc"])
def test_a_new_return_from_a_complaint_id_out_of_range_links_no_complaint(world_a, client, value):
    client.force_login(world_a.customer_admin)

    response = client.get("/portal/returns/new/", {"complaint": value})

    assert response.status_code == 200
    assert response.context["complaint"] is None


@pytest.mark.parametrize("value", [*BAD_IDS, "²", "abc"])
def test_a_new_complaint_with_an_order_id_out_of_range_preselects_nothing(world_a, client, value):
    client.force_login(world_a.customer_admin)

    for parameter in ("order", "order_line"):
        response = client.get("/portal/complaints/new/", {parameter: value})

        assert response.status_code == 200
        assert response.context["form"].chosen_order is None


@pytest.mark.parametrize("value", [*BAD_IDS, "²", "abc"])
def test_revoking_a_token_by_an_id_out_of_range_is_not_found(world_a, client, value):
    from rma_portal.credentials.models import PersonalToken
    from tests.api import personal_token

    personal_token(world_a.agent)
    client.force_login(world_a.agent)

    response = client.post("/accounts/api-tokens/", {"action": "revoke", "token": value})

    assert response.status_code == 404
    assert PersonalToken.objects.get(user=world_a.agent).revoked_at is None


@pytest.mark.parametrize("value", [*BAD_IDS, "²"])
def test_switching_to_a_tenant_id_out_of_range_means_all_tenants(superuser, client, value):
    client.force_login(superuser)

    response = client.post("/backoffice/switch-tenant/", {"tenant": value})

    assert response.status_code == 302
    assert "active_tenant" not in "".join(client.session.keys())


@pytest.mark.parametrize("value", [*BAD_IDS, "²", "abc"])
def test_dashboard_filters_with_an_id_out_of_range_name_the_field(world_a, client, value):
    client.force_login(world_a.manager)

    response = client.get("/dashboard/", {"customer": value})

    assert response.status_code == 400
    assert response.context["errors"] == {"customer": "Choose a customer from the list."}


@pytest.mark.parametrize("value", [*BAD_IDS, "²", "abc", "1.5"])
@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/returns/", "customer"),
        ("/api/v1/returns/", "assignee"),
        ("/api/v1/complaints/", "customer"),
        ("/api/v1/orders/", "customer"),
        ("/api/v1/customer-users/", "customer"),
        ("/api/v1/webhooks/deliveries/", "endpoint"),
    ],
)
def test_api_filters_with_an_id_out_of_range_answer_400_naming_the_parameter(
    world_a, path, parameter, value
):
    from tests.api import assert_error

    response = api_as(world_a.tenant_admin).get(path, {parameter: value})

    assert set(assert_error(response, 400, "invalid")["fields"]) == {parameter}


def test_a_list_action_on_rows_that_are_no_ids_changes_nothing(world_a, client):
    client.force_login(world_a.agent)

    response = client.post(
        "/backoffice/returns/returnrequest/",
        {"action": "bulk_close", "index": "0", "_selected_action": ["abc", str(2**63), "²"]},
        follow=True,
    )

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Items must be selected in order to perform actions on them. No items have been changed."
    ]
