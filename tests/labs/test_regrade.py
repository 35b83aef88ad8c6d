"""A regrade with the real worker and engine, through the instructor's pages: after a rubric weight
changes, the preview shows each student's new counted score and who goes up or down; applying it
makes the gradebook exactly the preview, and every submission keeps its old result."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from courses.models import Membership
from labs import exports, services
from labs.models import Regrade, Submission
from labs.selectors import gradebook_for
from labs.selectors_staff import regrade_preview
from tests.conftest import Stack, wait_finished
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Two Dockerfile criteria, so each build takes seconds and the score is exact: exec form passes
# for the first Dockerfile and fails for the second; a final USER the other way round.
EXEC_FORM = 'FROM debian:bookworm-slim\nCMD ["true"]\n'
USER_SET = "FROM debian:bookworm-slim\nUSER 1000\nCMD true\n"


def rubric(exec_form: int, final_user: int) -> dict:
    return {
        "criteria": [
            {"id": "opt.exec_form", "weight": exec_form},
            {"id": "sec.final_user", "weight": final_user},
        ]
    }


def row_of(page: str, username: str) -> str:
    return page.split(f'data-username="{username}"')[1].split("</tr>")[0]


def test_the_preview_shows_new_scores_and_applying_makes_the_gradebook_exactly_the_preview(
    stack: Stack,
) -> None:
    exercise = ExerciseFactory(slug="tiny", rubric=rubric(10, 10))
    run = CourseRunFactory(course=exercise.course, slug="spring")
    instructor = MembershipFactory(run=run, role=Membership.Role.INSTRUCTOR).user
    alice = MembershipFactory(run=run, user=UserFactory(username="alice")).user
    bob = MembershipFactory(run=run, user=UserFactory(username="bob")).user
    assignment = AssignmentFactory(run=run, exercises=[exercise])
    graded = [
        wait_finished(
            services.submission_create(
                owner=who, exercise=exercise, assignment=assignment, dockerfile=text
            ).pk,
            timeout=180,
        )
        for who, text in ((alice, EXEC_FORM), (bob, USER_SET))
    ]
    assert [(s.status, s.score) for s in graded] == [("done", 50.0), ("done", 50.0)]

    exercise.rubric = rubric(30, 10)  # the instructor decides the exec form matters more
    exercise.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(instructor)
    base = f"/runs/spring/assignments/{assignment.pk}/"
    started = client.post(base + "regrades/", {"reason": "exec form weighs more"})
    regrade = Regrade.objects.get(assignment=assignment)
    assert started.status_code == 302
    assert started["Location"] == f"{base}regrades/{regrade.pk}/"

    progress_url = f"{base}regrades/{regrade.pk}/progress/"
    deadline = time.monotonic() + 180
    progress = client.get(progress_url).json()
    while progress["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        progress = client.get(progress_url).json()
    assert progress == {"status": "ready", "total": 2, "done": 2, "errors": 0}

    page = client.get(started["Location"]).content.decode()
    assert "1 go up, 1 go down, 0 stay the same." in page
    assert "50.0 → 75.0" in row_of(page, "alice") and '<span class="direction">up</span>' in row_of(
        page, "alice"
    )
    assert "50.0 → 25.0" in row_of(page, "bob") and '<span class="direction">down</span>' in row_of(
        page, "bob"
    )
    # Nothing has changed yet.
    assert [s.score for s in Submission.objects.order_by("id")] == [50.0, 50.0]

    preview = regrade_preview(Regrade.objects.get(pk=regrade.pk))
    previewed = exports.gradebook_data(preview.new_book)
    previewed_csv = exports.gradebook_csv(preview.new_book)

    applied = client.post(f"{base}regrades/{regrade.pk}/apply/", follow=True)
    assert applied.redirect_chain == [(f"{base}gradebook/", 302)]
    assert "Regrade applied: 2 submissions have their new results." in applied.content.decode()
    assert '<span class="score" data-role="score">75.0</span>' in row_of(applied.content.decode(), "alice")

    assert exports.gradebook_data(gradebook_for(assignment)) == previewed
    assert client.get(f"{base}gradebook.csv").content == previewed_csv
    assert [row["total"] for row in previewed["students"]] == [75.0, 25.0]
    for submission, new in zip(graded, (75.0, 25.0), strict=True):
        submission.refresh_from_db()
        assert submission.score == new
        assert list(submission.gradings.values_list("source", "score")) == [
            ("grading", 50.0),
            ("regrade", new),
        ]
    assert Regrade.objects.get(pk=regrade.pk).status == Regrade.Status.APPLIED
    history = client.get(f"/labs/submissions/{graded[0].pk}/").content.decode()
    listed = history.split('data-role="gradings"')[1].split("</section>")[0]
    assert "Results this submission has had" in listed
    scores = [part.split("</span>")[0] for part in listed.split('data-role="grading-score">')[1:]]
    assert scores == ["50.0", "75.0"]
    again = client.post(f"{base}regrades/{regrade.pk}/apply/", follow=True)
    assert "Only a finished preview can be applied." in again.content.decode()
    assert [s.gradings.count() for s in graded] == [2, 2]


def test_with_the_best_counting_every_graded_attempt_is_regraded_so_a_new_best_is_never_stale(
    stack: Stack,
) -> None:
    exercise = ExerciseFactory(slug="tiny-best", rubric=rubric(10, 10))
    run = CourseRunFactory(course=exercise.course, slug="autumn")
    alice = MembershipFactory(run=run, user=UserFactory(username="alice")).user
    assignment = AssignmentFactory(run=run, exercises=[exercise], counting="best")
    first, second = (
        wait_finished(
            services.submission_create(
                owner=alice, exercise=exercise, assignment=assignment, dockerfile=text
            ).pk,
            timeout=180,
        )
        for text in (USER_SET, EXEC_FORM)
    )
    assert gradebook_for(assignment).rows[0].cells[0].counted.submission_id == first.pk  # a tie: the earlier

    exercise.rubric = rubric(30, 10)  # the counted attempt drops to 25, the other rises to 75
    exercise.save()
    regrade = services.regrade_start(assignment=assignment, by=None)
    deadline = time.monotonic() + 180
    while Regrade.objects.get(pk=regrade.pk).status == Regrade.Status.RUNNING:
        assert time.monotonic() < deadline, "the regrade did not finish"
        time.sleep(0.5)
    assert sorted(regrade.items.values_list("submission_id", flat=True)) == [first.pk, second.pk]
    services.regrade_apply(regrade=regrade)

    counted = gradebook_for(assignment).rows[0].cells[0].counted
    assert (counted.submission_id, counted.score) == (second.pk, 75.0)
    assert Submission.objects.get(pk=first.pk).score == 25.0
