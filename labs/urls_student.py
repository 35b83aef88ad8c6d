from django.urls import path

from labs import views_student

app_name = "classroom"
urlpatterns = [
    path("courses/<slug:course_slug>/", views_student.course_detail, name="course"),
    path("runs/", views_student.run_list, name="runs"),
    path(
        "runs/<slug:run_slug>/assignments/<int:assignment_id>/",
        views_student.assignment_detail,
        name="assignment",
    ),
]
