"""Reads, with object-level authorisation built in."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from labs.models import Exercise, Submission, SubmissionEvent


def user_is_course_staff(user: AbstractBaseUser | AnonymousUser, exercise: Exercise) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return exercise.session.course.staff.filter(pk=user.pk).exists()


def submission_can_view(user: AbstractBaseUser | AnonymousUser, submission: Submission) -> bool:
    if not user.is_authenticated:
        return False
    return submission.owner_id == user.pk or user_is_course_staff(user, submission.exercise)


def submission_get_for_user(user: AbstractBaseUser | AnonymousUser, submission_id: int) -> Submission:
    """The submission if `user` may see it; 404 otherwise (never reveal that it exists)."""
    try:
        submission = Submission.objects.select_related("exercise__session__course", "owner").get(
            pk=submission_id
        )
    except Submission.DoesNotExist as exc:
        raise Http404 from exc
    if not submission_can_view(user, submission):
        raise Http404
    return submission


def submission_list_for_user(user: AbstractBaseUser, exercise: Exercise) -> QuerySet[Submission]:
    return Submission.objects.filter(owner=user, exercise=exercise).order_by("-created_at")


def submission_events_after(submission_id: int, after: int) -> list[SubmissionEvent]:
    return list(SubmissionEvent.objects.filter(submission_id=submission_id, seq__gt=after).order_by("seq"))
