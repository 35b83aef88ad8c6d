from django.urls import path

from labs import views

app_name = "labs"
urlpatterns = [
    path("<slug:course_slug>/exercises/<slug:slug>/", views.exercise_detail, name="exercise"),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission"),
]
