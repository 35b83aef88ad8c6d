from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api.views import api
from courses.forms import AccountPasswordResetForm
from courses.views import language_set
from labs import views_ops

urlpatterns = [
    path("healthz", views_ops.healthz, name="healthz"),
    path("metrics", views_ops.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(form_class=AccountPasswordResetForm),
        name="password_reset",
    ),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("i18n/setlang/", language_set, name="set_language"),
    path("api/v1/", api.urls),
    path("account/", include("api.urls")),
    path("labs/", include("labs.urls")),
    path("authoring/", include("authoring.urls")),
    path("runs/<slug:run_slug>/", include("labs.urls_staff")),
    path("", include("labs.urls_student")),
    path("", include("courses.urls_runs")),
    path("", include("courses.urls")),
]

handler500 = "labs.errors.server_error"
