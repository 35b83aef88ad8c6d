from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from courses.markdown import render as render_markdown
from courses.middleware import session_language_set
from courses.models import Course, Session
from courses.selectors import course_can_author
from courses.services import profile_language_set
from courses.templatetags.layerlab import localized


@login_required
def course_list(request: HttpRequest) -> HttpResponse:
    # Each exercise link names its course: fetched with the exercises, not once a link.
    courses = Course.objects.prefetch_related("sessions__exercises__course")
    return render(request, "courses/list.html", {"courses": courses})


@login_required
def session_detail(request: HttpRequest, course_slug: str, session_slug: str) -> HttpResponse:
    session = get_object_or_404(
        Session.objects.select_related("course"), course__slug=course_slug, slug=session_slug
    )
    return render(
        request,
        "courses/session.html",
        {
            "session": session,
            "body_html": render_markdown(localized(session, "body_md")),
            "exercises": session.exercises.select_related("course"),
            "can_author": course_can_author(request.user, session.course),
        },
    )


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's `set_language` (the cookie, the redirect back), and for a signed-in person the
    choice kept on their account as well."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        profile_language_set(user=request.user, language=language)
        session_language_set(request, language)
    return response
