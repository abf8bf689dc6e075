"""The sweep of orphaned files: stored files under a tenant's folder that no row names.

Rollbacks delete their files as they happen (`rma_portal.files.transactions`); what is left
for the sweep is what no code saw: a process killed between writing a file and committing
its row, a delete that failed, and files orphaned before rollbacks were tracked.

For one tenant the sweep

1. lists every file under the tenant's folders of the default storage, `tenants/<id>/`
   (and `tenants/<slug>/`, where a logo uploaded with a new tenant lands before the tenant
   has an id), and keeps every file younger than the grace period by its modification time
   (`FILES_ORPHAN_GRACE_HOURS`, 24 by default): a file written inside a transaction that
   has not committed yet is never an orphan;
2. then reads every storage name the database holds under those folders: every
   `FileField` (and `ImageField`) of every installed model, found by introspection, plus
   the text fields that keep a storage name (`STORED_NAME_FIELDS`, e.g.
   `Notification.attachment`). Reading them after the listing means a row committed
   meanwhile protects its file;
3. deletes the old files that no row names, at most `FILES_SWEEP_MAX_DELETIONS` per tenant
   and run (the next run continues), each logged with its name and age.

Names are compared across all tenants' rows, not only the tenant's own: a folder shared by
accident (a tenant slug that equals another tenant's id) can only keep a file, never lose
one. Directories are left in place: removing one could race with an upload creating it.

A new model field that stores a storage name in anything but a `FileField` must be added
to `STORED_NAME_FIELDS` (or registered with `register_stored_name_field`), or the sweep
would take its files for orphans.
"""

from __future__ import annotations

import datetime
import logging
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.db import models
from django.utils import timezone

logger = logging.getLogger(__name__)

DEFAULT_GRACE_HOURS = 24
DEFAULT_MAX_DELETIONS = 1000
# Files of transactions still running must never be taken for orphans, whatever is asked.
MIN_GRACE = datetime.timedelta(hours=1)

# Fields that hold a storage name as text, as (model label, field name).
STORED_NAME_FIELDS: list[tuple[str, str]] = [
    # The monthly report PDF queued with an e-mail, read at delivery.
    ("notifications.Notification", "attachment"),
]


def register_stored_name_field(model_label: str, field_name: str) -> None:
    """Declare a text field that keeps a storage name, so the sweep keeps the files it
    names (for an app's `AppConfig.ready()`)."""
    if (model_label, field_name) not in STORED_NAME_FIELDS:
        STORED_NAME_FIELDS.append((model_label, field_name))


def grace_period() -> datetime.timedelta:
    return datetime.timedelta(
        hours=float(getattr(settings, "FILES_ORPHAN_GRACE_HOURS", DEFAULT_GRACE_HOURS))
    )


def max_deletions() -> int:
    return int(getattr(settings, "FILES_SWEEP_MAX_DELETIONS", DEFAULT_MAX_DELETIONS))


@dataclass
class SweepResult:
    """What one sweep of one tenant found; `deleted` lists what was (or, on a dry run,
    would have been) deleted."""

    tenant_id: int
    dry_run: bool
    examined: int = 0
    recent: int = 0
    referenced: int = 0
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    # False when the deletion limit stopped the sweep before the last orphan.
    complete: bool = True


def tenant_folders(tenant) -> list[str]:
    """The storage folders of a tenant's files (see `rma_portal.tenancy.storage`)."""
    folders = [f"tenants/{tenant.pk}"]
    if tenant.slug and tenant.slug != str(tenant.pk):
        folders.append(f"tenants/{tenant.slug}")
    return folders


def stored_name_fields() -> Iterator[tuple[type[models.Model], str]]:
    """Every (model, column attribute) that holds a storage name."""
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed or meta.swapped:
            continue
        for model_field in meta.concrete_fields:
            if isinstance(model_field, models.FileField):
                yield model, model_field.attname
    for label, field_name in STORED_NAME_FIELDS:
        model = apps.get_model(label)
        yield model, model._meta.get_field(field_name).attname


def referenced_names(folders: Iterable[str]) -> set[str]:
    """The storage names under `folders` that any row of any tenant names."""
    prefixes = [folder.rstrip("/") + "/" for folder in folders]
    names: set[str] = set()
    for model, attname in stored_name_fields():
        condition = models.Q()
        for prefix in prefixes:
            condition |= models.Q(**{f"{attname}__startswith": prefix})
        # The base manager is never scoped to a tenant: the names are compared across all.
        names.update(model._base_manager.filter(condition).values_list(attname, flat=True))
    return names


def _walk(storage: Storage, folder: str) -> Iterator[str]:
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield posixpath.join(folder, name)
    for directory in sorted(directories):
        yield from _walk(storage, posixpath.join(folder, directory))


def sweep_orphaned_files(
    *,
    tenant,
    now: datetime.datetime | None = None,
    older_than: datetime.timedelta | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    storage: Storage | None = None,
) -> SweepResult:
    """Delete the tenant's stored files that no row names and that are older than
    `older_than` (default: the grace period setting); at most `limit` per run."""
    now = now or timezone.now()
    older_than = grace_period() if older_than is None else older_than
    if older_than < MIN_GRACE:
        raise ValueError(f"The grace period must be at least {MIN_GRACE}.")
    limit = max_deletions() if limit is None else limit
    storage = storage or default_storage
    folders = tenant_folders(tenant)
    result = SweepResult(tenant_id=tenant.pk, dry_run=dry_run)

    candidates: list[tuple[str, datetime.timedelta]] = []
    for folder in folders:
        for name in _walk(storage, folder):
            result.examined += 1
            try:
                age = now - storage.get_modified_time(name)
            except FileNotFoundError:  # deleted meanwhile
                continue
            if age < older_than:
                result.recent += 1
            else:
                candidates.append((name, age))

    referenced = referenced_names(folders) if candidates else set()
    for name, age in candidates:
        if name in referenced:
            result.referenced += 1
            continue
        if len(result.deleted) >= limit:
            result.complete = False
            break
        extra = {"tenant": tenant.pk, "file": name, "age_hours": round(age.total_seconds() / 3600)}
        if dry_run:
            logger.info("orphaned file found (dry run, kept)", extra=extra)
            result.deleted.append(name)
            continue
        try:
            storage.delete(name)
        except Exception:
            logger.warning("orphaned file could not be deleted", extra=extra, exc_info=True)
            result.failed.append(name)
            continue
        logger.info("orphaned file deleted", extra=extra)
        result.deleted.append(name)

    logger.info(
        "orphaned files swept",
        extra={
            "tenant": tenant.pk,
            "dry_run": dry_run,
            "examined": result.examined,
            "recent": result.recent,
            "referenced": result.referenced,
            "deleted": len(result.deleted),
            "failed": len(result.failed),
            "complete": result.complete,
        },
    )
    return result
