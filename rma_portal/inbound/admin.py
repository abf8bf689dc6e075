"""Back-office of inbound e-mail: the tenant's support mailboxes (tenant admins, and platform
superusers) and the messages fetched from them, read-only, with their raw file and a
"process again" action for held or ignored ones."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_lazy, ngettext

from rma_portal.backoffice.admin import (
    TenantAdminRecordsAdmin,
    TenantScopedAdmin,
    is_tenant_admin_or_platform,
)
from rma_portal.files.responses import stored_file_response
from rma_portal.notifications.enqueue import enqueue_now

from . import imap, services
from .models import InboundMessage, Mailbox, MessageStatus

# Changing one of these sends the password somewhere else: it must be typed again.
_WHERE_THE_PASSWORD_GOES = ("host", "port", "tls_mode", "username")


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=gettext_lazy("Password"),
        required=False,
        strip=False,
        max_length=255,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "Kept as typed, for the workers that fetch the mail: use an account (or app "
            "password) for this mailbox only. Never shown again; leave empty to keep it."
        ),
    )

    class Meta:
        model = Mailbox
        fields = [
            "tenant",
            "name",
            "address",
            "host",
            "port",
            "tls_mode",
            "username",
            "password",
            "folder",
            "mark_seen",
            "is_active",
        ]

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password", "")
        if password:
            return password
        if self.instance.pk is None:
            raise ValidationError(gettext("Enter the mailbox's password."), code="required")
        moved = [name for name in _WHERE_THE_PASSWORD_GOES if name in self.changed_data]
        if moved:
            raise ValidationError(
                gettext("Enter the password again: the server or user name changed."),
                code="required",
            )
        return self.instance.password

    def clean(self):
        cleaned = super().clean()
        host, port = cleaned.get("host"), cleaned.get("port")
        if host and port and "host" not in self.errors:
            try:
                imap.resolve_host(host, port)
            except ValidationError as error:
                self.add_error("host", error)
        return cleaned


class _TenantAdminsOnly:
    """Only tenant admins (of their tenant) and platform superusers; other staff roles do not
    see these pages at all."""

    def has_module_permission(self, request) -> bool:
        return is_tenant_admin_or_platform(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_tenant_admin_or_platform(request.user)


@admin.register(Mailbox)
class MailboxAdmin(_TenantAdminsOnly, TenantScopedAdmin):
    form = MailboxForm
    list_display = [
        "name",
        "address",
        "host",
        "folder",
        "is_active",
        "last_fetched_at",
        "last_error_short",
        "messages_link",
    ]
    list_filter = ["is_active"]
    search_fields = ["name", "address", "host", "username"]
    actions = ["fetch_now"]
    readonly_fields = [
        "uidvalidity",
        "last_uid",
        "last_fetched_at",
        "last_error",
        "last_error_at",
        "fetch_lease_until",
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": MailboxForm.Meta.fields})]
        if obj is not None:
            fieldsets.append((gettext("Fetching"), {"fields": self.readonly_fields}))
        return fieldsets

    def has_add_permission(self, request) -> bool:
        return is_tenant_admin_or_platform(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return is_tenant_admin_or_platform(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A mailbox with messages cannot be deleted (they keep it): switch it off instead.
        return is_tenant_admin_or_platform(request.user)

    @admin.display(description=gettext_lazy("last error"))
    def last_error_short(self, mailbox: Mailbox) -> str:
        return Truncator(mailbox.last_error).chars(80)

    @admin.display(description=gettext_lazy("messages"))
    def messages_link(self, mailbox: Mailbox) -> str:
        url = reverse("admin:inbound_inboundmessage_changelist")
        query = urlencode({"mailbox__id__exact": mailbox.pk})
        return format_html('<a href="{}?{}">{}</a>', url, query, gettext("Messages"))

    @admin.action(
        description=gettext_lazy("Fetch the selected mailboxes now"), permissions=["change"]
    )
    def fetch_now(self, request, queryset) -> None:
        from .tasks import fetch_mailbox_task

        mailboxes = list(queryset.filter(is_active=True).values_list("pk", "tenant_id"))
        for mailbox_id, tenant_id in mailboxes:
            # One bounded attempt: with the broker down, the next poll fetches it anyway.
            enqueue_now(
                fetch_mailbox_task,
                args=[mailbox_id, tenant_id],
                what="mailbox fetch not queued; the next poll fetches it",
                extra={"tenant": tenant_id, "mailbox": mailbox_id},
            )
        self.message_user(
            request,
            ngettext(
                "%(count)d mailbox is being fetched; its last fetch time or error shows the "
                "result.",
                "%(count)d mailboxes are being fetched; their last fetch time or error shows "
                "the result.",
                len(mailboxes),
            )
            % {"count": len(mailboxes)},
            messages.SUCCESS,
        )


class StatusReasonFilter(admin.SimpleListFilter):
    """Messages someone should look at: held, refused."""

    title = gettext_lazy("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", gettext_lazy("Held or refused"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=[MessageStatus.HELD, MessageStatus.REFUSED])
        return queryset


@admin.register(InboundMessage)
class InboundMessageAdmin(TenantAdminRecordsAdmin):
    list_display = ["subject_short", "from_header", "mailbox", "received_at", "status", "size"]
    list_filter = [StatusReasonFilter, "status", "mailbox"]
    search_fields = ["subject", "from_header", "to_header", "message_id"]
    list_select_related = ["mailbox", "tenant"]
    date_hierarchy = "fetched_at"
    fields = [
        "mailbox",
        "tenant",
        "message_id",
        "from_header",
        "to_header",
        "subject",
        "received_at",
        "fetched_at",
        "size",
        "raw_link",
        "status",
        "status_reason",
        "processed_at",
        "uidvalidity",
        "uid",
    ]
    readonly_fields = fields
    actions = ["process_again_selected"]

    @admin.display(description=gettext_lazy("subject"), ordering="subject")
    def subject_short(self, message: InboundMessage) -> str:
        return Truncator(message.subject or gettext("(no subject)")).chars(80)

    @admin.display(description=gettext_lazy("message file"))
    def raw_link(self, message: InboundMessage) -> str:
        if not message.raw:
            return gettext("Not stored")
        url = reverse("admin:inbound_inboundmessage_raw", args=[message.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download (.eml)"))

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="{}_{}_raw".format(*info),
            ),
            *super().get_urls(),
        ]

    def raw_view(self, request, object_id):
        message = self.get_object(request, object_id)
        if message is None or not self.has_view_permission(request, message) or not message.raw:
            raise Http404
        return stored_file_response(
            message.raw, filename=f"message-{message.pk}.eml", content_type="message/rfc822"
        )

    def has_process_permission(self, request) -> bool:
        return is_tenant_admin_or_platform(request.user)

    @admin.action(
        description=gettext_lazy("Process the selected held or ignored messages again"),
        permissions=["process"],
    )
    def process_again_selected(self, request, queryset) -> None:
        chosen = list(queryset.filter(status__in=[MessageStatus.HELD, MessageStatus.IGNORED]))
        statuses = [services.process_again(message) for message in chosen]
        self.message_user(
            request,
            ngettext(
                "%(count)d message was processed again; %(held)d of them is held.",
                "%(count)d messages were processed again; %(held)d of them are held.",
                len(chosen),
            )
            % {"count": len(chosen), "held": statuses.count(MessageStatus.HELD)},
            messages.SUCCESS,
        )
