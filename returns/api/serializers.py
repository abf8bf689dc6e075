"""How return requests look in the API, and the input of their create and transition calls.

Input serializers check types and shapes only; the services decide what is allowed and answer
with field errors named the same way (`lines[0].quantity`).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.reverse import reverse

from customers.api.serializers import CustomerAccountSummarySerializer, ProductSerializer
from returns.models import (
    Disposition,
    ItemCondition,
    Resolution,
    ReturnAttachment,
    ReturnEvent,
    ReturnLine,
    ReturnMethod,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)

MAX_TEXT = 4000
MAX_LINES = 200

# --- output ---------------------------------------------------------------------------------


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="get_full_name", read_only=True)


class OrderLineReferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    line_number = serializers.IntegerField(read_only=True)
    order_id = serializers.IntegerField(read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)


class ReturnRequestSummarySerializer(serializers.ModelSerializer):
    """A return in a list."""

    status_label = serializers.CharField(source="get_status_display", read_only=True)
    customer = CustomerAccountSummarySerializer(source="customer_account", read_only=True)
    requester = UserSummarySerializer(read_only=True)
    assignee = UserSummarySerializer(read_only=True, allow_null=True)
    requested_resolution_label = serializers.CharField(
        source="get_requested_resolution_display", read_only=True
    )
    return_method_label = serializers.CharField(source="get_return_method_display", read_only=True)
    currency = serializers.SerializerMethodField()

    class Meta:
        model = ReturnRequest
        fields = [
            "id",
            "number",
            "status",
            "status_label",
            "customer",
            "requester",
            "assignee",
            "requested_resolution",
            "requested_resolution_label",
            "return_method",
            "return_method_label",
            "currency",
            "requested_value",
            "accepted_value",
            "refund_total",
            "created_at",
            "updated_at",
            "submitted_at",
        ]
        read_only_fields = fields

    def get_currency(self, return_request: ReturnRequest) -> str:
        # Every return of a request is of the user's tenant; no query per row.
        return self.context["request"].user.tenant.currency


class ReturnLineSerializer(serializers.ModelSerializer):
    order_line = OrderLineReferenceSerializer(read_only=True)
    product = ProductSerializer(source="order_line.product", read_only=True)
    reason_label = serializers.CharField(source="get_reason_display", read_only=True)
    comment = serializers.CharField(source="customer_comment", read_only=True)
    serial_numbers = serializers.ListField(child=serializers.CharField(), read_only=True)
    line_value = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    condition_label = serializers.CharField(source="get_condition_display", read_only=True)
    disposition_label = serializers.CharField(source="get_disposition_display", read_only=True)
    inspection_customer_note = serializers.CharField(
        read_only=True, help_text="What inspection found, for the customer."
    )
    inspection_note = serializers.CharField(
        read_only=True,
        help_text="Internal note on the inspection: staff only, never in a customer's answer.",
    )

    class Meta:
        model = ReturnLine
        fields = [
            "id",
            "order_line",
            "product",
            "quantity",
            "reason",
            "reason_label",
            "reason_text",
            "comment",
            "serial_numbers",
            "unit_price",
            "line_value",
            "condition",
            "condition_label",
            "disposition",
            "disposition_label",
            "accepted_quantity",
            "inspection_customer_note",
            "inspection_note",
            "refund_amount",
        ]
        read_only_fields = fields

    def to_representation(self, line: ReturnLine) -> dict:
        data = super().to_representation(line)
        request = self.context.get("request")
        # Closed by default: only tenant staff read the internal note (docs/api.md).
        if request is None or not request.user.is_tenant_staff:
            data.pop("inspection_note", None)
        return data


class ReturnEventSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = ReturnEvent
        fields = [
            "id",
            "action",
            "from_status",
            "to_status",
            "note",
            "actor",
            "is_public",
            "created_at",
        ]
        read_only_fields = fields


class ReturnAttachmentSerializer(serializers.ModelSerializer):
    line = serializers.IntegerField(source="line_id", read_only=True, allow_null=True)
    uploaded_by = serializers.IntegerField(source="uploaded_by_id", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReturnAttachment
        fields = [
            "id",
            "original_name",
            "content_type",
            "size",
            "line",
            "uploaded_by",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, attachment: ReturnAttachment) -> str:
        return reverse(
            "api:return-attachment-download",
            kwargs={"pk": attachment.return_request_id, "attachment_id": attachment.pk},
            request=self.context.get("request"),
        )


class PolicySummarySerializer(serializers.Serializer):
    """The rules snapshotted when the return was submitted (they apply to it for good)."""

    default_window_days = serializers.IntegerField(read_only=True)
    category_windows = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    restocking_fee_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, read_only=True
    )
    free_shipping_reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    allowed_resolutions = serializers.ListField(child=serializers.CharField(), read_only=True)
    conditions_text = serializers.CharField(read_only=True)


class ReturnRequestDetailSerializer(ReturnRequestSummarySerializer):
    """A return with its lines, timeline, files, the policy applied and the money."""

    shipping_paid_by_label = serializers.CharField(
        source="get_shipping_paid_by_display", read_only=True
    )
    resolution_label = serializers.CharField(source="get_resolution_display", read_only=True)
    policy = PolicySummarySerializer(source="policy_snapshot", read_only=True, allow_null=True)
    lines = ReturnLineSerializer(many=True, read_only=True)
    events = ReturnEventSerializer(
        many=True, read_only=True, help_text="The timeline; customers see public events only."
    )
    attachments = ReturnAttachmentSerializer(many=True, read_only=True)

    version = serializers.IntegerField(
        read_only=True,
        help_text="Counts the return's changes; send it back as `If-Match` (the ETag) to "
        "change the return only if nobody else has since.",
    )

    class Meta(ReturnRequestSummarySerializer.Meta):
        fields = [
            *ReturnRequestSummarySerializer.Meta.fields,
            "version",
            "pickup_date",
            "pickup_address",
            "customer_note",
            "info_request",
            "rejection_reason",
            "auto_approved",
            "shipping_paid_by",
            "shipping_paid_by_label",
            "restocking_fee",
            "resolution",
            "resolution_label",
            "credit_note_number",
            "replacement_order_ref",
            "resolution_note",
            "approved_at",
            "received_at",
            "inspected_at",
            "resolved_at",
            "closed_at",
            "policy",
            "lines",
            "events",
            "attachments",
        ]
        read_only_fields = fields


# --- input ----------------------------------------------------------------------------------


class ReturnFilterSerializer(serializers.Serializer):
    """Query parameters of the return list."""

    status = serializers.ChoiceField(choices=ReturnStatus.choices, required=False)
    created_from = serializers.DateField(required=False, help_text="Created on or after (date).")
    created_to = serializers.DateField(required=False, help_text="Created on or before (date).")
    order = serializers.CharField(
        required=False, max_length=40, help_text="Part of an order number on the return's lines."
    )
    search = serializers.CharField(
        required=False, max_length=40, help_text="Part of the RMA number."
    )

    def validate(self, attrs):
        start, end = attrs.get("created_from"), attrs.get("created_to")
        if start and end and start > end:
            raise serializers.ValidationError(
                {"created_to": [_("The end date must not be before the start date.")]}
            )
        return attrs


class ReturnLineInputSerializer(serializers.Serializer):
    order_line = serializers.IntegerField(min_value=1, help_text="Id of a line of your order.")
    quantity = serializers.IntegerField(min_value=1)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    reason_text = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500, help_text="For other."
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT
    )
    serial_numbers = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        default=list,
        max_length=10_000,
        help_text="One per returned unit, for serial-tracked products.",
    )


class ReturnCreateSerializer(serializers.Serializer):
    lines = ReturnLineInputSerializer(many=True, max_length=MAX_LINES)
    requested_resolution = serializers.ChoiceField(choices=Resolution.choices)
    return_method = serializers.ChoiceField(choices=ReturnMethod.choices)
    pickup_date = serializers.DateField(required=False, allow_null=True, default=None)
    pickup_address = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT
    )
    customer_note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT
    )
    submit = serializers.BooleanField(
        required=False, default=False, help_text="Submit at once instead of keeping a draft."
    )


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT)


class ProvideInfoInputSerializer(serializers.Serializer):
    answer = serializers.CharField(allow_blank=True, max_length=MAX_TEXT)


class RejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        allow_blank=True, max_length=MAX_TEXT, help_text="Shown to the customer."
    )


class RequestInfoInputSerializer(serializers.Serializer):
    question = serializers.CharField(allow_blank=True, max_length=MAX_TEXT)


def _note(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT, help_text=help_text
    )


class InspectionLineInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Id of a line of this return.")
    condition = serializers.ChoiceField(choices=ItemCondition.choices)
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    accepted_quantity = serializers.IntegerField(min_value=0)
    customer_note = _note("Shown to the customer (`inspection_customer_note`).")
    internal_note = _note("Staff only, never shown to the customer (`inspection_note`).")
    note = _note("Former name of `internal_note`, used when that is empty.")


class InspectInputSerializer(serializers.Serializer):
    lines = InspectionLineInputSerializer(many=True, max_length=MAX_LINES)
    customer_note = _note("Shown to the customer: the note of the `inspected` timeline event.")
    internal_note = _note("Staff only: an internal `inspection_note` timeline event.")
    note = _note("Former name of `customer_note` (as on every transition, the customer sees it).")

    def validate_lines(self, lines):
        ids = [line["id"] for line in lines]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError(_("Each line may appear only once."))
        return lines


class ResolveInputSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=Resolution.choices)
    credit_note_number = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=40
    )
    replacement_order_ref = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=40
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT)


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="JPEG, PNG, WebP or PDF, judged by content.")
    line = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Id of a line of this return."
    )
