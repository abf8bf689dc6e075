"""State-change buttons on a back-office change page, and staff downloads of stored files.

A domain admin declares its buttons as `ButtonAction`s and mixes `TransitionButtonsMixin`
into its ModelAdmin: the mixin adds one POST-only URL per button (named
``<app>_<model>_<action>``), reaches the object only through the tenant-scoped queryset
(404 when foreign or unknown), refuses roles that may not act (403), calls the action's
service and reports an `ApplicationError` as an error message. It also builds the buttons
the change page shows and serves the object's attachments. `bulk_button_action` makes a
button a changelist action on many objects, reporting per object. Platform code: no domain
imports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe
from django_fsm import can_proceed

from rma_portal.concurrency import VersionedModel, version_from_form
from rma_portal.errors import ApplicationError
from rma_portal.files.responses import stored_file_response, thumbnail_response

ModelT = TypeVar("ModelT", bound=Model)


@dataclass(frozen=True)
class ButtonAction(Generic[ModelT]):
    """A change behind a button: a POST with at most one text (or one value chosen from a
    list), handed to a service."""

    name: str  # URL segment and (hyphens as underscores) the suffix of the URL name
    # The model's FSM method that must be able to proceed; "" for a change that is no state
    # transition (a priority): the service alone decides, and no state button shows it.
    transition: str
    label: str
    service: Callable[[ModelT, Any, Any], object]  # (object, actor, text or value)
    success: str  # message formatted with the admin's transition_message_params
    text_field: str = ""
    text_label: str = ""
    text_required: bool = False
    danger: bool = False
    # When set, the text is one of these values, (value, label) pairs: asked with a list,
    # never typed.
    choices: Callable[[], Sequence[tuple[str, str]]] | None = None


class StoredFile(NamedTuple):
    file: Any  # a FieldFile
    filename: str
    content_type: str


class TransitionButtonsMixin:
    """For a ModelAdmin whose changes are buttons calling services (see the module docstring).

    Subclasses set `button_actions`, implement `has_transition_permission` and
    `transition_message_params`, and may set `attachment_model` (with `file`,
    `original_name` and `content_type`) and `attachment_parent_field` for the attachment
    download URL ``<app>_<model>_attachment``.
    """

    button_actions: tuple[ButtonAction, ...] = ()
    attachment_model: type[Model] | None = None
    attachment_parent_field = ""

    def has_transition_permission(self, request, obj=None) -> bool:
        raise NotImplementedError

    def transition_message_params(self, obj) -> dict[str, object]:
        """The values a button's success message is formatted with."""
        raise NotImplementedError

    def may_act_on(self, request, obj) -> bool:
        """A further check on the object itself; False answers 404 like a foreign object."""
        return True

    def transition_conflict(self, obj, action: ButtonAction) -> str:
        """A message refusing the button before its service runs, or "" to call it."""
        return ""

    # --- URLs ---

    def get_urls(self):
        urls = [
            self.object_path(action.name, require_POST(self._button_view(action)))
            for action in self.button_actions
        ]
        if self.attachment_model is not None:
            urls.append(
                self.object_path(
                    "attachments/<id:attachment_id>",
                    require_safe(self.attachment_view),
                    name="attachment",
                )
            )
        return urls + super().get_urls()

    def object_path(self, segment: str, view, name: str = "") -> URLPattern:
        """``<object_id>/<segment>/`` behind the admin site's login, named like `_url`."""
        return path(
            f"<path:object_id>/{segment}/",
            self.admin_site.admin_view(view),
            name=self._url_name(name or segment),
        )

    def _url_name(self, name: str) -> str:
        info = self.opts.app_label, self.opts.model_name
        return "{}_{}_{}".format(*info, name.replace("-", "_"))

    def _url(self, name: str, object_id, *args) -> str:
        return reverse(
            f"admin:{self._url_name(name)}",
            args=[object_id, *args],
            current_app=self.admin_site.name,
        )

    def _url_changelist(self) -> str:
        return reverse(f"admin:{self._url_name('changelist')}", current_app=self.admin_site.name)

    def _change_redirect(self, obj) -> HttpResponseRedirect:
        return HttpResponseRedirect(self._url("change", obj.pk))

    # --- views ---

    def _acting_on(self, request, object_id):
        """The object a button acts on: the role may act (403 for any id otherwise), and the
        object is reached only through the tenant-scoped queryset (404 when foreign). On a
        POST it carries the version the form was rendered with (rma_portal.concurrency)."""
        if not self.has_transition_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.may_act_on(request, obj):
            raise Http404
        if request.method == "POST" and isinstance(obj, VersionedModel):
            # The service compares what the actor saw with the row it locks; every form of
            # a change page carries the version it was rendered with.
            obj.seen_version = version_from_form(request.POST)
        return obj

    def _button_view(self, action: ButtonAction):
        def view(request, object_id):
            obj = self._acting_on(request, object_id)
            conflict = self.transition_conflict(obj, action)
            if conflict:
                messages.error(request, conflict)
                return self._change_redirect(obj)
            text = request.POST.get(action.text_field, "") if action.text_field else ""
            try:
                action.service(obj, request.user, text)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, action.success % self.transition_message_params(obj))
            return self._change_redirect(obj)

        view.__name__ = f"{action.name.replace('-', '_')}_view"
        return view

    def stored_file_view(
        self, request, object_id, locate: Callable[[Any], StoredFile | None]
    ) -> HttpResponse:
        """A file of the object for staff who may view it; `locate` finds it on the object
        (None: 404). The object comes through the tenant-scoped queryset (404 when foreign)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        found = locate(obj)
        if found is None:
            raise Http404
        if request.GET.get("size") == "thumb":  # a case page's thumbnail of a photo
            return thumbnail_response(found.file, content_type=found.content_type)
        return stored_file_response(
            found.file, filename=found.filename, content_type=found.content_type
        )

    def attachment_view(self, request, object_id, attachment_id):
        def locate(obj) -> StoredFile | None:
            attachment = self.attachment_model.objects.filter(
                **{self.attachment_parent_field: obj, "pk": attachment_id}
            ).first()
            if attachment is None:
                return None
            return StoredFile(attachment.file, attachment.original_name, attachment.content_type)

        return self.stored_file_view(request, object_id, locate)

    # --- change page ---

    def transition_buttons(self, obj) -> list[dict]:
        """The buttons whose transition can proceed now, as the template renders them (a
        change that is no transition has a form of its own)."""
        return [
            {
                "name": action.name,
                "label": action.label,
                "url": self._url(action.name, obj.pk),
                "text_field": action.text_field,
                "text_label": action.text_label,
                "text_required": action.text_required,
                "danger": action.danger,
                "page": False,
            }
            for action in self.button_actions
            if action.transition and can_proceed(getattr(obj, action.transition))
        ]


# --- bulk actions --------------------------------------------------------------------------


def bulk_button_action(action: ButtonAction, *, label: str):
    """A changelist action running the button `action` on every selected object, each through
    the same service in its own transaction, and reporting per object what happened. When the
    button takes a text (a reason, a question), a page asks for it first and the same text
    goes to each; a button whose text is a choice (a priority) asks for the value instead.
    Objects the role may not act on, or whose state refuses the button, are reported and left
    alone; one failure never undoes the others."""

    def run(modeladmin: TransitionButtonsMixin, request, queryset):
        if not modeladmin.has_transition_permission(request):
            raise PermissionDenied
        objects = list(queryset.order_by("pk"))
        text = ""
        if action.text_field:
            text = request.POST.get("bulk_text", "").strip()
            confirmed = request.POST.get("bulk_confirmed") == "yes"
            error = bulk_value_error(action, text) if confirmed else ""
            if not confirmed or error:
                return TemplateResponse(
                    request,
                    "admin/bulk_text.html",
                    {
                        **modeladmin.admin_site.each_context(request),
                        **bulk_prompt_context(action, text=text, error=error),
                        "title": label,
                        "opts": modeladmin.opts,
                        "objects": objects,
                        "hidden_fields": [
                            ("action", request.POST.get("action", "")),
                            ("select_across", request.POST.get("select_across", "0")),
                            *((ACTION_CHECKBOX_NAME, obj.pk) for obj in objects),
                        ],
                        "back_url": modeladmin._url_changelist(),
                    },
                )
        results = []
        for obj in objects:
            results.append((obj, *bulk_one(modeladmin, request, action, obj, text)))
        report_bulk_counts(request, label, [ok for _obj, ok, _message in results])
        return TemplateResponse(
            request,
            "admin/bulk_results.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": label,
                "opts": modeladmin.opts,
                "results": [
                    {
                        "object": obj,
                        "url": modeladmin._url("change", obj.pk),
                        "ok": ok,
                        "message": message,
                    }
                    for obj, ok, message in results
                ],
            },
        )

    run.__name__ = f"bulk_{action.name.replace('-', '_')}"
    run.short_description = label
    run.allowed_permissions = ("transition",)  # has_transition_permission(request)
    return run


def bulk_value_error(action: ButtonAction, text: str) -> str:
    """What is wrong with the one text or value of a bulk action ("" when nothing)."""
    if action.choices is not None:
        if text not in {value for value, _label in action.choices()}:
            return _("Choose the value that goes to each case.")
        return ""
    if action.text_required and not text:
        return _("Write the text that goes to each case.")
    return ""


def bulk_prompt_context(action: ButtonAction, *, text: str, error: str) -> dict:
    """What admin/bulk_text.html needs to ask for the action's one text or value."""
    return {
        "text_label": action.text_label,
        "text_required": action.text_required or action.choices is not None,
        "choices": list(action.choices()) if action.choices is not None else None,
        "text": text,
        "error": error,
    }


def report_bulk_counts(request, label: str, outcomes: list[bool]) -> None:
    """The messages above a bulk action's results: how many cases were done, how many not."""
    done = sum(1 for ok in outcomes if ok)
    if done:
        messages.success(
            request,
            ngettext("%(label)s: %(count)d case done.", "%(label)s: %(count)d cases done.", done)
            % {"label": label, "count": done},
        )
    if done < len(outcomes):
        messages.warning(
            request,
            ngettext(
                "%(label)s: %(count)d case left as it was.",
                "%(label)s: %(count)d cases left as they were.",
                len(outcomes) - done,
            )
            % {"label": label, "count": len(outcomes) - done},
        )


def bulk_one(modeladmin, request, action: ButtonAction, obj, text: Any) -> tuple[bool, str]:
    """(done, what happened) of the button on one object: the same checks as the button on
    the case page (role, object, state), then its service. Also My work's bulk actions."""
    if not modeladmin.has_transition_permission(request, obj) or not modeladmin.may_act_on(
        request, obj
    ):
        return False, _("You may not do this to this case.")
    conflict = modeladmin.transition_conflict(obj, action)
    if conflict:
        return False, conflict
    if action.transition and not can_proceed(getattr(obj, action.transition)):
        return False, _("Not possible in its status “%(status)s”.") % {
            "status": obj.get_status_display()
        }
    try:
        action.service(obj, request.user, text)
    except ApplicationError as exc:
        return False, exc.message
    return True, action.success % modeladmin.transition_message_params(obj)
