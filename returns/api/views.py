"""API v1 endpoints of return requests (list, create, detail, transitions, files) and of orders.

Views parse input, call one selector or service, and serialize; rules live in the services,
whose errors the API exception handler turns into the shared error shape.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from customers.api.views import OrderViewSetBase
from customers.selectors import customer_account_for_user
from returns import labels, selectors, services
from returns.models import ReturnAttachment, ReturnLine, ReturnRequest
from returns.services.access import require_acting_for_customers
from rma_portal.api.filters import validated_filters
from rma_portal.api.permissions import IsTenantUser, require_read_write_scopes
from rma_portal.api.schema import file_download_responses
from rma_portal.api.views import IF_MATCH, IgnoreAcceptNegotiation, TenantScopedViewSet
from rma_portal.files.responses import stored_file_response

from .examples import RETURN_CREATE_EXAMPLES
from .serializers import (
    AttachmentUploadSerializer,
    ConfirmDocumentInputSerializer,
    InspectInputSerializer,
    NoteInputSerializer,
    ProvideInfoInputSerializer,
    RejectInputSerializer,
    RequestInfoInputSerializer,
    ResolveInputSerializer,
    ReturnAttachmentSerializer,
    ReturnCreateSerializer,
    ReturnFilterSerializer,
    ReturnRequestDetailSerializer,
    ReturnRequestSummarySerializer,
)


class OrderViewSet(OrderViewSetBase):
    """Orders with the quantity of each line that can still be returned."""

    def claimed_quantities(self, order_line_ids: Iterable[int]) -> dict[int, int]:
        return selectors.claimed_quantities(order_line_ids=order_line_ids)


def _transition_schema(summary: str, request=None):
    return extend_schema(
        summary=summary,
        request=request,
        responses=ReturnRequestDetailSerializer,
        parameters=[IF_MATCH],
    )


@extend_schema(tags=["returns"])
class ReturnRequestViewSet(TenantScopedViewSet):
    """Return requests (RMA) the user may see; transitions are POST actions on one return."""

    model = ReturnRequest
    permission_classes = [
        IsTenantUser,
        require_read_write_scopes(read="returns:read", write="returns:write"),
    ]
    serializer_class = ReturnRequestDetailSerializer
    parser_classes = [JSONParser]
    # The list's query parameters, and the timestamp its cursor pages by (pagination.py).
    filter_serializer_class = ReturnFilterSerializer
    cursor_field = "updated_at"

    def scoped_queryset(self, *, user):
        if self.action != "list":
            return selectors.return_requests_visible_to(user=user)
        data = validated_filters(self, ReturnFilterSerializer)
        returns = selectors.return_requests_list(
            user=user,
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            order_number=data.get("order", ""),
            search=data.get("search", ""),
        )
        # Repeated parameters mean any of their values.
        if statuses := data.get("status"):
            returns = returns.filter(status__in=statuses)
        if customers := data.get("customer"):
            returns = returns.filter(customer_account_id__in=customers)
        if assignees := data.get("assignee"):
            returns = returns.filter(assignee_id__in=assignees)
        if (since := data.get("updated_since")) is not None:
            returns = returns.filter(updated_at__gte=since)
        return returns

    def _detail(self, return_request: ReturnRequest) -> dict:
        loaded = selectors.return_request_detail(
            return_request=return_request, public_only=not self.request.user.is_tenant_staff
        )
        return ReturnRequestDetailSerializer(loaded, context=self.get_serializer_context()).data

    # --- reads --------------------------------------------------------------------------------

    @extend_schema(
        parameters=[ReturnFilterSerializer], responses=ReturnRequestSummarySerializer(many=True)
    )
    def list(self, request, *args, **kwargs):
        """Returns the user may see: staff the tenant's, customer admins their company's,
        customer users their own."""
        page = self.paginate_queryset(self.get_queryset())
        context = self.get_serializer_context()
        return self.get_paginated_response(
            ReturnRequestSummarySerializer(page, many=True, context=context).data
        )

    def retrieve(self, request, *args, **kwargs):
        """A return with lines, timeline (customers: public events only), files, the policy
        applied and the money."""
        return Response(self._detail(self.get_object()))

    # --- create -------------------------------------------------------------------------------

    @extend_schema(
        request=ReturnCreateSerializer,
        responses={201: ReturnRequestDetailSerializer},
        examples=RETURN_CREATE_EXAMPLES,
    )
    def create(self, request, *args, **kwargs):
        """File a return (a draft, or submitted at once with `"submit": true`). Customers file
        for themselves; agents, coordinators, tenant admins and integrations file for a
        customer user of the tenant (`on_behalf_of`) under the same policy checks, and may
        override a refusal of the policy with `override_reason`. Managers read only."""
        user = request.user
        if user.is_customer:
            account = customer_account_for_user(user=user)
            if account is None:
                raise exceptions.PermissionDenied(
                    _("Only users of customer companies file returns.")
                )
        else:
            # Before the body is read: a role that may not file learns nothing from it.
            require_acting_for_customers(user)
        form = ReturnCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        lines = [
            services.LineInput(
                order_line_id=line["order_line"],
                quantity=line["quantity"],
                reason=line["reason"],
                reason_text=line["reason_text"],
                comment=line["comment"],
                serial_numbers=tuple(line["serial_numbers"]),
            )
            for line in data["lines"]
        ]
        details = {
            "lines": lines,
            "requested_resolution": data["requested_resolution"],
            "return_method": data["return_method"],
            "pickup_date": data["pickup_date"],
            "pickup_address": data["pickup_address"],
            "customer_note": data["customer_note"],
        }
        if not user.is_customer:
            return_request = services.return_request_file_for_customer(
                actor=user,
                customer_id=data["on_behalf_of"],
                channel=data["channel"],
                submit=data["submit"],
                override_reason=data["override_reason"],
                **details,
            )
            return Response(self._detail(return_request), status=201)
        if data["on_behalf_of"] not in (None, user.pk):
            raise exceptions.PermissionDenied(
                _("Customers file returns for themselves; a colleague files their own.")
            )
        if data["override_reason"].strip():
            raise exceptions.PermissionDenied(
                _("Only support staff may override the return policy.")
            )
        # One transaction: a submission the policy refuses leaves no draft behind.
        with transaction.atomic():
            return_request = services.return_request_create(
                customer_account=account, requester=user, **details
            )
            if data["submit"]:
                return_request = services.return_request_submit(
                    return_request=return_request, actor=user
                )
        return Response(self._detail(return_request), status=201)

    # --- transitions --------------------------------------------------------------------------

    def _transition(self, service, input_serializer: type[serializers.Serializer] | None = None):
        return_request = self.get_object()  # a return the user may not see answers 404 first
        arguments = {}
        if input_serializer is not None:
            form = input_serializer(data=self.request.data)
            form.is_valid(raise_exception=True)
            arguments = dict(form.validated_data)
        service(return_request=return_request, actor=self.request.user, **arguments)
        return Response(self._detail(return_request))

    @_transition_schema("Submit a draft (customer)")
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """The policy is checked and snapshotted; the return may be approved at once (policy).
        A refusal answers 400 with code `policy_refused` and the reasons per line."""
        return self._transition(services.return_request_submit)

    @_transition_schema("Cancel (customer or agent)", NoteInputSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Draft, submitted, needs information or approved returns only."""
        return self._transition(services.return_request_cancel, NoteInputSerializer)

    @_transition_schema("Answer the staff's question (customer)", ProvideInfoInputSerializer)
    @action(detail=True, methods=["post"], url_path="provide-info")
    def provide_info(self, request, pk=None):
        """From needs information back to submitted; `answer` is required."""
        return self._transition(services.return_request_provide_info, ProvideInfoInputSerializer)

    @_transition_schema("Approve (agent; above a limit coordinator, manager)", NoteInputSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Submitted returns, and returns awaiting approval; approving twice answers 409. A
        return whose value or policy override needs a coordinator or a manager
        (`approval_level`) answers 403 to anyone else: ask for approval instead."""
        return self._transition(services.return_request_approve, NoteInputSerializer)

    @_transition_schema("Ask a coordinator or manager to approve (agent)", NoteInputSerializer)
    @action(detail=True, methods=["post"], url_path="ask-approval")
    def ask_approval(self, request, pk=None):
        """Submitted returns whose `approval_level` the caller does not hold: the return
        awaits approval and the approvers are told by e-mail; `note` is the recommendation
        (internal). 409 when the caller may approve it, or no approval is needed."""
        return self._transition(services.return_request_ask_approval, NoteInputSerializer)

    @_transition_schema("Reject with a reason (agent)", RejectInputSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Submitted or needs-information returns; `reason` is required and shown to the
        customer."""
        return self._transition(services.return_request_reject, RejectInputSerializer)

    @_transition_schema("Ask the customer a question (agent)", RequestInfoInputSerializer)
    @action(detail=True, methods=["post"], url_path="request-info")
    def request_info(self, request, pk=None):
        """Submitted returns only; `question` is required."""
        return self._transition(services.return_request_request_info, RequestInfoInputSerializer)

    @_transition_schema("Mark the goods received (agent)", NoteInputSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        """Approved returns only."""
        return self._transition(services.return_request_mark_received, NoteInputSerializer)

    @_transition_schema("Record the inspection of every line (agent)", InspectInputSerializer)
    @action(detail=True, methods=["post"])
    def inspect(self, request, pk=None):
        """Received returns only; give condition, disposition and accepted quantity of every
        line of the return (by line id). Each note is either for the customer
        (`customer_note`) or internal (`internal_note`), on every line and on the whole."""
        return_request = self.get_object()
        form = InspectInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        results = {
            line["id"]: services.InspectionInput(
                condition=line["condition"],
                disposition=line["disposition"],
                accepted_quantity=line["accepted_quantity"],
                internal_note=line["internal_note"] or line["note"],
                customer_note=line["customer_note"],
            )
            for line in form.validated_data["lines"]
        }
        data = form.validated_data
        services.return_request_inspect(
            return_request=return_request,
            actor=request.user,
            results=results,
            customer_note=data["customer_note"] or data["note"],
            internal_note=data["internal_note"],
        )
        return Response(self._detail(return_request))

    @_transition_schema("Resolve every line (agent)", ResolveInputSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Inspected returns only. Each line is a refund or a credit note (an amount), a
        replacement (SKU and quantity) or a repair; lines not listed take `resolution`. The
        policy snapshot proposes every amount (accepted value less the restocking fee); more
        than the accepted value, or replacing more than was accepted, needs the line's
        `override_reason`. The return's totals are the sums of its lines."""
        return_request = self.get_object()
        form = ResolveInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        services.return_request_resolve(
            return_request=return_request,
            actor=request.user,
            resolution=data["resolution"],
            lines={
                line["id"]: services.LineResolution(
                    resolution=line["resolution"],
                    amount=line["amount"],
                    replacement_sku=line["replacement_sku"],
                    replacement_quantity=line["replacement_quantity"],
                    override_reason=line["override_reason"],
                )
                for line in data["lines"]
            },
            credit_note_number=data["credit_note_number"],
            replacement_order_ref=data["replacement_order_ref"],
            note=data["note"],
        )
        return Response(self._detail(return_request))

    @_transition_schema(
        "Confirm the ERP's credit note or replacement order (agent, integration)",
        ConfirmDocumentInputSerializer,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="resolution/confirm",
        url_name="resolution-confirm",
    )
    def confirm_resolution(self, request, pk=None):
        """Resolved (and closed) returns only (409 otherwise). A credit note needs `date` and
        an `amount` equal to the return's `refund_total` (400 otherwise, naming `amount`); a
        replacement order needs replacement or repair lines. The same document confirmed again
        changes nothing; another number for a document the return has, or a credit note
        number already on another return, answers 409. The customer sees the document."""
        return_request = self.get_object()
        form = ConfirmDocumentInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        services.return_request_confirm_document(
            return_request=return_request,
            actor=request.user,
            kind=data["type"],
            number=data["number"],
            issued_on=data["date"],
            amount=data["amount"],
        )
        return Response(self._detail(return_request))

    # --- files --------------------------------------------------------------------------------

    @extend_schema(
        summary="Attach a photo or document",
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: ReturnAttachmentSerializer},
    )
    @action(detail=True, methods=["post"], url_path="attachments", parser_classes=[MultiPartParser])
    def attachments(self, request, pk=None):
        """Multipart field `file` (and optionally `line`, a line id of this return). The type
        is judged by content; images are re-encoded. A rejected file answers 400 with code
        `invalid_upload` and nothing is stored."""
        return_request = self.get_object()
        form = AttachmentUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        line = None
        if (line_id := form.validated_data["line"]) is not None:
            line = ReturnLine.objects.filter(return_request=return_request, pk=line_id).first()
            if line is None:
                raise exceptions.ValidationError(
                    {"line": [_("That line is not part of this return.")]}
                )
        attachment = services.return_attachment_add(
            return_request=return_request,
            actor=request.user,
            upload=form.validated_data["file"],
            line=line,
        )
        context = self.get_serializer_context()
        return Response(ReturnAttachmentSerializer(attachment, context=context).data, status=201)

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
        """The stored file, after the same visibility check as the return."""
        return_request = self.get_object()  # the visibility check comes first
        attachment = ReturnAttachment.objects.filter(
            return_request=return_request, pk=attachment_id
        ).first()
        if attachment is None:
            raise Http404
        return stored_file_response(
            attachment.file,
            filename=attachment.original_name,
            content_type=attachment.content_type,
        )

    @extend_schema(
        summary="Download the return label",
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The return label and packing slip (PDF, as a download).",
            )
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="label",
        url_name="label",
        content_negotiation_class=IgnoreAcceptNegotiation,
    )
    def label(self, request, pk=None):
        """Approved returns and later (not rejected or cancelled ones); other returns answer
        404. A label the worker has not rendered yet is rendered for this request."""
        return_request = self.get_object()  # the visibility check comes first
        if not labels.label_available(return_request):
            raise Http404
        return stored_file_response(
            labels.return_label_file(return_request=return_request),
            filename=labels.label_filename(return_request),
            content_type="application/pdf",
        )
