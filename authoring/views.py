"""Authoring in the browser: a lesson's Markdown with a live preview, an exercise's
instructions, rubric and behaviour tests validated as you type, their revisions, "check this
exercise" and "try it as a student would". Every page answers a login redirect to the anonymous,
404 to anyone not on the course's staff and 403 to its assistants (`course_get_for_author`).
Reads are in selectors, writes in services; the views translate."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from authoring import selectors as sel
from authoring import services
from authoring.models import SessionRevision
from courses.markdown import render as render_markdown
from courses.markdown import render_preview
from labs.views import dockerfile_rows

LESSON_FIELDS = {"ko": SessionRevision.Field.KO, "en": SessionRevision.Field.EN}


def _lang(request: HttpRequest) -> tuple[str, str]:
    lang = request.GET.get("lang") or request.POST.get("lang") or "ko"
    if lang not in LESSON_FIELDS:
        lang = "ko"
    return lang, LESSON_FIELDS[lang]


@login_required
@require_GET
def course_home(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = sel.course_get_for_author(request.user, course_slug)
    return render(
        request, "authoring/course.html", {"course": course, "outline": sel.course_outline_for_author(course)}
    )


@login_required
@require_POST
def preview(request: HttpRequest, course_slug: str) -> JsonResponse:
    """The Markdown rendered by the lesson page's renderer (sanitised), for the live preview."""
    sel.course_get_for_author(request.user, course_slug)
    text = request.POST.get("text", "").replace("\r\n", "\n")
    try:
        services.lesson_check(text)
    except ValidationError as exc:
        return JsonResponse({"error": exc.messages[0]}, status=413)
    return JsonResponse({"html": str(render_preview(text))})


@login_required
@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, course_slug: str, session_slug: str) -> HttpResponse:
    session = sel.session_get_for_author(request.user, course_slug, session_slug)
    lang, field = _lang(request)
    text = getattr(session, field)
    error = ""
    note = ""
    if request.method == "POST":
        text = request.POST.get("text", "")
        note = request.POST.get("note", "")
        try:
            services.session_body_save(
                session=session,
                field=field,
                text=text,
                author=request.user,
                note=note,
                based_on=_based_on(request),
            )
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(request, _("Lesson saved. Students see the new text now."))
            return redirect(
                f"{reverse('authoring:session_edit', args=[course_slug, session_slug])}?lang={lang}"
            )
    revisions = sel.session_revisions(session, field)
    return render(
        request,
        "authoring/session_edit.html",
        {
            "course": session.course,
            "session": session,
            "lang": lang,
            "text": text,
            "note": note,
            "error": error,
            "preview_html": render_markdown(text[: services.LESSON_MAX_BYTES]),
            "max_bytes": services.LESSON_MAX_BYTES,
            "revisions": revisions[:5],
            "based_on": revisions[0].pk if revisions else 0,
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
def session_revisions(request: HttpRequest, course_slug: str, session_slug: str) -> HttpResponse:
    session = sel.session_get_for_author(request.user, course_slug, session_slug)
    lang, field = _lang(request)
    return render(
        request,
        "authoring/session_revisions.html",
        {
            "course": session.course,
            "session": session,
            "lang": lang,
            "revisions": sel.session_revisions(session, field),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_revision(
    request: HttpRequest, course_slug: str, session_slug: str, revision_id: int
) -> HttpResponse:
    session = sel.session_get_for_author(request.user, course_slug, session_slug)
    revision = sel.session_revision_get(session, revision_id)
    lang = "en" if revision.field == SessionRevision.Field.EN else "ko"
    if request.method == "POST":
        restored = services.session_revision_restore(revision=revision, author=request.user)
        messages.success(
            request,
            _("Revision %(old)s restored as revision %(new)s.") % {"old": revision.pk, "new": restored.pk},
        )
        return redirect(f"{reverse('authoring:session_edit', args=[course_slug, session_slug])}?lang={lang}")
    current = getattr(session, revision.field)
    diff = sel.text_diff(revision.text, current, old_label=f"revision {revision.pk}", new_label="current")
    return render(
        request,
        "authoring/session_revision.html",
        {"course": session.course, "session": session, "lang": lang, "revision": revision, "diff": diff},
    )


def _based_on(request: HttpRequest) -> int | None:
    """The newest revision the editor was opened on (a form without it does not check)."""
    value = request.POST.get("based_on", "")
    return int(value) if value.isdigit() else None


def _exercise_form(request: HttpRequest) -> dict[str, str]:
    return {
        k: request.POST.get(k, "")
        for k in ("instructions_md", "instructions_en", "rubric_yaml", "tests_yaml")
    }


@login_required
@require_http_methods(["GET", "POST"])
def exercise_edit(request: HttpRequest, course_slug: str, exercise_slug: str) -> HttpResponse:
    exercise = sel.exercise_get_for_author(request.user, course_slug, exercise_slug)
    values = vars(sel.exercise_editable(exercise)).copy()
    problems: dict[str, dict] = {}
    error = ""
    note = ""
    if request.method == "POST":
        values = _exercise_form(request)
        note = request.POST.get("note", "")
        try:
            services.exercise_text_save(
                exercise=exercise, author=request.user, note=note, based_on=_based_on(request), **values
            )
        except services.InvalidExercise as exc:
            problems = {p.field: p.as_dict() for p in exc.problems}
            error = _("Not saved: fix the problems shown beside the fields.")
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(request, _("Exercise saved. The next submission is graded with it."))
            return redirect("authoring:exercise_edit", course_slug, exercise_slug)
    revisions = sel.exercise_revisions(exercise)
    return render(
        request,
        "authoring/exercise_edit.html",
        {
            "course": exercise.course,
            "exercise": exercise,
            "values": values,
            "problems": problems,
            "error": error,
            "note": note,
            "revisions": revisions[:5],
            "based_on": revisions[0].pk if revisions else 0,
            "check": sel.check_latest(exercise),
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def exercise_validate(request: HttpRequest, course_slug: str, exercise_slug: str) -> JsonResponse:
    """The problems import_course would report for the rubric and tests as typed."""
    sel.exercise_get_for_author(request.user, course_slug, exercise_slug)
    *_data, problems = services.exercise_fields_check(
        rubric_yaml=request.POST.get("rubric_yaml", "").replace("\r\n", "\n"),
        tests_yaml=request.POST.get("tests_yaml", "").replace("\r\n", "\n"),
    )
    return JsonResponse({"problems": [p.as_dict() for p in problems]})


@login_required
@require_GET
def exercise_revisions(request: HttpRequest, course_slug: str, exercise_slug: str) -> HttpResponse:
    exercise = sel.exercise_get_for_author(request.user, course_slug, exercise_slug)
    return render(
        request,
        "authoring/exercise_revisions.html",
        {"course": exercise.course, "exercise": exercise, "revisions": sel.exercise_revisions(exercise)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def exercise_revision(
    request: HttpRequest, course_slug: str, exercise_slug: str, revision_id: int
) -> HttpResponse:
    exercise = sel.exercise_get_for_author(request.user, course_slug, exercise_slug)
    revision = sel.exercise_revision_get(exercise, revision_id)
    if request.method == "POST":
        try:
            restored = services.exercise_revision_restore(revision=revision, author=request.user)
        except services.InvalidExercise as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("Revision %(old)s restored as revision %(new)s.")
                % {"old": revision.pk, "new": restored.pk},
            )
        return redirect("authoring:exercise_edit", course_slug, exercise_slug)
    return render(
        request,
        "authoring/exercise_revision.html",
        {
            "course": exercise.course,
            "exercise": exercise,
            "revision": revision,
            "diffs": sel.exercise_revision_diff(exercise, revision),
        },
    )


@login_required
@require_POST
def check_start(request: HttpRequest, course_slug: str, exercise_slug: str) -> HttpResponse:
    exercise = sel.exercise_get_for_author(request.user, course_slug, exercise_slug)
    try:
        check = services.exercise_check_start(exercise=exercise, author=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("authoring:exercise_edit", course_slug, exercise_slug)
    return redirect("authoring:check", course_slug, exercise_slug, check.pk)


@login_required
@require_GET
def check_detail(request: HttpRequest, course_slug: str, exercise_slug: str, check_id: int) -> HttpResponse:
    exercise = sel.exercise_get_for_author(request.user, course_slug, exercise_slug)
    check = sel.check_get(exercise, check_id)
    return render(
        request,
        "authoring/check.html",
        {
            "course": exercise.course,
            "exercise": exercise,
            "check": check,
            "verdict": sel.check_verdict(check),
        },
    )


@login_required
@require_GET
def check_verdict(request: HttpRequest, course_slug: str, exercise_slug: str, check_id: int) -> JsonResponse:
    exercise = sel.exercise_get_for_author(request.user, course_slug, exercise_slug)
    return JsonResponse(sel.check_verdict(sel.check_get(exercise, check_id)).as_dict())


@login_required
@require_http_methods(["GET", "POST"])
def exercise_try(request: HttpRequest, course_slug: str, exercise_slug: str) -> HttpResponse:
    exercise = sel.exercise_get_for_author(request.user, course_slug, exercise_slug)
    dockerfile = exercise.starter_dockerfile
    dockerignore = ""
    error = ""
    if request.method == "POST":
        dockerfile = request.POST.get("dockerfile", "")
        dockerignore = request.POST.get("dockerignore", "")
        try:
            submission = services.exercise_try(
                exercise=exercise, author=request.user, dockerfile=dockerfile, dockerignore=dockerignore
            )
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            return redirect("labs:submission", submission.pk)
    return render(
        request,
        "authoring/try.html",
        {
            "course": exercise.course,
            "exercise": exercise,
            "dockerfile": dockerfile,
            "dockerignore": dockerignore,
            "error": error,
            "tries": sel.trials_for(exercise, request.user),
        },
        status=400 if error else 200,
    )


@xframe_options_sameorigin
@login_required
@require_GET
def trial_panel(
    request: HttpRequest, course_slug: str, exercise_slug: str, submission_id: int
) -> HttpResponse:
    """One trial's live panel alone, for the check page to frame (live.js drives one panel per
    document); only a trial of this exercise, and only to its authors."""
    exercise = sel.exercise_get_for_author(request.user, course_slug, exercise_slug)
    submission = sel.trial_get(exercise, submission_id)
    return render(
        request,
        "authoring/trial_panel.html",
        {"submission": submission, "graded_lines": dockerfile_rows(submission.dockerfile)},
    )
