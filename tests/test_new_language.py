"""A new language is a translation file and a line in settings, nothing more.

German stands for it: a small catalog is written and compiled at test time into a temporary
locale directory, LANGUAGES gets its line and LOCALE_PATHS the directory, and with no other
change the portal offers German, a portal page, an e-mail and a PDF come out in German, a
tenant may offer it, and no migration is needed.
"""

from __future__ import annotations

import ast
import datetime
import io
import struct
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real
from pypdf import PdfReader

from returns import labels
from returns import services as return_services
from returns.models import ReturnRequest
from returns.selectors import tenant_today
from rma_portal.documents.pdf import html_to_pdf
from rma_portal.languages import offered_languages
from rma_portal.tenancy.context import tenant_context
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.html import parse

pytestmark = pytest.mark.django_db

GERMAN_PO = r"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Language: de\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

msgid "Your orders"
msgstr "Deine Bestellungen"

msgid "Return %(number)s has been submitted"
msgstr "Rücksendung %(number)s wurde eingereicht"

msgid "Return shipment"
msgstr "Rücksendung"
"""


def read_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a .po without plurals or contexts (enough for this catalog)."""
    catalog: dict[str, str] = {}
    msgid = None
    for line in text.strip().splitlines():
        keyword, _space, literal = line.partition(" ")
        if keyword == "msgid":
            msgid = ast.literal_eval(literal)
        elif keyword == "msgstr":
            catalog[msgid] = ast.literal_eval(literal)
        elif line.startswith('"') and msgid is not None:
            catalog[msgid] += ast.literal_eval(line)
    return catalog


def write_mo(catalog: dict[str, str], path: Path) -> None:
    """The GNU .mo file msgfmt would write for `catalog`: a header, the offsets of the sorted
    msgids and their translations, then the strings (no hash table, which readers skip)."""
    keys = sorted(catalog)
    ids = strs = b""
    offsets = []
    for key in keys:
        encoded_id, encoded_str = key.encode(), catalog[key].encode()
        offsets.append((len(ids), len(encoded_id), len(strs), len(encoded_str)))
        ids += encoded_id + b"\0"
        strs += encoded_str + b"\0"
    start_of_keys = 7 * 4 + 16 * len(keys)
    start_of_values = start_of_keys + len(ids)
    key_table, value_table = [], []
    for id_offset, id_length, str_offset, str_length in offsets:
        key_table += [id_length, start_of_keys + id_offset]
        value_table += [str_length, start_of_values + str_offset]
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + 8 * len(keys), 0, 0)
    tables = struct.pack(f"<{len(key_table) + len(value_table)}I", *key_table, *value_table)
    path.write_bytes(header + tables + ids + strs)


@pytest.fixture
def german(tmp_path):
    """German in LANGUAGES and its compiled catalog in LOCALE_PATHS, for this test only.
    override_settings' setting_changed receivers empty Django's translation caches on the
    way in and out; they are emptied here too, so nothing of German outlives the test."""
    messages = tmp_path / "locale" / "de" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    (messages / "django.po").write_text(GERMAN_PO, encoding="utf-8")
    write_mo(read_po(GERMAN_PO), messages / "django.mo")
    with override_settings(
        LANGUAGES=[*settings.LANGUAGES, ("de", "German")],
        LOCALE_PATHS=[tmp_path / "locale", *settings.LOCALE_PATHS],
    ):
        trans_real._translations = {}
        translation.activate("en")
        yield
    trans_real._translations = {}
    translation.activate("en")


def offer(tenant, codes, *, default):
    tenant.default_language = default
    tenant.offered_languages = codes
    tenant.full_clean()
    tenant.save()


def speak(user, language):
    user.language = language
    user.save(update_fields=["language"])


def submitted_return(world):
    tenant = world.tenant
    today = tenant_today(tenant)
    order = OrderFactory(
        tenant=tenant,
        customer_account=world.company,
        order_date=today - datetime.timedelta(days=7),
        delivery_date=today - datetime.timedelta(days=5),
    )
    line = OrderLineFactory(
        tenant=tenant,
        order=order,
        line_number=1,
        product=ProductFactory(tenant=tenant, unit_price=Decimal("10.00")),
        quantity=5,
    )
    with tenant_context(tenant):
        rma = return_services.return_request_create(
            customer_account=world.company,
            requester=world.customer,
            lines=[
                return_services.LineInput(
                    order_line_id=line.pk, quantity=1, reason="ordered_by_mistake"
                )
            ],
            requested_resolution="refund",
            return_method="drop_off",
        )
        return_services.return_request_submit(return_request=rma, actor=world.customer)
        rma = ReturnRequest.unscoped.select_related("tenant").get(pk=rma.pk)
    return rma


def test_the_compiled_catalog_is_what_msgfmt_would_give(german):
    assert translation.gettext("Your orders") == "Your orders"
    with translation.override("de"):
        assert translation.gettext("Your orders") == "Deine Bestellungen"
        assert translation.get_language_info("de")["name_local"] == "Deutsch"


def test_a_tenant_offers_german_and_the_portal_speaks_it(german, world_a, login):
    offer(world_a.tenant, ["pl", "de"], default="pl")
    assert offered_languages(world_a.tenant) == ["pl", "de"]
    client = login(world_a.customer)
    home = reverse("portal:home")
    page = parse(client.get(home))
    buttons = page.select(".lang-switch button")
    assert [(b["value"], b["title"]) for b in buttons] == [("pl", "polski"), ("de", "Deutsch")]

    client.post(reverse("accounts:set_language"), {"language": "de", "next": home})
    world_a.customer.refresh_from_db()
    assert world_a.customer.language == "de"
    response = client.get(home)
    assert response["Content-Language"] == "de"
    assert parse(response).select_one("title").text.startswith("Deine Bestellungen · ")


def test_the_back_office_offers_german_to_a_tenant(german, world_a, login):
    client = login(world_a.tenant_admin)
    url = reverse("admin:tenancy_tenant_change", args=[world_a.tenant.pk])
    boxes = parse(client.get(url)).select('input[name="offered_languages"]')
    assert [box["value"] for box in boxes] == ["en", "pl", "ru", "de"]


def test_an_email_and_a_pdf_come_out_in_german(
    german, world_a, mailoutbox, django_capture_on_commit_callbacks
):
    offer(world_a.tenant, ["en", "de"], default="en")
    speak(world_a.customer, "de")
    with django_capture_on_commit_callbacks(execute=True):
        rma = submitted_return(world_a)
    (mail,) = [m for m in mailoutbox if m.to == [world_a.customer.email]]
    assert f"Rücksendung {rma.number} wurde eingereicht" in mail.subject

    with tenant_context(world_a.tenant):
        html = labels.return_label_html(
            return_request=rma, lines=labels.return_label_lines(return_request=rma)
        )
    assert '<html lang="de">' in html
    document = PdfReader(io.BytesIO(html_to_pdf(html)))
    assert "Rücksendung" in "".join(page.extract_text() for page in document.pages)


def test_german_needs_no_migration(german):
    output = StringIO()
    # --check exits with an error when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=output, stderr=output)
    assert "No changes detected" in output.getvalue()


def test_without_the_settings_line_german_is_not_offered(world_a):
    from django.core.exceptions import ValidationError

    world_a.tenant.offered_languages = ["en", "de"]
    world_a.tenant.default_language = "en"
    with pytest.raises(ValidationError):
        world_a.tenant.full_clean()
