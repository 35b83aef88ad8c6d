from django.apps import AppConfig


class AuthoringConfig(AppConfig):
    """Course folders <-> the database: import, export, check_course, the demo. It reads and
    writes both `courses` and `labs`, so it sits above them and neither imports it."""

    name = "authoring"
    default_auto_field = "django.db.models.BigAutoField"
