"""API v1 endpoints of complaints: list, filing, detail, the thread, files, transitions, rating.

Views parse input, call one selector or service, and serialize; rules live in the services,
whose errors the API exception handler turns into the shared error shape. What a customer may
read of a complaint (no internal notes, their files or events) comes from one selector,
`complaint_thread(for_customer=True)`, for the detail, the thread and downloads alike.
"""

from __future__ import annotations

from functools import cached_property

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from complaints import selectors, services
from complaints.models import Complaint
from complaints.sla import BusinessCalendar
from customers.selectors import customer_account_for_user
from rma_portal.accounts.models import User
from rma_portal.api.exceptions import PreconditionRequired
from rma_portal.api.filters import validated_filters
from rma_portal.api.permissions import IsTenantUser, require_read_write_scopes
from rma_portal.api.schema import file_download_responses
from rma_portal.api.views import IF_MATCH, IgnoreAcceptNegotiation, TenantScopedViewSet
from rma_portal.files.responses import stored_file_response
from rma_portal.files.uploads import UploadRejected

from .examples import COMPLAINT_CREATE_EXAMPLES, MESSAGE_EXAMPLES
from .serializers import (
    ComplaintAssignInputSerializer,
    ComplaintAttachmentSerializer,
    ComplaintAttachmentUploadSerializer,
    ComplaintCreateSerializer,
    ComplaintCreateWithFilesSerializer,
    ComplaintDetailSerializer,
    ComplaintFilterSerializer,
    ComplaintMessageInputSerializer,
    ComplaintMessageSerializer,
    ComplaintMessageWithFilesInputSerializer,
    ComplaintPriorityInputSerializer,
    ComplaintQuestionInputSerializer,
    ComplaintRatingInputSerializer,
    ComplaintReasonInputSerializer,
    ComplaintResolveInputSerializer,
    ComplaintSummarySerializer,
)


def _transition_schema(summary: str, request=None):
    return extend_schema(
        summary=summary, request=request, responses=ComplaintDetailSerializer, parameters=[IF_MATCH]
    )


@extend_schema(tags=["complaints"])
class ComplaintViewSet(TenantScopedViewSet):
    """Complaints the user may see; transitions are POST actions on one complaint."""

    model = Complaint
    permission_classes = [
        IsTenantUser,
        require_read_write_scopes(read="complaints:read", write="complaints:write"),
    ]
    serializer_class = ComplaintDetailSerializer
    parser_classes = [JSONParser, MultiPartParser]
    # The list's query parameters, and the timestamp its cursor pages by (pagination.py).
    filter_serializer_class = ComplaintFilterSerializer
    cursor_field = "updated_at"

    def scoped_queryset(self, *, user):
        if self.action != "list":
            return selectors.complaints_visible_to(user=user)
        data = validated_filters(self, ComplaintFilterSerializer)
        if "assignee" in data and not user.is_tenant_staff:
            # Who handles a complaint is staff's business: customers see a name, not a user.
            raise exceptions.PermissionDenied(_("Only support staff filter by assignee."))
        complaints = selectors.complaints_list(
            user=user,
            search=data.get("search", ""),
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
        )
        # Repeated parameters mean any of their values.
        for parameter, lookup in (
            ("status", "status__in"),
            ("category", "category__in"),
            ("priority", "priority__in"),
            ("customer", "customer_account_id__in"),
            ("assignee", "assignee_id__in"),
        ):
            if values := data.get(parameter):
                complaints = complaints.filter(**{lookup: values})
        if (since := data.get("updated_since")) is not None:
            # Internal work moves `updated_at` too: a customer's sync may bring a complaint
            # back with nothing new to them, never miss one (docs/api.md#syncing).
            complaints = complaints.filter(updated_at__gte=since)
        return complaints

    # --- representation -----------------------------------------------------------------------

    @property
    def for_staff(self) -> bool:
        # Managers read everything staff read (internal notes too); the services keep them
        # from acting. Everyone else the API serves is a customer user.
        return self.request.user.is_tenant_staff

    @cached_property
    def sla_calendar(self) -> BusinessCalendar:
        # A view instance serves one request: the tenant's calendar is read once for all rows.
        return selectors.business_calendar(self.request.user.tenant)

    def representation_context(self, *, with_sla: bool = False) -> dict:
        """What the serializers need; `with_sla` for complaints (staff get their SLA states)."""
        context = self.get_serializer_context()
        context["for_staff"] = self.for_staff
        if with_sla and self.for_staff:
            context["sla_calendar"] = self.sla_calendar
            context["now"] = timezone.now()
        return context

    def _thread(self, complaint: Complaint) -> Complaint:
        return selectors.complaint_thread(complaint=complaint, for_customer=not self.for_staff)

    def _detail(self, complaint: Complaint) -> dict:
        return ComplaintDetailSerializer(
            self._thread(complaint), context=self.representation_context(with_sla=True)
        ).data

    # --- reads --------------------------------------------------------------------------------

    @extend_schema(
        parameters=[ComplaintFilterSerializer], responses=ComplaintSummarySerializer(many=True)
    )
    def list(self, request, *args, **kwargs):
        """Complaints the user may see, newest first: staff the tenant's, customer admins their
        company's, customer users the ones they filed."""
        page = self.paginate_queryset(self.get_queryset())
        context = self.representation_context(with_sla=True)
        return self.get_paginated_response(
            ComplaintSummarySerializer(page, many=True, context=context).data
        )

    def retrieve(self, request, *args, **kwargs):
        """A complaint with its references, SLA (staff), rating, files and timeline; customers
        get neither internal notes nor their files nor internal events."""
        return Response(self._detail(self.get_object()))

    # --- filing -------------------------------------------------------------------------------

    @extend_schema(
        request={
            "application/json": ComplaintCreateSerializer,
            "multipart/form-data": ComplaintCreateWithFilesSerializer,
        },
        responses={201: ComplaintDetailSerializer},
        examples=COMPLAINT_CREATE_EXAMPLES,
    )
    def create(self, request, *args, **kwargs):
        """File a complaint. Customers file for their company; agents, coordinators, tenant
        admins and integrations file for a customer user of the tenant (`on_behalf_of`) with
        the channel it came through. Managers read only. JSON, or multipart with the same
        fields plus `files`. SLA due times start now."""
        user = request.user
        if user.is_customer:
            account = customer_account_for_user(user=user)
            if account is None:
                raise exceptions.PermissionDenied(
                    _("Only users of customer companies file complaints.")
                )
        else:
            # Before the body is read: a role that may not file learns nothing from it.
            services.require_acting_for_customers(user)
        form = ComplaintCreateWithFilesSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        details = {
            "category": data["category"],
            "priority": data["priority"],
            "subject": data["subject"],
            "description": data["description"],
            "order_id": data["order"],
            "order_line_id": data["order_line"],
            "product_id": data["product"],
            "uploads": data["files"],
        }
        if user.is_customer:
            if data["on_behalf_of"] not in (None, user.pk):
                raise exceptions.PermissionDenied(
                    _("Customers file complaints for themselves; a colleague files their own.")
                )
            complaint = services.complaint_file(customer_account=account, reporter=user, **details)
        else:
            complaint = services.complaint_file_for_customer(
                actor=user, customer_id=data["on_behalf_of"], channel=data["channel"], **details
            )
        return Response(self._detail(complaint), status=201)

    # --- thread -------------------------------------------------------------------------------

    @extend_schema(
        methods=["GET"],
        summary="The thread",
        description="The messages, oldest first; customers never get internal notes.",
        responses=ComplaintMessageSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Post a message",
        description='`body`; staff may set `"internal": true` for a note the customer never '
        "sees; multipart may add `files`. A staff's first public reply stops the "
        "first-response clock and starts work; a customer's answer while the complaint awaits "
        "them resumes the SLA clocks. Closed and rejected complaints take no messages (409), "
        "resolved ones none from customers (they reopen instead).",
        request={
            "application/json": ComplaintMessageInputSerializer,
            "multipart/form-data": ComplaintMessageWithFilesInputSerializer,
        },
        responses={201: ComplaintMessageSerializer},
        examples=MESSAGE_EXAMPLES,
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request, pk=None):
        """The thread of a complaint, and posting to it."""
        complaint = self.get_object()  # a complaint the user may not see answers 404 first
        context = self.representation_context()
        if request.method == "POST":
            form = ComplaintMessageWithFilesInputSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            message = self._post(
                complaint,
                body=form.validated_data["body"],
                internal=form.validated_data["internal"],
                uploads=form.validated_data["files"],
            )
            return Response(ComplaintMessageSerializer(message, context=context).data, status=201)
        # The whole visible thread comes from the one selector that filters it; a page of it
        # is cut here.
        page = self.paginate_queryset(list(self._thread(complaint).messages.all()))
        return self.get_paginated_response(
            ComplaintMessageSerializer(page, many=True, context=context).data
        )

    def _post(self, complaint: Complaint, *, body: str, internal: bool, uploads):
        if internal and not self.for_staff:
            # The service would post it publicly instead; a customer who believes they wrote
            # something private must hear that they did not.
            raise exceptions.PermissionDenied(_("Only support staff may do this."))
        return services.complaint_reply(
            complaint=complaint,
            actor=self.request.user,
            body=body,
            is_internal=internal,
            uploads=uploads,
        )

    # --- files --------------------------------------------------------------------------------

    @extend_schema(
        summary="Attach a photo or document",
        request={"multipart/form-data": ComplaintAttachmentUploadSerializer},
        responses={201: ComplaintAttachmentSerializer},
    )
    @action(detail=True, methods=["post"], url_path="attachments", parser_classes=[MultiPartParser])
    def attachments(self, request, pk=None):
        """Multipart field `file`, optional `message` (text of the thread message that carries
        the file) and, for staff, `internal`. The file arrives as a message of the thread, with
        that message's effects. The type is judged by content; images are re-encoded. A rejected
        file answers 400 with code `invalid_upload` and nothing is stored."""
        complaint = self.get_object()
        form = ComplaintAttachmentUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            message = self._post(
                complaint,
                body=form.validated_data["message"].strip() or _("File attached."),
                internal=form.validated_data["internal"],
                uploads=[form.validated_data["file"]],
            )
        except UploadRejected as exc:
            # The service names the thread's `files`; this endpoint takes one `file`.
            raise UploadRejected(exc.message, fields={"file": [exc.message]}) from exc
        attachment = message.attachments.get()
        context = self.representation_context()
        return Response(ComplaintAttachmentSerializer(attachment, context=context).data, status=201)

    @extend_schema(
        summary="Download an attachment",
        responses=file_download_responses("The file (images inline, PDFs as download)."),
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="attachments/<id:attachment_id>",
        url_name="attachment-download",
        content_negotiation_class=IgnoreAcceptNegotiation,
    )
    def attachment_download(self, request, pk=None, attachment_id=None):
        """The stored file, after the same visibility check as the complaint; a file of an
        internal note answers 404 to customers."""
        complaint = self.get_object()  # the visibility check comes first
        attachment = next(
            (a for a in self._thread(complaint).visible_attachments if a.pk == attachment_id),
            None,
        )
        if attachment is None:
            raise Http404
        return stored_file_response(
            attachment.file,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )

    # --- transitions --------------------------------------------------------------------------

    def _transition(self, service, input_serializer: type[serializers.Serializer] | None = None):
        complaint = self.get_object()  # a complaint the user may not see answers 404 first
        arguments = {}
        if input_serializer is not None:
            form = input_serializer(data=self.request.data)
            form.is_valid(raise_exception=True)
            arguments = dict(form.validated_data)
        service(complaint=complaint, actor=self.request.user, **arguments)
        return Response(self._detail(complaint))

    @_transition_schema("Take or assign (staff)", ComplaintAssignInputSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def assign(self, request, pk=None):
        """New complaints become open; assigned ones are reassigned. Agents take complaints for
        themselves (no `assignee`); coordinators and tenant admins may name any agent."""
        complaint = self.get_object()
        form = ComplaintAssignInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        assignee = self._assignee(form.validated_data["assignee"])
        if (
            self.seen_version is None
            and services.may_reassign(request.user)
            and complaint.assignee_id is not None
            and complaint.assignee_id != assignee.pk
        ):
            # Moving a complaint from one person to another must not rest on a stale read.
            raise PreconditionRequired(
                _(
                    "Complaint %(code)s is assigned to someone else: send If-Match with the "
                    "ETag you read to reassign it."
                )
                % {"code": complaint.code}
            )
        services.complaint_assign(complaint=complaint, actor=request.user, assignee=assignee)
        return Response(self._detail(complaint))

    def _assignee(self, user_id: int | None) -> User:
        user = self.request.user
        if user_id is None:
            return user
        assignee = User.objects.filter(pk=user_id, tenant_id=user.tenant_id).first()
        if assignee is not None:
            return assignee
        if not self.for_staff:
            # Customers are refused by the service for their role, whatever the id: the
            # answer must not tell them which user ids exist.
            return user
        raise exceptions.ValidationError({"assignee": [_("Choose an agent.")]})

    @_transition_schema("Change the priority (staff)", ComplaintPriorityInputSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def priority(self, request, pk=None):
        """Open complaints (new, open, in progress, awaiting the customer). The SLA clocks still
        running get the due times of the new priority's SLA policy, counted from their start
        with the time spent waiting for the customer added; a clock already past its due time
        keeps it. The same priority again changes nothing (docs/backoffice.md#priority)."""
        return self._transition(
            services.complaint_change_priority, ComplaintPriorityInputSerializer
        )

    @_transition_schema("Start work (staff)")
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def start(self, request, pk=None):
        """Open complaints only."""
        return self._transition(services.complaint_start)

    @_transition_schema("Wait for the customer (staff)", ComplaintQuestionInputSerializer)
    @action(
        detail=True, methods=["post"], url_path="wait-for-customer", parser_classes=[JSONParser]
    )
    def wait_for_customer(self, request, pk=None):
        """In-progress complaints (an open or new one is started by the question); pauses the
        SLA clocks until the customer answers. An optional `question` is posted first."""
        return self._transition(
            services.complaint_wait_for_customer, ComplaintQuestionInputSerializer
        )

    @_transition_schema("Resolve (staff)", ComplaintResolveInputSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def resolve(self, request, pk=None):
        """Open or in-progress complaints; `resolution` is required and shown to the
        customer."""
        return self._transition(services.complaint_resolve, ComplaintResolveInputSerializer)

    @_transition_schema("Reopen (customer)", ComplaintReasonInputSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def reopen(self, request, pk=None):
        """Resolved complaints, within the tenant's reopen window; `reason` is required and
        posted to the thread."""
        return self._transition(services.complaint_reopen, ComplaintReasonInputSerializer)

    @_transition_schema("Close (staff)")
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def close(self, request, pk=None):
        """Resolved complaints only."""
        return self._transition(services.complaint_close)

    @_transition_schema("Reject as unfounded (staff)", ComplaintReasonInputSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def reject(self, request, pk=None):
        """New, open or in-progress complaints; `reason` is required and shown to the
        customer."""
        return self._transition(services.complaint_reject, ComplaintReasonInputSerializer)

    @_transition_schema("Rate the handling (customer)", ComplaintRatingInputSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def rating(self, request, pk=None):
        """Resolved or closed complaints, once: `score` 1–5, an optional `nps` 0–10 (how likely
        the customer is to recommend the merchant) and an optional `comment`. A rated resolved
        complaint stays resolved, and may be reopened, until its reopen window ends; then it
        closes (at once when rated after the window). A second rating answers 409."""
        return self._transition(services.complaint_rate, ComplaintRatingInputSerializer)
