"""Every staff page of the back-office fits the screen and passes axe-core, on a desktop
(1366 × 900) and a phone (390 × 844).

An agent opens the case pages (the lists and their queues, every case of the data below,
the filing pages, the inspection, resolution and document pages, the bulk assignment, the
load per agent); the tenant admin opens the index and, for every model of the admin site's
registry it may see, the list and the page of its first row: an admin registered later is
covered without a change here (its rows come from the builders of
tests/security/test_admin_scoping.py, which every admin needs anyway).

Each page must
- not overflow: the document is no wider than the window, and no box in it scrolls sideways
  (a list's table that needs a horizontal scroll bar to show its SLA or assignee fails);
- pass axe-core (static/vendor/axe-core, injected by the test: the app's Content-Security-
  Policy is unchanged) with no violation of impact "serious" or "critical".

The data has long company, person and subject names, so a layout that cannot wrap them
shows. Every problem of every page is reported at once.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.urls import reverse

from complaints.models import Complaint, ComplaintStage, ComplaintStatus
from customers.models import OrderLine
from returns.models import ReturnRequest, ReturnStatus
from rma_portal.accounts.models import Team, TeamMembership
from rma_portal.tenancy.context import tenant_context
from tests.complaints import conftest as complaint_helpers
from tests.returns import conftest as returns_fixtures
from tests.security.test_admin_scoping import BUILDERS

# The returns tests' fixtures (tests/returns/conftest.py), shared rather than copied.
policy_a = returns_fixtures.policy_a
delivered_order = returns_fixtures.delivered_order
file_return = returns_fixtures.file_return

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(django_settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js"
AXE_SOURCE = AXE.read_text(encoding="utf-8")
FAILING_IMPACTS = ("serious", "critical")

SCREENS = pytest.mark.parametrize(
    "viewport",
    [{"width": 1366, "height": 900}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)

LONG_COMPANY = (
    "Przedsiębiorstwo Handlowo-Usługowe Hurtownia Narzędzi i Odzieży Roboczej "
    "Kowalski, Nowak i Wspólnicy Spółka z ograniczoną odpowiedzialnością Oddział Wrocław"
)
LONG_PERSON = "Maria-Magdalena Wiśniewska-Brzęczyszczykiewicz-Konstantynopolitańczykowska"
LONG_SUBJECTS = [
    "Pęknięte obudowy zasilaczy impulsowych w całej ostatniej dostawie z magazynu centralnego "
    "oraz brakujące instrukcje obsługi w języku polskim i angielskim",
    "Reklamacja-dotycząca-partii-rękawic-roboczych-nr-2026/11/0042-AB-CD-EF-bez-spacji-w-tytule",
    "Late delivery of the replacement pallets promised for the second week of November, "
    "with the courier's tracking number never sent to our warehouse team",
]

# The case lists' columns an agent works by: on a desktop each is shown, inside the window.
KEY_COLUMNS = {
    "/backoffice/complaints/complaint/": [
        "field-code",
        "field-status",
        "field-sla",
        "field-first_response_due_at",
        "field-resolution_due_at",
        "field-assignee",
    ],
    "/backoffice/returns/returnrequest/": [
        "field-rma_number",
        "field-status",
        "field-sla",
        "field-assignee",
    ],
}

# What the window and the document measure, and the boxes that scroll sideways.
MEASURE = """() => {
  const wide = [];
  for (const box of document.querySelectorAll('body *')) {
    const style = getComputedStyle(box);
    if (!['auto', 'scroll'].includes(style.overflowX)) continue;
    if (['TEXTAREA', 'SELECT', 'INPUT'].includes(box.tagName)) continue;
    if (box.scrollWidth > box.clientWidth + 1) {
      const classes = typeof box.className === 'string' ? box.className.trim() : '';
      const name = box.id ? '#' + box.id
        : box.tagName.toLowerCase() + (classes ? '.' + classes.split(/\\s+/).join('.') : '');
      wide.push(
        name + ' scrolls: ' + box.scrollWidth + ' px of content in ' + box.clientWidth + ' px'
      );
    }
  }
  return {
    document: document.documentElement.scrollWidth,
    window: window.innerWidth,
    wide: wide,
  };
}"""

AXE_RUN = """async (impacts) => {
  // No CSSOM preload: it re-adds each stylesheet that @imports another as an inline <style>,
  // which the Content-Security-Policy refuses (and the test would report).
  const result = await axe.run(document, {resultTypes: ['violations'], preload: false});
  return result.violations
    .filter((violation) => impacts.includes(violation.impact))
    .map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.slice(0, 5).map((node) => node.target.join(' ') +
        (node.any.concat(node.all)[0] ? ' (' + node.any.concat(node.all)[0].message + ')' : '')),
      count: violation.nodes.length,
    }));
}"""

COLUMNS_SHOWN = """(classes) => !document.querySelector('#result_list tbody tr') ? [] :
classes.map((name) => {
  const cell = document.querySelector(
    '#result_list tbody tr td.' + name + ', #result_list tbody tr th.' + name
  );
  if (!cell) return name + ': no such cell';
  const box = cell.getBoundingClientRect();
  if (box.width === 0 || getComputedStyle(cell).display === 'none') return name + ': hidden';
  if (box.right > window.innerWidth) return name + ': ends at ' + Math.round(box.right) + ' px';
  return '';
}).filter(Boolean)"""


# --- the data ---------------------------------------------------------------------------


def _long_names(world) -> None:
    world.company.name = LONG_COMPANY
    world.company.save(update_fields=["name"])
    world.customer.full_name = LONG_PERSON
    world.customer.save(update_fields=["full_name"])
    world.agent.full_name = "Aleksander Zbigniew Kowalczyk-Wojciechowski"
    world.agent.email = "aleksander.kowalczyk-wojciechowski@hurtownia-narzedzi.example.com"
    world.agent.save(update_fields=["full_name", "email"])


def _returns(world, order, file_return) -> dict[str, ReturnRequest]:
    """A return in each state a page of its own belongs to, with notes on the timeline."""
    from returns import services

    line = OrderLine.unscoped.get(order=order, line_number=2)  # 10 pieces
    returns = {}
    for status in (
        ReturnStatus.SUBMITTED,
        ReturnStatus.AWAITING_APPROVAL,
        ReturnStatus.NEEDS_INFO,
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
        ReturnStatus.RESOLVED,
    ):
        draft = file_return(
            world.customer,
            world.company,
            [{"order_line_id": line.pk, "quantity": 1, "reason": "defective"}],
            submit=False,
        )
        returns[status] = returns_fixtures.advance(draft, status, agent=world.agent)
    with tenant_context(world.tenant):
        services.return_request_comment(
            return_request=returns[ReturnStatus.SUBMITTED],
            actor=world.agent,
            note=LONG_SUBJECTS[0] + "\n" + LONG_SUBJECTS[1],
            is_public=False,
        )
    return returns


def _complaints(world) -> list[Complaint]:
    """Complaints with long subjects in several states, with a thread and a stage."""
    from complaints import services

    ComplaintStage.unscoped.create(
        tenant=world.tenant,
        key="analysis",
        name="Analysis of the cause with the supplier's quality department",
        limit_days=3,
        statuses=[ComplaintStatus.IN_PROGRESS, ComplaintStatus.AWAITING_CUSTOMER],
    )
    complaints = []
    states = [
        ComplaintStatus.NEW,
        ComplaintStatus.IN_PROGRESS,
        ComplaintStatus.AWAITING_CUSTOMER,
        ComplaintStatus.RESOLVED,
    ]
    for number, status in enumerate(states):
        filed = complaint_helpers.complaint_file(
            world.customer,
            world.company,
            subject=LONG_SUBJECTS[number % len(LONG_SUBJECTS)],
            description=" ".join(LONG_SUBJECTS),
            priority="high" if number % 2 else "normal",
        )
        complaints.append(complaint_helpers.advance(filed, status, agent=world.agent))
    busy = complaints[1]
    with tenant_context(world.tenant):
        services.complaint_reply(
            complaint=busy,
            actor=world.agent,
            body=LONG_SUBJECTS[1],
            is_internal=True,
            now=complaint_helpers.AFTER_THE_PATH,
        )
        # photos: the conversation's and the side panel's thumbnails, and the viewer
        services.complaint_reply(
            complaint=busy,
            actor=world.customer,
            body=LONG_SUBJECTS[0],
            uploads=[complaint_helpers.png_upload("photo-of-the-cracked-housing.png")],
            now=complaint_helpers.AFTER_THE_PATH,
        )
    return complaints


def _every_registered_model(world) -> None:
    """A row of the tenant for every registered admin that has none yet (an inbound message
    brings its mailbox, so the labels go in order)."""
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label_lower):
        label = model._meta.label_lower
        if label not in BUILDERS:
            continue
        if _first_row(model, world.tenant) is None:
            BUILDERS[label](world)


@pytest.fixture
def staff_data(world_a, delivered_order, file_return, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    world = world_a
    _long_names(world)
    team = Team.unscoped.create(
        tenant=world.tenant, name="Returns and complaints desk, Wrocław warehouse"
    )
    TeamMembership.unscoped.create(tenant=world.tenant, team=team, user=world.agent)
    returns = _returns(world, delivered_order, file_return)
    complaints = _complaints(world)
    _every_registered_model(world)
    return world, returns, complaints


# --- the pages ------------------------------------------------------------------------------


def _agent_pages(world, returns, complaints) -> list[str]:
    from complaints.admin import QUEUES as COMPLAINT_QUEUES
    from returns.admin import QUEUES as RETURN_QUEUES

    returns_list = reverse("admin:returns_returnrequest_changelist")
    complaints_list = reverse("admin:complaints_complaint_changelist")
    customer = f"?company={world.company.pk}&customer={world.customer.pk}"
    pages = [
        reverse("admin:index"),
        returns_list,
        *(f"{returns_list}?queue={queue.key}" for queue in RETURN_QUEUES),
        complaints_list,
        *(f"{complaints_list}?queue={queue.key}" for queue in COMPLAINT_QUEUES),
        reverse("admin:returns_returnrequest_file"),
        reverse("admin:returns_returnrequest_file") + customer,
        reverse("admin:complaints_complaint_file"),
        reverse("admin:complaints_complaint_file") + customer,
    ]
    pages += [
        reverse("admin:returns_returnrequest_change", args=[rma.pk]) for rma in returns.values()
    ]
    pages += [
        reverse("admin:returns_returnrequest_inspect", args=[returns[ReturnStatus.RECEIVED].pk]),
        reverse("admin:returns_returnrequest_resolve", args=[returns[ReturnStatus.INSPECTED].pk]),
        reverse(
            "admin:returns_returnrequest_confirm_document",
            args=[returns[ReturnStatus.RESOLVED].pk],
        ),
    ]
    pages += [
        reverse("admin:complaints_complaint_change", args=[complaint.pk])
        for complaint in complaints
    ]
    return pages


def _inject_axe(page) -> None:
    """axe-core, run as the test's own code: a <script> added to the page would be refused by
    the Content-Security-Policy (rightly: it is inline), which stays as the app sends it."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    assert page.evaluate("() => typeof window.axe.run === 'function'")


def _check(page, url: str, problems: list[str], *, key_columns: list[str] = ()) -> None:
    """Open-page checks: overflow, sideways scrolling boxes, key columns, axe-core."""
    where = f"{urlsplit(url).path}{'?' + urlsplit(url).query if urlsplit(url).query else ''}"
    size = page.viewport_size["width"]
    measured = page.evaluate(MEASURE)
    if measured["document"] > measured["window"]:
        problems.append(
            f"{where} @{size}: the document is {measured['document']} px wide "
            f"in a {measured['window']} px window"
        )
    problems += [f"{where} @{size}: {box}" for box in measured["wide"]]
    if key_columns:
        problems += [
            f"{where} @{size}: column {column}"
            for column in page.evaluate(COLUMNS_SHOWN, list(key_columns))
        ]
    _inject_axe(page)
    for violation in page.evaluate(AXE_RUN, list(FAILING_IMPACTS)):
        problems.append(
            f"{where} @{size}: axe {violation['impact']} {violation['id']} "
            f"({violation['help']}) × {violation['count']}: " + "; ".join(violation["targets"])
        )


def _visit(page, url: str, problems: list[str], **checks) -> None:
    response = page.goto(page.base_url + url)
    assert response is not None and response.ok, (url, response and response.status)
    _check(page, page.url, problems, **checks)


def _bulk_assignment(page, problems: list[str]) -> None:
    """The complaints list's "assign selected" action asks for the assignee on a page."""
    page.goto(page.base_url + reverse("admin:complaints_complaint_changelist"))
    page.check("#action-toggle")
    page.select_option("select[name=action]", "assign_selected")
    with page.expect_navigation():
        page.click("#changelist-form button[name=index]")
    assert page.locator("#content form select[name=assignee]").count() == 1
    _check(page, page.url, problems)


def _admin_pages(page, problems: list[str], tenant) -> list[str]:
    """Every registered model's list and its first row's page, as the signed-in user; returns
    the labels the user may not list (403)."""
    refused = []
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label_lower):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = page.goto(page.base_url + url)
        if response.status == 403:
            refused.append(opts.label_lower)
            continue
        assert response.ok, (url, response.status)
        _check(page, page.url, problems)
        own = f"/{opts.app_label}/{opts.model_name}/"
        first = page.locator(f"#result_list tbody tr a[href*='{own}'][href$='/change/']").first
        if first.count():
            _visit(page, first.get_attribute("href"), problems)
        else:  # a list that links elsewhere (a survey answer to its return)
            row = _first_row(model, tenant)
            assert row is not None, f"{url}: no row of the tenant to open"
            _visit(
                page,
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]),
                problems,
            )
    return refused


def _first_row(model, tenant):
    rows = model._base_manager.order_by("pk")
    if any(field.name == "tenant" for field in model._meta.fields):
        rows = rows.filter(tenant=tenant)
    return rows.first()


@SCREENS
def test_every_staff_page_fits_the_screen_and_passes_axe(page, sign_in, staff_data, viewport):
    world, returns, complaints = staff_data
    problems: list[str] = []
    desktop = viewport["width"] >= 1024

    sign_in(page, world.agent)
    for url in _agent_pages(world, returns, complaints):
        key = KEY_COLUMNS.get(urlsplit(url).path, ()) if desktop else ()
        _visit(page, url, problems, key_columns=key)
    _bulk_assignment(page, problems)

    page.context.clear_cookies()
    sign_in(page, world.tenant_admin)
    _visit(page, reverse("admin:index"), problems)
    _visit(page, reverse("admin:accounts_team_load"), problems)  # not an agent's page
    refused = _admin_pages(page, problems, world.tenant)

    assert refused == ["auth.group"], refused  # roles, not groups, give permissions
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
