from django.urls import path

from labs import views

app_name = "labs"
urlpatterns = [
    path("<slug:course_slug>/exercises/<slug:slug>/", views.exercise_detail, name="exercise"),
    path("<slug:course_slug>/exercises/<slug:slug>/lint/", views.exercise_lint, name="lint"),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission"),
]
