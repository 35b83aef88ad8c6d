"""The interface language of a signed-in person is the one kept on their account; anonymous
visitors keep Django's cookie (LocaleMiddleware).

The account's choice is read once, when the person logs in, into their session (so no page asks
the database for it), and written to both when they switch."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from courses.selectors import profile_language_for

SESSION_KEY = "layerlab_language"


def session_language_load(*, request: HttpRequest, user: Any, **_: Any) -> None:
    """On login (the `user_logged_in` signal): the account's choice into the new session."""
    language = profile_language_for(user.pk)
    if language:
        request.session[SESSION_KEY] = language


def session_language_set(request: HttpRequest, language: str) -> None:
    request.session[SESSION_KEY] = language


class UserLanguageMiddleware:
    """After AuthenticationMiddleware: a signed-in person's stored choice wins over the cookie
    and the browser's Accept-Language. The response carries it as the cookie too, so the page
    after logging out (and the login page itself, next time) speaks the same language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = _chosen(request)
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        response = self.get_response(request)
        chosen = _chosen(request)  # this request may have logged someone in, or switched
        if chosen and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != chosen:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                chosen,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response


def _chosen(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    language = request.session.get(SESSION_KEY, "")
    return language if language in dict(settings.LANGUAGES) else ""
