"""Customer admins manage the users of their own company."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from customers.models import CustomerAccount, CustomerMembership
from customers.selectors import colleagues_of, invitation_pending_q
from rma_portal.accounts.models import CUSTOMER_ROLES, Role, User
from rma_portal.accounts.services import user_send_welcome
from rma_portal.errors import ApplicationError
from rma_portal.security.audit import record
from rma_portal.security.models import AuditAction


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
) -> None:
    """Invite a colleague: the address gets an e-mail, and the answer is the same whatever
    the address (docs/security.md#team-invitations).

    E-mail addresses are unique on the whole platform, so an address that already has an
    account (in another company, another tenant, or staff) cannot join this company. Saying
    so would tell the customer admin that the address is registered somewhere; instead its
    owner is told by e-mail that someone tried to invite it, and nothing is created. An
    invitation this company sent before, not yet taken up, is sent again. Only a colleague
    the team list already shows is refused by name.
    """
    _ensure_admin_of(actor, customer_account)
    _invite(
        customer_account=customer_account,
        email=email,
        full_name=full_name,
        role=role,
        language=language,
        actor=actor,
        base_url=base_url,
    )


def customer_user_invite(
    *,
    customer_account: CustomerAccount,
    email: str,
    full_name: str,
    role: str,
    language: str,
    actor: User,
    base_url: str,
    by_api_key: bool = False,
) -> None:
    """A tenant admin (or the ERP, with an API key whose scope the view checked) invites a
    user to a customer company: the same invitation, and the same one answer whatever the
    address, as a customer admin's (`customer_user_create`). The tenant admin sees every user
    of the tenant anyway; what the answer must not tell is whether an address has an account
    in another tenant (docs/security.md#team-invitations)."""
    if not by_api_key and (
        actor.role != Role.TENANT_ADMIN or actor.tenant_id != customer_account.tenant_id
    ):
        raise ApplicationError(
            _("Only the tenant's administrators may invite users to a customer company."),
            code="forbidden",
        )
    _invite(
        customer_account=customer_account,
        email=email,
        full_name=full_name,
        role=role,
        language=language,
        actor=actor,
        base_url=base_url,
    )


def _invite(
    *,
    customer_account: CustomerAccount,
    email: str,
    full_name: str,
    role: str,
    language: str,
    actor: User,
    base_url: str,
) -> None:
    if role not in CUSTOMER_ROLES:
        raise ApplicationError(_("Choose a customer role."), code="invalid_role")
    email = User.objects.normalize_email(email.strip()).lower()
    if colleagues_of(customer_account=customer_account).filter(user__email=email).exists():
        message = _("%(email)s is already in your team.") % {"email": email}
        raise ApplicationError(message, code="already_colleague", fields={"email": [message]})
    _record_invitation(actor=actor, customer_account=customer_account, email=email)
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        _answer_taken_address(
            existing, customer_account=customer_account, actor=actor, base_url=base_url
        )
        return
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
    except IntegrityError:
        # A concurrent invitation took the address between the check and the insert.
        existing = User.objects.filter(email=email).first()
        if existing is None:
            raise
        _answer_taken_address(
            existing, customer_account=customer_account, actor=actor, base_url=base_url
        )


def _record_invitation(*, actor: User, customer_account: CustomerAccount, email: str) -> None:
    """The tenant admin's audit log shows who invited which address to which company, the
    same row whatever became of the invitation (the customer admin never reads it)."""
    record(
        AuditAction.USER_INVITED,
        user=actor,
        target=customer_account,
        details={"email": email},
    )


def _answer_taken_address(
    user: User, *, customer_account: CustomerAccount, actor: User, base_url: str
) -> None:
    """The address has an account: an unanswered invitation of this company goes out again;
    any other account's owner hears that someone tried to invite them."""
    pending = (
        CustomerMembership.objects.filter(user_id=user.pk, customer_account=customer_account)
        .filter(invitation_pending_q())
        .exists()
    )
    if pending:
        user_send_welcome(user=user, base_url=base_url, invited_by=actor)
    else:
        _send_address_taken_notice(user=user, customer_account=customer_account, actor=actor)


def _send_address_taken_notice(
    *, user: User, customer_account: CustomerAccount, actor: User
) -> None:
    """Tell the owner of an address that it was invited to a company it cannot join, and who
    asked; nothing about their own account goes to the inviter."""
    with translation.override(user.preferred_language):
        context = {
            "email": user.email,
            # The merchant's ERP is no person to name, nor one of the company.
            "inviter": "" if actor.is_integration else actor.get_full_name(),
            "company": customer_account.name,
            "tenant": customer_account.tenant.name,
        }
        subject = render_to_string("portal/team_address_taken_subject.txt", context).strip()
        text = render_to_string("portal/team_address_taken_email.txt", context)
        html = render_to_string("portal/team_address_taken_email.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach_alternative(html, "text/html")
    transaction.on_commit(message.send)


def customer_user_set_active(*, user: User, active: bool, actor: User) -> User:
    """Deactivate or reactivate a colleague; admins cannot lock themselves out."""
    membership = CustomerMembership.objects.select_related("customer_account").get(user_id=user.pk)
    _ensure_admin_of(actor, membership.customer_account)
    if user.pk == actor.pk and not active:
        raise ApplicationError(_("You cannot deactivate your own account."), code="self_lockout")
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        record(
            AuditAction.USER_REACTIVATED if active else AuditAction.USER_DEACTIVATED,
            user=actor,
            target=user,
            details={"company": membership.customer_account.name},
        )
    return user
