"""The interface language of a signed-in person is the one kept on their account; anonymous
visitors keep Django's cookie (LocaleMiddleware)."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from courses.selectors import profile_language_for


class UserLanguageMiddleware:
    """After AuthenticationMiddleware: a signed-in person's stored choice wins over the cookie
    and the browser's Accept-Language. The response carries it as the cookie too, so the page
    after logging out (and the login page itself, next time) speaks the same language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        before = _user_id(request)
        chosen = profile_language_for(before) if before else ""
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        response = self.get_response(request)
        after = _user_id(request)
        if after != before:  # logged in (or out) by this request
            chosen = profile_language_for(after) if after else ""
        elif after and getattr(request, "language_stored", ""):  # switched by this request
            chosen = request.language_stored
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


def _user_id(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None
