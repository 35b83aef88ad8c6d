"""Pages as a person sees them, without a browser: language, refusals, messages."""

import pytest
from django.test import Client
from django.urls import reverse

from labs.models import Submission
from tests.factories import ExerciseFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_pages_speak_korean_or_english_as_the_browser_asks():
    client = Client()
    assert "로그인" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "Log in" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_exercise_page_needs_a_login():
    exercise = ExerciseFactory()
    response = Client().get(reverse("labs:exercise", kwargs={"slug": exercise.slug}))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_exercise_page_starts_with_the_starter_dockerfile():
    exercise = ExerciseFactory()
    client = Client()
    client.force_login(UserFactory())
    page = client.get(reverse("labs:exercise", kwargs={"slug": exercise.slug})).content.decode()
    assert "FROM python:3.11-slim" in page
    assert "python:3.11-slim</code>" in page  # the allowed bases are listed


def test_an_empty_dockerfile_is_refused_with_a_message_and_nothing_is_stored():
    exercise = ExerciseFactory()
    client = Client()
    client.force_login(UserFactory())
    response = client.post(
        reverse("labs:exercise", kwargs={"slug": exercise.slug}), {"dockerfile": "  \n"}, follow=True
    )
    assert "The Dockerfile is empty." in response.content.decode()
    assert not Submission.objects.exists()
