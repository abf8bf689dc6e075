"""Services on users that are not specific to one domain app: the welcome e-mail, the staff's
absences and teams (who gets the next case), and the workload figures the case apps register
(the back-office's load page, the "fewest open cases" strategy)."""

from __future__ import annotations

import datetime
import logging
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from rma_portal.notifications.rendering import render_subject_template
from rma_portal.tenancy.context import tenant_context
from rma_portal.tenancy.models import Tenant

from .models import ASSIGNABLE_ROLES, Absence, Team, TeamMembership, TeamStrategy, User

logger = logging.getLogger(__name__)


def user_send_welcome(*, user: User, base_url: str, invited_by: User | None = None) -> None:
    """E-mail a new user a link to choose their password, once the transaction commits."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    if invited_by is not None and invited_by.is_integration:
        invited_by = None  # the merchant's ERP is no person to name: "You have an account at…"
    with translation.override(user.preferred_language):
        context = {
            "user": user,
            "tenant": user.tenant,
            "invited_by": invited_by,
            "link": base_url.rstrip("/") + path,
        }
        subject = render_subject_template("registration/welcome_subject.txt", context)
        text = render_to_string("registration/welcome_email.txt", context)
        html = render_to_string("registration/welcome_email.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach_alternative(html, "text/html")
    transaction.on_commit(message.send)


# --- the tenant's day -------------------------------------------------------------------


def tenant_today(tenant: Tenant, now: datetime.datetime | None = None) -> datetime.date:
    """The date it is at `now` (default: now) in the tenant's time zone."""
    return timezone.localtime(now or timezone.now(), zoneinfo.ZoneInfo(tenant.timezone)).date()


# --- absences ---------------------------------------------------------------------------


def absences_on(*, tenant: Tenant, day: datetime.date, user_ids: Iterable[int] | None = None):
    """The tenant's absences that cover `day` (of `user_ids`, when given)."""
    absences = Absence.objects.for_tenant(tenant).filter(first_day__lte=day, last_day__gte=day)
    if user_ids is not None:
        absences = absences.filter(user_id__in=list(user_ids))
    return absences


def away_user_ids(
    *, tenant: Tenant, day: datetime.date, user_ids: Iterable[int] | None = None
) -> set[int]:
    """Who of `user_ids` (default: anyone of the tenant) is away on `day`."""
    if user_ids is not None:
        user_ids = list(user_ids)
        if not user_ids:
            return set()
    found = absences_on(tenant=tenant, day=day, user_ids=user_ids)
    return set(found.values_list("user_id", flat=True))


# Called with an absence that covers the tenant's today when it is saved; returns how many
# cases were handed to someone else. Automatic assignment registers one (the case apps').
AbsenceListener = Callable[[Absence], int]
_absence_listeners: dict[str, AbsenceListener] = {}


def register_absence_listener(name: str, listener: AbsenceListener) -> None:
    _absence_listeners[name] = listener


def absence_recorded(absence: Absence, *, now: datetime.datetime | None = None) -> int:
    """An absence was saved: when it covers the tenant's today, the absent person's cases
    are handed on at once (by the listeners, in the caller's transaction); returns how many."""
    tenant = absence.tenant
    if not absence.covers(tenant_today(tenant, now)):
        return 0
    moved = 0
    with tenant_context(tenant):
        for name, listener in list(_absence_listeners.items()):
            try:
                with transaction.atomic():  # a failure leaves the caller's transaction usable
                    moved += listener(absence)
            except Exception:
                # The absence is saved regardless: beat's re-assignment on absence (each case
                # in its own transaction) tries again.
                logger.exception("absence listener failed", extra={"listener": name})
    return moved


# --- workload ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkloadColumn:
    """One figure of a staff member's load, e.g. "open complaints"."""

    key: str
    label: str
    # Counted as open cases by the "fewest open cases" strategy of teams.
    open_cases: bool = False
    # The back-office list of these cases of one user (user id -> URL), if there is one.
    link: Callable[[int], str] | None = None


# (tenant=, user_ids=, now=) -> {user id: {column key: count}}; users without cases may be
# left out. One query per source, whatever the number of users.
WorkloadCount = Callable[..., dict[int, dict[str, int]]]


@dataclass(frozen=True)
class WorkloadSource:
    name: str
    columns: tuple[WorkloadColumn, ...]
    count: WorkloadCount
    position: int = 100


_workload_sources: dict[str, WorkloadSource] = {}


def register_workload_source(source: WorkloadSource) -> None:
    """The case apps say how to count their cases per assignee (AppConfig.ready())."""
    _workload_sources[source.name] = source


def workload_sources() -> list[WorkloadSource]:
    return sorted(_workload_sources.values(), key=lambda source: (source.position, source.name))


def workload_columns() -> list[WorkloadColumn]:
    return [column for source in workload_sources() for column in source.columns]


def workload(
    *, tenant: Tenant, user_ids: Sequence[int], now: datetime.datetime | None = None
) -> dict[int, dict[str, int]]:
    """Every registered figure for each of `user_ids` (0 where a user has none)."""
    now = now or timezone.now()
    keys = [column.key for column in workload_columns()]
    result = {user_id: dict.fromkeys(keys, 0) for user_id in user_ids}
    if not user_ids:
        return result
    for source in workload_sources():
        for user_id, counts in source.count(
            tenant=tenant, user_ids=list(user_ids), now=now
        ).items():
            if user_id in result:
                result[user_id].update(counts)
    return result


def open_case_counts(
    *, tenant: Tenant, user_ids: Sequence[int], now: datetime.datetime | None = None
) -> dict[int, int]:
    """Open cases (over every case app) of each of `user_ids`."""
    open_keys = [column.key for column in workload_columns() if column.open_cases]
    loads = workload(tenant=tenant, user_ids=user_ids, now=now)
    return {user_id: sum(load[key] for key in open_keys) for user_id, load in loads.items()}


# --- teams ------------------------------------------------------------------------------


def assignable_staff(tenant: Tenant):
    """The tenant's active agents and coordinators, the people cases may be given to."""
    return User.objects.filter(tenant=tenant, is_active=True, role__in=ASSIGNABLE_ROLES)


def team_pick(
    *,
    tenant: Tenant,
    team_id: int,
    now: datetime.datetime | None = None,
    exclude_user_ids: Iterable[int] = (),
) -> User | None:
    """The member of the team who gets the next case, by the team's strategy, skipping
    inactive members, members away on the tenant's today and `exclude_user_ids`; None when
    nobody is left.

    Runs in the caller's transaction and holds the team row's lock until it ends, so that
    two cases routed to the team at once are given one after the other: round robin never
    gives both to the same member, and "fewest open cases" counts the first before
    choosing for the second.
    """
    now = now or timezone.now()
    team = (
        Team.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .only("pk", "strategy", "last_assigned_id")
        .filter(pk=team_id)
        .first()
    )
    if team is None:
        return None
    excluded = set(exclude_user_ids)
    candidates = [
        user
        for user in assignable_staff(tenant)
        .filter(team_memberships__team_id=team.pk)
        .order_by("pk")
        .distinct()
        if user.pk not in excluded
    ]
    away = away_user_ids(
        tenant=tenant, day=tenant_today(tenant, now), user_ids=[user.pk for user in candidates]
    )
    candidates = [user for user in candidates if user.pk not in away]
    if not candidates:
        return None
    if team.strategy == TeamStrategy.LEAST_OPEN:
        counts = open_case_counts(tenant=tenant, user_ids=[user.pk for user in candidates], now=now)
        fewest = min(counts.values())
        candidates = [user for user in candidates if counts[user.pk] == fewest]
    last = team.last_assigned_id or 0
    chosen = next((user for user in candidates if user.pk > last), candidates[0])
    Team.objects.for_tenant(tenant).filter(pk=team.pk).update(last_assigned=chosen)
    return chosen


# --- the load page ----------------------------------------------------------------------


@dataclass
class StaffLoad:
    """One row of the back-office's load page."""

    user: User
    teams: list[str]
    away_until: datetime.date | None
    counts: dict[str, int]

    @property
    def open_cases(self) -> int:
        return sum(
            self.counts.get(column.key, 0) for column in workload_columns() if column.open_cases
        )


def staff_load(
    *, tenant: Tenant, team_id: int | None = None, now: datetime.datetime | None = None
) -> list[StaffLoad]:
    """The tenant's active agents and coordinators (of one team, when given) with their
    teams, their absence today and every workload figure; a fixed number of queries."""
    now = now or timezone.now()
    users = assignable_staff(tenant).order_by("full_name", "email")
    if team_id is not None:
        users = users.filter(team_memberships__team_id=team_id).distinct()
    users = list(users)
    ids = [user.pk for user in users]
    if not ids:
        return []
    teams: dict[int, list[str]] = {}
    memberships = (
        TeamMembership.objects.for_tenant(tenant)
        .filter(user_id__in=ids)
        .order_by("team__name")
        .values_list("user_id", "team__name")
    )
    for user_id, name in memberships:
        teams.setdefault(user_id, []).append(name)
    away: dict[int, datetime.date] = {}
    for user_id, last_day in absences_on(
        tenant=tenant, day=tenant_today(tenant, now), user_ids=ids
    ).values_list("user_id", "last_day"):
        away[user_id] = max(last_day, away.get(user_id, last_day))
    loads = workload(tenant=tenant, user_ids=ids, now=now)
    return [
        StaffLoad(
            user=user,
            teams=teams.get(user.pk, []),
            away_until=away.get(user.pk),
            counts=loads[user.pk],
        )
        for user in users
    ]
