"""Code the worker subprocess of the worker tests loads (see `worker_settings`)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from celery import shared_task
from django.core.mail.backends.filebased import EmailBackend

from rma_portal.notifications.models import Notification
from rma_portal.tenancy.context import TenantNotSetError, current_scope


class SlowFileBackend(EmailBackend):
    """The file backend, but it first drops a marker file (`<mail dir>/../sending/…`) and
    sleeps RMA_TEST_MAIL_DELAY seconds: the test kills the worker during that sleep."""

    def send_messages(self, email_messages):
        marker_dir = Path(self.file_path).parent / "sending"
        marker_dir.mkdir(parents=True, exist_ok=True)
        (marker_dir / f"{os.getpid()}-{uuid.uuid4().hex}").write_text(
            "\n".join(m.extra_headers.get("X-RMA-Notification", "") for m in email_messages)
        )
        time.sleep(float(os.environ.get("RMA_TEST_MAIL_DELAY", "0")))
        return super().send_messages(email_messages)


@shared_task(name="tests.probe_tenant_scope")
def probe_tenant_scope() -> str:
    """A task that sets no tenant and reads a scoped manager: it must fail closed."""
    scope = current_scope()
    try:
        count = Notification.objects.count()
    except TenantNotSetError:
        return "fail-closed" if scope is None else f"scope-leaked:{scope!r}"
    return f"read-{count}-rows-as:{scope!r}"
