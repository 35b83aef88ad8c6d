import factory
from django.contrib.auth import get_user_model

from courses.models import Course, Session
from labs.models import Exercise, Submission


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    slug = factory.Sequence(lambda n: f"course-{n}")
    title = factory.Sequence(lambda n: f"Course {n}")


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    course = factory.SubFactory(CourseFactory)
    slug = factory.Sequence(lambda n: f"session-{n}")
    title = "Multi-stage builds"
    body_md = "# Lesson\n\nSome text."


APP_PY = 'print("hello from the app")\n'


class ExerciseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exercise

    session = factory.SubFactory(SessionFactory)
    course = factory.SelfAttribute("session.course")
    slug = factory.Sequence(lambda n: f"exercise-{n}")
    title = "Containerise a Python app"
    starter_dockerfile = "FROM python:3.11-slim\nCOPY . /app\nCMD python /app/app.py\n"
    context_files = factory.LazyFunction(lambda: {"app.py": APP_PY, "requirements.txt": ""})
    build_timeout_seconds = 120


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Submission

    owner = factory.SubFactory(UserFactory)
    exercise = factory.SubFactory(ExerciseFactory)
    dockerfile = "FROM python:3.11-slim\n"
