from django.urls import path

from labs import views

app_name = "labs"
urlpatterns = [
    path("<slug:course_slug>/exercises/<slug:slug>/", views.exercise_detail, name="exercise"),
    path("<slug:course_slug>/exercises/<slug:slug>/lint/", views.exercise_lint, name="lint"),
    path("<slug:course_slug>/exercises/<slug:slug>/history/", views.exercise_history, name="history"),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission"),
    path(
        "submissions/<int:submission_id>/layers.json", views.submission_layers_json, name="submission_layers"
    ),
    path(
        "submissions/<int:submission_id>/layers/<int:index>.json",
        views.submission_layer_files_json,
        name="submission_layer_files",
    ),
]
