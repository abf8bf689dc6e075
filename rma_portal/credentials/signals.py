"""A user's tokens die with the password they were obtained with, and with the account.

Compared on the row itself, before and after every save of a user, so that every way of
changing a password is covered: the password change and reset pages, the back-office's
"set password", `set_password()` followed by `save()`, even a hash assigned directly.
Bulk `QuerySet.update()` bypasses signals; a deactivation done that way still stops the
tokens at once, because authentication asks whether the user may sign in at every request.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import get_hasher, identify_hasher, is_password_usable
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .models import RevokeReason
from .services import revoke_user_tokens

_WATCHED = frozenset({"password", "is_active"})
_PENDING = "_credentials_revoke_reason"


def _rehash_only(instance, before: str, update_fields) -> bool:
    """Django re-hashes a password with the preferred hasher when it checks it (a sign-in)
    and the stored hash is outdated, then saves only the password after clearing the raw one
    it kept (AbstractBaseUser.check_password): the same password, so not a change. Anything
    else that replaces the hash is."""
    if update_fields is None or set(update_fields) != {"password"}:
        return False
    if getattr(instance, "_password", None) is not None:  # set_password() was called
        return False
    if not (is_password_usable(before) and is_password_usable(instance.password)):
        return False
    try:
        old = identify_hasher(before)
    except ValueError:
        return False
    preferred = get_hasher()
    # The condition under which Django upgrades (django.contrib.auth.hashers.verify_password).
    return preferred.algorithm != old.algorithm or preferred.must_update(before)


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="credentials_user_pre_save")
def _note_password_or_deactivation(sender, instance, raw=False, update_fields=None, **kwargs):
    instance.__dict__.pop(_PENDING, None)
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not _WATCHED & set(update_fields):
        return
    before = sender._default_manager.filter(pk=instance.pk).values(*_WATCHED).first()
    if before is None:
        return
    if before["password"] != instance.password and not _rehash_only(
        instance, before["password"], update_fields
    ):
        instance.__dict__[_PENDING] = RevokeReason.PASSWORD_CHANGED
    elif before["is_active"] and not instance.is_active:
        instance.__dict__[_PENDING] = RevokeReason.USER_DEACTIVATED


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="credentials_user_post_save")
def _revoke_tokens(sender, instance, created=False, raw=False, **kwargs):
    reason = instance.__dict__.pop(_PENDING, None)
    if reason and not raw:
        revoke_user_tokens(instance, reason=reason)
