"""Back-office of inbound e-mail: the tenant's support mailboxes (tenant admins, and platform
superusers) and the messages received in them, read-only, with their raw file, a "process
again" action for held or ignored ones, and for held ones "match the sender" (to a customer
user: the handlers then take the message as theirs) and "reject"."""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_lazy, ngettext

from rma_portal.accounts.models import CUSTOMER_ROLES, User
from rma_portal.backoffice.admin import (
    TenantAdminRecordsAdmin,
    TenantScopedAdmin,
    is_tenant_admin_or_platform,
)
from rma_portal.files.responses import stored_file_response
from rma_portal.notifications.enqueue import enqueue_now

from . import imap, services
from .models import InboundMessage, Mailbox, MailboxKind, MessageStatus

logger = logging.getLogger(__name__)

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

    signing_key = forms.CharField(
        label=gettext_lazy("Signing key"),
        required=False,
        strip=True,
        max_length=255,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=gettext_lazy(
            "For mail posted over HTTP: the provider's key that signs each post (Mailgun: "
            "the HTTP webhook signing key). Never shown again; leave empty to keep it."
        ),
    )

    class Meta:
        model = Mailbox
        fields = [
            "tenant",
            "name",
            "address",
            "kind",
            "reply_address",
            "send_as",
            "host",
            "port",
            "tls_mode",
            "username",
            "password",
            "folder",
            "mark_seen",
            "signing_key",
            "is_active",
        ]

    # Needed for IMAP only; the model's defaults otherwise.
    _IMAP_DEFAULTS = {"port": 993, "tls_mode": "tls", "folder": "INBOX"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in self._IMAP_DEFAULTS:
            if name in self.fields:
                self.fields[name].required = False

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password", "")
        if password:
            return password
        if self.cleaned_data.get("kind", self.instance.kind) != MailboxKind.IMAP:
            return self.instance.password
        if self.instance.pk is None or not self.instance.password:
            raise ValidationError(gettext("Enter the mailbox's password."), code="required")
        moved = [name for name in _WHERE_THE_PASSWORD_GOES if name in self.changed_data]
        if moved:
            raise ValidationError(
                gettext("Enter the password again: the server or user name changed."),
                code="required",
            )
        return self.instance.password

    def clean_signing_key(self) -> str:
        return self.cleaned_data.get("signing_key", "") or self.instance.signing_key

    def clean(self):
        cleaned = super().clean()
        for name, default in self._IMAP_DEFAULTS.items():
            if cleaned.get(name) in (None, "") and name not in self.errors:
                if cleaned.get("kind") == MailboxKind.IMAP and name != "folder":
                    self.add_error(name, gettext("Needed to fetch the mail over IMAP."))
                else:
                    cleaned[name] = default
        host, port = cleaned.get("host"), cleaned.get("port")
        if cleaned.get("kind") != MailboxKind.IMAP:
            return cleaned
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
        "kind",
        "host",
        "folder",
        "is_active",
        "last_fetched_at",
        "last_error_short",
        "messages_link",
    ]
    list_filter = ["is_active", "kind"]
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
        fieldsets = [
            (
                None,
                {"fields": ["tenant", "name", "address", "kind", "reply_address", "send_as"]},
            ),
            (
                gettext("IMAP"),
                {
                    "fields": [
                        "host",
                        "port",
                        "tls_mode",
                        "username",
                        "password",
                        "folder",
                        "mark_seen",
                    ]
                },
            ),
            (gettext("HTTP (Mailgun)"), {"fields": ["signing_key", "http_url"]}),
            (None, {"fields": ["is_active"]}),
        ]
        if obj is not None:
            fieldsets.append((gettext("Fetching"), {"fields": self.readonly_fields}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "http_url"]

    @admin.display(description=gettext_lazy("Mailgun route's URL"))
    def http_url(self, mailbox: Mailbox) -> str:
        if mailbox.pk is None or mailbox.kind != MailboxKind.HTTP:
            return gettext("For a mailbox whose mail is posted over HTTP, once it is saved.")
        try:
            path_ = reverse("inbound:mailgun_mime", args=[mailbox.tenant.slug, mailbox.pk])
        except NoReverseMatch:  # the project's URLs mount the endpoint at /inbound/
            path_ = f"/inbound/mailgun/{mailbox.tenant.slug}/{mailbox.pk}/mime"
        return settings.SITE_URL.rstrip("/") + path_

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

        mailboxes = list(
            queryset.filter(is_active=True, kind=MailboxKind.IMAP).values_list("pk", "tenant_id")
        )
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


class MatchForm(forms.Form):
    """The customer user a held message is from: one of the messages' tenant."""

    user = forms.ModelChoiceField(
        label=gettext_lazy("Customer user"),
        queryset=User.objects.none(),
        help_text=gettext_lazy(
            "The message is processed again as theirs: a new complaint filed for them, or "
            "their answer added to the case it names."
        ),
    )

    def __init__(self, *args, tenant_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(
            tenant_id=tenant_id, role__in=CUSTOMER_ROLES, is_active=True
        ).order_by("email")
        self.fields["user"].label_from_instance = _customer_label


def _customer_label(user: User) -> str:
    return f"{user.get_full_name()} <{user.email}>" if user.full_name else user.email


@admin.register(InboundMessage)
class InboundMessageAdmin(TenantAdminRecordsAdmin):
    list_display = [
        "subject_short",
        "from_header",
        "mailbox",
        "received_at",
        "status",
        "case_label",
        "size",
    ]
    list_filter = [StatusReasonFilter, "status", "mailbox"]
    search_fields = ["subject", "from_header", "to_header", "message_id", "case_label"]
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
        "case_label",
        "matched_user",
        "matched_by",
        "uidvalidity",
        "uid",
    ]
    readonly_fields = fields
    actions = ["process_again_selected", "match_selected", "reject_selected"]

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

    # --- held messages: match the sender, or reject ---

    def has_match_permission(self, request) -> bool:
        return is_tenant_admin_or_platform(request.user)

    @admin.action(
        description=gettext_lazy("Match the sender of the selected held messages…"),
        permissions=["match"],
    )
    def match_selected(self, request, queryset):
        held = list(
            queryset.filter(status=MessageStatus.HELD).select_related("tenant").order_by("pk")
        )
        if not held:
            self.message_user(request, gettext("Choose held messages."), messages.WARNING)
            return None
        tenants = {message.tenant_id for message in held}
        if len(tenants) != 1:
            self.message_user(
                request, gettext("Choose held messages of one tenant."), messages.WARNING
            )
            return None
        form = MatchForm(request.POST if "apply" in request.POST else None, tenant_id=tenants.pop())
        if form.is_bound and form.is_valid():
            self._match(request, held, form.cleaned_data["user"])
            return None  # back to the list
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Match the sender"),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "held": held,
            "form": form,
            "action_name": "match_selected",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/inbound/inboundmessage/match.html", context)

    def _match(self, request, held: list[InboundMessage], user: User) -> None:
        statuses = []
        for message in held:
            updated = (
                InboundMessage.objects.for_tenant(message.tenant)
                .filter(pk=message.pk, status=MessageStatus.HELD)
                .update(matched_user=user, matched_by=request.user)
            )
            if not updated:
                continue  # processed meanwhile
            message.refresh_from_db(fields=["matched_user", "matched_by"])
            logger.info(
                "inbound message matched to a customer user",
                extra={"inbound_message": message.pk, "user": user.pk, "by": request.user.pk},
            )
            statuses.append(services.process_again(message))
        self.message_user(
            request,
            ngettext(
                "%(count)d message was matched to %(user)s; %(held)d of them is still held.",
                "%(count)d messages were matched to %(user)s; %(held)d of them are still held.",
                len(statuses),
            )
            % {
                "count": len(statuses),
                "user": user.email,
                "held": statuses.count(MessageStatus.HELD),
            },
            messages.SUCCESS if MessageStatus.HELD not in statuses else messages.WARNING,
        )

    @admin.action(
        description=gettext_lazy("Reject the selected held messages"), permissions=["match"]
    )
    def reject_selected(self, request, queryset) -> None:
        now = timezone.now()
        rejected = 0
        for message in queryset.filter(status=MessageStatus.HELD):
            reason = f"Rejected by {request.user.email} at {now:%Y-%m-%d %H:%M} UTC."
            rejected += (
                InboundMessage.objects.for_tenant(message.tenant)
                .filter(pk=message.pk, status=MessageStatus.HELD)
                .update(status=MessageStatus.IGNORED, status_reason=reason, processed_at=now)
            )
            logger.info(
                "inbound message rejected",
                extra={"inbound_message": message.pk, "by": request.user.pk},
            )
        self.message_user(
            request,
            ngettext(
                "%(count)d message was rejected.", "%(count)d messages were rejected.", rejected
            )
            % {"count": rejected},
            messages.SUCCESS,
        )
