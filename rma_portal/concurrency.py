"""What an actor saw: every saved change of a case (a return request, a complaint) bumps its
`version`; a request that changes the case says which version its actor looked at, and the
service refuses the change when the case has moved on since
(docs/architecture.md#concurrent-changes).

The back-office sends the version as a hidden `version` field of every form that changes a
case; the API as `If-Match: "<version>"` (the ETag of the case's detail answer). The view
puts the version the actor saw on the object it hands to the service (`seen_version`), and
the service, after locking the row, compares it with the locked row's. Code that acts on
its own (tasks, commands, one service calling another) sets no `seen_version` and is not
refused.
"""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext_lazy as _

VERSION_FIELD = "version"
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,10})"?\s*$')


class VersionedModel(models.Model):
    """A row whose every save (not a queryset `update()`) counts one version up."""

    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        editable=False,
        help_text=_("Counts every saved change; a change based on an older version is refused."),
    )

    # The version the actor of a request saw (set by the view, never stored); None: no claim.
    seen_version: int | None = None

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            self.version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], VERSION_FIELD}
        super().save(*args, **kwargs)

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


def changed_since_seen(seen: VersionedModel, locked: VersionedModel) -> bool:
    """Whether the locked row moved on from the version the actor saw (`seen` is the object
    the view handed to the service, carrying `seen_version`)."""
    return seen.seen_version is not None and seen.seen_version != locked.version


def version_from_form(data) -> int | None:
    """The `version` field of a submitted form; None when missing or not a number."""
    value = str(data.get(VERSION_FIELD, "")).strip()
    return int(value) if value.isdigit() and len(value) <= 10 else None


def version_from_if_match(header: str | None) -> int | None:
    """The version an API client saw, from `If-Match: "3"` (or `W/"3"`); None if absent.
    Raises ValueError for a header that is there but names no version."""
    if header is None or not header.strip():
        return None
    found = _ETAG.match(header)
    if found is None:
        raise ValueError(header)
    return int(found[1])
