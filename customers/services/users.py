"""Customer admins manage the users of their own company: invitations (and sending one
again), roles, deactivation."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from customers.models import CustomerAccount, CustomerMembership, TeamInvitation
from customers.selectors import colleagues_of, invitation_pending_q, pending_invitations_of
from rma_portal.accounts.models import CUSTOMER_ROLES, Role, User
from rma_portal.accounts.services import user_send_welcome
from rma_portal.errors import ApplicationError
from rma_portal.notifications.rendering import render_subject_template
from rma_portal.security.audit import record
from rma_portal.security.models import AuditAction

# An invitation is sent again from the team list at most once in this time.
INVITATION_RESEND_INTERVAL = datetime.timedelta(minutes=10)


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
    now: datetime.datetime | None = None,
) -> None:
    if role not in CUSTOMER_ROLES:
        raise ApplicationError(_("Choose a customer role."), code="invalid_role")
    email = User.objects.normalize_email(email.strip()).lower()
    if colleagues_of(customer_account=customer_account).filter(user__email=email).exists():
        message = _("%(email)s is already in your team.") % {"email": email}
        raise ApplicationError(message, code="already_colleague", fields={"email": [message]})
    _record_invitation(
        actor=actor,
        customer_account=customer_account,
        email=email,
        full_name=full_name.strip(),
        role=role,
        language=language,
        now=now,
    )
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


def _record_invitation(
    *,
    actor: User,
    customer_account: CustomerAccount,
    email: str,
    full_name: str,
    role: str,
    language: str,
    now: datetime.datetime | None = None,
) -> None:
    """The company's invitation row (the team list's "invited", `TeamInvitation`) and the
    tenant admin's audit row of who invited which address to which company: the same rows
    whatever became of the invitation. A second invitation of the address keeps the first
    one's name and role and counts the sending."""
    now = now or timezone.now()
    TeamInvitation.unscoped.update_or_create(
        tenant=customer_account.tenant,
        customer_account=customer_account,
        email=email,
        defaults={"last_sent_at": now, "times_sent": F("times_sent") + 1},
        create_defaults={
            "full_name": full_name,
            "role": role,
            "language": language,
            "invited_by": None if actor.is_integration else actor,
            "first_sent_at": now,
            "last_sent_at": now,
            "times_sent": 1,
        },
    )
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
        subject = render_subject_template("portal/team_address_taken_subject.txt", context)
        text = render_to_string("portal/team_address_taken_email.txt", context)
        html = render_to_string("portal/team_address_taken_email.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach_alternative(html, "text/html")
    transaction.on_commit(message.send)


def customer_invitation_resend(
    *,
    invitation: TeamInvitation,
    actor: User,
    base_url: str,
    now: datetime.datetime | None = None,
) -> TeamInvitation:
    """Send an invitation of the team list again, at most once per
    INVITATION_RESEND_INTERVAL: the same as inviting the address again
    (docs/security.md#team-invitations), so a new link goes to an address that has no account
    yet and the notice again to one that has. The rows are locked, so two clicks at once send
    one e-mail."""
    now = now or timezone.now()
    customer_account = invitation.customer_account
    _ensure_admin_of(actor, customer_account)
    with transaction.atomic():
        locked = (
            pending_invitations_of(customer_account=customer_account)
            .select_for_update(of=("self",))
            .filter(pk=invitation.pk)
            .first()
        )
        if locked is None:
            raise ApplicationError(
                _("%(email)s is already in your team.") % {"email": invitation.email},
                code="already_colleague",
            )
        next_at = locked.last_sent_at + INVITATION_RESEND_INTERVAL
        if now < next_at:
            raise ApplicationError(
                _(
                    "The invitation to %(email)s was sent at %(sent)s. You can send it again "
                    "from %(next)s."
                )
                % {
                    "email": locked.email,
                    "sent": formats.time_format(timezone.localtime(locked.last_sent_at)),
                    "next": formats.time_format(timezone.localtime(next_at)),
                },
                code="too_soon",
            )
        _invite(
            customer_account=customer_account,
            email=locked.email,
            full_name=locked.full_name,
            role=locked.role,
            language=locked.language,
            actor=actor,
            base_url=base_url,
            now=now,
        )
    locked.refresh_from_db()
    return locked


def _lock_team(customer_account: CustomerAccount) -> None:
    """Changes of a company's roles and active users one at a time (the company's row
    locked), so two admins demoting each other at once cannot leave it without one."""
    CustomerAccount.unscoped.select_for_update().filter(pk=customer_account.pk).first()


def _ensure_another_active_admin(user: User, customer_account: CustomerAccount, actor: User):
    """Refuse a change that would leave the company without an active administrator."""
    others = (
        colleagues_of(customer_account=customer_account)
        .filter(user__role=Role.CUSTOMER_ADMIN, user__is_active=True)
        .exclude(user_id=user.pk)
    )
    if not others.exists():
        if user.pk == actor.pk:
            message = _(
                "You are your company's only active administrator. Make a colleague an "
                "administrator first."
            )
        else:
            message = _("%(name)s is your company's only active administrator.") % {
                "name": user.get_full_name()
            }
        raise ApplicationError(message, code="last_admin")


def customer_user_set_role(*, user: User, role: str, actor: User) -> User:
    """Make a colleague a customer admin or a customer user; the company always keeps an
    active administrator."""
    if role not in CUSTOMER_ROLES:
        raise ApplicationError(_("Choose a customer role."), code="invalid_role")
    membership = CustomerMembership.unscoped.select_related("customer_account").get(user_id=user.pk)
    customer_account = membership.customer_account
    _ensure_admin_of(actor, customer_account)
    with transaction.atomic():
        _lock_team(customer_account)
        user = User.objects.select_for_update().get(pk=user.pk)
        previous = user.role
        if previous == role:
            return user
        if previous == Role.CUSTOMER_ADMIN:
            _ensure_another_active_admin(user, customer_account, actor)
        user.role = role
        user.save(update_fields=["role"])
        record(
            AuditAction.USER_ROLE_CHANGED,
            user=actor,
            target=user,
            details={"company": customer_account.name, "from": previous, "to": role},
        )
    if user.pk == actor.pk:
        actor.role = role
    return user


def customer_user_set_active(*, user: User, active: bool, actor: User) -> User:
    """Deactivate or reactivate a colleague; admins cannot lock themselves out, and the
    company always keeps an active administrator."""
    membership = CustomerMembership.objects.select_related("customer_account").get(user_id=user.pk)
    _ensure_admin_of(actor, membership.customer_account)
    if user.pk == actor.pk and not active:
        raise ApplicationError(_("You cannot deactivate your own account."), code="self_lockout")
    with transaction.atomic():
        _lock_team(membership.customer_account)
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active != active:
            if not active and user.role == Role.CUSTOMER_ADMIN:
                _ensure_another_active_admin(user, membership.customer_account, actor)
            user.is_active = active
            user.save(update_fields=["is_active"])
            record(
                AuditAction.USER_REACTIVATED if active else AuditAction.USER_DEACTIVATED,
                user=actor,
                target=user,
                details={"company": membership.customer_account.name},
            )
    return user
