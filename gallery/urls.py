from django.urls import path

from gallery.views import accounts, create, teams

urlpatterns = [
    path("", teams.home, name="home"),
    path("invite/<str:token>/", accounts.accept_invite, name="accept-invite"),
    path("healthz", accounts.healthz, name="healthz"),
    path("t/<slug:slug>/", teams.gallery, name="gallery"),
    path("t/<slug:slug>/check/", create.check_prompt, name="check-prompt"),
    path("t/<slug:slug>/members/", teams.members, name="members"),
    path("t/<slug:slug>/members/invite/", teams.create_invite, name="create-invite"),
    path("t/<slug:slug>/invites/<int:pk>/revoke/", teams.revoke_invite, name="revoke-invite"),
]
