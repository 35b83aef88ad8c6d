"""Authoring in the browser, mounted at /authoring/."""

from django.urls import path

from authoring import views as v

app_name = "authoring"
C = "courses/<slug:course_slug>/"
S = C + "sessions/<slug:session_slug>/"
E = C + "exercises/<slug:exercise_slug>/"
urlpatterns = [
    path(C, v.course_home, name="course"),
    path(C + "preview/", v.preview, name="preview"),
    path(S + "edit/", v.session_edit, name="session_edit"),
    path(S + "revisions/", v.session_revisions, name="session_revisions"),
    path(S + "revisions/<int:revision_id>/", v.session_revision, name="session_revision"),
    path(E + "edit/", v.exercise_edit, name="exercise_edit"),
    path(E + "validate/", v.exercise_validate, name="exercise_validate"),
    path(E + "revisions/", v.exercise_revisions, name="exercise_revisions"),
    path(E + "revisions/<int:revision_id>/", v.exercise_revision, name="exercise_revision"),
    path(E + "check/", v.check_start, name="check_start"),
    path(E + "checks/<int:check_id>/", v.check_detail, name="check"),
    path(E + "checks/<int:check_id>/verdict.json", v.check_verdict, name="check_verdict"),
    path(E + "try/", v.exercise_try, name="try"),
    path(E + "trials/<int:submission_id>/panel/", v.trial_panel, name="trial_panel"),
]
