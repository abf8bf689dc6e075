"""How complaints look in the API, and the input of their filing, thread and transition calls.

Staff and customers get the same shape; what only staff may know (the assignee as a user, the
SLA clocks, `updated_at`, which also moves on internal work) is null for customers. Internal
notes never reach a customer because complaints are loaded through
`selectors.complaint_thread(for_customer=True)`. Input serializers check types and shapes; the
services decide what is allowed and name the fields at fault.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_choice_description_list
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from complaints import selectors
from complaints.models import (
    OPEN_COMPLAINT_STATUSES,
    Complaint,
    ComplaintAttachment,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintStatus,
    Priority,
    SatisfactionRating,
)
from complaints.sla import SlaState
from customers.api.serializers import CustomerAccountSummarySerializer
from customers.cases import CaseChannel
from rma_portal.api.fields import (
    BlankAsNullCharField,
    FormDataInput,
    StrictInputSerializer,
    multiple,
)
from rma_portal.api.filters import ListFilterSerializer, assignee_filter, customer_filter
from rma_portal.surveys import CSAT_MAX, CSAT_MIN, NPS_MAX, NPS_MIN

MAX_TEXT = 10_000  # the services' limit for every text
STAFF_ONLY = "Staff only; null for customers."
SLA_STATE_CHOICES = [
    (state.value, state.value.replace("_", " ").capitalize()) for state in SlaState
]


class NamedChoiceField(serializers.ChoiceField):
    """A choice field documented as an enum component with a name of its own.

    drf-spectacular names enums after the field, and `status` or `resolution` already name
    the returns' enums in the same schema: without a name, the generator would invent hashed
    ones (`Status3f2Enum`) that change whenever the choices do.
    """

    def __init__(self, *, enum_name: str, **kwargs):
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField
    match_subclasses = True

    def get_name(self) -> str:
        return self.target.enum_name

    def map_serializer_field(self, auto_schema, direction) -> dict:
        choices = self.target.choices
        return {
            "type": "string",
            "enum": list(choices),
            "description": build_choice_description_list(choices.items()),
        }


def status_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(
        choices=ComplaintStatus.choices, enum_name="ComplaintStatusEnum", **kwargs
    )


def category_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(
        choices=ComplaintCategory.choices, enum_name="ComplaintCategoryEnum", **kwargs
    )


def priority_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(choices=Priority.choices, enum_name="ComplaintPriorityEnum", **kwargs)


def sla_state_field(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(choices=SLA_STATE_CHOICES, enum_name="SlaStateEnum", **kwargs)


def awaits_first_response(complaint: Complaint) -> bool:
    """The customer is waiting for a first answer and the clock runs (not paused, not over)."""
    return (
        complaint.first_responded_at is None
        and complaint.sla_paused_at is None
        and complaint.status in OPEN_COMPLAINT_STATUSES
    )


# --- output: parts --------------------------------------------------------------------------


class ComplaintUserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="get_full_name", read_only=True)


class ComplaintOrderReferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)


class ComplaintOrderLineReferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    line_number = serializers.IntegerField(read_only=True)


class ComplaintProductReferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class ComplaintReturnReferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = BlankAsNullCharField(help_text="The RMA number; null for a draft never submitted.")


class ComplaintRatingSerializer(serializers.ModelSerializer):
    class Meta:
        model = SatisfactionRating
        fields = ["score", "nps", "comment", "created_at"]
        read_only_fields = fields


class ComplaintSlaStatesSerializer(serializers.Serializer):
    first_response = sla_state_field(read_only=True)
    resolution = sla_state_field(read_only=True)


class ComplaintAttachmentSerializer(serializers.ModelSerializer):
    message = serializers.IntegerField(
        source="message_id",
        read_only=True,
        allow_null=True,
        help_text="The message the file came with; null for files sent when filing.",
    )
    uploaded_by = serializers.IntegerField(source="uploaded_by_id", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ComplaintAttachment
        fields = [
            "id",
            "original_name",
            "content_type",
            "size",
            "message",
            "uploaded_by",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, attachment: ComplaintAttachment) -> str:
        return reverse(
            "api:complaint-attachment-download",
            kwargs={"pk": attachment.complaint_id, "attachment_id": attachment.pk},
            request=self.context.get("request"),
        )


class ComplaintMessageSerializer(serializers.ModelSerializer):
    author = ComplaintUserSerializer(read_only=True)
    from_support = serializers.SerializerMethodField(
        help_text="Written by the tenant's support staff (false: by the customer)."
    )
    internal = serializers.BooleanField(
        source="is_internal",
        read_only=True,
        help_text="An internal note of the staff; customers never receive these.",
    )
    attachments = ComplaintAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = ComplaintMessage
        fields = ["id", "author", "from_support", "body", "internal", "created_at", "attachments"]
        read_only_fields = fields

    def get_from_support(self, message: ComplaintMessage) -> bool:
        return message.author.is_tenant_staff


class ComplaintEventSerializer(serializers.ModelSerializer):
    actor = ComplaintUserSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ComplaintEvent
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


# --- output: the complaint ------------------------------------------------------------------


class ComplaintSummarySerializer(serializers.ModelSerializer):
    """A complaint in a list."""

    # Context: `for_staff` (required: a missing flag fails rather than show staff fields),
    # and for staff `sla_calendar` (the tenant's business calendar, loaded once per request)
    # and `now`.
    staff_only_fields: tuple[str, ...] = (
        "assignee",
        "updated_at",
        "resolution_due_at",
        "overall_sla_state",
    )

    status = status_field(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    category = category_field(read_only=True)
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    priority = priority_field(read_only=True)
    priority_label = serializers.CharField(source="get_priority_display", read_only=True)
    channel = serializers.ChoiceField(
        choices=CaseChannel.choices,
        read_only=True,
        help_text="How the complaint reached us: `portal` when the customer filed it.",
    )
    channel_label = serializers.CharField(source="get_channel_display", read_only=True)
    customer = CustomerAccountSummarySerializer(source="customer_account", read_only=True)
    reporter = ComplaintUserSerializer(read_only=True)
    assignee = ComplaintUserSerializer(read_only=True, allow_null=True, help_text=STAFF_ONLY)
    assignee_name = serializers.SerializerMethodField(
        help_text="Name of the agent handling the complaint (null while nobody is assigned)."
    )
    updated_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=f"{STAFF_ONLY} It also moves on internal work.",
    )
    first_response_due_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the first answer is due. Customers see it only while they wait for a "
        "first answer (null otherwise); staff always.",
    )
    resolution_due_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=STAFF_ONLY
    )
    overall_sla_state = serializers.SerializerMethodField(
        allow_null=True, help_text=f"The worst of the SLA clocks. {STAFF_ONLY}"
    )

    class Meta:
        model = Complaint
        fields = [
            "id",
            "code",
            "status",
            "status_label",
            "category",
            "category_label",
            "priority",
            "priority_label",
            "channel",
            "channel_label",
            "subject",
            "customer",
            "reporter",
            "assignee",
            "assignee_name",
            "created_at",
            "updated_at",
            "first_response_due_at",
            "resolution_due_at",
            "overall_sla_state",
            "resolved_at",
            "closed_at",
        ]
        read_only_fields = fields

    def to_representation(self, complaint: Complaint) -> dict:
        for_staff = self.context["for_staff"]
        data = super().to_representation(complaint)
        if not for_staff:
            for name in self.staff_only_fields:
                data[name] = None
            if not awaits_first_response(complaint):
                data["first_response_due_at"] = None
        return data

    def _sla_states(self, complaint: Complaint) -> dict[str, SlaState]:
        computed = self.context.setdefault("computed_sla_states", {})
        if complaint.pk not in computed:
            computed[complaint.pk] = selectors.sla_states(
                complaint, self.context["sla_calendar"], now=self.context["now"]
            )
        return computed[complaint.pk]

    def get_assignee_name(self, complaint: Complaint) -> str | None:
        return complaint.assignee.get_full_name() if complaint.assignee_id else None

    @extend_schema_field(sla_state_field())
    def get_overall_sla_state(self, complaint: Complaint) -> str | None:
        if not self.context["for_staff"]:
            return None
        return selectors.overall_sla_state(self._sla_states(complaint)).value


class ComplaintDetailSerializer(ComplaintSummarySerializer):
    """A complaint with its references, SLA, rating, files and timeline."""

    # The complaint must come from `selectors.complaint_thread()`, which filters messages,
    # files and events for customers; anything else is refused rather than shown unfiltered.

    staff_only_fields = (
        *ComplaintSummarySerializer.staff_only_fields,
        "first_responded_at",
        "sla_paused_at",
        "sla_states",
        "filed_by",
    )

    order = ComplaintOrderReferenceSerializer(read_only=True, allow_null=True)
    order_line = ComplaintOrderLineReferenceSerializer(read_only=True, allow_null=True)
    product = ComplaintProductReferenceSerializer(read_only=True, allow_null=True)
    return_request = ComplaintReturnReferenceSerializer(
        read_only=True,
        allow_null=True,
        help_text="The return filed because of this complaint, if any.",
    )
    first_responded_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text=STAFF_ONLY
    )
    sla_paused_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=f"Set while the complaint awaits the customer. {STAFF_ONLY}",
    )
    sla_states = serializers.SerializerMethodField(
        allow_null=True, help_text=f"State of each SLA clock. {STAFF_ONLY}"
    )
    rating = ComplaintRatingSerializer(read_only=True, allow_null=True)
    filed_by = ComplaintUserSerializer(
        read_only=True,
        allow_null=True,
        help_text=f"The staff member (or integration) who filed the complaint for the customer; "
        f"null when the customer filed it. {STAFF_ONLY}",
    )
    message_count = serializers.SerializerMethodField(
        help_text="Messages in the thread this user can read."
    )
    attachments = ComplaintAttachmentSerializer(
        source="visible_attachments",
        many=True,
        read_only=True,
        help_text="Files this user can download (customers: never those of internal notes).",
    )
    events = ComplaintEventSerializer(
        many=True, read_only=True, help_text="The timeline; customers see public events only."
    )

    version = serializers.IntegerField(
        read_only=True,
        help_text="Counts the complaint's changes; send it back as `If-Match` (the ETag) to "
        "change the complaint only if nobody else has since.",
    )

    class Meta(ComplaintSummarySerializer.Meta):
        fields = [
            *ComplaintSummarySerializer.Meta.fields,
            "version",
            "description",
            "order",
            "order_line",
            "product",
            "return_request",
            "first_responded_at",
            "sla_paused_at",
            "sla_states",
            "resolution",
            "rejection_reason",
            "reopen_count",
            "rating",
            "filed_by",
            "message_count",
            "attachments",
            "events",
        ]
        read_only_fields = fields

    def to_representation(self, complaint: Complaint) -> dict:
        if not hasattr(complaint, "visible_attachments"):
            raise ImproperlyConfigured(
                "ComplaintDetailSerializer needs a complaint loaded by complaint_thread()."
            )
        return super().to_representation(complaint)

    @extend_schema_field(ComplaintSlaStatesSerializer(allow_null=True))
    def get_sla_states(self, complaint: Complaint) -> dict | None:
        if not self.context["for_staff"]:
            return None
        return {name: state.value for name, state in self._sla_states(complaint).items()}

    def get_message_count(self, complaint: Complaint) -> int:
        return len(complaint.messages.all())  # the thread's prefetch: visible messages only


# --- input ----------------------------------------------------------------------------------


class ComplaintFilterSerializer(ListFilterSerializer):
    """Query parameters of the complaint list (with `updated_since`, `created_from`,
    `created_to`). Repeated parameters mean any of their values."""

    status = multiple(status_field(), help_text="Status; repeat for any of several.")
    category = multiple(category_field(), help_text="Category; repeat for any of several.")
    priority = multiple(priority_field(), help_text="Priority; repeat for any of several.")
    customer = customer_filter()
    assignee = assignee_filter(
        "Staff: user id of the assigned agent; repeat for any of several (customers: 403)."
    )
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Part of the complaint number or subject.",
    )


def files_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        max_length=10,
        help_text="Photos or documents: JPEG, PNG, WebP or PDF, judged by content; at most 10.",
    )


class ComplaintCreateSerializer(StrictInputSerializer):
    on_behalf_of = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="Staff and integrations: the user id of the customer user the complaint is "
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
    category = category_field()
    priority = priority_field(required=False, default=Priority.NORMAL)
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=MAX_TEXT)
    order = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, help_text="Your order's id."
    )
    order_line = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="Id of a line of your company's orders; sets the order and product too.",
    )
    product = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, help_text="A product's id."
    )


class ComplaintCreateWithFilesSerializer(FormDataInput, ComplaintCreateSerializer):
    files = files_field()


class ComplaintMessageInputSerializer(StrictInputSerializer):
    body = serializers.CharField(max_length=MAX_TEXT)
    internal = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Staff only: an internal note the customer never sees.",
    )


class ComplaintMessageWithFilesInputSerializer(FormDataInput, ComplaintMessageInputSerializer):
    files = files_field()


class ComplaintAttachmentUploadSerializer(FormDataInput, StrictInputSerializer):
    file = serializers.FileField(help_text="JPEG, PNG, WebP or PDF, judged by content.")
    message = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_TEXT,
        help_text="Text of the thread message that carries the file (a short default if empty).",
    )
    internal = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Staff only: the file goes with an internal note the customer never sees.",
    )


class ComplaintAssignInputSerializer(StrictInputSerializer):
    assignee = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="User id of an agent of the tenant; default: the caller.",
    )


class ComplaintQuestionInputSerializer(StrictInputSerializer):
    question = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_TEXT,
        help_text="Posted to the customer as a message first, when given.",
    )


class ComplaintResolveInputSerializer(StrictInputSerializer):
    resolution = serializers.CharField(max_length=MAX_TEXT, help_text="Shown to the customer.")


class ComplaintReasonInputSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=MAX_TEXT, help_text="Shown to the other side.")


class ComplaintPriorityInputSerializer(StrictInputSerializer):
    priority = priority_field(
        help_text="The new priority; the SLA clocks still running follow its SLA policy."
    )


class ComplaintRatingInputSerializer(StrictInputSerializer):
    score = serializers.IntegerField(min_value=CSAT_MIN, max_value=CSAT_MAX)
    nps = serializers.IntegerField(
        min_value=NPS_MIN,
        max_value=NPS_MAX,
        required=False,
        allow_null=True,
        default=None,
        help_text="How likely the customer is to recommend the merchant, 0–10; optional.",
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_TEXT
    )
