from django.urls import path

from courses import views_runs

app_name = "runs"
urlpatterns = [
    path("join/", views_runs.join, name="join"),
    path("join/confirm/<str:token>/", views_runs.signup_confirm, name="signup_confirm"),
    path("runs/<slug:run_slug>/roster/", views_runs.roster, name="roster"),
    path("runs/<slug:run_slug>/roster/import/", views_runs.roster_import, name="roster_import"),
    path("runs/<slug:run_slug>/roster/<int:membership_id>/role/", views_runs.member_role, name="member_role"),
    path(
        "runs/<slug:run_slug>/roster/<int:membership_id>/password-link/",
        views_runs.member_password_link,
        name="member_password_link",
    ),
    path("runs/<slug:run_slug>/invitation/", views_runs.invitation, name="invitation"),
]
