from django.urls import path

from courses import views

app_name = "courses"
urlpatterns = [
    path("", views.course_list, name="list"),
    path("courses/<slug:course_slug>/<slug:session_slug>/", views.session_detail, name="session"),
]
