"""The interface language as a person chooses it: kept on their account, so it follows them to a
new browser; course descriptions and times in the page's language and the run's zone."""

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from courses.models import Profile
from courses.templatetags.layerlab import format_when
from tests.factories import CourseFactory, UserFactory

pytestmark = pytest.mark.django_db


def lang_of(response) -> str:  # type: ignore[no-untyped-def]
    html = response.content.decode()
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_switching_while_logged_in_keeps_the_choice_on_the_account() -> None:
    user = UserFactory(username="ara")
    first = Client()
    first.force_login(user)
    response = first.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert Profile.objects.get(user=user).language == "en"
    # A fresh browser (no cookie), asking for Korean, logs in: English, from the account.
    fresh = Client(HTTP_ACCEPT_LANGUAGE="ko")
    login = fresh.post("/login/", {"username": "ara", "password": "pw-for-tests"})
    assert login.status_code == 302
    assert login.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert lang_of(fresh.get("/")) == "en"
    assert "My course runs" in fresh.get("/").content.decode()


def test_the_stored_choice_wins_over_an_old_cookie_and_the_browser() -> None:
    user = UserFactory()
    Profile.objects.create(user=user, language="en")
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    client.force_login(user)
    response = client.get("/")
    assert lang_of(response) == "en"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_an_anonymous_visitor_keeps_the_cookie_and_stores_nothing() -> None:
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert lang_of(client.get("/login/")) == "en"
    assert not Profile.objects.exists()


def test_a_person_who_never_chose_follows_the_cookie() -> None:
    client = Client()
    client.force_login(UserFactory())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert lang_of(client.get("/")) == "en"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ko"
    assert lang_of(client.get("/")) == "ko"


def test_switching_back_to_korean_is_kept_too() -> None:
    user = UserFactory()
    Profile.objects.create(user=user, language="en")
    client = Client()
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "ko", "next": "/"})
    assert Profile.objects.get(user=user).language == "ko"
    assert lang_of(client.get("/")) == "ko"


def test_an_unknown_language_is_not_stored() -> None:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert not Profile.objects.exists()


def test_the_course_description_is_shown_in_the_page_language_only() -> None:
    course = CourseFactory(description="한국어 소개", description_en="An English introduction")
    untranslated = CourseFactory(description="번역 없는 소개", description_en="")
    client = Client()
    client.force_login(UserFactory())
    for path in ("/", f"/courses/{course.slug}/"):
        english = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        korean = client.get(path, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
        assert '<p data-role="course-description">An English introduction</p>' in english
        assert "한국어 소개" not in english
        assert '<p data-role="course-description">한국어 소개</p>' in korean
        assert "An English introduction" not in korean
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<p data-role="course-description">번역 없는 소개</p>' in english
    assert untranslated.description_en == ""


def test_a_time_is_shown_with_its_zone() -> None:
    moment = datetime(2026, 12, 2, 5, 0, 7, tzinfo=UTC)
    assert format_when(moment, "Asia/Seoul") == "2026-12-02 14:00 KST"
    assert format_when(moment, "Europe/Berlin") == "2026-12-02 06:00 CET"
    assert format_when(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "Europe/Berlin") == "2026-07-01 14:00 CEST"
    assert format_when(moment, "Asia/Dubai") == "2026-12-02 09:00 UTC+04"
    assert format_when(moment, "UTC") == "2026-12-02 05:00 UTC"
    assert format_when(moment, "Asia/Seoul", seconds=True) == "2026-12-02 14:00:07 KST"
    assert format_when(None, "Asia/Seoul") == ""


def test_the_filters_use_the_site_zone_unless_given_one() -> None:
    moment = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    template = Template(
        "{% load layerlab %}{{ t|when }} · {{ t|when:'Europe/Berlin' }} · {{ t|when_seconds }}"
    )
    with translation.override("en"):
        shown = template.render(Context({"t": moment}))
    assert shown == "2026-12-02 14:00 KST · 2026-12-02 06:00 CET · 2026-12-02 14:00:00 KST"


def test_pages_do_not_ask_the_database_for_the_language() -> None:
    user = UserFactory()
    Profile.objects.create(user=user, language="en")
    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert lang_of(response) == "en"
    assert [q["sql"] for q in queries.captured_queries if "courses_profile" in q["sql"]] == []
