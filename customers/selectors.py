"""Reads of customer companies, users and orders for the portal, API and back-office."""

from __future__ import annotations

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import (
    BooleanField,
    Count,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
)
from django.db.models.functions import Cast, Coalesce

from .models import (
    CustomerAccount,
    CustomerMembership,
    Invoice,
    Order,
    OrderLine,
    Product,
    TeamInvitation,
)

# The longest text the orders' search takes (the portal's list and its order picker).
ORDER_SEARCH_MAX_LENGTH = 100
# Characters of the JSON text of a line's serial numbers that are no part of any serial: a
# search holding one of them would match the list's punctuation, so it skips the serials.
_JSON_PUNCTUATION = frozenset('"\\[],')


class _InSubquery(Expression):
    """`column IN (subquery)`, written `column = ANY(ARRAY(subquery))` on PostgreSQL.

    There the subquery runs once, as an InitPlan, and the array's ids are looked up in the
    column's index: `=` on integers is leakproof, so row-level security lets the index be
    used (docs/performance.md#the-portals-order-search). PostgreSQL would plan a plain IN as a
    join and, with a LIKE to test (not leakproof), read every row of the tenant instead."""

    conditional = True

    def __init__(self, column: str, queryset: QuerySet):
        super().__init__(output_field=BooleanField())
        self.column = F(column)
        self.subquery = Subquery(queryset)

    def get_source_expressions(self):
        return [self.column, self.subquery]

    def set_source_expressions(self, expressions):
        self.column, self.subquery = expressions

    def _compiled(self, compiler) -> tuple[str, str, tuple]:
        column, column_params = compiler.compile(self.column)
        subquery, subquery_params = compiler.compile(self.subquery)
        return column, subquery, (*column_params, *subquery_params)

    def as_sql(self, compiler, connection):
        column, subquery, params = self._compiled(compiler)
        return f"{column} IN {subquery}", params

    def as_postgresql(self, compiler, connection):
        column, subquery, params = self._compiled(compiler)
        return f"{column} = ANY(ARRAY{subquery})", params


def customer_account_for_user(*, user) -> CustomerAccount | None:
    """The company a customer user acts for, or None for anyone else."""
    if not user.is_authenticated or not user.is_customer:
        return None
    membership = (
        CustomerMembership.objects.select_related("customer_account")
        .filter(user_id=user.pk)
        .first()
    )
    return membership.customer_account if membership else None


def normalised_search(text: str) -> str:
    """The search as it is matched: runs of white space as one space, none at the ends."""
    return " ".join(str(text or "").split())


def order_search_q(*, customer_account: CustomerAccount, search: str) -> Q:
    """Orders of the company whose number or invoice number, or a line's SKU, product name,
    invoice number, lot number or serial number, contains `search` whatever the case
    (docs/performance.md#the-portals-order-search).

    The lines are read through the ids of the company's orders (`_InSubquery`), so a search
    costs what the company's lines cost, whatever the size of the tenant, with row-level
    security on. Serial numbers are a JSON list on the order line (a return's serials are some
    of its line's): matched in the list's JSON text, except for a search holding JSON
    punctuation. On SQLite (the embedded mode) the case of letters other than A-Z counts: its
    LIKE folds only those.
    """
    text = normalised_search(search)
    if not text:
        return Q()
    company_orders = Order.objects.filter(customer_account=customer_account).order_by()
    products = Product.objects.filter(Q(sku__icontains=text) | Q(name__icontains=text))
    invoices = Invoice.objects.filter(customer_account=customer_account, number__icontains=text)
    line_match = (
        Q(product__in=products.order_by().values("pk"))
        | Q(invoice__in=invoices.order_by().values("pk"))
        | Q(lot_number__icontains=text)
    )
    lines = OrderLine.objects.filter(_InSubquery("order_id", company_orders.values("pk")))
    if not _JSON_PUNCTUATION & set(text):
        lines = lines.annotate(serials_text=Cast("serial_numbers", TextField()))
        line_match |= Q(serials_text__icontains=text)
    return (
        Q(number__icontains=text)
        | Q(invoice_number__icontains=text)
        | Q(pk__in=lines.filter(line_match).order_by().values("order_id"))
    )


def orders_for_customer(*, customer_account: CustomerAccount, search: str = "") -> QuerySet[Order]:
    """The company's orders, newest first, with their lines and products loaded and their
    `line_count` and `units`; with `search`, those it finds (`order_search_q`).

    The two figures are subqueries per order, so that PostgreSQL works them out for the
    orders of the page only, not by joining every line of the tenant to what a search found.
    """
    lines = OrderLine.objects.select_related("product", "product__category", "invoice").order_by(
        "line_number"
    )
    of_order = OrderLine.objects.filter(order=OuterRef("pk")).order_by().values("order")
    line_count = Subquery(of_order.annotate(n=Count("pk")).values("n"))
    orders = Order.objects.filter(customer_account=customer_account)
    if search:
        orders = orders.filter(order_search_q(customer_account=customer_account, search=search))
    return (
        orders.annotate(
            line_count=Coalesce(line_count, 0, output_field=IntegerField()),
            units=Subquery(of_order.annotate(n=Sum("quantity")).values("n")),
        )
        .prefetch_related(Prefetch("lines", queryset=lines))
        .order_by("-order_date", "-number")
    )


def orders_for_picker(*, customer_account: CustomerAccount, search: str = "") -> QuerySet[Order]:
    """The company's orders `search` finds, newest first, with their lines' products (the
    complaint form's order picker)."""
    lines = OrderLine.objects.select_related("product").order_by("line_number")
    orders = Order.objects.filter(customer_account=customer_account)
    if search:
        orders = orders.filter(order_search_q(customer_account=customer_account, search=search))
    return orders.prefetch_related(Prefetch("lines", queryset=lines)).order_by(
        "-order_date", "-number"
    )


def order_for_customer(*, customer_account: CustomerAccount, order_id: int) -> Order | None:
    return orders_for_customer(customer_account=customer_account).filter(pk=order_id).first()


def invitation_pending_q() -> Q:
    """Memberships of users invited and not yet in: no password chosen, never signed in."""
    return Q(user__last_login__isnull=True, user__password__startswith=UNUSABLE_PASSWORD_PREFIX)


def colleagues_of(*, customer_account: CustomerAccount):
    """Users of the company, for its customer admins: those who took up their invitation.

    An invitation not yet taken up is not listed. An invitation to an address that already
    has an account creates nothing, so listing the pending ones would tell the customer admin
    which addresses are registered on the platform (docs/security.md#team-invitations).
    """
    return (
        CustomerMembership.objects.filter(customer_account=customer_account)
        .exclude(invitation_pending_q())
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def pending_invitations_of(*, customer_account: CustomerAccount):
    """The company's invitations whose address is not a colleague `colleagues_of` lists: the
    team list's "invited" rows.

    Every invitation has its row whatever became of it (a new account without a password, or
    only a notice to an address that has an account elsewhere), so the list shows the same
    for both (docs/security.md#team-invitations)."""
    colleague_emails = colleagues_of(customer_account=customer_account).values("user__email")
    return (
        TeamInvitation.objects.for_tenant(customer_account.tenant)
        .filter(customer_account=customer_account)
        .exclude(email__in=colleague_emails)
        .order_by("full_name", "email")
    )


def cases_visible_to(queryset: QuerySet, *, user, owner_field: str) -> QuerySet:
    """The one visibility rule of customer cases (returns, complaints): staff see the tenant's,
    customer admins their company's, customer users only those they filed (`owner_field`)."""
    if user.is_superuser or user.is_tenant_staff:
        return queryset
    if not user.is_customer:
        return queryset.none()
    membership = getattr(user, "customer_membership", None)
    if membership is None:
        return queryset.none()
    queryset = queryset.filter(customer_account_id=membership.customer_account_id)
    if not user.is_customer_admin:
        queryset = queryset.filter(**{owner_field: user})
    return queryset
