"""Who else has a case open in the back-office, so that two agents do not answer the same
customer: "Anna Nowak is viewing this complaint", "Anna Nowak is typing a reply".

While a staff member has a return's or complaint's page open, its script
(static/js/presence.js) reports to the case's presence endpoint, when the page opens and every
HEARTBEAT_SECONDS after, that they view the case or that they are typing a reply (the reply
box has the focus or unsent text); each answer lists the others, which the page shows
(templates/admin/_case_presence.html). A report counts for EXPIRY_SECONDS: a closed tab
drops out by itself, and at once when the page says it is left. Without JavaScript the page
works as before and shows no presence; rendering it never touches the cache.

Reports live in the cache (Redis in production), never in the database, per tenant, case kind
and case:

- an entry per user, ``case-presence:<tenant>:<kind>:<case>:<user>`` -> name, typing, time
  of the report; written only by that user's own reports, so two agents reporting at the same
  moment never overwrite each other;
- a roster, ``case-presence:<tenant>:<kind>:<case>`` -> the ids of the users with an entry;
  rewritten (and cleared of expired ids) only when someone not on it reports, kept alive by
  every report.

Whether a report still counts is judged against the `now` the caller passes; the cache's own
timeouts only clear what nobody reads any more. Only staff of the case's tenant report and
read (a platform superuser is nobody's colleague: 403), and a report names only its own
user, so a page shows names of staff of the same tenant only. With the cache down a page
shows nobody.

A case admin mixes `CasePresenceMixin` in before its other bases and names its kind and the
sentence of someone viewing it; the change page includes the partial twice (top, reply box).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps

from django.contrib.admin.utils import unquote
from django.core.cache import cache
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from rest_framework import exceptions

from rma_portal.api.exceptions import not_found_body
from rma_portal.errors import error_body

HEARTBEAT_SECONDS = 15
# Three missed reports and a user is gone: a slow network or a busy browser may miss one.
EXPIRY_SECONDS = 45
# The cache keeps an entry a little longer than it counts; `now` decides what counts.
ENTRY_CACHE_SECONDS = EXPIRY_SECONDS + HEARTBEAT_SECONDS
ROSTER_CACHE_SECONDS = ENTRY_CACHE_SECONDS

TYPING_TEXT = gettext_lazy("%(name)s is typing a reply")


class PresenceState(StrEnum):
    VIEWING = "viewing"
    TYPING = "typing"
    LEFT = "left"


@dataclass(frozen=True)
class CaseRef:
    """A case whose presence is kept: its tenant, its kind ("return", "complaint") and id."""

    tenant_id: int
    kind: str
    case_id: int

    @property
    def roster_key(self) -> str:
        return f"case-presence:{self.tenant_id}:{self.kind}:{self.case_id}"

    def entry_key(self, user_id: int) -> str:
        return f"{self.roster_key}:{user_id}"


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    typing: bool
    reported_at: datetime.datetime


def _counts(entry, now: datetime.datetime) -> bool:
    return isinstance(entry, dict) and entry.get("at", 0) > now.timestamp() - EXPIRY_SECONDS


def _ids(roster) -> list[int]:
    return [pk for pk in roster if isinstance(pk, int)] if isinstance(roster, list) else []


def presence_report(
    case: CaseRef, *, user, state: PresenceState, now: datetime.datetime
) -> list[int] | None:
    """Record that `user` views the case, types a reply on it, or has left it. Returns the
    case's roster after the report, for `presence_others` (None after leaving). Three cache
    calls while on the roster: the entry, the roster read and kept alive."""
    if not user.tenant_id or user.tenant_id != case.tenant_id:
        raise ValueError("only staff of the case's tenant report presence on it")
    entry_key = case.entry_key(user.pk)
    if state == PresenceState.LEFT:
        cache.delete(entry_key)
        return None
    entry = {
        "name": user.get_full_name(),
        "typing": state == PresenceState.TYPING,
        "at": now.timestamp(),
    }
    cache.set(entry_key, entry, ENTRY_CACHE_SECONDS)
    roster = _ids(cache.get(case.roster_key))
    if user.pk in roster:
        cache.touch(case.roster_key, ROSTER_CACHE_SECONDS)
        return roster
    # Joining: the roster is rewritten with the ids whose reports still count. Two users
    # joining at the same moment may drop one of them, who is back at their next report.
    entries = cache.get_many([case.entry_key(pk) for pk in roster])
    roster = [pk for pk in roster if _counts(entries.get(case.entry_key(pk)), now)]
    roster.append(user.pk)
    cache.set(case.roster_key, roster, ROSTER_CACHE_SECONDS)
    return roster


def presence_others(
    case: CaseRef, *, user_id: int, now: datetime.datetime, roster: list[int] | None = None
) -> list[Presence]:
    """Everyone but `user_id` whose last report on the case still counts at `now`: those
    typing first, then by name. Two cache reads (one when given the `roster`), whoever and
    however many are there."""
    ids = _ids(cache.get(case.roster_key) if roster is None else roster)
    ids = [pk for pk in ids if pk != user_id]
    entries = cache.get_many([case.entry_key(pk) for pk in ids]) if ids else {}
    others = []
    for pk in ids:
        entry = entries.get(case.entry_key(pk))
        if _counts(entry, now):
            others.append(
                Presence(
                    user_id=pk,
                    name=str(entry.get("name", "")),
                    typing=bool(entry.get("typing")),
                    reported_at=datetime.datetime.fromtimestamp(entry["at"], tz=datetime.UTC),
                )
            )
    others.sort(key=lambda presence: (not presence.typing, presence.name, presence.user_id))
    return others


# --- the back-office ---------------------------------------------------------------------


def _refused() -> JsonResponse:
    # DRF's generic sentence, translated by DRF: whoever asks learns nothing more.
    return JsonResponse(
        error_body("forbidden", str(exceptions.PermissionDenied.default_detail)), status=403
    )


def presence_admin_view(model_admin, view):
    """The back-office's own wrapper (CSRF, no caching), after a check that answers 403 in
    JSON, not the sign-in page, to everyone without back-office access: the page's script
    then stops asking."""
    protected = model_admin.admin_site.admin_view(view)

    @never_cache
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not model_admin.admin_site.has_permission(request):
            return _refused()
        return protected(request, *args, **kwargs)

    return wrapper


class CasePresenceMixin:
    """For a case's ModelAdmin: the presence endpoint ``<id>/presence/`` (URL name
    ``<app>_<model>_presence``) and ``case_presence`` in the change page's context.

    Set `presence_kind` (part of the cache key) and `presence_viewing_text`, a sentence with
    ``%(name)s`` ("%(name)s is viewing this complaint"). Tests replace `presence_clock`.
    """

    presence_kind = ""
    presence_viewing_text = ""
    presence_clock = staticmethod(timezone.now)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/presence/",
                presence_admin_view(
                    self, require_http_methods(["GET", "POST"])(self.presence_view)
                ),
                name="{}_{}_presence".format(*info),
            ),
            *super().get_urls(),
        ]

    def presence_case(self, obj) -> CaseRef:
        return CaseRef(tenant_id=obj.tenant_id, kind=self.presence_kind, case_id=obj.pk)

    def presence_view(self, request, object_id):
        """GET: who else is on the case. POST `state` (viewing, typing, left): report it,
        then the same answer. Staff of the case's tenant only; another tenant's case and an
        unknown id answer the same 404, and nothing is recorded."""
        user = request.user
        if not user.tenant_id or not self.has_view_permission(request):
            return _refused()
        obj = self.get_object(request, unquote(object_id))
        if obj is None or obj.tenant_id != user.tenant_id:
            return JsonResponse(not_found_body(), status=404)
        case = self.presence_case(obj)
        now = self.presence_clock()
        roster = None
        if request.method == "POST":
            try:
                state = PresenceState(request.POST.get("state", ""))
            except ValueError:
                message = _("Send the state viewing, typing or left.")
                return JsonResponse(
                    error_body("invalid", message, {"state": [message]}), status=400
                )
            roster = presence_report(case, user=user, state=state, now=now)
        others = presence_others(case, user_id=user.pk, now=now, roster=roster)
        return JsonResponse(
            {
                "others": [
                    {
                        "name": presence.name,
                        "typing": presence.typing,
                        "text": (TYPING_TEXT if presence.typing else self.presence_viewing_text)
                        % {"name": presence.name},
                    }
                    for presence in others
                ],
                "heartbeat_seconds": HEARTBEAT_SECONDS,
            }
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        user = request.user
        if obj is not None and user.tenant_id and user.tenant_id == obj.tenant_id:
            # Where the page's script reports and asks; rendering the page itself does not
            # touch the cache, so a slow cache never slows the page down.
            context["case_presence"] = {
                "url": reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_presence",
                    args=[obj.pk],
                    current_app=self.admin_site.name,
                ),
                "heartbeat_seconds": HEARTBEAT_SECONDS,
            }
        return super().render_change_form(request, context, add, change, form_url, obj)
