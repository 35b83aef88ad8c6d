from django.urls import path

from labs.consumers import GradebookConsumer, SubmissionConsumer

websocket_urlpatterns = [
    path("ws/submissions/<int:submission_id>/", SubmissionConsumer.as_asgi()),
    path(
        "ws/runs/<slug:run_slug>/assignments/<int:assignment_id>/gradebook/",
        GradebookConsumer.as_asgi(),
    ),
]
