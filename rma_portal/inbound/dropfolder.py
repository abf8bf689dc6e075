"""The drop folder: `.eml` files put into a local folder become messages of a mailbox whose
mail comes from it (kind `folder`), for development and demos without a mail server.

`collect(folder)` reads every `*.eml` file of the folder (not its subfolders), oldest name
first, and for each:

1. finds its mailbox: the active drop-folder mailbox whose address the message was sent to
   (To, Cc, Delivered-To…, a `+tag` ignored), or the one given;
2. stores it (services.store_message: one transaction; a message whose Message-ID the
   mailbox already has is not stored twice), then moves the file into `done/`, its name
   prefixed with the time; so a file read again after a crash between the two steps is
   only moved;
3. hands it to the handlers, as a fetch does.

A file no mailbox takes is moved into `failed/` and logged. A file changed in the last
SETTLE_SECONDS is left for the next round: it may still be being written.

In the embedded mode (`make run`), `manage.py runserver` checks the folder
(INBOUND_MAIL_DROP_FOLDER, var/mail-in/) every INBOUND_MAIL_DROP_FOLDER_SECONDS in a thread
of its own (`start_embedded_poller`); elsewhere `manage.py fetch_mail --drop-folder DIR`
reads it once.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from rma_portal.tenancy.context import tenant_context

from .models import Mailbox, MailboxKind, MessageStatus
from .parsing import parse_mail
from .services import process_message, store_message

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 1.0
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True)
class Dropped:
    file: str
    outcome: str  # the message's status, "already stored", or "no mailbox"
    mailbox: Mailbox | None = None


def _base(address: str) -> str:
    local, _at, domain = address.lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def _mailbox_for(raw: bytes) -> Mailbox | None:
    recipients = {_base(address) for address in parse_mail(raw).recipients}
    if not recipients:
        return None
    # The platform's own job across tenants: each message is then stored as its tenant.
    candidates = Mailbox.unscoped.select_related("tenant").filter(
        kind=MailboxKind.FOLDER, is_active=True, tenant__is_active=True
    )
    for mailbox in candidates.order_by("pk"):
        if mailbox.address.lower() in recipients:
            return mailbox
    return None


def _move(path: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    target = into / f"{stamp}-{path.name}"
    number = 1
    while target.exists():
        number += 1
        target = into / f"{stamp}-{number}-{path.name}"
    os.replace(path, target)
    return target


def collect(
    folder: str | Path, *, mailbox: Mailbox | None = None, settle_seconds: float = SETTLE_SECONDS
) -> list[Dropped]:
    """Read the folder once (see the module's docstring); what became of each file."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now = time.time()
    results = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() != ".eml":
            continue
        try:
            if now - path.stat().st_mtime < settle_seconds:
                continue
            raw = path.read_bytes()
        except OSError:
            continue  # moved or removed meanwhile
        target = mailbox or _mailbox_for(raw)
        if target is None:
            _move(path, folder / FAILED)
            logger.warning(
                "dropped e-mail file taken by no mailbox; moved to failed/",
                extra={"file": path.name},
            )
            results.append(Dropped(path.name, "no mailbox"))
            continue
        with tenant_context(target.tenant):
            message, created = store_message(target, raw)
            _move(path, folder / DONE)
            status = "already stored"
            if created:
                status = message.status
                if message.status == MessageStatus.NEW:
                    status = process_message(message)
        logger.info(
            "dropped e-mail file read",
            extra={"file": path.name, "tenant": target.tenant_id, "mailbox": target.pk},
        )
        results.append(Dropped(path.name, status, target))
    return results


# --- the embedded mode's poller -------------------------------------------------------------

_started = threading.Event()


def _serving_in_this_process() -> bool:
    """`manage.py runserver`, in the process that serves: the autoreloader's child
    (RUN_MAIN), or the only process with --noreload."""
    arguments = sys.argv[1:]
    if not arguments or arguments[0] != "runserver":
        return False
    return os.environ.get("RUN_MAIN") == "true" or "--noreload" in arguments


def _poll_forever(folder: Path, seconds: int) -> None:
    while True:
        try:
            collect(folder)
        except Exception:
            logger.exception("reading the drop folder failed; trying again")
        finally:
            close_old_connections()
        time.sleep(seconds)


def start_embedded_poller() -> bool:
    """In the embedded mode's development server, read the drop folder every few seconds in
    a daemon thread; returns whether it started."""
    folder = settings.INBOUND_MAIL_DROP_FOLDER
    if not (settings.EMBEDDED and folder and _serving_in_this_process()) or _started.is_set():
        return False
    _started.set()
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    thread = threading.Thread(
        target=_poll_forever,
        args=(path, settings.INBOUND_MAIL_DROP_FOLDER_SECONDS),
        name="drop-folder",
        daemon=True,
    )
    thread.start()
    logger.info("reading the drop folder", extra={"folder": str(path)})
    return True
