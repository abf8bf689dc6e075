"""Demo data of inbound e-mail for `manage.py seed_demo`: each demo tenant's support address
as a drop-folder mailbox, so that in the embedded mode (`make run`) an .eml file put into
var/mail-in/ becomes a complaint (rma_portal/inbound/dropfolder.py), and the demo's e-mails
(var/mail/) carry reply addresses that thread an answer into its case.

Found by the tenant's support address: a rerun creates nothing.
"""

from __future__ import annotations

import random

from rma_portal.tenancy.models import Tenant

from .models import Mailbox, MailboxKind


def seed(*, tenant: Tenant, rng: random.Random) -> dict[str, int]:
    address = tenant.support_email or f"support@{tenant.slug}.demo"
    if Mailbox.objects.for_tenant(tenant).filter(address=address).exists():
        return {}
    Mailbox.objects.create(
        tenant=tenant,
        name="Support (drop folder)",
        address=address,
        kind=MailboxKind.FOLDER,
        reply_address=True,
    )
    return {"mailboxes": 1}
