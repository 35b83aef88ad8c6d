"""The reads of labs/selectors.py, called directly: who may see a submission; which attempts use
one up and where a student stands on an exercise of an assignment (held and pending attempts,
extensions, the window, the interval); the gradebook (best or last, late penalties, pending
cells, extensions); a course's outline with the viewer's progress; a member's runs. The
arithmetic of the rules themselves is tests/labs/test_rules.py."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone, translation

from courses.models import Membership
from labs import selectors
from labs.models import Extension, Submission
from labs.rules import Refusal
from tests.factories import (
    AssignmentFactory,
    CourseFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    SessionFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Role = Membership.Role
Status = Submission.Status


@pytest.fixture(autouse=True)
def _english():  # type: ignore[no-untyped-def]
    with translation.override("en"):
        yield


def created_at(submission: Submission, when: Any) -> None:
    Submission.objects.filter(pk=submission.pk).update(created_at=when)


# Who may see a submission ---------------------------------------------------------------------


@pytest.fixture
def seen() -> dict[str, Any]:
    """Alice's attempt for an assignment of run "spring" and her practice on its course, and
    everyone who might ask to see them."""
    exercise = ExerciseFactory()
    spring = CourseRunFactory(course=exercise.course, slug="spring")
    autumn = CourseRunFactory(course=exercise.course, slug="autumn")
    author = UserFactory(username="author")
    exercise.course.staff.add(author)
    people = {
        "assistant": MembershipFactory(run=spring, role=Role.ASSISTANT, user=UserFactory(username="ta")).user,
        "instructor": MembershipFactory(
            run=spring, role=Role.INSTRUCTOR, user=UserFactory(username="prof")
        ).user,
        "owner": MembershipFactory(run=spring, user=UserFactory(username="alice")).user,
        "classmate": MembershipFactory(run=spring, user=UserFactory(username="bob")).user,
        "other_runs_instructor": MembershipFactory(
            run=autumn, role=Role.INSTRUCTOR, user=UserFactory(username="olga")
        ).user,
        "stranger": UserFactory(username="mallory"),
        "author": author,
        "superuser": UserFactory(username="root", is_superuser=True),
    }
    assignment = AssignmentFactory(run=spring, exercises=[exercise])
    return {
        "people": people,
        "exercise": exercise,
        "spring": spring,
        "for_assignment": SubmissionFactory(owner=people["owner"], exercise=exercise, assignment=assignment),
        "practice": SubmissionFactory(owner=people["owner"], exercise=exercise),
    }


@pytest.mark.parametrize(
    ("who", "may_see"),
    [
        ("owner", True),
        ("author", True),  # the course's staff see every submission to it
        ("superuser", True),
        ("instructor", True),  # the run's staff: its assignments, its students' practice
        ("assistant", True),
        ("classmate", False),
        ("other_runs_instructor", False),
        ("stranger", False),
    ],
)
def test_who_may_see_a_students_assignment_attempt_and_practice(
    seen: dict[str, Any], who: str, may_see: bool
) -> None:
    user = seen["people"][who]
    assert selectors.submission_can_view(user, seen["for_assignment"]) is may_see
    assert selectors.submission_can_view(user, seen["practice"]) is may_see


def test_the_anonymous_see_no_submission(seen: dict[str, Any]) -> None:
    assert selectors.submission_can_view(AnonymousUser(), seen["for_assignment"]) is False
    with pytest.raises(Http404):
        selectors.submission_get_for_user(AnonymousUser(), seen["practice"].pk)


def test_run_staff_do_not_see_practice_from_before_the_student_joined_or_on_another_course(
    seen: dict[str, Any],
) -> None:
    owner, assistant = seen["people"]["owner"], seen["people"]["assistant"]
    before = SubmissionFactory(owner=owner, exercise=seen["exercise"])
    created_at(before, timezone.now() - timedelta(days=30))
    elsewhere = SubmissionFactory(owner=owner, exercise=ExerciseFactory())
    staff_practice = SubmissionFactory(owner=seen["people"]["instructor"], exercise=seen["exercise"])
    before.refresh_from_db()
    assert selectors.submission_can_view(assistant, before) is False
    assert selectors.submission_can_view(assistant, elsewhere) is False
    assert selectors.submission_can_view(assistant, staff_practice) is False  # not a student's
    assert selectors.submission_can_view(owner, before) is True


def test_staff_of_another_run_see_that_runs_assignment_attempts_not_this_ones(seen: dict[str, Any]) -> None:
    """Alice also studies in autumn: its instructor sees her autumn attempt and her practice on
    the course since, never an attempt for spring's assignment, even one made since."""
    owner, olga = seen["people"]["owner"], seen["people"]["other_runs_instructor"]
    autumn = Membership.objects.get(user=olga).run
    MembershipFactory(run=autumn, user=owner)
    exercise, spring_assignment = seen["exercise"], seen["for_assignment"].assignment
    autumn_attempt = SubmissionFactory(
        owner=owner, exercise=exercise, assignment=AssignmentFactory(run=autumn, exercises=[exercise])
    )
    spring_attempt = SubmissionFactory(owner=owner, exercise=exercise, assignment=spring_assignment)
    practice = SubmissionFactory(owner=owner, exercise=exercise)
    assert selectors.submission_can_view(olga, autumn_attempt) is True
    assert selectors.submission_can_view(olga, practice) is True
    assert selectors.submission_can_view(olga, spring_attempt) is False
    assert selectors.submission_can_view(olga, seen["for_assignment"]) is False


def test_submission_get_for_user_gives_the_owner_and_staff_theirs_and_404_to_anyone_else(
    seen: dict[str, Any],
) -> None:
    pk = seen["for_assignment"].pk
    for who in ["owner", "assistant", "author"]:
        found = selectors.submission_get_for_user(seen["people"][who], pk)
        assert (found.pk, found.owner.username) == (pk, "alice")
    for who in ["classmate", "stranger", "other_runs_instructor"]:
        with pytest.raises(Http404):
            selectors.submission_get_for_user(seen["people"][who], pk)
    with pytest.raises(Http404):  # a missing one looks the same as someone else's
        selectors.submission_get_for_user(seen["people"]["owner"], pk + 1000)


# Attempts and standing ------------------------------------------------------------------------


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    exercise = ExerciseFactory()
    run = CourseRunFactory(course=exercise.course, time_zone="Asia/Seoul")
    student = MembershipFactory(run=run).user
    assignment = AssignmentFactory(run=run, exercises=[exercise], max_attempts=2)
    return assignment, exercise, student


def standing(assignment, exercise, student, at=None):  # type: ignore[no-untyped-def]
    return selectors.assignment_standing(user=student, assignment=assignment, exercise=exercise, at=at)


def test_attempts_in_flight_or_counted_are_the_graded_and_the_pending_of_that_student_there(setup) -> None:
    assignment, exercise, student = setup
    mine = {
        status: SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=status)
        for status in Status
    }
    other_exercise = ExerciseFactory(session=exercise.session, course=exercise.course)
    assignment.items.create(exercise=other_exercise, position=1)
    SubmissionFactory(owner=student, exercise=other_exercise, assignment=assignment, status=Status.DONE)
    SubmissionFactory(owner=student, exercise=exercise, status=Status.DONE)  # practice
    classmate = MembershipFactory(run=assignment.run).user
    SubmissionFactory(owner=classmate, exercise=exercise, assignment=assignment, status=Status.DONE)

    found = selectors.attempts_in_flight_or_counted(
        user_id=student.pk, assignment=assignment, exercise=exercise
    )
    assert sorted(found.values_list("status", flat=True)) == [
        "analysing",
        "building",
        "done",
        "failed",
        "held",
        "queued",
    ]  # not "error": our fault never uses an attempt
    assert set(found.values_list("pk", flat=True)) == {mine[s].pk for s in Status if s != Status.ERROR}


def test_the_student_sees_attempts_left_and_the_due_time_in_the_runs_zone(setup) -> None:
    assignment, exercise, student = setup
    assignment.due_at = timezone.now() + timedelta(hours=3, minutes=20)
    assignment.save()
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.DONE, score=50.0)
    found = selectors.assignment_standing(user=student, assignment=assignment, exercise=exercise)
    assert selectors.standing_line(found) == "1 of 2 attempts left · due in 3 h (Asia/Seoul)"
    with translation.override("ko"):
        assert selectors.standing_line(found) == "시도 2회 중 1회 남음 · 3시간 후 마감 (Asia/Seoul)"


def test_practice_outside_the_assignment_uses_no_attempt(setup) -> None:
    assignment, exercise, student = setup
    for _ in range(3):
        SubmissionFactory(owner=student, exercise=exercise, assignment=None, status=Status.DONE)
    found = selectors.assignment_standing(user=student, assignment=assignment, exercise=exercise)
    assert found.used == 0


def test_a_held_and_a_queued_attempt_use_up_the_cap_before_either_is_graded(setup) -> None:
    assignment, exercise, student = setup
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.HELD)
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.QUEUED)
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.ERROR)
    found = standing(assignment, exercise, student)
    assert (found.used, found.left, found.phase, found.refusal) == (2, 0, "open", Refusal("no_attempts"))


def test_an_extension_reopens_a_closed_assignment_with_more_attempts_for_that_student_only(setup) -> None:
    assignment, exercise, student = setup
    classmate = MembershipFactory(run=assignment.run).user
    now = timezone.now()
    assignment.opens_at, assignment.due_at = now - timedelta(days=5), now - timedelta(days=1)
    assignment.save()
    Extension.objects.create(
        assignment=assignment, user=student, due_at=now + timedelta(days=1), extra_attempts=1
    )
    for _ in range(2):
        SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.DONE)

    mine, theirs = (
        standing(assignment, exercise, student, now),
        standing(assignment, exercise, classmate, now),
    )
    assert (mine.phase, mine.terms.max_attempts, mine.used, mine.left, mine.refusal) == (
        "open",
        3,
        2,
        1,
        None,
    )
    assert (theirs.phase, theirs.terms.max_attempts, theirs.left, theirs.refusal) == (
        "closed",
        2,
        2,
        Refusal("closed"),
    )


def test_the_window_before_opening_in_the_late_window_and_after_it(setup) -> None:
    assignment, exercise, student = setup
    now = timezone.now()
    assignment.opens_at = now + timedelta(hours=1)
    assignment.due_at = now + timedelta(days=1)
    assignment.late_until = now + timedelta(days=3)
    assignment.late_penalty_percent = Decimal(10)
    assignment.save()
    early = standing(assignment, exercise, student, now)
    assert (early.phase, early.refusal, early.penalty_now) == (
        "not_open",
        Refusal("not_open", assignment.opens_at),
        Decimal(0),
    )
    late = standing(assignment, exercise, student, now + timedelta(days=2, hours=1))
    assert (late.phase, late.refusal, late.penalty_now) == ("late", None, Decimal(20))  # two days started
    after = standing(assignment, exercise, student, now + timedelta(days=3, seconds=1))
    assert (after.phase, after.refusal) == ("closed", Refusal("closed"))


def test_the_interval_counts_from_the_last_attempt_that_uses_one(setup) -> None:
    assignment, exercise, student = setup
    assignment.min_interval_seconds = 600
    assignment.max_attempts = None
    assignment.save()
    now = timezone.now()
    first = SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.DONE)
    created_at(first, now - timedelta(minutes=30))
    last = SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.BUILDING)
    created_at(last, now - timedelta(minutes=5))
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.ERROR)  # now

    soon = standing(assignment, exercise, student, now)
    assert (soon.used, soon.left, soon.refusal) == (2, None, Refusal("too_soon", now + timedelta(minutes=5)))
    assert standing(assignment, exercise, student, now + timedelta(minutes=5)).refusal is None


# The gradebook --------------------------------------------------------------------------------


def test_the_gradebook_counts_the_best_attempt_after_the_late_penalty(setup) -> None:
    assignment, exercise, student = setup
    now = timezone.now()
    assignment.opens_at = now - timedelta(days=5)
    assignment.due_at = now - timedelta(hours=30)
    assignment.late_until = now + timedelta(days=3)
    assignment.late_penalty_percent = Decimal(10)
    assignment.max_attempts = None
    assignment.save()
    on_time = SubmissionFactory(
        owner=student, exercise=exercise, assignment=assignment, status=Status.DONE, score=70.0
    )
    Submission.objects.filter(pk=on_time.pk).update(created_at=now - timedelta(days=2))
    late = SubmissionFactory(
        owner=student, exercise=exercise, assignment=assignment, status=Status.DONE, score=95.0
    )
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.ERROR)
    quiet = MembershipFactory(run=assignment.run).user
    MembershipFactory(run=assignment.run, role=Membership.Role.ASSISTANT)
    book = selectors.gradebook_for(assignment)
    rows = {row.username: row for row in book.rows}
    assert set(rows) == {student.username, quiet.username}  # staff are not in it
    cell = rows[student.username].cells[0]
    assert (cell.counted.submission_id, cell.counted.score, cell.counted.penalty, cell.used) == (
        late.pk,
        76.0,  # 95, two started days late: 20 % off, still above 70
        Decimal(20),
        2,
    )
    assert rows[student.username].late is True
    assert rows[quiet.username].cells[0].counted is None
    assert rows[quiet.username].total == 0.0


def test_a_failed_build_counts_as_zero_and_last_counting_takes_it(setup) -> None:
    assignment, exercise, student = setup
    assignment.counting = "last"
    assignment.save()
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.DONE, score=80.0)
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.FAILED)
    cell = selectors.gradebook_for(assignment).rows[0].cells[0]
    assert cell.score == 0.0


@pytest.mark.parametrize(("counting", "which", "score"), [("best", 1, 90.0), ("last", 2, 60.0)])
def test_best_counts_the_highest_attempt_and_last_the_newest(
    setup, counting: str, which: int, score: float
) -> None:
    assignment, exercise, student = setup
    assignment.counting, assignment.max_attempts = counting, None
    assignment.save()
    attempts = [
        SubmissionFactory(
            owner=student, exercise=exercise, assignment=assignment, status=Status.DONE, score=s
        )
        for s in (70.0, 90.0, 60.0)
    ]
    SubmissionFactory(
        owner=student, exercise=exercise, assignment=assignment, status=Status.ERROR, score=None
    )
    cell = selectors.gradebook_for(assignment).rows[0].cells[0]
    assert (cell.counted.submission_id, cell.score, cell.used, cell.pending) == (
        attempts[which].pk,
        score,
        3,
        False,
    )


def test_a_pending_attempt_shows_as_pending_and_keeps_the_counted_score(setup) -> None:
    assignment, exercise, student = setup
    done = SubmissionFactory(
        owner=student, exercise=exercise, assignment=assignment, status=Status.DONE, score=80.0
    )
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.ANALYSING)
    cell = selectors.gradebook_for(assignment).rows[0].cells[0]
    assert (cell.counted.submission_id, cell.score, cell.used, cell.pending) == (done.pk, 80.0, 2, True)


def test_the_total_is_the_mean_over_the_exercises_a_missing_one_counting_zero(setup) -> None:
    assignment, exercise, student = setup
    second = ExerciseFactory(session=exercise.session, course=exercise.course)
    assignment.items.create(exercise=second, position=1)
    SubmissionFactory(owner=student, exercise=exercise, assignment=assignment, status=Status.DONE, score=75.0)
    row = selectors.gradebook_for(assignment).rows[0]
    assert [c.score for c in row.cells] == [75.0, None]
    assert row.total == 37.5


def test_the_gradebook_names_each_students_extension_and_their_own_cap(setup) -> None:
    assignment, _, student = setup
    classmate = MembershipFactory(run=assignment.run, user=UserFactory(username="zed")).user
    due = assignment.due_at + timedelta(days=2)
    Extension.objects.create(assignment=assignment, user=student, due_at=due, extra_attempts=2)
    book = selectors.gradebook_for(assignment)
    assert [(r.user_id, r.extension_due_at, r.cells[0].max_attempts) for r in book.rows] == [
        (student.pk, due, 4),
        (classmate.pk, None, 2),
    ]
    only = selectors.gradebook_for(assignment, user_ids=[classmate.pk])
    assert [r.username for r in only.rows] == ["zed"]


def test_overrides_show_what_a_regrade_would_make_of_the_counted_attempt(setup) -> None:
    assignment, exercise, student = setup
    first = SubmissionFactory(
        owner=student, exercise=exercise, assignment=assignment, status=Status.DONE, score=80.0
    )
    second = SubmissionFactory(
        owner=student, exercise=exercise, assignment=assignment, status=Status.DONE, score=60.0
    )
    book = selectors.gradebook_for(assignment, overrides={first.pk: (Status.FAILED, None)})
    assert (book.rows[0].cells[0].counted.submission_id, book.rows[0].cells[0].score) == (second.pk, 60.0)
    assert selectors.gradebook_for(assignment).rows[0].cells[0].score == 80.0  # nothing was written


# A course's outline ---------------------------------------------------------------------------


@pytest.fixture
def outline_course():  # type: ignore[no-untyped-def]
    course = CourseFactory(slug="images")
    for slug, week, day, number in [
        ("w2d1", 2, 1, 1),
        ("extra", 0, 0, 0),
        ("w1d2", 1, 2, 1),
        ("w1d1", 1, 1, 1),
    ]:
        SessionFactory(course=course, slug=slug, week=week, day=day, number=number)
    return course


def shape(outline) -> list[tuple[int, list[tuple[int, list[str]]]]]:  # type: ignore[no-untyped-def]
    return [
        (w.number, [(d.number, [s.session.slug for s in d.sessions]) for d in w.days]) for w in outline.weeks
    ]


def test_the_outline_is_in_teaching_order_with_the_unscheduled_sessions_last(outline_course) -> None:
    outline = selectors.course_outline(outline_course, AnonymousUser())
    assert shape(outline) == [
        (1, [(1, ["w1d1"]), (2, ["w1d2"])]),
        (2, [(1, ["w2d1"])]),
        (0, [(0, ["extra"])]),
    ]
    assert outline.with_progress is False


def test_the_outline_gives_a_student_their_own_done_exercises_and_best_scores(outline_course) -> None:
    first = outline_course.sessions.get(slug="w1d1")
    b = ExerciseFactory(session=first, course=outline_course, position=2, slug="b")
    a = ExerciseFactory(session=first, course=outline_course, position=1, slug="a")
    c = ExerciseFactory(session=first, course=outline_course, position=3, slug="c")
    student, classmate = UserFactory(), UserFactory()
    SubmissionFactory(owner=student, exercise=a, status=Status.DONE, score=60.0)
    SubmissionFactory(owner=student, exercise=a, status=Status.DONE, score=87.5)
    SubmissionFactory(owner=student, exercise=b, status=Status.FAILED)
    SubmissionFactory(owner=student, exercise=c, status=Status.BUILDING)
    SubmissionFactory(owner=classmate, exercise=b, status=Status.DONE, score=99.0)

    session = selectors.course_outline(outline_course, student).weeks[0].days[0].sessions[0]
    assert [(e.exercise.slug, e.done, e.best_score) for e in session.exercises] == [
        ("a", True, 87.5),
        ("b", False, None),
        ("c", False, None),
    ]
    assert (session.done, session.total, session.best_score) == (1, 3, 87.5)
    anonymous = selectors.course_outline(outline_course, AnonymousUser()).weeks[0].days[0].sessions[0]
    assert [e.done for e in anonymous.exercises] == [False, False, False]


# A member's runs ------------------------------------------------------------------------------


def test_member_runs_lists_the_users_runs_newest_first_with_assignments_by_due_time() -> None:
    user = UserFactory()
    older = CourseRunFactory(title="Autumn", starts_on=date(2026, 9, 1))
    newer = CourseRunFactory(title="Spring", starts_on=date(2027, 3, 1))
    CourseRunFactory(title="Not mine", starts_on=date(2028, 1, 1))
    MembershipFactory(run=older, user=user, role=Role.ASSISTANT)
    MembershipFactory(run=newer, user=user)
    now = timezone.now()
    later = AssignmentFactory(run=newer, title="Later", due_at=now + timedelta(days=9))
    sooner = AssignmentFactory(run=newer, title="Sooner", due_at=now + timedelta(days=2))
    past = AssignmentFactory(
        run=newer, title="Past", opens_at=now - timedelta(days=9), due_at=now - timedelta(days=1)
    )
    Extension.objects.create(assignment=past, user=user, due_at=now + timedelta(days=1))
    AssignmentFactory(
        run=older, title="Old", opens_at=now - timedelta(days=9), due_at=now - timedelta(days=1)
    )

    runs = selectors.member_runs(user, at=now)
    assert [(m.run.title, m.role, m.is_staff_role) for m in runs] == [
        ("Spring", "student", False),
        ("Autumn", "assistant", True),
    ]
    assert [(a.assignment.title, a.phase) for a in runs[0].assignments] == [
        ("Past", "open"),  # their extension: still open for them
        ("Sooner", "open"),
        ("Later", "open"),
    ]
    assert [a.assignment.pk for a in runs[0].assignments] == [past.pk, sooner.pk, later.pk]
    assert runs[0].assignments[0].terms.due_at == now + timedelta(days=1)
    assert [(a.assignment.title, a.phase) for a in runs[1].assignments] == [("Old", "closed")]


def test_member_runs_is_empty_for_someone_in_no_run() -> None:
    CourseRunFactory()
    assert selectors.member_runs(UserFactory()) == []
