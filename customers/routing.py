"""Automatic assignment: who gets a new return or complaint (docs: "Automatic assignment").

The case's app builds the facts of the case (customers.cases.CaseFacts) and asks `route()`
inside the transaction that files or submits it. The tenant's active rules are tried in the
order of their position; the first whose conditions all hold *and* that can name someone
decides:

- a rule naming an agent gives the case to that agent, unless they are inactive, no longer an
  agent or coordinator, away on the tenant's today, or excluded (re-assignment on absence):
  then the next rule is tried;
- a rule naming a team gives it to a member by the team's strategy (round robin, or the
  fewest open cases), skipping the same people; a team with nobody left falls through too.

No rule that can name someone: the case stays unassigned, as before.

Every automatic assignment writes an audit row naming the rule, the team and the assignee
(`record_auto_assignment`). Cases of staff who are away are re-routed by `reassign_away`
(beat, `manage.py reassign_absent`, and at once when an absence for today is saved).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from rma_portal.accounts.models import ASSIGNABLE_ROLES, Team, User
from rma_portal.accounts.services import away_user_ids, team_pick, tenant_today
from rma_portal.security.audit import record
from rma_portal.security.models import ActorKind, AuditAction

from .cases import CaseFacts, CaseKind, case_reassigners
from .models import AssignmentRule, RuleCaseKind

# Audit rows of automatic assignment name this actor (no person chose).
AUDIT_ACTOR = "Automatic assignment"
REASON_FILED = "filed"
REASON_ABSENCE = "absence"


@dataclass(frozen=True)
class Decision:
    """Who gets a case, and why: the rule that decided and, for a team, the team."""

    rule: AssignmentRule
    assignee: User
    team: Team | None = None


def active_rules(tenant) -> list[AssignmentRule]:
    return list(
        AssignmentRule.objects.for_tenant(tenant)
        .filter(is_active=True)
        .select_related("team", "agent")
        .order_by("position", "pk")
    )


def rule_matches(rule: AssignmentRule, facts: CaseFacts) -> bool:
    """Every condition the rule sets holds for the case."""
    if rule.case_kind != RuleCaseKind.ANY and rule.case_kind != facts.kind:
        return False
    complaint = facts.kind == CaseKind.COMPLAINT
    if rule.complaint_category and not (
        complaint and facts.complaint_category == rule.complaint_category
    ):
        return False
    if rule.complaint_priority and not (
        complaint and facts.complaint_priority == rule.complaint_priority
    ):
        return False
    is_return = facts.kind == CaseKind.RETURN
    if rule.return_reason and not (is_return and rule.return_reason in facts.return_reasons):
        return False
    if rule.min_requested_value is not None and not (
        is_return
        and facts.requested_value is not None
        and facts.requested_value >= rule.min_requested_value
    ):
        return False
    if rule.customer_account_id and rule.customer_account_id != facts.customer_account_id:
        return False
    if rule.product_category_id and rule.product_category_id not in facts.product_category_ids:
        return False
    return not (rule.channel and rule.channel != facts.channel)


def _agent_available(
    rule: AssignmentRule, tenant, excluded: set[int], away: set[int] | None
) -> bool:
    agent = rule.agent
    return (
        agent is not None
        and agent.pk not in excluded
        and agent.is_active
        and agent.tenant_id == tenant.pk
        and agent.role in ASSIGNABLE_ROLES
        and (away is None or agent.pk not in away)
    )


def route(
    facts: CaseFacts,
    *,
    now: datetime.datetime | None = None,
    exclude_user_ids: Iterable[int] = (),
) -> Decision | None:
    """The first matching rule that names an available person, and that person; None: the
    case stays unassigned. Runs in the caller's transaction (a team's row stays locked until
    it ends: rma_portal.accounts.services.team_pick)."""
    tenant = facts.tenant
    now = now or timezone.now()
    excluded = set(exclude_user_ids)
    rules = [rule for rule in active_rules(tenant) if rule_matches(rule, facts)]
    if not rules:
        return None
    # Who of the rules' agents is away, in one query for them all.
    agents = {rule.agent_id for rule in rules if rule.agent_id}
    away = (
        away_user_ids(tenant=tenant, day=tenant_today(tenant, now), user_ids=agents)
        if agents
        else set()
    )
    for rule in rules:
        if rule.agent_id is not None:
            if _agent_available(rule, tenant, excluded, away):
                return Decision(rule=rule, assignee=rule.agent)
            continue
        if rule.team_id is None or rule.team.tenant_id != tenant.pk:
            continue
        member = team_pick(tenant=tenant, team_id=rule.team_id, now=now, exclude_user_ids=excluded)
        if member is not None:
            return Decision(rule=rule, assignee=member, team=rule.team)
    return None


def timeline_note(decision: Decision, *, previous: User | None = None) -> str:
    """The (internal) timeline entry of an automatic assignment."""
    values = {
        "name": decision.assignee.get_full_name(),
        "rule": decision.rule.name,
        "team": decision.team.name if decision.team else "",
        "previous": previous.get_full_name() if previous else "",
    }
    if previous is not None:
        if decision.team is not None:
            text = _(
                "Re-assigned automatically from %(previous)s (away) to %(name)s of team "
                "%(team)s by rule “%(rule)s”."
            )
        else:
            text = _(
                "Re-assigned automatically from %(previous)s (away) to %(name)s by rule “%(rule)s”."
            )
    elif decision.team is not None:
        text = _("Assigned automatically to %(name)s of team %(team)s by rule “%(rule)s”.")
    else:
        text = _("Assigned automatically to %(name)s by rule “%(rule)s”.")
    return text % values


def record_auto_assignment(
    *,
    case,
    kind: str,
    decision: Decision,
    reason: str = REASON_FILED,
    previous: User | None = None,
):
    """The audit row of one automatic assignment: which rule chose whom (and from which
    team), for which case, and why (a new case, or its assignee away)."""
    rule, team, assignee = decision.rule, decision.team, decision.assignee
    details = {
        "kind": kind,
        "reason": reason,
        "rule_id": rule.pk,
        "rule": rule.name,
        "team_id": team.pk if team else None,
        "team": team.name if team else "",
        "assignee_id": assignee.pk,
        "assignee": assignee.email,
    }
    if previous is not None:
        details.update(previous_assignee_id=previous.pk, previous_assignee=previous.email)
    return record(
        AuditAction.CASE_AUTO_ASSIGNED,
        tenant=case.tenant,
        actor_kind=ActorKind.SYSTEM,
        actor_label=AUDIT_ACTOR,
        target=case,
        details=details,
    )


def reassign_away(
    *, tenant, user_ids: Iterable[int] | None = None, now: datetime.datetime | None = None
) -> int:
    """Hand on the cases not yet started of the tenant's staff away today (of `user_ids`,
    when given) through the rules, never back to someone away; returns how many moved.

    What "not yet started" means is each case app's: complaints assigned but not in
    progress, returns submitted but not yet decided. A case no rule can give to anyone stays
    where it is (the load page shows its assignee away)."""
    now = now or timezone.now()
    away = away_user_ids(tenant=tenant, day=tenant_today(tenant, now), user_ids=user_ids)
    if not away:
        return 0
    return sum(
        reassigner.reassign(tenant=tenant, away_user_ids=frozenset(away), now=now)
        for reassigner in case_reassigners()
    )


def reassign_each(
    not_started: QuerySet,
    *,
    away_user_ids: frozenset[int],
    related: Iterable[str] = (),
    reroute: Callable[[object, User], bool],
) -> int:
    """The loop of a case app's reassigner: each case of `not_started` (the tenant's cases not
    yet started) whose assignee is away, in its own transaction under its row lock, read
    again there and handed to `reroute(case, previous assignee)`, which routes it never to
    someone away and says whether it moved. Returns how many moved."""
    if not away_user_ids:
        return 0
    away = not_started.filter(assignee_id__in=away_user_ids)
    candidates = list(away.order_by("pk").values_list("pk", flat=True))
    moved = 0
    for pk in candidates:
        with transaction.atomic():
            locked = (
                not_started.select_for_update(of=("self",))
                .select_related(*related)
                .filter(pk=pk, assignee_id__in=away_user_ids)
                .first()
            )
            if locked is None:  # started, decided, closed or re-assigned meanwhile
                continue
            # Read after the lock: a joined row is not read again when the row changed while
            # this waited for it.
            previous = User.objects.get(pk=locked.assignee_id)
            if reroute(locked, previous):
                moved += 1
    return moved


def on_absence(absence) -> int:
    """An absence covering today was saved: hand on its staff member's cases not yet started
    (rma_portal.accounts.services.register_absence_listener, from CustomersConfig.ready)."""
    if not case_reassigners():
        return 0
    return reassign_away(tenant=absence.tenant, user_ids={absence.user_id})
