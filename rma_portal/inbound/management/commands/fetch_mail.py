"""`manage.py fetch_mail [--mailbox ID]`: fetch the active mailboxes (or one mailbox, active
or not) now, in this process, as the workers do (`rma_portal.inbound.services`).

`manage.py fetch_mail --drop-folder DIR [--mailbox ID]`: read the .eml files of a folder
instead (rma_portal/inbound/dropfolder.py): each becomes a message of the drop-folder mailbox
it was sent to (or of the one given), and the file moves to DIR/done/."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from rma_portal.inbound.dropfolder import collect
from rma_portal.inbound.models import Mailbox
from rma_portal.inbound.services import fetch_mailbox
from rma_portal.tenancy.context import tenant_context


class Command(BaseCommand):
    help = (
        "Fetch new messages of every active mailbox of every active tenant now, or of one "
        "mailbox. Exits with status 1 if a fetch failed (its error is also on the mailbox)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--mailbox", type=int, metavar="ID", help="Only this mailbox (even if inactive)."
        )
        parser.add_argument(
            "--drop-folder",
            metavar="DIR",
            help="Read the .eml files of this folder instead of fetching (moved to DIR/done/).",
        )

    def handle(self, *args, **options) -> None:
        if options["drop_folder"]:
            self._drop_folder(options["drop_folder"], options["mailbox"])
            return
        # A platform command across tenants: each mailbox is then fetched as its tenant.
        mailboxes = Mailbox.unscoped.select_related("tenant").order_by("pk")
        if options["mailbox"] is not None:
            mailboxes = list(mailboxes.filter(pk=options["mailbox"]))
            if not mailboxes:
                raise CommandError(f"No mailbox with the id {options['mailbox']}.")
        else:
            mailboxes = list(mailboxes.filter(is_active=True, tenant__is_active=True))
        failed = 0
        for mailbox in mailboxes:
            with tenant_context(mailbox.tenant):
                # Asked for by id: fetched even when switched off (e.g. to try its settings).
                result = fetch_mailbox(mailbox, even_inactive=options["mailbox"] is not None)
            line = f"{mailbox.tenant.slug}: mailbox {mailbox.pk} ({mailbox.address}): {result}"
            if result.outcome == "error":
                failed += 1
                self.stderr.write(line)
            else:
                self.stdout.write(line)
        if not mailboxes:
            self.stdout.write("No active mailboxes.")
        if failed:
            raise CommandError(f"{failed} of {len(mailboxes)} fetches failed.", returncode=1)

    def _drop_folder(self, folder: str, mailbox_id: int | None) -> None:
        mailbox = None
        if mailbox_id is not None:
            mailbox = Mailbox.unscoped.select_related("tenant").filter(pk=mailbox_id).first()
            if mailbox is None:
                raise CommandError(f"No mailbox with the id {mailbox_id}.")
        results = collect(folder, mailbox=mailbox, settle_seconds=0)
        for dropped in results:
            where = (
                f"{dropped.mailbox.tenant.slug}: mailbox {dropped.mailbox.pk}"
                if dropped.mailbox is not None
                else "no mailbox (moved to failed/)"
            )
            self.stdout.write(f"{dropped.file}: {where}: {dropped.outcome}")
        if not results:
            self.stdout.write(f"No .eml files in {folder}.")
