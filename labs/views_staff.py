"""A course run's staff pages: dashboard, assignments, extensions, the gradebook and its exports,
the run's submissions, per-exercise statistics and regrades. Every page answers a login redirect
to the anonymous and 404 to anyone who is not staff of that run (`run_get_for_staff`); the
instructor-only actions answer 403 to assistants. Reads are in selectors, writes in services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses.forms import form_add_errors
from courses.models import CourseRun, Membership
from courses.selectors import run_get_for_staff
from labs import exports, services
from labs import selectors_staff as staff
from labs.forms_staff import (
    AssignmentForm,
    ExtensionForm,
    RegradeStartForm,
    SubmissionFilterForm,
)
from labs.models import Assignment, Regrade, Submission
from labs.selectors import gradebook_for

PAGE_SIZE = 50


def _run(request: HttpRequest, run_slug: str) -> CourseRun:
    return run_get_for_staff(request.user, run_slug)


def _instructor_only(run: CourseRun) -> None:
    if not run.viewer_can_manage:  # type: ignore[attr-defined]
        raise PermissionDenied(_("Only the run's instructors may do this."))


def _teaching_staff_only(run: CourseRun) -> None:
    """Instructors and assistants of the run (and superusers) change a student's terms; a
    course's authors may look at every run but teach none of them."""
    if not (run.viewer_can_manage or run.viewer_role in Membership.STAFF):  # type: ignore[attr-defined]
        raise PermissionDenied(_("Only the run's instructors and assistants may do this."))


@login_required
@require_GET
def dashboard(request: HttpRequest, run_slug: str) -> HttpResponse:
    run = _run(request, run_slug)
    return render(request, "labs/staff/dashboard.html", {"run": run, "board": staff.run_dashboard(run)})


@login_required
@require_http_methods(["GET", "POST"])
def assignment_create(request: HttpRequest, run_slug: str) -> HttpResponse:
    run = _run(request, run_slug)
    _instructor_only(run)
    return _assignment_form(request, run, None)


@login_required
@require_http_methods(["GET", "POST"])
def assignment_edit(request: HttpRequest, run_slug: str, assignment_id: int) -> HttpResponse:
    run = _run(request, run_slug)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    _instructor_only(run)
    return _assignment_form(request, run, assignment)


def _assignment_form(request: HttpRequest, run: CourseRun, assignment: Assignment | None) -> HttpResponse:
    initial = (
        AssignmentForm.initial_for(assignment)
        if assignment
        else {"late_penalty": "per_day", "counting": "best"}
    )
    form = AssignmentForm(
        request.POST or None, initial=initial, zone=run.tz, exercises=staff.run_exercises(run)
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.assignment_save(run=run, assignment=assignment, **form.service_kwargs())
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(
                request,
                (_("Assignment “%(title)s” saved.") if assignment else _("Assignment “%(title)s” created."))
                % {"title": saved.title},
            )
            return redirect("staff:gradebook", run_slug=run.slug, assignment_id=saved.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "labs/staff/assignment_form.html",
        {"run": run, "assignment": assignment, "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def extensions(request: HttpRequest, run_slug: str, assignment_id: int) -> HttpResponse:
    run = _run(request, run_slug)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    initial: dict[str, Any] = {"due_at": assignment.due_at}
    if request.GET.get("student", "").isdigit():
        found = staff.run_students(run).filter(user_id=int(request.GET["student"])).first()
        if found is not None:
            initial["student"] = found
    form = ExtensionForm(request.POST or None, initial=initial, zone=run.tz, students=staff.run_students(run))
    if request.method == "POST":
        _teaching_staff_only(run)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.extension_grant(
                assignment=assignment,
                user_id=data["student"].user_id,
                due_at=data["due_at"],
                late_until=data["late_until"],
                extra_attempts=data["extra_attempts"],
                reason=data["reason"],
            )
        except ValidationError as exc:
            form_add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Extension for %(user)s saved.") % {"user": data["student"].user.get_username()},
            )
            return redirect("staff:extensions", run_slug=run.slug, assignment_id=assignment.pk)
    return render(
        request,
        "labs/staff/extensions.html",
        {
            "run": run,
            "assignment": assignment,
            "form": form,
            "extensions": staff.extension_list(assignment),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def extension_revoke(
    request: HttpRequest, run_slug: str, assignment_id: int, extension_id: int
) -> HttpResponse:
    run = _run(request, run_slug)
    _teaching_staff_only(run)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    extension = staff.extension_get_in_assignment(assignment, extension_id)
    username = extension.user.get_username()
    services.extension_revoke(extension=extension)
    messages.success(request, _("Extension for %(user)s removed.") % {"user": username})
    return redirect("staff:extensions", run_slug=run.slug, assignment_id=assignment.pk)


@login_required
@require_GET
def gradebook(request: HttpRequest, run_slug: str, assignment_id: int) -> HttpResponse:
    run = _run(request, run_slug)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    book = gradebook_for(assignment)
    ws_path = reverse("staff:gradebook", kwargs={"run_slug": run.slug, "assignment_id": assignment.pk})
    return render(
        request,
        "labs/staff/gradebook.html",
        {
            "run": run,
            "assignment": assignment,
            "book": book,
            "ws_path": f"/ws{ws_path}",
            "regrade": staff.regrade_latest(assignment),
            "regrade_form": RegradeStartForm(),
        },
    )


@login_required
@require_GET
def gradebook_student(request: HttpRequest, run_slug: str, assignment_id: int, user_id: int) -> HttpResponse:
    run = _run(request, run_slug)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    membership = staff.student_get_in_run(run, user_id)
    return render(
        request,
        "labs/staff/gradebook_student.html",
        {"run": run, "assignment": assignment, "detail": staff.gradebook_student(assignment, membership)},
    )


def _export_name(run: CourseRun, assignment: Assignment, ext: str) -> str:
    return f"{run.slug}-assignment-{assignment.pk}-gradebook.{ext}"


@login_required
@require_GET
def gradebook_csv(request: HttpRequest, run_slug: str, assignment_id: int) -> HttpResponse:
    run = _run(request, run_slug)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    response = HttpResponse(
        exports.gradebook_csv(gradebook_for(assignment)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name(run, assignment, "csv")}"'
    return response


@login_required
@require_GET
def gradebook_json(request: HttpRequest, run_slug: str, assignment_id: int) -> HttpResponse:
    run = _run(request, run_slug)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    response = JsonResponse(
        exports.gradebook_data(gradebook_for(assignment)), json_dumps_params={"ensure_ascii": False}
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name(run, assignment, "json")}"'
    return response


@login_required
@require_GET
def submissions(request: HttpRequest, run_slug: str) -> HttpResponse:
    run = _run(request, run_slug)
    form = SubmissionFilterForm(
        request.GET or None,
        students=staff.run_students(run),
        exercises=staff.run_exercises(run),
        assignments=staff.assignment_list_for_run(run),
    )
    found = staff.run_submission_list(run).none()
    if not form.is_bound:
        found = staff.run_submission_list(run)
    elif form.is_valid():
        d = form.cleaned_data
        found = staff.run_submission_list(
            run,
            user_id=d["student"],
            exercise_id=d["exercise"],
            assignment_id=d["assignment"],
            status=d["status"] or None,
            score_min=d["score_min"],
            score_max=d["score_max"],
            late=d["late"],
        )
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "labs/staff/submissions.html",
        {"run": run, "form": form, "page": page, "query": query.urlencode()},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@login_required
@require_GET
def exercise_stats(request: HttpRequest, run_slug: str, exercise_id: int) -> HttpResponse:
    run = _run(request, run_slug)
    exercise = staff.exercise_get_in_run(run, exercise_id)
    return render(
        request,
        "labs/staff/exercise_stats.html",
        {"run": run, "stats": staff.exercise_stats(run, exercise), "statuses": Submission.COUNTED},
    )


@login_required
@require_POST
def regrade_start(request: HttpRequest, run_slug: str, assignment_id: int) -> HttpResponse:
    run = _run(request, run_slug)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    _instructor_only(run)
    form = RegradeStartForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    regrade = services.regrade_start(assignment=assignment, by=request.user, reason=reason)
    return redirect("staff:regrade", run_slug=run.slug, assignment_id=assignment.pk, regrade_id=regrade.pk)


@login_required
@require_GET
def regrade_detail(request: HttpRequest, run_slug: str, assignment_id: int, regrade_id: int) -> HttpResponse:
    run = _run(request, run_slug)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    regrade = staff.regrade_get_in_assignment(assignment, regrade_id)
    context: dict[str, Any] = {
        "run": run,
        "assignment": assignment,
        "regrade": regrade,
        "progress": staff.regrade_progress(regrade),
    }
    if regrade.status == Regrade.Status.READY:
        context["preview"] = staff.regrade_preview(regrade)
    elif regrade.status == Regrade.Status.APPLIED:
        context["applied_items"] = staff.regrade_items_applied(regrade)
    return render(request, "labs/staff/regrade.html", context)


@login_required
@require_GET
def regrade_progress(
    request: HttpRequest, run_slug: str, assignment_id: int, regrade_id: int
) -> HttpResponse:
    run = _run(request, run_slug)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    regrade = staff.regrade_get_in_assignment(assignment, regrade_id)
    return JsonResponse(staff.regrade_progress(regrade).as_dict())


@login_required
@require_POST
def regrade_apply(request: HttpRequest, run_slug: str, assignment_id: int, regrade_id: int) -> HttpResponse:
    run = _run(request, run_slug)
    assignment = staff.assignment_get_in_run(run, assignment_id)
    regrade = staff.regrade_get_in_assignment(assignment, regrade_id)
    _instructor_only(run)
    try:
        changed = services.regrade_apply(regrade=regrade)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(
            "staff:regrade", run_slug=run.slug, assignment_id=assignment.pk, regrade_id=regrade.pk
        )
    messages.success(
        request,
        ngettext(
            "Regrade applied: %(n)d submission has its new result.",
            "Regrade applied: %(n)d submissions have their new results.",
            changed,
        )
        % {"n": changed},
    )
    return redirect("staff:gradebook", run_slug=run.slug, assignment_id=assignment.pk)
