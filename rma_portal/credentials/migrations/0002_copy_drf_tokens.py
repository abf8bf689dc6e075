"""Tokens issued by DRF's rest_framework.authtoken (one per user, stored in clear) become
personal tokens stored as hashes, so integrations keep working with the key they have; the
clear keys are then deleted. Databases that never had that app have nothing to copy.

Each copied token expires API_TOKEN_DEFAULT_DAYS after this migration, like a new one.
"""

import datetime
import hashlib

from django.conf import settings
from django.db import migrations
from django.utils import timezone

LEGACY_TABLE = "authtoken_token"
LEGACY_NAME = "API token (from before named tokens)"
LEGACY_PREFIX_LENGTH = 8  # rma_portal.credentials.keys.LEGACY_PREFIX_LENGTH


def copy_drf_tokens(connection, PersonalToken, User, *, now, lifetime_days):
    """Copy every row of DRF's token table as a hashed PersonalToken, then empty the table.
    Returns how many were copied; tokens of users without a tenant (platform accounts, which
    the API never served) are dropped."""
    if LEGACY_TABLE not in connection.introspection.table_names():
        return 0
    table = connection.ops.quote_name(LEGACY_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
    tenant_of = dict(
        User._default_manager.filter(pk__in=[row[1] for row in rows]).values_list(
            "pk", "tenant_id"
        )
    )
    copied = 0
    for key, user_id, created in rows:
        tenant_id = tenant_of.get(user_id)
        digest = hashlib.sha256(key.encode()).hexdigest()
        if tenant_id is None or PersonalToken._default_manager.filter(key_hash=digest).exists():
            continue
        if created is None:
            created = now
        elif timezone.is_naive(created):
            created = timezone.make_aware(created, datetime.UTC)
        PersonalToken._default_manager.create(
            user_id=user_id,
            tenant_id=tenant_id,
            name=LEGACY_NAME,
            prefix=key[:LEGACY_PREFIX_LENGTH],
            key_hash=digest,
            created_at=created,
            expires_at=now + datetime.timedelta(days=lifetime_days),
        )
        copied += 1
    with connection.cursor() as cursor:
        # The keys in clear must not outlive the copy. The empty table may be dropped.
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    return copied


def forwards(apps, schema_editor):
    copy_drf_tokens(
        schema_editor.connection,
        apps.get_model("credentials", "PersonalToken"),
        apps.get_model("accounts", "User"),
        now=timezone.now(),
        lifetime_days=getattr(settings, "API_TOKEN_DEFAULT_DAYS", 90),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
