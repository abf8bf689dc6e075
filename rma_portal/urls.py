from django.contrib import admin
from django.urls import include, path

from analytics import portal_urls as analytics_portal_urls
from complaints import urls as complaints_urls
from customers import urls as customer_urls
from returns import feedback_urls as return_feedback_urls
from returns import urls as returns_urls
from rma_portal.accounts.views import home
from rma_portal.health import healthz
from rma_portal.tenancy.views import tenant_logo

portal_urlpatterns = [
    *customer_urls.portal_urlpatterns,
    *returns_urls.portal_urlpatterns,
    *complaints_urls.portal_urlpatterns,
    *analytics_portal_urls.portal_urlpatterns,
]
# The surveys' pages: the e-mails' signed links (no sign-in) and the returns' portal form.
feedback_urlpatterns = [
    *return_feedback_urls.urlpatterns,
    *complaints_urls.feedback_urlpatterns,
]

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("rma_portal.accounts.urls")),
    path("portal/", include((portal_urlpatterns, "portal"))),
    path("dashboard/", include("analytics.urls")),
    path("api/", include("rma_portal.api.urls")),
    path("backoffice/", admin.site.urls),
    # Mail that providers post (Mailgun routes), one URL per mailbox, signed.
    path("inbound/", include("rma_portal.inbound.urls")),
    # The surveys' signed links from the e-mails (no sign-in): docs/feedback.md.
    path("feedback/", include((feedback_urlpatterns, "feedback"))),
    # The tenants' public return policies and FAQ (no sign-in): docs/returns-rules.md.
    path("policy/", include((customer_urls.policy_urlpatterns, "policy"))),
    path("branding/logo/", tenant_logo, name="tenant_logo"),
    path("healthz", healthz),
]

handler400 = "rma_portal.views.bad_request"
handler403 = "rma_portal.views.permission_denied"
handler404 = "rma_portal.views.page_not_found"
handler500 = "rma_portal.views.server_error"
