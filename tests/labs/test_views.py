"""Pages as a person sees them, without a browser: language, refusals, messages."""

from urllib.parse import quote_from_bytes

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from labs.models import Submission
from tests.factories import ExerciseFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_pages_speak_korean_or_english_as_the_browser_asks():
    client = Client()
    assert "로그인" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "Log in" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_exercise_page_needs_a_login():
    exercise = ExerciseFactory()
    response = Client().get(exercise.get_absolute_url())
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_exercise_page_starts_with_the_starter_dockerfile():
    exercise = ExerciseFactory()
    client = Client()
    client.force_login(UserFactory())
    page = client.get(exercise.get_absolute_url()).content.decode()
    assert "FROM python:3.11-slim" in page
    assert "python:3.11-slim</code>" in page  # the allowed bases are listed


def test_an_empty_dockerfile_is_refused_with_a_message_and_nothing_is_stored():
    exercise = ExerciseFactory()
    client = Client()
    client.force_login(UserFactory())
    response = client.post(exercise.get_absolute_url(), {"dockerfile": "  \n"}, follow=True)
    assert "Dockerfile이 비어 있습니다." in response.content.decode()  # the interface's default language
    response = client.post(
        exercise.get_absolute_url(), {"dockerfile": "  \n"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "The Dockerfile is empty." in response.content.decode()
    assert not Submission.objects.exists()


def test_instructions_follow_the_page_language_with_korean_as_the_fallback():
    exercise = ExerciseFactory(instructions_md="한국어 설명", instructions_en="English instructions")
    untranslated = ExerciseFactory(instructions_md="번역 없음", instructions_en="")
    client = Client()
    client.force_login(UserFactory())

    def page(ex, lang):
        url = ex.get_absolute_url()
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
    url = exercise.get_absolute_url()
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Build context: 3 files" in page
    assert "flask==3.0.0" in page and "<code>Python-3.11.2.tar.gz</code>" in page
    assert "Debian, PyPI and npm package archives" in page
    assert "Build time limit: 45 min." in page
    korean = client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "빌드 제한 시간: 45분." in korean and "Debian·PyPI·npm" in korean


# A Dockerfile sent as bytes is checked as those bytes: not UTF-8 is refused, never decoded with
# replacement characters and graded.

NOT_UTF8 = b"FROM python:3.11-slim\nLABEL caf\xe9=1\n"  # Latin-1, as an old editor saves it
NOT_UTF8_EN = (
    "Line 2: the Dockerfile is not valid UTF-8 text (byte 32 of 35). "
    "Save it as UTF-8 and remove any binary data."
)
NOT_UTF8_KO = (
    "2번째 줄: Dockerfile이 올바른 UTF-8 텍스트가 아닙니다(35바이트 중 32번째 바이트). "
    "UTF-8로 저장하고 바이너리 데이터를 지우세요."
)


def post_exercise(body: bytes, content_type: str, lang: str = "en"):  # type: ignore[no-untyped-def]
    exercise = ExerciseFactory()
    client = Client()
    client.force_login(UserFactory())
    url = exercise.get_absolute_url()
    return client.post(url, data=body, content_type=content_type, HTTP_ACCEPT_LANGUAGE=lang, follow=True)


def test_a_form_post_of_latin1_bytes_is_refused_with_the_line_and_byte():
    body = b"dockerfile=" + quote_from_bytes(NOT_UTF8).encode() + b"&dockerignore="
    response = post_exercise(body, "application/x-www-form-urlencoded")
    assert NOT_UTF8_EN in response.content.decode()
    assert not Submission.objects.exists()


def test_raw_bytes_in_a_form_post_are_refused_in_korean_on_a_korean_page():
    response = post_exercise(
        b"dockerfile=" + NOT_UTF8.replace(b" ", b"+"), "application/x-www-form-urlencoded", "ko"
    )
    assert NOT_UTF8_KO in response.content.decode()
    assert not Submission.objects.exists()


def test_an_uploaded_dockerfile_that_is_not_utf8_is_refused():
    exercise = ExerciseFactory()
    client = Client()
    client.force_login(UserFactory())
    url = exercise.get_absolute_url()
    upload = SimpleUploadedFile("Dockerfile", NOT_UTF8)
    response = client.post(url, {"dockerfile": upload}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert NOT_UTF8_EN in response.content.decode()
    assert not Submission.objects.exists()


def test_a_multipart_text_field_with_a_bad_byte_is_refused_at_that_byte():
    boundary = "layerlab-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="dockerfile"\r\n\r\n'.encode()
        + NOT_UTF8
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = post_exercise(body, f"multipart/form-data; boundary={boundary}")
    assert "Line 2: the Dockerfile is not valid UTF-8 text (byte 32 of " in response.content.decode()
    assert not Submission.objects.exists()


def test_a_utf8_form_post_is_stored_exactly_as_sent():
    text = 'FROM python:3.11-slim\nLABEL café=1 note="a+b & c=d"\nRUN echo 한국어\n'
    body = b"dockerfile=" + quote_from_bytes(text.encode()).encode() + b"&dockerignore=%2A.pyc"
    post_exercise(body, "application/x-www-form-urlencoded")
    submission = Submission.objects.get()
    assert (submission.dockerfile, submission.dockerignore) == (text, "*.pyc")


def test_a_utf8_upload_with_a_byte_order_mark_is_stored_without_it():
    exercise = ExerciseFactory()
    client = Client()
    client.force_login(UserFactory())
    url = exercise.get_absolute_url()
    upload = SimpleUploadedFile("Dockerfile", b"\xef\xbb\xbfFROM python:3.11-slim\nRUN echo caf\xc3\xa9\n")
    client.post(url, {"dockerfile": upload})
    assert Submission.objects.get().dockerfile == "FROM python:3.11-slim\nRUN echo café\n"


# The graded Dockerfile as shown: invisible direction controls made visible, lines counted as
# the engine counts them.


def test_the_graded_dockerfile_shows_a_marker_for_each_direction_control():
    submission = SubmissionFactory(dockerfile='FROM python:3.11-slim\nRUN echo "abc\u202edef"\n')
    client = Client()
    client.force_login(submission.owner)
    page = client.get(reverse("labs:submission", kwargs={"submission_id": submission.pk})).content.decode()
    assert (
        '<li id="L2"><code>RUN echo &quot;abc<span class="bidi-mark" title="U+202E RIGHT-TO-LEFT OVERRIDE" '
        'data-char="\u202e">⟨U+202E⟩</span>def&quot;</code></li>'
    ) in page
    assert "abc\u202edef" not in page


def test_the_graded_dockerfile_numbers_lines_as_the_engine_does():
    # U+2028 and a form feed are line breaks to Python's str.splitlines, not to BuildKit.
    submission = SubmissionFactory(dockerfile="FROM python:3.11-slim\n# a\u2028b\x0cc\nRUN true\n")
    client = Client()
    client.force_login(submission.owner)
    page = client.get(reverse("labs:submission", kwargs={"submission_id": submission.pk})).content.decode()
    assert '<li id="L3"><code>RUN true</code></li>' in page
    assert 'id="L4"' not in page
