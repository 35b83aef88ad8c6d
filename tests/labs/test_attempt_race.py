"""The attempt cap holds when two requests for the last attempt arrive at the same moment: real
HTTP requests to the live server, on PostgreSQL (the production database; SQLite has no row
locks, which is why the embedded default is for one machine and a few users)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import pytest
import requests
from django.conf import settings
from django.db import connection, transaction

from courses.models import Membership
from labs import services
from labs.models import Submission
from tests.conftest import session_cookie, wait_finished
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.docker,  # the live stack's worker builds what wins
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL (CI runs the suite on it)"
    ),
]

DOCKERFILE = "FROM scratch\nCOPY app.py /app.py\n"


@dataclass
class Reply:
    status: int
    location: str
    body: str


def browser_for(base_url: str, user) -> requests.Session:  # type: ignore[no-untyped-def]
    """An HTTP client logged in as `user`."""
    client = requests.Session()
    client.cookies.set(settings.SESSION_COOKIE_NAME, session_cookie(user), domain="127.0.0.1")
    return client


def post_form(client: requests.Session, url: str, fields: dict[str, str]) -> Reply:
    """Opens the page, then sends its form with the CSRF token it carries, as a browser does."""
    page = client.get(url, timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "the exercise page has a form with a CSRF token"
    response = client.post(
        url,
        data={**fields, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=60,
    )
    return Reply(response.status_code, response.headers.get("Location", ""), response.text)


@pytest.fixture
def last_attempt():  # type: ignore[no-untyped-def]
    exercise = ExerciseFactory(context_files={"app.py": "print('hi')\n"})
    run = CourseRunFactory(course=exercise.course)
    student = MembershipFactory(run=run, user=UserFactory()).user
    assignment = AssignmentFactory(run=run, exercises=[exercise], max_attempts=1)
    return exercise, assignment, student


def test_two_requests_for_the_last_attempt_at_the_same_moment_one_wins(stack, last_attempt) -> None:
    exercise, assignment, student = last_attempt
    url = f"{stack.base_url}{exercise.get_absolute_url()}?assignment={assignment.pk}"
    fields = {"dockerfile": DOCKERFILE, "assignment": str(assignment.pk)}
    openers = [browser_for(stack.base_url, student) for _ in range(2)]
    for opener in openers:  # each has its CSRF cookie before the race starts
        opener.get(url, timeout=30)
    start = threading.Barrier(2)
    replies: list[Reply] = []

    def race(opener) -> None:  # type: ignore[no-untyped-def]
        start.wait()
        replies.append(post_form(opener, url, fields))

    threads = [threading.Thread(target=race, args=(o,)) for o in openers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    made = list(Submission.objects.filter(owner=student, assignment=assignment))
    assert len(made) == 1
    redirects = sorted(r.status for r in replies)
    assert redirects == [200, 302]  # one is taken to its build, the other shown the refusal
    refused = next(r for r in replies if r.status == 200)
    assert "이 과제에서 이 실습의 시도 1회를 모두 썼습니다." in refused.body
    taken = next(r for r in replies if r.status == 302)
    assert taken.location.endswith(f"submission={made[0].pk}#live")
    wait_finished(made[0].pk)  # the worker is done with its rows before the database is emptied


def test_a_request_for_the_last_attempt_waits_for_one_in_flight_and_is_then_refused(
    stack, last_attempt
) -> None:
    """The deterministic half of the race: while one submission holds the student's row lock
    (its transaction not yet committed), a second request cannot decide; once the first
    commits, the second sees it and is refused. Without the lock it would be accepted."""
    exercise, assignment, student = last_attempt
    url = f"{stack.base_url}{exercise.get_absolute_url()}?assignment={assignment.pk}"
    opener = browser_for(stack.base_url, student)
    opener.get(url, timeout=30)
    replies: list[Reply] = []
    second = threading.Thread(
        target=lambda: replies.append(
            post_form(opener, url, {"dockerfile": DOCKERFILE, "assignment": str(assignment.pk)})
        )
    )
    with transaction.atomic():
        first = services.submission_create(
            owner=student, exercise=exercise, assignment=assignment, dockerfile=DOCKERFILE
        )
        assert Membership.objects.filter(run=assignment.run, user=student).exists()
        second.start()
        time.sleep(2)
        assert second.is_alive(), "the second request decided while the first held the lock"
    second.join(timeout=30)
    assert [r.status for r in replies] == [200]
    assert "이 과제에서 이 실습의 시도 1회를 모두 썼습니다." in replies[0].body
    assert list(Submission.objects.filter(owner=student).values_list("pk", flat=True)) == [first.pk]
    wait_finished(first.pk)
