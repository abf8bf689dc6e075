"""Back-office for the outbox: the tenant's webhook endpoints, and read-only logs of webhook
deliveries and e-mails with a "retry" action for rows that failed for good. A row `sending`
shows until when its worker holds it ("leased until"); after that the sweep sends it again."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_lazy, ngettext

from rma_portal.backoffice.admin import TenantScopedAdmin

from . import catalogue, services, webhooks
from .models import DeliveryStatus, Notification, WebhookDelivery, WebhookEndpoint


def _https_by_default(db_field, **kwargs):
    # Django 6 assumes https for addresses typed without a scheme; so do we, already.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=gettext_lazy("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy("Where the signed POST requests go; http:// or https:// only."),
    )
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        # The catalogue, read when the form is built: the domain apps register their events
        # at start-up (rma_portal/notifications/catalogue.py).
        choices=catalogue.event_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every event."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["tenant", "url", "description", "event_types", "is_active"]
        # The admin's read-only variants of this form build the field from the model.
        formfield_callback = _https_by_default

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        webhooks.check_url(url)  # its ValidationError becomes the field's error
        return url


class _ReadOnlyOutboxAdmin(TenantScopedAdmin):
    """Rows are written by services and workers; staff read them and retry failed ones."""

    actions = ["retry_failed"]
    list_filter = ["status", "event"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the delivery history is what support looks at when a partner asks

    def has_retry_permission(self, request) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description=gettext_lazy("Retry the selected failed rows"), permissions=["retry"])
    def retry_failed(self, request, queryset) -> None:
        failed = list(queryset.filter(status=DeliveryStatus.FAILED))
        for row in failed:
            services.outbox_retry(row=row)
        skipped = queryset.count() - len(failed)
        if failed:
            self.message_user(
                request,
                ngettext(
                    "%(count)d row will be sent again.",
                    "%(count)d rows will be sent again.",
                    len(failed),
                )
                % {"count": len(failed)},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d row was left alone: only failed rows are retried.",
                    "%(count)d rows were left alone: only failed rows are retried.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )

    @admin.display(description=gettext_lazy("last error"))
    def last_error_short(self, row) -> str:
        return Truncator(row.last_error).chars(80)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin):
    """Every add, change, deletion and secret rotation is audited as the endpoint's own
    action (rma_portal/notifications/services.py), next to the back-office's change log."""

    form = WebhookEndpointForm
    list_display = ["url", "is_active", "events_display", "deliveries_link", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url"]
    actions = ["rotate_secret"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(delivery_count=Count("deliveries"))

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "url", "description", "event_types", "is_active"]
        if self.has_change_permission(request, obj):
            return ["tenant", "url", "description", "event_types", "is_active", "secret"]
        # Viewers see the chosen events as a list, and never the secret that signs calls.
        return ["url", "description", "events_display", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if self.has_change_permission(request, obj):
            return ["secret"]
        return ["url", "description", "events_display", "is_active"]

    def save_model(self, request, obj, form, change) -> None:
        audited = {"actor": request.user, "request": request, "via": "backoffice"}
        if not change:
            # Generated, never typed: a guessable secret would let anyone forge our calls.
            obj.secret = services.webhook_secret_new()
            super().save_model(request, obj, form, change)
            services.audit_endpoint_created(obj, **audited)
            return
        before = services.audit_state(WebhookEndpoint.unscoped.get(pk=obj.pk))
        super().save_model(request, obj, form, change)
        services.audit_endpoint_changed(before, obj, **audited)

    def delete_model(self, request, obj) -> None:
        with transaction.atomic():
            services.audit_endpoint_deleted(
                obj, actor=request.user, request=request, via="backoffice"
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            for endpoint in queryset:
                services.audit_endpoint_deleted(
                    endpoint, actor=request.user, request=request, via="backoffice"
                )
            super().delete_queryset(request, queryset)

    @admin.action(
        description=gettext_lazy("Rotate the signing secret of the selected endpoints"),
        permissions=["change"],
    )
    def rotate_secret(self, request, queryset) -> None:
        endpoints = list(queryset)
        for endpoint in endpoints:
            services.webhook_secret_rotate(
                endpoint=endpoint, actor=request.user, request=request, via="backoffice"
            )
        hours = int(services.SECRET_GRACE_DEFAULT.total_seconds() // 3600)
        self.message_user(
            request,
            ngettext(
                "%(count)d endpoint has a new signing secret, on its page. The previous one "
                "keeps signing for %(hours)d hours.",
                "%(count)d endpoints have a new signing secret, each on its page. The "
                "previous ones keep signing for %(hours)d hours.",
                len(endpoints),
            )
            % {"count": len(endpoints), "hours": hours},
            messages.SUCCESS,
        )

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            gettext_lazy(
                "The endpoint was added. Its signing secret is on its page: give it to the "
                "receiving system so it can check the X-Signature header."
            ),
            messages.INFO,
        )
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description=gettext_lazy("events"))
    def events_display(self, obj: WebhookEndpoint) -> str:
        if not obj.event_types:
            return gettext("every event")
        return ", ".join(obj.event_types)

    @admin.display(description=gettext_lazy("deliveries"))
    def deliveries_link(self, obj: WebhookEndpoint):
        url = reverse("admin:notifications_webhookdelivery_changelist")
        query = urlencode({"endpoint__id__exact": obj.pk})
        return format_html('<a href="{}?{}">{}</a>', url, query, obj.delivery_count)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnlyOutboxAdmin):
    list_display = [
        "created_at",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_error_short",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["status", "event", ("endpoint", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["endpoint"]
    search_fields = ["idempotency_key", "endpoint__url"]
    fields = readonly_fields = [
        "endpoint",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "lease_until",
        "created_at",
        "sent_at",
        "idempotency_key",
        "payload",
    ]


@admin.register(Notification)
class NotificationAdmin(_ReadOnlyOutboxAdmin):
    list_display = [
        "created_at",
        "event",
        "email",
        "status",
        "attempts",
        "last_error_short",
        "sent_at",
    ]
    search_fields = ["email", "idempotency_key"]
    fields = readonly_fields = [
        "event",
        "recipient",
        "email",
        "language",
        "is_essential",
        "kind",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "lease_until",
        "created_at",
        "sent_at",
        "idempotency_key",
        "context",
    ]
