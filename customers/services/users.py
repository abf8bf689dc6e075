"""Customer admins manage the users of their own company."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from customers.models import CustomerAccount, CustomerMembership
from rma_portal.accounts.models import CUSTOMER_ROLES, User
from rma_portal.accounts.services import user_send_welcome
from rma_portal.errors import ApplicationError


def _ensure_admin_of(actor: User, customer_account: CustomerAccount) -> None:
    membership = CustomerMembership.objects.filter(user_id=actor.pk).first()
    if (
        not actor.is_customer_admin
        or membership is None
        or membership.customer_account_id != customer_account.pk
    ):
        raise ApplicationError(
            _("Only your company's administrators may manage its users."), code="forbidden"
        )


def customer_user_create(
    *,
    customer_account: CustomerAccount,
    email: str,
    full_name: str,
    role: str,
    language: str,
    actor: User,
    base_url: str,
) -> User:
    """Add a colleague to the company; they get an e-mail to set their password."""
    _ensure_admin_of(actor, customer_account)
    if role not in CUSTOMER_ROLES:
        raise ApplicationError(_("Choose a customer role."), code="invalid_role")
    email = email.strip().lower()
    if User.objects.filter(email=email).exists():
        raise ApplicationError(
            _("A user with this e-mail address already exists."),
            code="duplicate_email",
            fields={"email": [_("A user with this e-mail address already exists.")]},
        )
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email,
                password=None,
                full_name=full_name.strip(),
                tenant=customer_account.tenant,
                role=role,
                language=language,
            )
            CustomerMembership.objects.create(
                tenant=customer_account.tenant, user=user, customer_account=customer_account
            )
            user_send_welcome(user=user, base_url=base_url, invited_by=actor)
    except IntegrityError as exc:  # a concurrent invite of the same address
        raise ApplicationError(
            _("A user with this e-mail address already exists."), code="duplicate_email"
        ) from exc
    return user


def customer_user_set_active(*, user: User, active: bool, actor: User) -> User:
    """Deactivate or reactivate a colleague; admins cannot lock themselves out."""
    membership = CustomerMembership.objects.select_related("customer_account").get(user_id=user.pk)
    _ensure_admin_of(actor, membership.customer_account)
    if user.pk == actor.pk and not active:
        raise ApplicationError(_("You cannot deactivate your own account."), code="self_lockout")
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
    return user
