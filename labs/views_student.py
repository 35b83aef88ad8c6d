"""The student's side of the classroom: the course page (for everyone), their course runs and
an assignment's page. What each may see is decided in `labs.selectors`."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from courses.models import Course
from labs.selectors import assignment_get_for_member, assignment_page, course_outline, member_runs


def course_detail(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = get_object_or_404(Course, slug=course_slug)
    return render(request, "courses/course.html", {"outline": course_outline(course, request.user)})


@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    return render(request, "labs/runs.html", {"runs": member_runs(request.user)})


@login_required
def assignment_detail(request: HttpRequest, run_slug: str, assignment_id: int) -> HttpResponse:
    viewer = assignment_get_for_member(request.user, run_slug=run_slug, assignment_id=assignment_id)
    return render(
        request,
        "labs/assignment.html",
        {
            "viewer": viewer,
            "run": viewer.assignment.run,
            "page": assignment_page(request.user, viewer.assignment),
        },
    )
