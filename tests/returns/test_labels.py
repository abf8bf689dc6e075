"""The return label + packing slip PDF: rendered by the worker after approval, stored under the
tenant's media path, what it shows, what it refuses to load, and its three download URLs
(portal, back-office, API) with their isolation."""

from __future__ import annotations

import datetime
import io
import logging
import re
import socket
import urllib.request

import pytest
from celery.exceptions import Retry
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from pypdf import PdfReader

from returns import labels, services
from returns.models import ReturnRequest, ReturnStatus
from returns.selectors import tenant_today
from returns.tasks import render_return_label_task
from rma_portal.documents import pdf
from rma_portal.tenancy.context import tenant_context
from tests.api import api_as
from tests.formats import dates_in, double_stops_after_dates, foreign_dates

from .conftest import advance

pytestmark = pytest.mark.django_db

LABEL_PATH = re.compile(r"tenants/(\d+)/labels/[0-9a-f]{32}\.pdf")


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def next_working_day(tenant) -> datetime.date:
    day = tenant_today(tenant) + datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


@pytest.fixture
def filed(make_order_line):
    """A return of `user` at `company`, taken through the real services to `status`."""

    def _filed(
        world,
        *,
        user=None,
        company=None,
        status=ReturnStatus.APPROVED,
        method="drop_off",
        comment="",
        note="",
        pickup_address="",
    ):
        company = company or world.company
        user = user or world.customer
        order_line = make_order_line(company, quantity=3)
        is_pickup = method == "courier_pickup"
        with tenant_context(company.tenant):
            draft = services.return_request_create(
                customer_account=company,
                requester=user,
                lines=[
                    services.LineInput(
                        order_line_id=order_line.pk, quantity=2, reason="defective", comment=comment
                    )
                ],
                requested_resolution="refund",
                return_method=method,
                pickup_date=next_working_day(company.tenant) if is_pickup else None,
                pickup_address=pickup_address,
                customer_note=note,
            )
        return advance(draft, status, agent=world.agent)

    return _filed


def reload(return_request) -> ReturnRequest:
    return ReturnRequest.unscoped.select_related("tenant").get(pk=return_request.pk)


# --- rendering in the worker ----------------------------------------------------------------


def test_approval_renders_the_label_after_commit_under_the_tenants_media_path(
    world_a, filed, media_root, django_capture_on_commit_callbacks
):
    # given
    submitted = filed(world_a, status=ReturnStatus.SUBMITTED)

    # when
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world_a.tenant):
        services.return_request_approve(return_request=submitted, actor=world_a.agent)

    # then
    stored = reload(submitted)
    assert LABEL_PATH.fullmatch(stored.label_file.name)
    assert LABEL_PATH.fullmatch(stored.label_file.name).group(1) == str(world_a.tenant.pk)
    assert stored.label_rendered_at is not None
    assert (media_root / stored.label_file.name).is_file()
    assert submitted.number in pdf_text(stored.label_file.read())


def test_nothing_is_rendered_when_the_approval_rolls_back(world_a, filed, media_root):
    submitted = filed(world_a, status=ReturnStatus.SUBMITTED)

    class Abort(Exception):
        pass

    # the callbacks of a rolled-back transaction never run
    with pytest.raises(Abort), tenant_context(world_a.tenant):
        from django.db import transaction

        with transaction.atomic():
            services.return_request_approve(return_request=submitted, actor=world_a.agent)
            raise Abort

    assert not reload(submitted).label_file
    assert not (media_root / "tenants").exists()


def test_a_broker_that_is_down_does_not_stop_the_approval(
    world_a, filed, media_root, monkeypatch, django_capture_on_commit_callbacks
):
    # given
    submitted = filed(world_a, status=ReturnStatus.SUBMITTED)

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(render_return_label_task, "apply_async", broker_down)

    # when
    with django_capture_on_commit_callbacks(execute=True), tenant_context(world_a.tenant):
        services.return_request_approve(return_request=submitted, actor=world_a.agent)

    # then the return is approved; its label waits for the first download
    stored = reload(submitted)
    assert stored.status == ReturnStatus.APPROVED
    assert not stored.label_file


def test_the_task_skips_a_return_cancelled_before_the_worker_ran(world_a, filed, media_root):
    cancelled = filed(world_a, status=ReturnStatus.CANCELLED)

    assert render_return_label_task.apply(args=[cancelled.pk, world_a.tenant.pk]).get() == (
        "skipped"
    )
    assert not reload(cancelled).label_file


def test_the_task_only_sees_returns_of_its_tenant(world_a, world_b, filed, media_root):
    approved_a = filed(world_a)

    outcome = render_return_label_task.apply(args=[approved_a.pk, world_b.tenant.pk]).get()

    assert outcome == "missing"
    assert not reload(approved_a).label_file


def test_rendering_again_replaces_the_stored_file(
    world_a, filed, media_root, django_capture_on_commit_callbacks
):
    approved = filed(world_a)
    with tenant_context(world_a.tenant), django_capture_on_commit_callbacks(execute=True):
        first = labels.return_label_render(return_request=reload(approved)).label_file.name
        second = labels.return_label_render(return_request=reload(approved)).label_file.name

    assert first != second
    assert not (media_root / first).exists()
    assert (media_root / second).is_file()
    assert reload(approved).label_file.name == second


# --- what the PDF shows -----------------------------------------------------------------------


def label_text(return_request) -> str:
    with tenant_context(return_request.tenant):
        rendered = labels.return_label_render(return_request=reload(return_request))
    return pdf_text(rendered.label_file.read())


def test_the_label_shows_number_addresses_lines_and_drop_off_instructions(
    world_a, filed, media_root
):
    approved = filed(world_a, method="drop_off")

    text = label_text(approved)

    assert text.count(approved.number) >= 3  # label, instructions, packing slip
    tenant, company = world_a.tenant, world_a.company
    assert tenant.return_address_name in text  # ship to
    assert f"{tenant.return_address_postal_code} {tenant.return_address_city}" in text
    assert company.shipping_street in text  # ship from
    assert company.number in text
    line = approved.lines.model.unscoped.get(return_request=approved)
    assert line.order_line.product.sku in text
    assert "drop-off point" in text
    assert "Packing slip" in text
    assert f"/portal/returns/{approved.pk}/" in text


def test_the_label_prints_the_public_return_policy_address_and_its_qr_code(
    world_a, filed, media_root, settings
):
    settings.SITE_URL = "https://rma.example.com/"
    approved = filed(world_a, method="drop_off")
    policy = f"https://rma.example.com/policy/{world_a.tenant.slug}/"

    assert policy in label_text(approved)
    with tenant_context(world_a.tenant):
        rma = reload(approved)
        html = labels.return_label_html(
            return_request=rma, lines=labels.return_label_lines(return_request=rma)
        )
    assert str(pdf.qr_svg(policy, size="18mm")) in html


def test_a_courier_pickup_label_gives_the_date_and_the_pickup_address(world_a, filed, media_root):
    approved = filed(
        world_a, method="courier_pickup", pickup_address="Gate 4, ul. Portowa 9\n80-001 Gdańsk"
    )

    text = label_text(approved)

    # The year alone is in the RMA number too: look for the whole date in its sentence.
    day = date_format(next_working_day(world_a.tenant), "DATE_FORMAT")
    assert f"A courier will collect the parcel on {day} from:" in " ".join(text.split())
    assert "Gate 4, ul. Portowa 9" in text
    assert "80-001 Gdańsk" in text


def test_a_self_printed_label_says_to_print_and_send_it(world_a, filed, media_root):
    text = label_text(filed(world_a, method="self_printed_label"))

    assert "Print this label" in text
    assert "carrier of your choice" in text


def test_the_label_is_in_the_requesters_language(world_a, filed, media_root):
    world_a.customer.language = "pl"
    world_a.customer.save(update_fields=["language"])

    text = label_text(filed(world_a))

    assert "Przesyłka zwrotna" in text
    assert "Lista zawartości paczki" in text
    assert "Return shipment" not in text


def test_customer_text_is_escaped_and_its_markup_loads_nothing(
    world_a, filed, media_root, monkeypatch
):
    # given fields that would run script or fetch files if they were markup
    def no_network(*args, **kwargs):
        raise AssertionError("the label tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    approved = filed(
        world_a,
        comment='<script>alert("x")</script>',
        note='<img src="http://example.com/x.png"> <img src="file:///etc/passwd">',
    )

    # when
    text = label_text(approved)

    # then the customer sees their text as typed, as text
    assert '<script>alert("x")</script>' in text
    assert '<img src="http://example.com/x.png">' in text
    assert "root:x:0:0" not in text


# --- the URL fetcher ----------------------------------------------------------------------------


def test_the_fetcher_refuses_network_and_files_outside_static_and_the_render_goes_on(
    monkeypatch, caplog
):
    # given a document that asks for remote and local files
    def no_network(*args, **kwargs):
        raise AssertionError("the renderer tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    refused = [
        "http://example.com/x.png",
        "https://example.com/style.css",
        "file:///etc/passwd",
        "/static/../../../../etc/passwd",
        "ftp://example.com/file.png",
    ]
    html = (
        '<link rel="stylesheet" href="https://example.com/style.css">'
        '<p>RMA-TEST-1</p><img src="http://example.com/x.png"><img src="file:///etc/passwd">'
        '<img src="/static/../../../../etc/passwd"><img src="ftp://example.com/file.png">'
        '<object data="file:///etc/hostname"></object>'
    )

    # when
    with caplog.at_level(logging.WARNING, logger="rma_portal.documents.pdf"):
        document = pdf.html_to_pdf(html)

    # then the document renders without them, and each one was refused
    assert "RMA-TEST-1" in pdf_text(document)
    refused_urls = {record.url for record in caplog.records if hasattr(record, "url")}
    assert {"http://example.com/x.png", "https://example.com/style.css"} <= refused_urls
    assert "file:///etc/passwd" in refused_urls
    assert len(refused_urls) >= len(refused) - 1  # the traversal may be normalised to /etc


def test_the_fetcher_serves_the_projects_static_files_only():
    app_css = django_settings.BASE_DIR / "static" / "css" / "app.css"

    assert pdf.static_file_for("file:///static/css/app.css") == app_css.resolve()
    assert pdf.static_file_for(app_css.resolve().as_uri()) == app_css.resolve()
    assert pdf.static_file_for("file:///etc/passwd") is None
    assert pdf.static_file_for("file:///static/../../etc/passwd") is None
    assert pdf.static_file_for("file:///static/css/missing.css") is None
    assert pdf.static_file_for((django_settings.BASE_DIR / "manage.py").as_uri()) is None


def test_a_static_stylesheet_is_applied(tmp_path):
    css = (django_settings.BASE_DIR / "static" / "css" / "app.css").read_bytes()
    fetched = pdf.StaticFilesOnlyFetcher().fetch("file:///static/css/app.css")
    assert fetched.read() == css
    assert fetched.content_type == "text/css"


# --- barcodes -------------------------------------------------------------------------------------


def test_code128_packs_the_digits_of_an_rma_number_in_pairs():
    # "RMA-2026-" in set B, then "000123" as pairs 00 01 23 in set C (checked with zbarimg)
    values = pdf.code128_values("RMA-2026-000123")

    assert values[0] == pdf.START_B
    assert values[1:10] == [ord(c) - 32 for c in "RMA-2026-"]
    assert values[10:14] == [pdf.CODE_C, 0, 1, 23]
    weighted = values[0] + sum(i * v for i, v in enumerate(values[1:-1], 1))
    assert values[-1] == weighted % 103


def test_code128_encodes_all_digit_and_odd_digit_values():
    assert pdf.code128_values("12345678")[:5] == [pdf.START_C, 12, 34, 56, 78]
    assert pdf.code128_values("12345")[:5] == [pdf.START_B, ord("1") - 32, pdf.CODE_C, 23, 45]
    widths = pdf.code128_widths("RMA-2026-000123")
    assert sum(widths) == 11 * len(pdf.code128_values("RMA-2026-000123")) + 13
    with pytest.raises(ValueError):
        pdf.code128_values("Zażółć")


# --- downloads ------------------------------------------------------------------------------------


def portal_url(return_request) -> str:
    return reverse("portal:return_label", args=[return_request.pk])


def admin_url(return_request) -> str:
    return reverse("admin:returns_returnrequest_label", args=[return_request.pk])


def api_url(return_request) -> str:
    return f"/api/v1/returns/{return_request.pk}/label/"


def assert_pdf_download(response, return_request) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"{return_request.number}-return-label.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert return_request.number in pdf_text(body(response))


def test_the_customer_downloads_the_label_from_the_portal(world_a, filed, media_root, login):
    approved = filed(world_a)
    client = login(world_a.customer)

    page = client.get(reverse("portal:return_detail", args=[approved.pk]))
    assert portal_url(approved) in page.content.decode()

    assert_pdf_download(client.get(portal_url(approved)), approved)


def test_the_portal_page_offers_no_label_before_approval(world_a, filed, login, media_root):
    submitted = filed(world_a, status=ReturnStatus.SUBMITTED)

    page = login(world_a.customer).get(reverse("portal:return_detail", args=[submitted.pk]))

    assert page.status_code == 200
    assert portal_url(submitted) not in page.content.decode()
    assert "Download return label" not in page.content.decode()


def test_staff_download_the_label_from_the_back_office(world_a, filed, media_root, login):
    approved = filed(world_a)
    client = login(world_a.agent)

    page = client.get(reverse("admin:returns_returnrequest_change", args=[approved.pk]))
    assert admin_url(approved) in page.content.decode()

    assert_pdf_download(client.get(admin_url(approved)), approved)


def test_an_integration_downloads_the_label_through_the_api(world_a, filed, media_root):
    approved = filed(world_a)

    assert_pdf_download(api_as(world_a.customer).get(api_url(approved)), approved)
    assert_pdf_download(api_as(world_a.agent).get(api_url(approved)), approved)


def test_a_missing_file_is_rendered_again_on_download(world_a, filed, media_root, login):
    # given a label whose file was lost
    approved = filed(world_a)
    with tenant_context(world_a.tenant):
        lost = labels.return_label_render(return_request=reload(approved)).label_file.name
    (media_root / lost).unlink()

    # when
    response = login(world_a.customer).get(portal_url(approved))

    # then
    assert_pdf_download(response, approved)
    stored = reload(approved)
    assert stored.label_file.name != lost
    assert (media_root / stored.label_file.name).is_file()


def test_a_label_never_rendered_is_rendered_on_first_download(world_a, filed, media_root):
    approved = filed(world_a)  # no on-commit callbacks in this test: no worker ran
    assert not reload(approved).label_file

    assert_pdf_download(api_as(world_a.customer).get(api_url(approved)), approved)
    assert LABEL_PATH.fullmatch(reload(approved).label_file.name)


# --- isolation ------------------------------------------------------------------------------------


def foreign_return(owner: str, world_a, world_b, filed):
    if owner == "other_tenant":
        return filed(world_b)
    if owner == "other_company":
        return filed(world_a, user=world_a.other_company_user, company=world_a.other_company)
    return filed(world_a, user=world_a.colleague)  # hidden from a plain customer user


@pytest.mark.parametrize("owner", ["other_tenant", "other_company", "colleague"])
@pytest.mark.parametrize("channel", ["portal", "api"])
def test_a_foreign_label_answers_404_and_renders_nothing(
    world_a, world_b, filed, media_root, login, owner, channel
):
    rma = foreign_return(owner, world_a, world_b, filed)

    if channel == "portal":
        response = login(world_a.customer).get(portal_url(rma))
    else:
        response = api_as(world_a.customer).get(api_url(rma))

    assert response.status_code == 404
    assert not reload(rma).label_file
    assert not (media_root / "tenants").exists()


def test_another_tenants_label_answers_404_in_the_back_office(
    world_a, world_b, filed, media_root, login
):
    rma = filed(world_b)

    response = login(world_a.agent).get(admin_url(rma))

    assert response.status_code == 404
    assert not reload(rma).label_file


@pytest.mark.parametrize(
    "status",
    [
        ReturnStatus.DRAFT,
        ReturnStatus.SUBMITTED,
        ReturnStatus.NEEDS_INFO,
        ReturnStatus.REJECTED,
        ReturnStatus.CANCELLED,
    ],
)
def test_a_return_without_approval_has_no_label_anywhere(
    world_a, filed, media_root, login, client, status
):
    rma = filed(world_a, status=status)

    assert login(world_a.customer).get(portal_url(rma)).status_code == 404
    client.logout()
    assert login(world_a.agent).get(admin_url(rma)).status_code == 404
    assert api_as(world_a.customer).get(api_url(rma)).status_code == 404
    assert api_as(world_a.agent).get(api_url(rma)).status_code == 404
    assert not (media_root / "tenants").exists()


@pytest.mark.parametrize(
    "status", [ReturnStatus.RECEIVED, ReturnStatus.RESOLVED, ReturnStatus.CLOSED]
)
def test_the_label_stays_available_after_the_goods_arrive(
    world_a, filed, media_root, login, status
):
    rma = filed(world_a, status=status)

    assert_pdf_download(login(world_a.customer).get(portal_url(rma)), rma)


def test_the_label_download_refuses_other_methods(world_a, filed, media_root, login):
    approved = filed(world_a)

    assert login(world_a.customer).post(portal_url(approved)).status_code == 405


# --- lost labels come back through the outbox sweep -----------------------------------------


def test_a_label_whose_enqueue_was_lost_is_rendered_by_the_outbox_sweep(
    world_a, filed, media_root, django_capture_on_commit_callbacks
):
    # given: approved, but the after-commit enqueue never ran (broker down, process killed)
    submitted = filed(world_a, status=ReturnStatus.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=False), tenant_context(world_a.tenant):
        services.return_request_approve(return_request=submitted, actor=world_a.agent)
    asked = reload(submitted)
    assert not asked.label_file
    assert asked.label_requested_at is not None
    version = asked.version

    # when: the sweep runs too soon, then after the grace period
    assert labels.labels_due(now=asked.label_requested_at) == []
    later = asked.label_requested_at + labels.LABEL_SWEEP_AFTER
    assert labels.labels_due(now=later) == [(asked.pk, world_a.tenant.pk)]
    assert labels.label_sweep(now=later) == 1  # tasks run in-process in the tests

    # then: rendered once, no longer asked for, and the return's version untouched
    rendered = reload(submitted)
    assert LABEL_PATH.fullmatch(rendered.label_file.name)
    assert rendered.label_requested_at is None
    assert rendered.version == version
    assert labels.labels_due(now=later + labels.LABEL_SWEEP_AFTER) == []


def test_the_outbox_sweep_task_runs_the_label_sweep(
    world_a, filed, media_root, django_capture_on_commit_callbacks
):
    from rma_portal.notifications.tasks import sweep_outbox_task

    submitted = filed(world_a, status=ReturnStatus.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=False), tenant_context(world_a.tenant):
        services.return_request_approve(return_request=submitted, actor=world_a.agent)
    ReturnRequest.unscoped.filter(pk=submitted.pk).update(
        label_requested_at=reload(submitted).label_requested_at - labels.LABEL_SWEEP_AFTER
    )

    assert sweep_outbox_task() >= 1

    assert LABEL_PATH.fullmatch(reload(submitted).label_file.name)


def test_a_label_no_longer_needed_leaves_the_sweep(world_a, filed, media_root):
    approved = filed(world_a, status=ReturnStatus.APPROVED)
    with tenant_context(world_a.tenant):
        services.return_request_cancel(return_request=reload(approved), actor=world_a.customer)
    asked_at = reload(approved).label_requested_at or reload(approved).approved_at
    ReturnRequest.unscoped.filter(pk=approved.pk).update(label_file="", label_requested_at=asked_at)
    later = asked_at + labels.LABEL_SWEEP_AFTER

    assert labels.label_sweep(now=later) == 1

    cancelled = reload(approved)
    assert not cancelled.label_file
    assert cancelled.label_requested_at is None  # the worker found nothing to render
    assert labels.labels_due(now=later + labels.LABEL_SWEEP_AFTER) == []


@pytest.mark.parametrize("error", ["OperationalError", "InterfaceError", "OSError"])
def test_a_transient_failure_while_rendering_is_retried(error, world_a, filed, monkeypatch):
    import django.db

    failure = getattr(django.db, error, OSError)
    approved = filed(world_a, status=ReturnStatus.APPROVED)

    def fail(**_kwargs):
        raise failure("the database went away")

    monkeypatch.setattr(labels, "return_label_render", fail)
    with pytest.raises(Retry) as retried:  # tasks run in-process here and propagate
        render_return_label_task.apply(args=[approved.pk, world_a.tenant.pk])

    assert isinstance(retried.value.exc, failure)
    assert reload(approved).label_requested_at is not None  # still asked for: the sweep's too


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_label_writes_its_dates_the_languages_one_way(world_a, filed, media_root, language):
    world_a.customer.language = language
    world_a.customer.save(update_fields=["language"])
    approved = filed(world_a, method="courier_pickup", pickup_address="Gate 4")

    text = " ".join(label_text(approved).split())

    with translation.override(language):
        approved_on = date_format(
            timezone.localtime(reload(approved).approved_at, timezone.get_default_timezone()),
            "DATE_FORMAT",
        )
        pickup = date_format(next_working_day(world_a.tenant), "DATE_FORMAT")
    assert approved_on in text and pickup in text
    assert len(dates_in(text, language)) >= 3  # approval, pickup, "generated" moment
    assert foreign_dates(text, language) == []
    assert double_stops_after_dates(text) == []
