from django.urls import path

from .views import policy_page, portal

portal_urlpatterns = [
    path("", portal.home, name="home"),
    path("orders/search/", portal.order_search, name="order_search"),
    path("orders/<id:order_id>/", portal.order_detail, name="order_detail"),
    path("team/", portal.team, name="team"),
    path("team/<id:user_id>/active/", portal.team_member_set_active, name="team_set_active"),
    path("team/<id:user_id>/role/", portal.team_member_set_role, name="team_set_role"),
    path(
        "team/invitations/<id:invitation_id>/resend/",
        portal.team_invitation_resend,
        name="team_invitation_resend",
    ),
    path("profile/", portal.profile, name="profile"),
]

# The tenant's public return policy and FAQ (no sign-in), mounted under /policy/.
policy_urlpatterns = [
    path("<slug:tenant_slug>/", policy_page.public_policy, name="page"),
]
