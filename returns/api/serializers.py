"""How return requests look in the API, and the input of their create and transition calls.

Input serializers check types and shapes only; the services decide what is allowed and answer
with field errors named the same way (`lines[0].quantity`).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.reverse import reverse

from customers.api.serializers import CustomerAccountSummarySerializer, ProductSerializer
from customers.cases import CaseChannel
from returns.models import (
    Disposition,
    DocumentKind,
    ItemCondition,
    Resolution,
    ResolutionDocument,
    ReturnAttachment,
    ReturnEvent,
    ReturnLine,
    ReturnMethod,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from returns.services.drafts import MAX_COMMENT
from rma_portal.api.fields import (
    BlankAsNullCharField,
    BlankChoicesAsNullMixin,
    FormDataInput,
    StrictInputSerializer,
    may_be_absent,
    multiple,
)
from rma_portal.api.filters import ListFilterSerializer, assignee_filter, customer_filter

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


class ReturnRequestSummarySerializer(BlankChoicesAsNullMixin, serializers.ModelSerializer):
    """A return in a list."""

    status_label = serializers.CharField(source="get_status_display", read_only=True)
    customer = CustomerAccountSummarySerializer(source="customer_account", read_only=True)
    requester = UserSummarySerializer(read_only=True)
    assignee = UserSummarySerializer(read_only=True, allow_null=True)
    requested_resolution_label = BlankAsNullCharField(source="get_requested_resolution_display")
    return_method_label = BlankAsNullCharField(source="get_return_method_display")
    channel_label = serializers.CharField(source="get_channel_display", read_only=True)
    currency = serializers.SerializerMethodField()
    number = BlankAsNullCharField(
        help_text="The RMA number, given on submission; null for a draft never submitted."
    )

    class Meta:
        model = ReturnRequest
        fields = [
            "id",
            "number",
            "status",
            "status_label",
            "channel",
            "channel_label",
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


class ReturnLineSerializer(BlankChoicesAsNullMixin, serializers.ModelSerializer):
    order_line = OrderLineReferenceSerializer(read_only=True)
    product = ProductSerializer(source="order_line.product", read_only=True)
    reason_label = serializers.CharField(source="get_reason_display", read_only=True)
    comment = serializers.CharField(source="customer_comment", read_only=True)
    serial_numbers = serializers.ListField(child=serializers.CharField(), read_only=True)
    line_value = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    condition_label = BlankAsNullCharField(source="get_condition_display")
    disposition_label = BlankAsNullCharField(source="get_disposition_display")
    inspection_customer_note = serializers.CharField(
        read_only=True, help_text="What inspection found, for the customer."
    )
    inspection_note = may_be_absent(
        serializers.CharField(
            read_only=True,
            help_text="Internal note on the inspection: staff only, never in a customer's answer.",
        )
    )
    resolution_label = BlankAsNullCharField(source="get_resolution_display")
    refund_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="What the line pays back (refund or credit note; 0.00 for a replacement or a "
        "repair); null until the return is resolved.",
    )
    override_reason = may_be_absent(
        serializers.CharField(
            read_only=True,
            help_text="Why staff paid more than the accepted value or replaced more than was "
            "accepted: staff only, never in a customer's answer.",
        )
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
            "resolution",
            "resolution_label",
            "refund_amount",
            "replacement_sku",
            "replacement_quantity",
            "override_reason",
        ]
        read_only_fields = fields

    def to_representation(self, line: ReturnLine) -> dict:
        data = super().to_representation(line)
        request = self.context.get("request")
        # Closed by default: only tenant staff read the internal notes (docs/api.md).
        if request is None or not request.user.is_tenant_staff:
            data.pop("inspection_note", None)
            data.pop("override_reason", None)
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


class ResolutionDocumentSerializer(serializers.ModelSerializer):
    """A document of the ERP that carries out the resolution, as confirmed."""

    type = serializers.CharField(source="kind", read_only=True)
    type_label = serializers.CharField(source="get_kind_display", read_only=True)
    date = serializers.DateField(source="issued_on", read_only=True, allow_null=True)

    class Meta:
        model = ResolutionDocument
        fields = ["type", "type_label", "number", "date", "amount", "confirmed_at"]
        read_only_fields = fields


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

    shipping_paid_by_label = BlankAsNullCharField(source="get_shipping_paid_by_display")
    resolution_label = BlankAsNullCharField(source="get_resolution_display")
    policy = PolicySummarySerializer(source="policy_snapshot", read_only=True, allow_null=True)
    lines = ReturnLineSerializer(many=True, read_only=True)
    events = ReturnEventSerializer(
        many=True, read_only=True, help_text="The timeline; customers see public events only."
    )
    attachments = ReturnAttachmentSerializer(many=True, read_only=True)
    documents = ResolutionDocumentSerializer(
        many=True,
        read_only=True,
        help_text="The ERP's documents confirmed for the resolution: the credit note, the "
        "replacement / repair order.",
    )
    filed_by = UserSummarySerializer(
        read_only=True,
        allow_null=True,
        help_text="The staff member (or integration) who filed the return for the customer; "
        "null when the customer filed it.",
    )
    approved_by = UserSummarySerializer(
        read_only=True,
        allow_null=True,
        help_text="Who approved the return; null before approval and when the return policy "
        "approved it automatically.",
    )

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
            "is_warranty_claim",
            "approval_level",
            "approved_by",
            "shipping_paid_by",
            "shipping_paid_by_label",
            "restocking_fee",
            "credit_note_total",
            "resolution",
            "resolution_label",
            "credit_note_number",
            "replacement_order_ref",
            "documents",
            "filed_by",
            "resolution_note",
            "approved_at",
            "received_at",
            "inspected_at",
            "resolved_at",
            "closed_at",
            "ship_by",
            "expired_at",
            "policy",
            "lines",
            "events",
            "attachments",
        ]
        read_only_fields = fields


# --- input ----------------------------------------------------------------------------------


class ReturnFilterSerializer(ListFilterSerializer):
    """Query parameters of the return list (with `updated_since`, `created_from`, `created_to`)."""

    status = multiple(
        serializers.ChoiceField(choices=ReturnStatus.choices),
        help_text="Status; repeat for any of several (`status=submitted&status=needs_info`).",
    )
    customer = customer_filter()
    assignee = assignee_filter()
    order = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="Part of an order number on the return's lines.",
    )
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="Part of the RMA number."
    )


class ReturnLineInputSerializer(StrictInputSerializer):
    order_line = serializers.IntegerField(min_value=1, help_text="Id of a line of your order.")
    quantity = serializers.IntegerField(min_value=1)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    reason_text = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500, help_text="For other."
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_COMMENT
    )
    serial_numbers = serializers.ListField(
        child=serializers.CharField(max_length=100, allow_blank=True),  # blanks are skipped
        required=False,
        default=list,
        max_length=10_000,
        help_text="One per returned unit, for serial-tracked products.",
    )


class ReturnCreateSerializer(StrictInputSerializer):
    on_behalf_of = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="Staff and integrations: the user id of the customer user the return is "
        "filed for (required). Customers file for themselves and leave it out.",
    )
    channel = serializers.ChoiceField(
        choices=CaseChannel.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Staff: how the customer reached you (required). API keys: `api` unless "
        "given. Customers: always `portal`.",
    )
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_TEXT,
        help_text="Staff and integrations, with `submit`: submit although the return policy "
        "refuses (window, product, reason, resolution), for this reason; recorded on the "
        "staff timeline. Quantities and serial numbers are never overridden.",
    )
    lines = ReturnLineInputSerializer(many=True, min_length=1, max_length=MAX_LINES)
    requested_resolution = serializers.ChoiceField(choices=Resolution.choices)
    return_method = serializers.ChoiceField(choices=ReturnMethod.choices)
    pickup_date = serializers.DateField(required=False, allow_null=True, default=None)
    pickup_address = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT
    )
    customer_note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_COMMENT
    )
    submit = serializers.BooleanField(
        required=False, default=False, help_text="Submit at once instead of keeping a draft."
    )


class NoteInputSerializer(StrictInputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT)


class ProvideInfoInputSerializer(StrictInputSerializer):
    answer = serializers.CharField(max_length=MAX_TEXT)


class RejectInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=MAX_TEXT, help_text="Shown to the customer.")


class RequestInfoInputSerializer(StrictInputSerializer):
    question = serializers.CharField(max_length=MAX_TEXT)


def _note(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT, help_text=help_text
    )


class InspectionLineInputSerializer(StrictInputSerializer):
    id = serializers.IntegerField(help_text="Id of a line of this return.")
    condition = serializers.ChoiceField(choices=ItemCondition.choices)
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    accepted_quantity = serializers.IntegerField(min_value=0)
    customer_note = _note("Shown to the customer (`inspection_customer_note`).")
    internal_note = _note("Staff only, never shown to the customer (`inspection_note`).")
    note = _note("Former name of `internal_note`, used when that is empty.")


class InspectInputSerializer(StrictInputSerializer):
    lines = InspectionLineInputSerializer(many=True, min_length=1, max_length=MAX_LINES)
    customer_note = _note("Shown to the customer: the note of the `inspected` timeline event.")
    internal_note = _note("Staff only: an internal `inspection_note` timeline event.")
    note = _note("Former name of `customer_note` (as on every transition, the customer sees it).")

    def validate_lines(self, lines):
        ids = [line["id"] for line in lines]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError(_("Each line may appear only once."))
        return lines


class ResolveLineInputSerializer(StrictInputSerializer):
    id = serializers.IntegerField(help_text="Id of a line of this return.")
    resolution = serializers.ChoiceField(choices=Resolution.choices)
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
        help_text="Refund and credit note: what the line pays back (default: the policy's "
        "amount). More than the accepted value needs `override_reason`.",
    )
    replacement_sku = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=60,
        help_text="Replacement: the SKU sent (default: the returned product's).",
    )
    replacement_quantity = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="Replacement: units sent (default: the accepted quantity). More than "
        "accepted needs `override_reason`.",
    )
    override_reason = _note(
        "Why the line pays more than its accepted value or replaces more than was accepted "
        "(staff only, never shown to the customer)."
    )


class ResolveInputSerializer(StrictInputSerializer):
    resolution = serializers.ChoiceField(
        choices=Resolution.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="The resolution of every line not listed in `lines`, with the policy's amounts.",
    )
    lines = ResolveLineInputSerializer(
        many=True, max_length=MAX_LINES, required=False, default=list
    )
    credit_note_number = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=40,
        help_text="A reference known already; the ERP confirms the document later.",
    )
    replacement_order_ref = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=40,
        help_text="A reference known already; the ERP confirms the document later.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT)

    def validate_lines(self, lines):
        ids = [line["id"] for line in lines]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError(_("Each line may appear only once."))
        return lines


class ConfirmDocumentInputSerializer(StrictInputSerializer):
    type = serializers.ChoiceField(
        choices=DocumentKind.choices,
        help_text="`credit_note` (one per return, for all the money it pays back) or "
        "`replacement_order` (one per return, for its replacement and repair lines).",
    )
    number = serializers.CharField(max_length=40, help_text="The document's number in the ERP.")
    date = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The document's date; required for a credit note.",
    )
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
        help_text="Credit note: its amount, equal to the return's `refund_total`. Orders have "
        "none.",
    )


class AttachmentUploadSerializer(FormDataInput, StrictInputSerializer):
    file = serializers.FileField(help_text="JPEG, PNG, WebP or PDF, judged by content.")
    line = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Id of a line of this return."
    )
