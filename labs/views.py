import codecs
from urllib.parse import unquote_to_bytes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from courses.markdown import render as render_markdown
from courses.selectors import course_can_author
from courses.templatetags.layerlab import localized
from labs import pipeline
from labs.charts import attempts_chart
from labs.models import Exercise
from labs.selectors import (
    assignment_for_exercise_page,
    assignment_standing,
    assignments_accepting,
    attempts_compare,
    exercise_attempts,
    exercise_expects_dockerignore,
    exercise_static_findings,
    standing_line,
    standing_refusal_text,
    submission_get_for_user,
    submission_layer_files,
    submission_layers,
    submission_list_for_user,
    submission_neighbours,
    violation_text,
)
from labs.selectors_context import context_tree
from labs.services import lint_rate_take, submission_create
from sandbox import policy
from sandbox.limits import BuildLimits
from sandbox.policy import Violation


@login_required
@require_http_methods(["GET", "POST"])
def exercise_detail(request: HttpRequest, course_slug: str, slug: str) -> HttpResponse:
    exercise = get_object_or_404(
        Exercise.objects.select_related("session__course"), course__slug=course_slug, slug=slug
    )
    assignment = assignment_for_exercise_page(
        request.user, exercise, request.POST.get("assignment") or request.GET.get("assignment")
    )
    submissions = submission_list_for_user(request.user, exercise, assignment=assignment)[:20]
    dockerfile = submissions[0].dockerfile if submissions else exercise.starter_dockerfile
    dockerignore = submissions[0].dockerignore if submissions else ""
    refusals: list[str] = []  # why the posted form was refused, shown in the message area
    if request.method == "POST":
        dockerignore = request.POST.get("dockerignore", "")
        text, refused = _posted_dockerfile(request)
        dockerfile = text
        if refused is not None:
            refusals.append(violation_text(refused))
        else:
            try:
                submission = submission_create(
                    owner=request.user,
                    exercise=exercise,
                    dockerfile=dockerfile,
                    dockerignore=dockerignore,
                    assignment=assignment,
                )
            except ValidationError as exc:
                refusals.extend(exc.messages)
            else:
                query = f"assignment={assignment.pk}&" if assignment else ""
                return redirect(f"{exercise_url(exercise)}?{query}submission={submission.pk}#live")
    standing = (
        assignment_standing(user=request.user, assignment=assignment, exercise=exercise)
        if assignment
        else None
    )
    for message in refusals:
        messages.error(request, message)
    refusal_text = standing_refusal_text(standing) if standing and standing.refusal else ""
    current = None
    if refusals:
        pass  # the posted text was not graded: no earlier result may stand beside it
    elif request.GET.get("submission", "").isdigit():
        current = submission_get_for_user(request.user, int(request.GET["submission"]))
    elif submissions:
        current = submissions[0]
    return render(
        request,
        "labs/exercise.html",
        {
            "exercise": exercise,
            "instructions_html": render_markdown(localized(exercise, "instructions_md", "instructions_en")),
            "dockerfile": dockerfile,
            "dockerignore": dockerignore,
            "context": context_tree(exercise),
            "build_minutes": max(1, round(exercise.build_timeout_seconds / 60)),
            "submissions": submissions,
            "current": current,
            "graded_lines": dockerfile_rows(current.dockerfile) if current else [],
            "assignment": assignment,
            # Practice counts for nothing: say where an attempt at this exercise would count.
            "accepting": [] if assignment else assignments_accepting(request.user, exercise),
            "standing": standing,
            "standing_text": standing_line(standing) if standing else "",
            # Said once: a refusal already in the message area is not repeated by the button.
            "refusal_text": "" if refusal_text in refusals else refusal_text,
            # A refused form shows no result: only a link to the attempt before it.
            "refused": bool(refusals),
            "previous": submissions[0] if refusals and submissions else None,
            "can_author": course_can_author(request.user, exercise.course),
            "dockerignore_expected": exercise_expects_dockerignore(exercise=exercise),
            "editor_data": {
                "starter": exercise.starter_dockerfile,
                "lint_url": reverse("labs:lint", kwargs={"course_slug": course_slug, "slug": slug}),
                # The draft is kept per exercise, and per assignment on an assignment's page.
                "draft_key": f"layerlab:draft:{exercise.pk}:{assignment.pk if assignment else 0}",
                "graded": {"submission": current.pk, "dockerfile": current.dockerfile} if current else None,
                "posted": request.method == "POST",
            },
        },
    )


@require_POST
def exercise_lint(request: HttpRequest, course_slug: str, slug: str) -> JsonResponse:
    """The static findings on a draft, for the editor as the student types: the same policy
    and Dockerfile criteria a submission meets before its build. Answers in JSON only."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Log in again to check your Dockerfile.")}, status=401)
    exercise = get_object_or_404(
        Exercise.objects.select_related("session__course"), course__slug=course_slug, slug=slug
    )
    cap = BuildLimits().dockerfile_cap_bytes
    # Percent-encoding at most triples the bytes: a larger body is refused unread.
    if int(request.META.get("CONTENT_LENGTH") or 0) > 3 * (cap + 16 * 1024) + 4096:
        message = _("The Dockerfile is larger than %(kib)s KiB.") % {"kib": cap // 1024}
        return JsonResponse({"error": message}, status=413)
    wait = lint_rate_take(user=request.user)
    if wait:
        message = _("Checking paused: too many checks in a minute. It resumes in %(seconds)s s.")
        return JsonResponse({"error": message % {"seconds": wait}, "retry_after": wait}, status=429)
    ignore = request.POST.get("dockerignore", "").replace("\r\n", "\n")
    if len(ignore.encode("utf-8")) > 16 * 1024:
        return JsonResponse({"error": _("The .dockerignore is larger than 16 KiB.")}, status=413)
    text, refused = _posted_dockerfile(request)
    if len(text.replace("\r\n", "\n").encode("utf-8")) > cap:
        message = _("The Dockerfile is larger than %(kib)s KiB.") % {"kib": cap // 1024}
        return JsonResponse({"error": message}, status=413)
    if refused is not None:
        findings = [pipeline.refusal_finding(refused.code, refused.line, refused.message, refused.params)]
    else:
        findings = exercise_static_findings(exercise=exercise, dockerfile=text, dockerignore=ignore)
    return JsonResponse({"findings": findings})


def _posted_dockerfile(request: HttpRequest) -> tuple[str, Violation | None]:
    """The submitted Dockerfile as text, or why it is refused: its bytes as they were sent
    (an uploaded file, or the form field before Django decodes it) must be UTF-8. A decoder
    that replaced a bad byte with U+FFFD would grade a different file from the one sent."""
    upload = request.FILES.get("dockerfile")
    if upload is not None:
        cap = BuildLimits().dockerfile_cap_bytes
        raw = upload.read(cap + 1)
        if len(raw) > cap:
            return "", _too_large(upload.size or len(raw), cap)
        return _decoded(raw)
    if request.content_type == "application/x-www-form-urlencoded":
        raw_field = _form_field(request.body, b"dockerfile")
        return _decoded(raw_field or b"")
    # A multipart text field reaches us already decoded, bad bytes replaced by U+FFFD. What came
    # before the first one was valid UTF-8 and re-encodes to the bytes sent, so its line and byte
    # are exact; the size is not (the bytes each U+FFFD stands for are gone), nor can a U+FFFD
    # that was really in the file be told apart: it is refused too.
    text = request.POST.get("dockerfile", "")
    bad = text.find("\ufffd")
    if bad >= 0:
        return _decoded(text[:bad].encode("utf-8") + b"\xff" + text[bad + 1 :].encode("utf-8"))
    return text, None


def _decoded(raw: bytes) -> tuple[str, Violation | None]:
    refused = policy.check_utf8(raw)
    if refused is not None:
        # Shown back in the editor so the student sees where; never graded.
        return raw.decode("utf-8", "replace"), refused
    return raw.removeprefix(codecs.BOM_UTF8).decode("utf-8"), None


def _form_field(body: bytes, name: bytes) -> bytes | None:
    """The value of `name` in an urlencoded body, as bytes, undecoded; the last one if it is
    there twice, as `request.POST.get` picks."""
    found = None
    for pair in body.split(b"&"):
        key, _, value = pair.partition(b"=")
        if unquote_to_bytes(key.replace(b"+", b" ")) == name:
            found = unquote_to_bytes(value.replace(b"+", b" "))
    return found


def _too_large(size: int, cap: int) -> Violation:
    return Violation(
        "too_large",
        None,
        f"the Dockerfile is {size:,} bytes, over the limit of {cap:,} bytes.",
        {"size": str(size), "limit": str(cap)},
    )


def dockerfile_rows(text: str) -> list[list[dict[str, str]]]:
    """The Dockerfile's lines as shown (split on newlines only, as the engine counts them, not
    on the other breaks `str.splitlines` knows), each a list of parts: plain text, or a visible
    marker for an invisible direction-control character."""
    rows = []
    for line in text.split("\n"):
        parts: list[dict[str, str]] = []
        plain = ""
        for ch in line:
            if ch in policy.BIDI_CONTROLS:
                if plain:
                    parts.append({"text": plain})
                    plain = ""
                parts.append(
                    {"mark": f"\u27e8U+{ord(ch):04X}\u27e9", "name": policy.char_name(ch), "char": ch}
                )
            else:
                plain += ch
        if plain:
            parts.append({"text": plain})
        rows.append(parts)
    if len(rows) > 1 and not rows[-1]:
        rows.pop()  # the newline that ends the last line
    return rows


def exercise_url(exercise: Exercise) -> str:
    return exercise.get_absolute_url()


@login_required
def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = submission_get_for_user(request.user, submission_id)
    return render(
        request,
        "labs/submission.html",
        {
            "submission": submission,
            "graded_lines": dockerfile_rows(submission.dockerfile),
            "gradings": list(submission.gradings.all()),
            "neighbours": submission_neighbours(submission=submission),
        },
    )


@login_required
def submission_layers_json(request: HttpRequest, submission_id: int) -> JsonResponse:
    return JsonResponse(submission_layers(user=request.user, submission_id=submission_id))


@login_required
def submission_layer_files_json(request: HttpRequest, submission_id: int, index: int) -> JsonResponse:
    return JsonResponse(submission_layer_files(user=request.user, submission_id=submission_id, index=index))


def _id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 12 else None


@login_required
def exercise_history(request: HttpRequest, course_slug: str, slug: str) -> HttpResponse:
    exercise = get_object_or_404(
        Exercise.objects.select_related("session__course"), course__slug=course_slug, slug=slug
    )
    attempts = exercise_attempts(user=request.user, exercise=exercise)
    before, after = _id(request.GET.get("before")), _id(request.GET.get("after"))
    asked = "before" in request.GET or "after" in request.GET
    if asked and (before is None or after is None):
        raise Http404
    comparison = (
        attempts_compare(attempts=attempts, before_id=before, after_id=after)
        if before is not None and after is not None
        else None
    )
    return render(
        request,
        "labs/history.html",
        {
            "exercise": exercise,
            "attempts": attempts,
            "newest_first": list(reversed(attempts)),
            "chart": attempts_chart([(a.number, a.score, a.submission.image_size) for a in attempts]),
            "comparison": comparison,
            # The newest attempt while it is graded: its live panel feeds the table's live scores.
            "active": attempts[-1].submission
            if attempts and not attempts[-1].submission.is_finished
            else None,
            "pick_before": before or (attempts[-2].submission.pk if len(attempts) > 1 else None),
            "pick_after": after or (attempts[-1].submission.pk if attempts else None),
        },
    )
