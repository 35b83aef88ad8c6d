"""A course run's staff pages, mounted at /runs/<run_slug>/ (the roster is courses' own)."""

from django.urls import path

from labs import views_staff as v

app_name = "staff"
A = "assignments/<int:assignment_id>/"
R = A + "regrades/<int:regrade_id>/"
urlpatterns = [
    path("", v.dashboard, name="dashboard"),
    path("assignments/new/", v.assignment_create, name="assignment_create"),
    path(A + "edit/", v.assignment_edit, name="assignment_edit"),
    path(A + "extensions/", v.extensions, name="extensions"),
    path(A + "extensions/<int:extension_id>/remove/", v.extension_revoke, name="extension_revoke"),
    path(A + "gradebook/", v.gradebook, name="gradebook"),
    path(A + "gradebook/students/<int:user_id>/", v.gradebook_student, name="gradebook_student"),
    path(A + "gradebook.csv", v.gradebook_csv, name="gradebook_csv"),
    path(A + "gradebook.json", v.gradebook_json, name="gradebook_json"),
    path(A + "regrades/", v.regrade_start, name="regrade_start"),
    path(R, v.regrade_detail, name="regrade"),
    path(R + "progress/", v.regrade_progress, name="regrade_progress"),
    path(R + "apply/", v.regrade_apply, name="regrade_apply"),
    path("submissions/", v.submissions, name="submissions"),
    path("exercises/<int:exercise_id>/", v.exercise_stats, name="exercise_stats"),
]
