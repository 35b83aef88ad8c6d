from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from courses.middleware import session_language_load

        user_logged_in.connect(session_language_load, dispatch_uid="courses.session_language_load")
