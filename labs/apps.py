from django.apps import AppConfig


class LabsConfig(AppConfig):
    name = "labs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from labs import checks  # noqa: F401  (registers the engine version check)
