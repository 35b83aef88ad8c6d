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


def test_instructions_follow_the_page_language_with_korean_as_the_fallback():
    exercise = ExerciseFactory(instructions_md="한국어 설명", instructions_en="English instructions")
    untranslated = ExerciseFactory(instructions_md="번역 없음", instructions_en="")
    client = Client()
    client.force_login(UserFactory())

    def page(ex, lang):
        url = reverse("labs:exercise", kwargs={"slug": ex.slug})
        return client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()

    assert "한국어 설명" in page(exercise, "ko") and "English instructions" not in page(exercise, "ko")
    assert "English instructions" in page(exercise, "en") and "한국어 설명" not in page(exercise, "en")
    assert "번역 없음" in page(untranslated, "en")


def test_the_exercise_page_shows_the_context_files_network_and_time_limit():
    exercise = ExerciseFactory(
        context_files={"app.py": "print('hi')\n", "requirements.txt": "flask==3.0.0\n"},
        assets=[{"path": "Python-3.11.2.tar.gz", "url": "http://x/y", "sha256": "0" * 64, "size": 26437858}],
        network="packages",
        build_timeout_seconds=2700,
    )
    client = Client()
    client.force_login(UserFactory())
    url = reverse("labs:exercise", kwargs={"slug": exercise.slug})
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Build context: 3 files" in page
    assert "flask==3.0.0" in page and "<code>Python-3.11.2.tar.gz</code>" in page
    assert "Debian, PyPI and npm package archives" in page
    assert "Build time limit: 45 min." in page
    korean = client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "빌드 제한 시간: 45분." in korean and "Debian·PyPI·npm" in korean
