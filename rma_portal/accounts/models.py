"""The user model: e-mail is the login, every user except platform superusers has a tenant.
Also the staff's teams and absences, which automatic assignment reads (customers/routing.py)."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from rma_portal.languages import (
    customer_language,
    language_choices,
    language_codes,
    tenant_default_language,
)
from rma_portal.tenancy.models import TenantOwnedModel


class Role(models.TextChoices):
    CUSTOMER_USER = "customer_user", _("Customer user")  # files and follows own cases
    CUSTOMER_ADMIN = "customer_admin", _("Customer admin")  # + colleagues and all company cases
    AGENT = "agent", _("Agent")  # handles returns and complaints in the back-office
    COORDINATOR = "coordinator", _("Coordinator")  # + assigns work, receives SLA escalations
    MANAGER = "manager", _("Manager")  # reads dashboards and everything in the back-office
    TENANT_ADMIN = "tenant_admin", _("Tenant admin")  # configures the tenant, manages users
    # The tenant's own systems (ERP, warehouse) acting through API keys; never a person.
    INTEGRATION = "integration", _("Integration")


CUSTOMER_ROLES = frozenset({Role.CUSTOMER_USER, Role.CUSTOMER_ADMIN})
STAFF_ROLES = frozenset({Role.AGENT, Role.COORDINATOR, Role.MANAGER, Role.TENANT_ADMIN})
# Who reads the whole tenant's orders and cases (internal notes included): the staff, and the
# tenant's integration (one system user per tenant, the principal of its API keys:
# rma_portal/credentials). Only STAFF_ROLES get the back-office, the staff's queues and pickers.
TENANT_WIDE_ROLES = STAFF_ROLES | {Role.INTEGRATION}
# Who automatic assignment may hand a case to: the people who work the queues.
ASSIGNABLE_ROLES = frozenset({Role.AGENT, Role.COORDINATOR})
# Who acts on returns and complaints (transitions, replies, filing for a customer); managers
# only read.
STAFF_ACTING_ROLES = frozenset({Role.AGENT, Role.COORDINATOR, Role.TENANT_ADMIN})


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **fields) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **fields)

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email=(username or "").strip().lower())

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_superuser=True, is_staff=True, tenant=None, role="")
        return self._create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    # Stored lower-cased (save() and the manager normalise), so plain uniqueness is exact.
    email = models.EmailField(
        _("e-mail address"),
        max_length=254,
        unique=True,
        error_messages={"unique": _("A user with this e-mail address already exists.")},
    )
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    tenant = models.ForeignKey(
        "tenancy.Tenant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("tenant"),
        help_text=_("Empty only for platform superusers."),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=language_choices,
        blank=True,
        help_text=_("Language of pages and e-mails; empty means the tenant's default."),
    )
    # Kind of e-mail → "immediately", "digest" or "never"; a kind not named is sent
    # immediately (rma_portal/notifications/preferences.py). Customers set it on their
    # e-mail settings page.
    email_preferences = models.JSONField(
        _("e-mail preferences"),
        default=dict,
        blank=True,
        help_text=_("How each kind of e-mail is sent: immediately, in a daily digest or never."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("back-office access"),
        default=False,
        editable=False,
        help_text=_("Derived from the role: staff roles may use the back-office."),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Part of the session auth hash: a new value ends every session signed in before it
    # ("sign out everywhere"). Empty until first used, so existing sessions stay valid.
    session_stamp = models.CharField(max_length=32, blank=True, default="", editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_superuser=True) | models.Q(tenant__isnull=False),
                name="user_tenant_required_unless_superuser",
            ),
            models.CheckConstraint(
                condition=models.Q(is_superuser=True) | ~models.Q(role=""),
                name="user_role_required_unless_superuser",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "role"], name="user_tenant_role_idx")]

    def __str__(self) -> str:
        if self.is_integration:
            return str(Role.INTEGRATION.label)
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        self.is_staff = self.is_superuser or self.role in STAFF_ROLES
        super().save(*args, **kwargs)

    def _get_session_auth_hash(self, secret=None) -> str:
        """Django's HMAC of the password hash, with the session stamp when there is one: a
        session stays signed in only while both are what they were at its sign-in."""
        if not self.session_stamp:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "rma_portal.accounts.models.User.get_session_auth_hash",
            f"{self.password}:{self.session_stamp}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def rotate_session_stamp(self) -> None:
        """End every session of this user; the caller keeps its own with
        `update_session_auth_hash(request, user)`."""
        self.session_stamp = secrets.token_hex(16)
        self.save(update_fields=["session_stamp"])

    def get_full_name(self) -> str:
        if self.is_integration:
            # Timelines and threads name the integration in the reader's language.
            return str(Role.INTEGRATION.label)
        return self.full_name or self.email

    def get_short_name(self) -> str:
        if self.is_integration:
            return str(Role.INTEGRATION.label)
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_customer(self) -> bool:
        return self.role in CUSTOMER_ROLES

    @property
    def is_customer_admin(self) -> bool:
        return self.role == Role.CUSTOMER_ADMIN

    @property
    def is_tenant_staff(self) -> bool:
        """Sees the whole tenant's orders and cases, as staff: the staff roles and the tenant's
        integration (TENANT_WIDE_ROLES). What one may *do* is the services' role check, and
        the back-office is `is_staff` (staff roles only)."""
        return self.role in TENANT_WIDE_ROLES

    @property
    def is_integration(self) -> bool:
        """The tenant's system user that its API keys act as; it never signs in."""
        return self.role == Role.INTEGRATION

    @property
    def preferred_language(self) -> str:
        """The language of this user's pages, e-mails and PDFs: their own, or the tenant's
        default when they chose none or (customers) the tenant no longer offers theirs."""
        tenant = self.tenant if self.tenant_id else None
        if self.is_customer:
            return customer_language(tenant, self.language)
        if self.language and self.language in language_codes():
            return self.language
        return tenant_default_language(tenant)


# --- teams and absences ------------------------------------------------------------------


class TeamStrategy(models.TextChoices):
    """How a team shares the cases automatic assignment gives it."""

    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_OPEN = "least_open", _("Fewest open cases")


class Team(TenantOwnedModel):
    """Agents and coordinators who share cases; an assignment rule may name a team."""

    name = models.CharField(_("name"), max_length=120)
    strategy = models.CharField(
        _("strategy"),
        max_length=20,
        choices=TeamStrategy.choices,
        default=TeamStrategy.ROUND_ROBIN,
        help_text=_(
            "Round robin: each member in turn. Fewest open cases: the member with the fewest "
            "open returns and complaints (in turn when several have as few)."
        ),
    )
    members = models.ManyToManyField(
        User,
        through="TeamMembership",
        related_name="teams",
        blank=True,
        verbose_name=_("members"),
    )
    # The member the team gave its last case to: the next pick starts after them (members in
    # order of id). Written under the team row's lock (rma_portal.accounts.services.team_pick).
    last_assigned = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("last case given to"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="team_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(TenantOwnedModel):
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team")
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="team_memberships", verbose_name=_("member")
    )

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        ordering = ["team", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "team", "user"], name="team_membership_unique"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "user"], name="team_membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.team.name}"

    def clean(self) -> None:
        super().clean()
        if self.user_id and self.tenant_id:
            user = User.objects.filter(pk=self.user_id).values("tenant_id", "role").first()
            if user is None or user["tenant_id"] != self.tenant_id:
                raise ValidationError({"user": _("Choose a user of the same tenant.")})
            if user["role"] not in ASSIGNABLE_ROLES:
                raise ValidationError({"user": _("Teams are made of agents and coordinators.")})


class Absence(TenantOwnedModel):
    """A staff member away (holiday, sick leave) from the first to the last day, both
    included, in the tenant's calendar: automatic assignment passes them by."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="absences", verbose_name=_("user")
    )
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["-first_day", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_day__gte=models.F("first_day")),
                name="absence_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "last_day", "first_day"], name="absence_days_idx"),
            models.Index(fields=["tenant", "user", "last_day"], name="absence_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.first_day} – {self.last_day}"

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.first_day and self.last_day and self.last_day < self.first_day:
            errors["last_day"] = _("The last day cannot be before the first day.")
        if self.user_id and self.tenant_id:
            user = User.objects.filter(pk=self.user_id).values("tenant_id", "role").first()
            if user is None or user["tenant_id"] != self.tenant_id:
                errors["user"] = _("Choose a user of the same tenant.")
            elif user["role"] not in STAFF_ROLES:
                errors["user"] = _("Absences are recorded for staff.")
        if errors:
            raise ValidationError(errors)

    def covers(self, day) -> bool:
        return self.first_day <= day <= self.last_day


class SavedView(TenantOwnedModel):
    """A staff member's own view of My work (docs/backoffice.md#my-work): a name and the
    inbox's filters as a query string (view, type, priority, search, sort). Nobody else sees
    it."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="saved_views", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=500)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_per_user"),
        ]

    def __str__(self) -> str:
        return self.name
