"""The reads of courses/selectors.py, called directly: a user's role in a run, who manages it,
who is its staff, the runs a user is in, the staff page's 404 for everyone else, the roster's
order."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from courses.models import Membership
from courses.selectors import (
    membership_get_in_run,
    membership_list,
    run_can_manage,
    run_get_for_staff,
    run_is_staff,
    run_role,
    runs_for_user,
)
from tests.factories import CourseRunFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
Role = Membership.Role


@pytest.fixture
def run():  # type: ignore[no-untyped-def]
    return CourseRunFactory(slug="spring", title="Spring 2027")


@pytest.fixture
def people(run) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Everyone the authorisation matrix tries, by name."""
    other_run = CourseRunFactory(slug="autumn", course=run.course)
    author = UserFactory(username="author")
    run.course.staff.add(author)
    return {
        "instructor": MembershipFactory(
            run=run, role=Role.INSTRUCTOR, user=UserFactory(username="prof")
        ).user,
        "assistant": MembershipFactory(run=run, role=Role.ASSISTANT, user=UserFactory(username="ta")).user,
        "student": MembershipFactory(run=run, role=Role.STUDENT, user=UserFactory(username="stu")).user,
        "other_instructor": MembershipFactory(
            run=other_run, role=Role.INSTRUCTOR, user=UserFactory(username="elsewhere")
        ).user,
        "author": author,
        "superuser": UserFactory(username="root", is_superuser=True),
        "inactive_superuser": UserFactory(username="gone", is_superuser=True, is_active=False),
        "stranger": UserFactory(username="mallory"),
        "anonymous": AnonymousUser(),
    }


# role, manages, staff pages
MATRIX = {
    "instructor": ("instructor", True, True),
    "assistant": ("assistant", False, True),
    "student": ("student", False, False),
    "other_instructor": (None, False, False),
    "author": (None, False, True),  # the course's authors see every run of it, manage none
    "superuser": (None, True, True),
    "inactive_superuser": (None, False, False),
    "stranger": (None, False, False),
    "anonymous": (None, False, False),
}


@pytest.mark.parametrize("who", list(MATRIX))
def test_each_persons_role_whether_they_manage_the_run_and_whether_they_are_its_staff(
    run, people: dict[str, Any], who: str
) -> None:
    user = people[who]
    assert (run_role(user, run), run_can_manage(user, run), run_is_staff(user, run)) == MATRIX[who]


def test_run_get_for_staff_lets_in_only_that_runs_staff(run, people: dict[str, Any]) -> None:
    got = {
        who: run_get_for_staff(people[who], "spring")
        for who in ["instructor", "assistant", "author", "superuser"]
    }
    assert {who: (r.pk, r.viewer_role, r.viewer_can_manage) for who, r in got.items()} == {
        "instructor": (run.pk, "instructor", True),
        "assistant": (run.pk, "assistant", False),
        "author": (run.pk, None, False),
        "superuser": (run.pk, None, True),
    }
    for who in ["student", "other_instructor", "inactive_superuser", "stranger", "anonymous"]:
        with pytest.raises(Http404):
            run_get_for_staff(people[who], "spring")


def test_an_unknown_run_is_404_even_for_a_superuser(people: dict[str, Any]) -> None:
    with pytest.raises(Http404):
        run_get_for_staff(people["superuser"], "nope")


def test_runs_for_user_are_the_users_runs_newest_first_each_with_their_role() -> None:
    user = UserFactory()
    autumn = CourseRunFactory(title="Autumn 2026", starts_on=date(2026, 9, 1))
    spring = CourseRunFactory(title="Spring 2027", starts_on=date(2027, 3, 1))
    CourseRunFactory(title="Not mine", starts_on=date(2028, 3, 1))
    MembershipFactory(run=autumn, user=user, role=Role.ASSISTANT)
    MembershipFactory(run=spring, user=user)
    MembershipFactory(run=spring)  # a classmate: the run is listed once
    assert [(r.title, r.role) for r in runs_for_user(user)] == [
        ("Spring 2027", "student"),
        ("Autumn 2026", "assistant"),
    ]


def test_runs_for_user_is_empty_for_the_anonymous_and_for_someone_in_no_run(run) -> None:
    MembershipFactory(run=run)
    assert list(runs_for_user(AnonymousUser())) == []
    assert list(runs_for_user(UserFactory())) == []


def test_the_roster_lists_instructors_then_assistants_then_students_each_by_username(run) -> None:
    for username, role in [
        ("zoe", Role.STUDENT),
        ("amy", Role.STUDENT),
        ("yan", Role.ASSISTANT),
        ("bea", Role.ASSISTANT),
        ("xia", Role.INSTRUCTOR),
    ]:
        MembershipFactory(run=run, role=role, user=UserFactory(username=username))
    MembershipFactory(run=CourseRunFactory(), user=UserFactory(username="aaron"))  # another run's
    assert [(m.user.username, m.role) for m in membership_list(run)] == [
        ("xia", "instructor"),
        ("bea", "assistant"),
        ("yan", "assistant"),
        ("amy", "student"),
        ("zoe", "student"),
    ]


def test_a_member_of_another_run_is_not_found_in_this_one(run, people: dict[str, Any]) -> None:
    mine = Membership.objects.get(user=people["student"])
    theirs = Membership.objects.get(user=people["other_instructor"])
    assert membership_get_in_run(run, mine.pk).user.username == "stu"
    with pytest.raises(Http404):
        membership_get_in_run(run, theirs.pk)
