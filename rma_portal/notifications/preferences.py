"""Which e-mails a customer user receives, per kind of event: immediately, in the daily digest,
or never (docs/architecture.md#e-mail-preferences-and-the-daily-digest).

A customer's e-mails fall into the kinds below. The sender of an e-mail names its kind
(`notification_enqueue(kind=…)`); an e-mail without a kind is always sent immediately: the
questions we need the customer to answer, the reminder to send the goods before their
deadline, password links, invitations, and every e-mail to staff. The choices are kept on the
user (`User.email_preferences`, kind → choice); a kind the user never chose is sent
immediately.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext_lazy as _

from rma_portal.errors import ApplicationError


class Delivery(models.TextChoices):
    IMMEDIATELY = "immediately", _("Immediately")
    DIGEST = "digest", _("In a daily digest")
    NEVER = "never", _("Never")


DEFAULT = Delivery.IMMEDIATELY


@dataclass(frozen=True)
class EmailKind:
    key: str
    label: object  # a lazy translated text
    help: object  # what the kind holds, in the customer's words
    # The e-mails (templates/emails/<event>/) of this kind: documentation and the digest's
    # grouping; the senders pass the kind themselves.
    events: tuple[str, ...]


KINDS: tuple[EmailKind, ...] = (
    EmailKind(
        "return_progress",
        _("Return progress"),
        _(
            "Confirmation that your return was submitted, that its goods reached our "
            "warehouse, and updates on where it stands."
        ),
        ("return.submitted", "return.received", "return.status_update"),
    ),
    EmailKind(
        "return_decisions",
        _("Return approved, rejected or expired"),
        _("Our decision on your return, and a return that expired because no goods came."),
        ("return.approved", "return.rejected", "return.expired"),
    ),
    EmailKind(
        "return_resolutions",
        _("Refunds, credit notes and replacements"),
        _("How a return was settled, with the amounts, and a short survey about it."),
        ("return.resolved",),
    ),
    EmailKind(
        "complaint_progress",
        _("Complaint progress"),
        _("Confirmation that your complaint was filed, and updates on where it stands."),
        ("complaint.filed", "complaint.status_update"),
    ),
    EmailKind(
        "complaint_decisions",
        _("Complaint resolved or rejected"),
        _("The outcome of your complaint, and a short survey about it."),
        ("complaint.resolved", "complaint.rejected"),
    ),
    EmailKind(
        "support_replies",
        _("Replies from support"),
        _("New messages from our support team about your returns and complaints."),
        ("return.message", "complaint.reply"),
    ),
)

KIND_KEYS: tuple[str, ...] = tuple(kind.key for kind in KINDS)
_BY_KEY = {kind.key: kind for kind in KINDS}

# What is always sent immediately, whatever the settings say (shown on the settings page).
ALWAYS_IMMEDIATE = (
    _("Questions we need you to answer about a return or a complaint"),
    _("The reminder to send the goods of an approved return before its deadline"),
    _("Password links and invitations to the portal"),
)


def kind(key: str) -> EmailKind:
    """The kind `key`; KeyError if there is none."""
    return _BY_KEY[key]


def choice_for(user, key: str) -> str:
    """How `user` receives e-mails of kind `key`: only customers choose; a kind they never
    chose (or a stored value that is no choice) is sent immediately."""
    if not key or user is None or not getattr(user, "is_customer", False):
        return DEFAULT
    value = (user.email_preferences or {}).get(key)
    return value if value in Delivery.values else DEFAULT


def choices_of(user) -> dict[str, str]:
    """Every kind's choice for `user`, in the kinds' order."""
    return {key: choice_for(user, key) for key in KIND_KEYS}


def all_never() -> dict[str, str]:
    """Every kind switched off: for accounts that read no e-mail (integrations)."""
    return dict.fromkeys(KIND_KEYS, Delivery.NEVER.value)


def email_preferences_set(*, user, choices: dict[str, str]) -> dict[str, str]:
    """Replace `user`'s choices with `choices` (every kind, each a Delivery value), in one
    UPDATE of the user's own row; anything else raises ApplicationError and changes
    nothing."""
    if set(choices) != set(KIND_KEYS):
        raise ApplicationError(_("Choose how you receive each kind of e-mail."))
    if any(value not in Delivery.values for value in choices.values()):
        raise ApplicationError(_("Choose immediately, in a daily digest or never."))
    stored = {key: str(choices[key]) for key in KIND_KEYS}
    get_user_model().objects.filter(pk=user.pk).update(email_preferences=stored)
    user.email_preferences = stored
    return stored
