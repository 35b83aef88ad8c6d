"""Reads for course runs: who may see what. Staff of one run see nothing of another, so every
staff page starts from `run_get_for_staff`, which answers 404 (not 403) to everyone else: a run's
existence is not theirs to learn either."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.http import Http404

from courses.models import Course, CourseRun, Membership, Profile


def run_role(user: Any, run: CourseRun) -> str | None:
    """The user's role in the run (a `Membership.Role` value), or None for a non-member."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(run=run, user=user).values_list("role", flat=True).first()


def run_can_manage(user: Any, run: CourseRun) -> bool:
    """Instructors of the run manage it (roles, invitation code); so do superusers, who run the site."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    return run_role(user, run) == Membership.Role.INSTRUCTOR


def run_is_staff(user: Any, run: CourseRun) -> bool:
    """May see the run's staff pages: its instructors and assistants, the course's authors
    (`Course.staff`, who see every run of their course) and superusers."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser and user.is_active:
        return True
    return run_role(user, run) in Membership.STAFF or run.course.staff.filter(pk=user.pk).exists()


def runs_for_user(user: Any) -> QuerySet[CourseRun]:
    """The runs the user is a member of, newest first, each with `role` (the user's role in it)."""
    if not getattr(user, "is_authenticated", False):
        return CourseRun.objects.none()
    role = Membership.objects.filter(run=OuterRef("pk"), user=user).values("role")[:1]
    return (
        CourseRun.objects.filter(memberships__user=user)
        .select_related("course")
        .annotate(role=Subquery(role))
        .order_by("-starts_on", "-created_at", "title")
    )


def run_get_for_staff(user: Any, slug: str) -> CourseRun:
    """The run for a staff page: its instructors and assistants, the course's authors
    (`Course.staff`, who see every run of their course) and superusers; 404 for anyone else
    (students of the run, staff of other runs, strangers). The run carries `viewer_role` and
    `viewer_can_manage` (instructors and superusers) for the page to use."""
    run = CourseRun.objects.select_related("course").filter(slug=slug).first()
    if run is None or not run_is_staff(user, run):
        raise Http404("no such course run")
    run.viewer_role = run_role(user, run)  # type: ignore[attr-defined]
    run.viewer_can_manage = run_can_manage(user, run)  # type: ignore[attr-defined]
    return run


def membership_list(run: CourseRun) -> QuerySet[Membership]:
    """The roster: staff first (instructors, assistants), then students, each by username."""
    order = {Membership.Role.INSTRUCTOR: 0, Membership.Role.ASSISTANT: 1, Membership.Role.STUDENT: 2}
    rank = Case(*(When(role=r, then=Value(n)) for r, n in order.items()), output_field=IntegerField())
    return (
        Membership.objects.filter(run=run)
        .select_related("user")
        .annotate(rank=rank)
        .order_by("rank", "user__username")
    )


def membership_get_in_run(run: CourseRun, membership_id: int) -> Membership:
    membership = Membership.objects.select_related("user", "run").filter(run=run, pk=membership_id).first()
    if membership is None:
        raise Http404("no such member")
    return membership


def profile_language_for(user_id: int) -> str:
    """The interface language a signed-in person chose ("" if they never chose one)."""
    return Profile.objects.filter(user_id=user_id).values_list("language", flat=True).first() or ""


def course_can_author(user: Any, course: Course) -> bool:
    """May change the course's content (lessons, exercises): its authors (`Course.staff`), the
    instructors of any run of it, and superusers. Assistants teach a run; they do not write it."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser or course.staff.filter(pk=user.pk).exists():
        return True
    return Membership.objects.filter(run__course=course, user=user, role=Membership.Role.INSTRUCTOR).exists()


def course_is_staff(user: Any, course: Course) -> bool:
    """Is anyone on the course's staff: an author, or an instructor or assistant of one of its runs."""
    if course_can_author(user, course):
        return True
    return Membership.objects.filter(run__course=course, user=user, role__in=Membership.STAFF).exists()
