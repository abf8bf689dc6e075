"""Resolving a return line by line: refund, credit note, replacement and repair per line, the
return's totals derived from its lines, amounts and quantities beyond what was accepted only
with a reason, and the back-office form and ERP-document page that call the same services."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customers.models import OrderLine
from returns import services
from returns.models import ResolutionDocument, ReturnEvent, ReturnLine, ReturnStatus
from rma_portal.tenancy.context import tenant_context
from tests.factories import ProductFactory
from tests.html import definitions, table_rows

from .conftest import advance, return_state

pytestmark = pytest.mark.django_db

S = ReturnStatus
Line = services.LineResolution


@pytest.fixture
def inspected(world_a, delivered_order, file_return):
    """An inspected return of world A's customer, every unit accepted (policy: 10 % fee on
    reasons that are not our fault):

    - line 1: 2 × 100.00, defective (no fee): proposal 200.00;
    - line 2: 4 × 20.00, wrong size (10 % fee): proposal 72.00.
    """
    first, second = OrderLine.unscoped.filter(order=delivered_order).order_by("line_number")
    draft = file_return(
        world_a.customer,
        world_a.company,
        [
            {"order_line_id": first.pk, "quantity": 2, "reason": "defective"},
            {"order_line_id": second.pk, "quantity": 4, "reason": "wrong_size"},
        ],
        submit=False,
    )
    return advance(draft, S.INSPECTED, agent=world_a.agent)


def lines_of(return_request) -> list[ReturnLine]:
    return list(
        ReturnLine.unscoped.filter(return_request_id=return_request.pk)
        .select_related("order_line__product")
        .order_by("pk")
    )


def resolve(return_request, actor, **kwargs):
    with tenant_context(return_request.tenant):
        return services.return_request_resolve(return_request=return_request, actor=actor, **kwargs)


def refused(return_request, actor, field: str, **kwargs) -> services.ReturnInvalid:
    before = return_state(return_request)
    with pytest.raises(services.ReturnInvalid) as invalid:
        resolve(return_request, actor, **kwargs)
    assert return_state(return_request) == before
    assert field in invalid.value.fields, invalid.value.fields
    return invalid.value


# --- kinds and totals ---------------------------------------------------------------------


def test_one_resolution_for_every_line_pays_the_policys_amounts(inspected, world_a):
    rma = resolve(inspected, world_a.agent, resolution="refund")

    assert rma.status == S.RESOLVED
    assert rma.resolution == "refund"
    first, second = lines_of(rma)
    assert [(x.resolution, x.refund_amount) for x in (first, second)] == [
        ("refund", Decimal("200.00")),
        ("refund", Decimal("72.00")),
    ]
    assert (rma.accepted_value, rma.restocking_fee, rma.refund_total, rma.credit_note_total) == (
        Decimal("280.00"),
        Decimal("8.00"),
        Decimal("272.00"),
        Decimal("0.00"),
    )


def test_each_line_its_own_resolution_and_the_totals_are_their_sums(inspected, world_a):
    first, second = lines_of(inspected)
    other_product = ProductFactory(tenant=world_a.tenant, sku="SKU-SPARE-1")

    rma = resolve(
        inspected,
        world_a.agent,
        lines={
            first.pk: Line("replacement", replacement_sku="SKU-SPARE-1", replacement_quantity=1),
            second.pk: Line("credit_note", amount=Decimal("60.00")),
        },
        note="One spare sent, the rest credited.",
    )

    assert rma.resolution == "mixed"
    first, second = lines_of(rma)
    assert (first.resolution, first.refund_amount, first.replacement_sku) == (
        "replacement",
        Decimal("0.00"),
        other_product.sku,
    )
    assert first.replacement_quantity == 1
    assert (second.resolution, second.refund_amount) == ("credit_note", Decimal("60.00"))
    assert second.replacement_sku == "" and second.replacement_quantity is None
    # the fee counts on the lines that pay money back: 10 % of line 2's 80.00
    assert (rma.refund_total, rma.credit_note_total, rma.restocking_fee) == (
        Decimal("60.00"),
        Decimal("60.00"),
        Decimal("8.00"),
    )


def test_refund_and_credit_note_lines_add_up_and_the_credit_part_is_kept(inspected, world_a):
    _first, second = lines_of(inspected)

    rma = resolve(
        inspected,
        world_a.agent,
        resolution="refund",  # line 1 takes the default
        lines={second.pk: Line("credit_note")},
    )

    assert rma.resolution == "mixed"
    assert (rma.refund_total, rma.credit_note_total) == (Decimal("272.00"), Decimal("72.00"))


def test_replacement_defaults_to_the_returned_product_and_the_accepted_quantity(inspected, world_a):
    first, second = lines_of(inspected)

    rma = resolve(
        inspected,
        world_a.agent,
        lines={first.pk: Line("replacement"), second.pk: Line("repair")},
    )

    first, second = lines_of(rma)
    assert (first.replacement_sku, first.replacement_quantity) == (
        first.order_line.product.sku,
        2,
    )
    assert (second.resolution, second.refund_amount, second.replacement_quantity) == (
        "repair",
        Decimal("0.00"),
        None,
    )
    assert (rma.resolution, rma.refund_total, rma.restocking_fee) == (
        "mixed",
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_paying_less_than_proposed_needs_no_reason(inspected, world_a):
    first, second = lines_of(inspected)

    rma = resolve(
        inspected,
        world_a.agent,
        lines={first.pk: Line("refund", amount=Decimal("150.5")), second.pk: Line("refund")},
    )

    assert rma.refund_total == Decimal("222.50")
    assert not ReturnEvent.unscoped.filter(
        return_request=rma, action=services.RESOLUTION_OVERRIDDEN
    ).exists()


# --- beyond what was accepted -------------------------------------------------------------


def test_more_than_the_accepted_value_needs_a_reason(inspected, world_a):
    first, second = lines_of(inspected)
    decision = {first.pk: Line("refund", amount=Decimal("200.01")), second.pk: Line("repair")}

    error = refused(inspected, world_a.agent, f"lines[{first.pk}].amount", lines=decision)
    assert "give a reason to pay more" in error.message

    decision[first.pk] = Line("refund", amount=Decimal("250.00"), override_reason="Goodwill.")
    rma = resolve(inspected, world_a.agent, lines=decision)

    assert ReturnLine.unscoped.get(pk=first.pk).override_reason == "Goodwill."
    assert rma.refund_total == Decimal("250.00")
    override = ReturnEvent.unscoped.get(return_request=rma, action=services.RESOLUTION_OVERRIDDEN)
    assert override.is_public is False  # staff only
    assert "250.00" in override.note and "Goodwill." in override.note
    assert override.actor == world_a.agent


def test_accepted_value_is_what_inspection_accepted_not_what_was_returned(
    world_a, delivered_order, file_return
):
    line = OrderLine.unscoped.get(order=delivered_order, line_number=1)
    draft = file_return(
        world_a.customer,
        world_a.company,
        [{"order_line_id": line.pk, "quantity": 2, "reason": "defective"}],
        submit=False,
    )
    rma = advance(draft, S.RECEIVED, agent=world_a.agent)
    (return_line,) = lines_of(rma)
    with tenant_context(world_a.tenant):
        rma = services.return_request_inspect(
            return_request=rma,
            actor=world_a.agent,
            results={return_line.pk: services.InspectionInput("damaged", "scrap", 1)},
        )

    refused(
        rma,
        world_a.agent,
        f"lines[{return_line.pk}].amount",
        lines={return_line.pk: Line("refund", amount=Decimal("200.00"))},
    )
    refused(
        rma,
        world_a.agent,
        f"lines[{return_line.pk}].replacement_quantity",
        lines={return_line.pk: Line("replacement", replacement_quantity=2)},
    )
    rma = resolve(
        rma,
        world_a.agent,
        lines={
            return_line.pk: Line(
                "replacement", replacement_quantity=2, override_reason="Both were cracked."
            )
        },
    )
    assert ReturnLine.unscoped.get(pk=return_line.pk).replacement_quantity == 2
    assert ReturnEvent.unscoped.filter(
        return_request=rma, action=services.RESOLUTION_OVERRIDDEN, is_public=False
    ).exists()


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decide", "field"),
    [
        (lambda a, b: {a: Line("refund")}, "lines[{b}].resolution"),  # a line left out
        (lambda a, b: {a: Line("voucher"), b: Line("refund")}, "lines[{a}].resolution"),
        (lambda a, b: {a: Line("refund", amount=Decimal("-1")), b: Line("refund")}, "amount"),
        (lambda a, b: {a: Line("refund", amount=Decimal("1.001")), b: Line("refund")}, "amount"),
        (lambda a, b: {a: Line("refund", amount="ten"), b: Line("refund")}, "amount"),
        (
            lambda a, b: {a: Line("repair", amount=Decimal("5.00")), b: Line("refund")},
            "amount",
        ),
        (
            lambda a, b: {a: Line("refund", replacement_sku="X"), b: Line("refund")},
            "replacement_sku",
        ),
        (
            lambda a, b: {a: Line("replacement", replacement_quantity=0), b: Line("refund")},
            "replacement_quantity",
        ),
        (
            lambda a, b: {a: Line("replacement", replacement_sku="NOPE"), b: Line("refund")},
            "replacement_sku",
        ),
        (
            lambda a, b: {a: Line("refund"), b: Line("refund"), 999_999_999: Line("refund")},
            "lines",
        ),
    ],
)
def test_bad_line_decisions_are_refused_and_change_nothing(inspected, world_a, decide, field):
    first, second = (line.pk for line in lines_of(inspected))
    key = field.format(a=first, b=second)
    if "[" not in key and key != "lines":
        key = f"lines[{first}].{field}"

    refused(inspected, world_a.agent, key, lines=decide(first, second))

    assert ReturnLine.unscoped.filter(return_request=inspected).exclude(resolution="").count() == 0


def test_a_replacement_sku_of_another_tenant_is_unknown(inspected, world_a, world_b):
    ProductFactory(tenant=world_b.tenant, sku="SKU-OF-BETA")
    first, second = lines_of(inspected)

    refused(
        inspected,
        world_a.agent,
        f"lines[{first.pk}].replacement_sku",
        lines={
            first.pk: Line("replacement", replacement_sku="SKU-OF-BETA"),
            second.pk: Line("repair"),
        },
    )


@pytest.mark.parametrize("who", ["customer", "manager"])
def test_only_acting_staff_resolve(inspected, world_a, who):
    before = return_state(inspected)
    with pytest.raises(services.ReturnAccessDenied):
        resolve(inspected, getattr(world_a, who), resolution="refund")
    assert return_state(inspected) == before


# --- the customer's view --------------------------------------------------------------------


def test_the_customer_sees_each_lines_resolution_in_the_portal(inspected, world_a, login):
    first, second = lines_of(inspected)
    resolve(
        inspected,
        world_a.agent,
        lines={
            first.pk: Line("replacement", replacement_quantity=2),
            second.pk: Line("credit_note", amount=Decimal("60.00")),
        },
    )

    page = login(world_a.customer).get(f"/portal/returns/{inspected.pk}/")

    header, *rows = table_rows(page, "table.detail-lines")
    column = header.index("Resolution")
    assert [row[column] for row in rows] == [
        f"Replacement: {first.order_line.product.sku} × 2",
        "Credit note",
    ]
    money = definitions(page, "section.money dl")
    assert money["Resolution"] == "Per line (mixed)"
    assert money["Refund / credit total"].split()[0] in ("60.00", "60,00")


# --- the resolution e-mail -------------------------------------------------------------------


def resolved_mail(inspected, actor, mailoutbox, capture, **kwargs) -> tuple[str, str]:
    """Resolve, commit (the outbox delivers at once) and answer the text and the HTML of the
    one e-mail it sent."""
    start = len(mailoutbox)
    with capture(execute=True):
        resolve(inspected, actor, **kwargs)
    (mail,) = mailoutbox[start:]
    (html, _mimetype), *_rest = mail.alternatives
    return mail.body, html


def test_the_mail_of_a_mixed_resolution_says_what_happens_to_each_line(
    inspected, world_a, mailoutbox, django_capture_on_commit_callbacks
):
    first, second = lines_of(inspected)
    ProductFactory(tenant=world_a.tenant, sku="SKU-SPARE-1")

    text, html = resolved_mail(
        inspected,
        world_a.agent,
        mailoutbox,
        django_capture_on_commit_callbacks,
        lines={
            first.pk: Line("replacement", replacement_sku="SKU-SPARE-1", replacement_quantity=1),
            second.pk: Line("credit_note", amount=Decimal("60.00")),
        },
        replacement_order_ref="ZAM-77",
    )

    currency = world_a.tenant.currency
    first_product, second_product = first.order_line.product, second.order_line.product
    assert "Resolution: Different for each line (see below)" in text
    assert "mixed" not in text
    assert f"Restocking fee: 8.00 {currency}" in text
    assert f"Credit note total: 60.00 {currency}" in text
    assert "Refund total" not in text  # no line is refunded
    assert "Replacement / repair order: ZAM-77" in text
    assert "What happens to each line:" in text
    assert (
        f"- {first_product.name} ({first_product.sku}), 2 units accepted: "
        "Replacement: SKU-SPARE-1 × 1"
    ) in text
    assert (
        f"- {second_product.name} ({second_product.sku}), 4 units accepted: "
        f"Credit note: 60.00 {currency}"
    ) in text
    assert "Different for each line (see below)" in html
    assert "Replacement: SKU-SPARE-1 × 1" in html
    assert f"Credit note: 60.00 {currency}" in html
    assert "What happens to each line:" in html


def test_the_mixed_mail_splits_refunded_and_credited_money_in_polish(
    inspected, world_a, mailoutbox, django_capture_on_commit_callbacks
):
    world_a.customer.language = "pl"
    world_a.customer.save(update_fields=["language"])
    first, second = lines_of(inspected)

    text, html = resolved_mail(
        inspected,
        world_a.agent,
        mailoutbox,
        django_capture_on_commit_callbacks,
        lines={first.pk: Line("refund"), second.pk: Line("repair")},
    )

    currency = world_a.tenant.currency
    for part in (text, html):
        assert "Różne dla poszczególnych pozycji (szczegóły poniżej)" in part
        assert "Co dzieje się z każdą pozycją:" in part
        assert f"Zwrot pieniędzy: 200,00 {currency}" in part
        assert "Naprawa" in part
        assert "Kwota korekty" not in part
    assert f"Kwota zwrotu: 200,00 {currency}" in text
    assert "2 sztuki przyjęte" in text and "4 sztuki przyjęte" in text


# --- back-office ----------------------------------------------------------------------------


def admin_url(name: str, return_request) -> str:
    return f"/backoffice/returns/returnrequest/{return_request.pk}/{name}/"


def test_back_office_resolves_line_by_line(inspected, world_a, login):
    first, second = lines_of(inspected)
    client = login(world_a.agent)
    page = client.get(admin_url("resolve", inspected))
    assert page.status_code == 200
    assert [f.proposal.amount for f in page.context["line_forms"]] == [
        Decimal("200.00"),
        Decimal("72.00"),
    ]

    response = client.post(
        admin_url("resolve", inspected),
        {
            f"line-{first.pk}-resolution": "replacement",
            f"line-{first.pk}-amount": "200.00",  # shown for every line, used for money only
            f"line-{first.pk}-replacement_sku": first.order_line.product.sku,
            f"line-{first.pk}-replacement_quantity": "2",
            f"line-{second.pk}-resolution": "credit_note",
            f"line-{second.pk}-amount": "80.00",
            f"line-{second.pk}-override_reason": "Fee waived for a key account.",
            f"line-{second.pk}-replacement_sku": second.order_line.product.sku,
            "note": "Thank you.",
        },
    )

    assert response.status_code == 302, response.context and response.context["line_forms"]
    first, second = lines_of(inspected)
    assert (first.resolution, first.replacement_quantity) == ("replacement", 2)
    assert (second.resolution, second.refund_amount) == ("credit_note", Decimal("80.00"))
    assert second.override_reason == "Fee waived for a key account."


def test_staff_type_the_erp_document_in_the_back_office(inspected, world_a, login):
    rma = resolve(inspected, world_a.agent, resolution="credit_note")
    client = login(world_a.agent)
    assert client.get(admin_url("confirm-document", rma)).status_code == 200

    wrong = client.post(
        admin_url("confirm-document", rma),
        {"kind": "credit_note", "number": "KOR/1", "issued_on": "2026-01-02", "amount": "1.00"},
    )
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["amount"]
    assert not ResolutionDocument.unscoped.exists()

    done = client.post(
        admin_url("confirm-document", rma),
        {"kind": "credit_note", "number": "KOR/1", "issued_on": "2026-01-02", "amount": "272.00"},
    )
    assert done.status_code == 302
    document = ResolutionDocument.unscoped.get(return_request=rma)
    assert (document.number, str(document.issued_on), document.amount) == (
        "KOR/1",
        "2026-01-02",
        Decimal("272.00"),
    )
    assert document.confirmed_by == world_a.agent


def test_the_document_page_of_an_unresolved_return_sends_back_to_it(inspected, world_a, login):
    response = login(world_a.agent).get(admin_url("confirm-document", inspected))

    assert response.status_code == 302
    assert response["Location"] == admin_url("change", inspected)


@pytest.mark.parametrize(("who", "status"), [("world_b.agent", 404), ("world_a.manager", 403)])
def test_the_document_page_is_not_for_other_tenants_or_managers(
    inspected, world_a, world_b, login, who, status
):
    rma = resolve(inspected, world_a.agent, resolution="credit_note")
    before = return_state(rma)
    user = {"world_b.agent": world_b.agent, "world_a.manager": world_a.manager}[who]
    client = login(user)

    assert client.get(admin_url("confirm-document", rma)).status_code == status
    posted = {"kind": "credit_note", "number": "K/1", "issued_on": "2026-01-02", "amount": "272"}
    assert client.post(admin_url("confirm-document", rma), posted).status_code == status
    assert return_state(rma) == before
    assert not ResolutionDocument.unscoped.exists()
