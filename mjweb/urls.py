from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from gallery.teams.forms_auth import ThrottledAuthenticationForm
from gallery.teams.views import accounts

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, authentication_form=ThrottledAuthenticationForm
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", accounts.change_password, name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("", include("gallery.urls")),
]

handler400 = "gallery.teams.views.errors.bad_request"
handler403 = "gallery.teams.views.errors.permission_denied"
handler404 = "gallery.teams.views.errors.page_not_found"
handler500 = "gallery.teams.views.errors.server_error"
