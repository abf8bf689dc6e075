"""How webhook endpoints, deliveries and the event catalogue look in the API, and the input of
their calls. Input serializers check shapes only; the services check the rules (the URL's
address, the event names) and answer with field errors named the same way."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from rma_portal.api.fields import id_field

from .. import catalogue
from ..models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from ..services import SECRET_GRACE_DEFAULT, SECRET_GRACE_MAX

# --- endpoints -------------------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The events sent to this endpoint (GET /webhooks/events/); empty: every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "created_at",
            "secret_rotated_at",
            "previous_secret_expires_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "previous_secret_expires_at": {
                "help_text": "Until when the secret replaced by the last rotation still signs "
                "(a second v1 signature); null when it no longer does."
            },
        }


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret: shown only in this answer (creation, rotation). The "
        "receiver checks X-Signature with it.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.URLField(
        max_length=500,
        help_text="Where the signed POSTs go: http(s), a public address (private, loopback "
        "and reserved addresses are refused unless the operator allows them).",
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", trim_whitespace=True
    )
    is_active = serializers.BooleanField(
        required=False, default=True, help_text="Inactive: nothing is sent (calls are skipped)."
    )

    def get_fields(self):
        # The catalogue's names, read now: the domain apps register their events at start-up.
        fields = super().get_fields()
        fields["event_types"] = serializers.ListField(
            child=serializers.ChoiceField(choices=catalogue.subscribable_names()),
            required=False,
            default=list,
            max_length=100,
            help_text="Event types from GET /webhooks/events/; empty or left out: every event.",
        )
        return fields


class RotateSecretInputSerializer(serializers.Serializer):
    previous_secret_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=int(SECRET_GRACE_MAX.total_seconds() // 3600),
        default=int(SECRET_GRACE_DEFAULT.total_seconds() // 3600),
        help_text="How long the replaced secret keeps signing, next to the new one (default "
        "24; 0: at once only the new one).",
    )


# --- deliveries ------------------------------------------------------------------------------


class WebhookDeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.IntegerField(source="endpoint_id", read_only=True)
    event_id = serializers.SerializerMethodField(
        help_text="The `id` of the event in the body: the same for every endpoint and "
        "redelivery of one event."
    )
    delivery_key = serializers.CharField(
        source="idempotency_key",
        read_only=True,
        help_text="Sent as X-Delivery: the same at every attempt of this delivery.",
    )
    last_status_code = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The HTTP status of the last answer, if any."
    )
    next_attempt_at = serializers.SerializerMethodField(
        help_text="When it is attempted next, while it is pending; null otherwise."
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event",
            "event_id",
            "delivery_key",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "next_attempt_at",
            "sent_at",
        ]
        read_only_fields = fields

    def get_event_id(self, delivery: WebhookDelivery) -> str | None:
        if hasattr(delivery, "event_id"):  # the list's annotation (the body is not loaded)
            return delivery.event_id
        payload = delivery.payload if isinstance(delivery.payload, dict) else {}
        return payload.get("id")

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_attempt_at(self, delivery: WebhookDelivery) -> str | None:
        if delivery.status != DeliveryStatus.PENDING:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    payload = serializers.JSONField(read_only=True, help_text="The body that is POSTed.")

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "payload"]
        read_only_fields = fields


class DeliveryFilterSerializer(serializers.Serializer):
    endpoint = id_field(required=False, help_text="Only deliveries to this endpoint.")
    status = serializers.ChoiceField(
        choices=DeliveryStatus.choices, required=False, help_text="Only deliveries in this state."
    )
    event = serializers.CharField(
        required=False, max_length=60, help_text="Only calls of this event type."
    )


# --- the catalogue ---------------------------------------------------------------------------


class EventVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    schema = serializers.JSONField(
        help_text="JSON Schema (draft 2020-12) of the whole body of a call: the envelope "
        "with this event's `data`; shared objects in `$defs`."
    )
    example = serializers.JSONField(help_text="An example body.")


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField(help_text='The event type, e.g. "return.resolved".')
    label = serializers.CharField(help_text="Its name, in the user's language.")
    description = serializers.CharField()
    group = serializers.CharField(help_text="returns, complaints or webhooks")
    subscribable = serializers.BooleanField(
        help_text="Whether an endpoint may choose it in `event_types` (the ping is sent on "
        "request only)."
    )
    version = serializers.IntegerField(help_text="The version sent now.")
    versions = EventVersionSerializer(many=True)
