from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from courses.models import Course, CourseRun, Membership, Session
from labs.models import Assignment, AssignmentExercise, Exercise, Submission


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


class CourseRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseRun

    course = factory.SubFactory(CourseFactory)
    slug = factory.Sequence(lambda n: f"run-{n}")
    title = factory.Sequence(lambda n: f"Spring {2000 + n}")
    time_zone = "Asia/Seoul"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    run = factory.SubFactory(CourseRunFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.STUDENT


class AssignmentFactory(factory.django.DjangoModelFactory):
    """Open since yesterday, due in three days; add exercises with `exercises=[...]`."""

    class Meta:
        model = Assignment
        skip_postgeneration_save = True

    run = factory.SubFactory(CourseRunFactory)
    title = factory.Sequence(lambda n: f"Assignment {n}")
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=3))

    @factory.post_generation
    def exercises(self, create: bool, extracted: list[Exercise] | None, **kwargs: object) -> None:
        for position, exercise in enumerate(extracted or []):
            AssignmentExercise.objects.create(assignment=self, exercise=exercise, position=position)
