"""Portal access: only customer users linked to an active company, their company attached."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from customers.selectors import customer_account_for_user


def customer_required(view):
    """Sets `request.customer_account`; anonymous users go to the login page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        account = customer_account_for_user(user=request.user)
        if account is None:
            raise PermissionDenied(_("The customer portal is for users of customer companies."))
        request.customer_account = account
        return view(request, *args, **kwargs)

    return wrapper


def customer_admin_required(view):
    @wraps(view)
    @customer_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_customer_admin:
            raise PermissionDenied(_("Only your company's administrators may do this."))
        return view(request, *args, **kwargs)

    return wrapper
