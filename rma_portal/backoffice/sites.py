from functools import update_wrapper

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from rma_portal.ids import parse_id, parse_ids
from rma_portal.tenancy.middleware import ACTIVE_TENANT_SESSION_KEY
from rma_portal.tenancy.models import Tenant


class BackofficeSite(admin.AdminSite):
    site_header = gettext_lazy("RMA Portal back-office")
    site_title = gettext_lazy("RMA Portal back-office")
    index_title = gettext_lazy("Back-office")
    site_url = None

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request, extra_context=None):
        """The back-office signs in with the same two steps as everyone (password, then a code
        when two-factor sign-in is on): one sign-in to secure, watched by the lockout. A user
        already signed in without back-office access goes where they work instead of round
        the sign-in page again."""
        from rma_portal.accounts.views import LoginView

        if request.user.is_authenticated:
            target = "admin:index" if self.has_permission(request) else "home"
            return HttpResponseRedirect(reverse(target))
        return LoginView.as_view(next_page=reverse("admin:index"))(request)

    def password_change(self, request, extra_context=None):
        """The one password form: it lists the rules and writes the audit row."""
        return HttpResponseRedirect(reverse("accounts:password_change"))

    def has_permission(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and (user.is_superuser or user.is_tenant_staff)

    def each_context(self, request):
        context = super().each_context(request)
        user = request.user
        if user.is_authenticated and user.is_superuser and user.tenant_id is None:
            context["switchable_tenants"] = list(Tenant.objects.only("pk", "name"))
            context["active_tenant_id"] = request.session.get(ACTIVE_TENANT_SESSION_KEY)
        return context

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)
        # A ModelAdmin's views are its bound methods (ModelAdmin.get_urls).
        model_admin = getattr(view, "__self__", None)
        if not isinstance(model_admin, admin.ModelAdmin) or (
            model_admin.model._meta.pk.get_internal_type() not in ("AutoField", "BigAutoField")
        ):
            return guarded

        def inner(request, *args, **kwargs):
            _drop_selected_non_ids(request)
            return guarded(request, *args, **kwargs)

        return update_wrapper(inner, guarded)

    def get_urls(self):
        return [
            path(
                "switch-tenant/",
                self.admin_view(require_POST(self.switch_tenant_view)),
                name="switch_tenant",
            ),
            path("sections/", self.admin_view(self.sections_view), name="sections"),
            path(
                "my-work/views/",
                self.admin_view(require_POST(self.save_view)),
                name="inbox_save_view",
            ),
            path(
                "my-work/views/<id:pk>/delete/",
                self.admin_view(require_POST(self.delete_view)),
                name="inbox_delete_view",
            ),
            path(
                "my-work/bulk/",
                self.admin_view(require_POST(self.inbox_bulk_view)),
                name="inbox_bulk",
            ),
            *super().get_urls(),
        ]

    @method_decorator(never_cache)
    def index(self, request, extra_context=None):
        """The home of a tenant's staff is their work: the inbox of returns and complaints
        ("My work"); the list of the back-office's sections is one link away. A platform
        superuser outside any tenant sees the sections."""
        if getattr(request, "tenant", None) is None:
            return super().index(request, extra_context)
        from .inbox_page import inbox_page

        return inbox_page(request, site_context=self.each_context(request), admin_site=self)

    def save_view(self, request):
        from .inbox_page import save_view

        if request.tenant is None:
            raise Http404
        return save_view(request)

    def inbox_bulk_view(self, request):
        """My work's bulk actions on the ticked cases of any kind (inbox_bulk.py)."""
        from .inbox_bulk import inbox_bulk

        if request.tenant is None:
            raise Http404
        return inbox_bulk(request, admin_site=self)

    def delete_view(self, request, pk: int):
        from .inbox_page import delete_view

        return delete_view(request, pk)

    def sections_view(self, request):
        """Every section (app and model) the user may open: the admin's own index."""
        return super().index(request, {"title": _("All sections")})

    def switch_tenant_view(self, request):
        """A platform superuser works inside one tenant, or (empty choice) across all."""
        if not request.user.is_superuser or request.user.tenant_id is not None:
            return HttpResponseRedirect(reverse("admin:index"))
        chosen = parse_id(request.POST.get("tenant"))
        tenant = Tenant.objects.filter(pk=chosen).first() if chosen else None
        if tenant is None:
            request.session.pop(ACTIVE_TENANT_SESSION_KEY, None)
            messages.info(request, _("You now see all tenants."))
        else:
            request.session[ACTIVE_TENANT_SESSION_KEY] = tenant.pk
            messages.info(request, _("You now work in tenant %(name)s.") % {"name": tenant.name})
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
            target = reverse("admin:index")
        return HttpResponseRedirect(target)


def _drop_selected_non_ids(request) -> None:
    """A list action's selected rows (`_selected_action`) are ids: a value that can name no row
    (not a number, past bigint) is left out, like an id of no row, where Django's admin would
    fail on it (`pk__in=["abc"]`). With nothing left, the admin answers "Items must be selected"
    and changes nothing."""
    if request.method != "POST" or ACTION_CHECKBOX_NAME not in request.POST:
        return
    selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
    kept = [str(pk) for pk in parse_ids(selected)]
    if kept != selected:
        post = request.POST.copy()
        post.setlist(ACTION_CHECKBOX_NAME, kept)
        request.POST = post
