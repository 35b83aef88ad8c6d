from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from courses.markdown import render as render_markdown
from courses.templatetags.layerlab import localized
from labs.models import Exercise
from labs.selectors import submission_get_for_user, submission_list_for_user
from labs.services import submission_create


@login_required
@require_http_methods(["GET", "POST"])
def exercise_detail(request: HttpRequest, slug: str) -> HttpResponse:
    exercise = get_object_or_404(Exercise.objects.select_related("session__course"), slug=slug)
    submissions = submission_list_for_user(request.user, exercise)[:20]
    dockerfile = submissions[0].dockerfile if submissions else exercise.starter_dockerfile
    dockerignore = submissions[0].dockerignore if submissions else ""
    if request.method == "POST":
        dockerfile = request.POST.get("dockerfile", "")
        dockerignore = request.POST.get("dockerignore", "")
        try:
            submission = submission_create(
                owner=request.user, exercise=exercise, dockerfile=dockerfile, dockerignore=dockerignore
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            return redirect(f"{exercise_url(exercise)}?submission={submission.pk}#live")
    current = None
    if request.GET.get("submission", "").isdigit():
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
            "context_listing": _context_listing(exercise),
            "build_minutes": max(1, round(exercise.build_timeout_seconds / 60)),
            "submissions": submissions,
            "current": current,
        },
    )


def _context_listing(exercise: Exercise) -> list[dict[str, object]]:
    """What the student's build context holds: the app's files to read, and the large provided ones."""
    files: list[dict[str, object]] = [
        {"path": path, "size": len(text.encode("utf-8")), "text": text}
        for path, text in sorted(exercise.context_files.items())
    ]
    files += [{"path": a["path"], "size": a["size"], "text": None} for a in exercise.assets or []]
    return files


def exercise_url(exercise: Exercise) -> str:
    return reverse("labs:exercise", kwargs={"slug": exercise.slug})


@login_required
def submission_detail(request: HttpRequest, submission_id: int) -> HttpResponse:
    submission = submission_get_for_user(request.user, submission_id)
    return render(request, "labs/submission.html", {"submission": submission})
