"""What each role may do in the back-office, as Django permission codenames.

Roles are the single source of permissions: there are no per-user or group grants.
"""

from __future__ import annotations

from .models import STAFF_ACTING_ROLES, Role

VIEW = frozenset({"view"})
EDIT = frozenset({"view", "add", "change"})
ALL = frozenset({"view", "add", "change", "delete"})
NONE: frozenset[str] = frozenset()

# The set-up of automatic assignment (teams, absences, assignment rules; and the load per
# agent, which follows "accounts.view_team"): coordinators, managers and tenant admins keep
# it, agents do not see it.
ASSIGNMENT_SETUP = {
    ("accounts", "team"): ALL,
    ("accounts", "teammembership"): ALL,
    ("accounts", "absence"): ALL,
    ("customers", "assignmentrule"): ALL,
}

# (app label, model name or "*") -> actions. Domain issues extend this table.
ROLE_PERMISSIONS: dict[str, dict[tuple[str, str], frozenset[str]]] = {
    Role.AGENT: {
        ("customers", "assignmentrule"): NONE,
        ("customers", "*"): VIEW,
        ("returns", "returnpolicy"): VIEW,  # policies are the tenant admin's
        ("returns", "*"): EDIT,
        ("complaints", "slapolicy"): VIEW,  # contractual targets: the tenant admin's
        ("complaints", "complaintstage"): VIEW,  # the complaint procedure: the tenant admin's
        ("complaints", "supportsettings"): VIEW,  # the SLA calendar: the tenant admin's
        ("complaints", "holiday"): VIEW,
        ("customers", "cannedresponse"): VIEW,  # the team's wording: coordinators keep it
        ("complaints", "*"): EDIT,
        ("notifications", "*"): VIEW,  # e-mails and webhooks sent; endpoints: tenant admin
    },
    Role.COORDINATOR: {
        **ASSIGNMENT_SETUP,
        ("customers", "*"): VIEW,
        ("returns", "returnpolicy"): VIEW,
        ("returns", "*"): EDIT,
        ("complaints", "slapolicy"): VIEW,
        ("complaints", "complaintstage"): VIEW,
        ("complaints", "supportsettings"): VIEW,
        ("complaints", "holiday"): VIEW,
        ("customers", "cannedresponse"): EDIT,  # retired by unticking "active", not deleted
        ("customers", "faqarticle"): ALL,  # the public page's questions and answers
        ("complaints", "*"): EDIT,
        ("notifications", "*"): VIEW,
    },
    Role.MANAGER: {
        **ASSIGNMENT_SETUP,
        ("accounts", "user"): VIEW,
        ("customers", "*"): VIEW,
        ("returns", "*"): VIEW,
        ("complaints", "*"): VIEW,
        ("analytics", "*"): VIEW,
        ("notifications", "*"): VIEW,
    },
    Role.TENANT_ADMIN: {
        **ASSIGNMENT_SETUP,
        ("accounts", "user"): ALL,
        ("customers", "*"): ALL,
        ("returns", "*"): ALL,
        ("complaints", "*"): ALL,
        ("analytics", "*"): ALL,
        ("notifications", "*"): ALL,  # endpoints, and "retry" on failed rows
    },
    # No back-office at all: the integration acts only through the API, within the scopes of
    # the API key it was called with (rma_portal/credentials).
    Role.INTEGRATION: {},
}


def role_allows(role: str, app_label: str, action: str, model_name: str) -> bool:
    table = ROLE_PERMISSIONS.get(role, {})
    # A model's own entry wins over its app's "*", even when it grants nothing.
    actions = table.get((app_label, model_name), table.get((app_label, "*"), NONE))
    return action in actions


def role_has_perm(role: str, perm: str) -> bool:
    """`perm` is Django's "app_label.action_model" form, e.g. "customers.view_order"."""
    app_label, _, codename = perm.partition(".")
    action, _, model_name = codename.partition("_")
    return role_allows(role, app_label, action, model_name)


def role_has_module_perms(role: str, app_label: str) -> bool:
    return any(
        label == app_label and actions
        for (label, _), actions in ROLE_PERMISSIONS.get(role, {}).items()
    )


def may_file_for_customers(user) -> bool:
    """Agents, coordinators and tenant admins of a tenant: the staff the filing services let
    act for a customer. Managers only read; a platform superuser works across tenants and
    files nothing (a case is filed by the staff of the customer's tenant)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.tenant_id
        and user.role in STAFF_ACTING_ROLES
    )
