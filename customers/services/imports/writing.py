"""Writing what an import wants: preloading existing rows by natural key, then bulk upserts.

Shared by every kind: create missing rows, update those whose values differ, count the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db import models
from django.utils import timezone

from rma_portal.tenancy.models import Tenant

from .pipeline import Progress
from .report import ImportReport

BATCH_SIZE = 2000  # rows per INSERT / UPDATE statement
LOOKUP_CHUNK = 5000  # natural keys per `IN (...)` when preloading existing rows

# What the file wants for one natural key: values compared with (and written to) an existing
# row, and values used only when the row is new.
Wanted = tuple[dict[str, Any], dict[str, Any]]


def batches(items: list, size: int = BATCH_SIZE) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def key_values(records: Iterable, column: str, transform=None) -> list[str]:
    """The text keys the records give in `column` (what an existing row is looked up by);
    values that are not text cannot match and are left to the checks."""
    found = []
    for record in records:
        value = record.cells.get(column)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            value = value.strip()
            found.append(transform(value) if transform else value)
    return found


def load_by_key(queryset: models.QuerySet, key: str, values: Iterable) -> dict:
    """Existing rows whose `key` is among `values`, keyed by it, in a few IN queries."""
    wanted = sorted(set(values))
    found = {}
    for chunk in batches(wanted, LOOKUP_CHUNK):
        for obj in queryset.filter(**{f"{key}__in": chunk}):
            found[getattr(obj, key)] = obj
    return found


def upsert(
    *,
    model: type[models.Model],
    label: str,
    tenant: Tenant,
    wanted: dict[Any, Wanted],
    existing: dict[Any, models.Model],
    report: ImportReport,
    progress: Progress,
) -> dict[Any, models.Model]:
    """Create missing rows, update rows whose values differ, leave the rest untouched.

    bulk_create skips Model.save(), so the tenant is set here and callers pass values already
    normalised the way save() would.
    """
    counts = report.counts_for(label)
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    changed_fields: set[str] = set()
    result: dict[Any, models.Model] = {}
    for key, (values, new_only) in wanted.items():
        obj = existing.get(key)
        if obj is None:
            obj = model(tenant=tenant, **values, **new_only)
            to_create.append(obj)
        else:
            changed = [name for name, value in values.items() if getattr(obj, name) != value]
            if changed:
                for name in changed:
                    setattr(obj, name, values[name])
                changed_fields.update(changed)
                to_update.append(obj)
            else:
                counts.unchanged += 1
        result[key] = obj
    total = len(to_create) + len(to_update)
    done = 0
    for batch in batches(to_create):
        model.unscoped.bulk_create(batch)
        done += len(batch)
        progress(f"write {label}", done, total)
    fields = sorted(changed_fields)
    # bulk_update does not apply auto_now: stamp updated rows of models that keep the time.
    if to_update and any(f.name == "updated_at" for f in model._meta.concrete_fields):
        stamp = timezone.now()
        for obj in to_update:
            obj.updated_at = stamp
        fields.append("updated_at")
    for batch in batches(to_update):
        model.unscoped.bulk_update(batch, fields)
        done += len(batch)
        progress(f"write {label}", done, total)
    counts.created += len(to_create)
    counts.updated += len(to_update)
    return result
