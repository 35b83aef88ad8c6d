"""The live websockets (labs/consumers.py) as a browser meets them: the project's ASGI application
(origin check, session login, routing) and the real Redis channel layer of the test settings.
Who is refused with which close code; a submission's stream replays what is stored after
`?after=`, then forwards live events, and a reconnection with the last seq seen loses nothing and
repeats nothing; a gradebook page receives its rows, for staff of the run only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from config.asgi import application
from courses.models import Membership
from labs.events import event_emit, gradebook_changed
from labs.models import Submission, SubmissionEvent
from tests.conftest import session_cookie
from tests.factories import (
    AssignmentFactory,
    CourseRunFactory,
    ExerciseFactory,
    MembershipFactory,
    SubmissionFactory,
    UserFactory,
)

# The consumers read the database on other threads, so what a test writes must be committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_redis")]

Kind = SubmissionEvent.Kind
Role = Membership.Role
Status = Submission.Status
WAIT = 5  # seconds a receive may wait before the test fails; nothing is measured


def headers_for(user: Any | None) -> list[tuple[bytes, bytes]]:
    """What the browser on the site sends: its origin and, logged in, the session cookie."""
    headers = [(b"origin", b"http://localhost")]
    if user is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_cookie(user)}".encode()))
    return headers


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


async def close_code(socket: WebsocketCommunicator) -> int:
    """The code of the close that follows the accept (the consumers accept first, so the code
    reaches the browser instead of 1006)."""
    connected, _ = await socket.connect(timeout=WAIT)
    assert connected
    closed = await socket.receive_output(timeout=WAIT)
    assert closed["type"] == "websocket.close"
    return closed["code"]


async def seqs(socket: WebsocketCommunicator, count: int) -> list[int]:
    return [(await socket.receive_json_from(timeout=WAIT))["seq"] for _ in range(count)]


emit = database_sync_to_async(event_emit)


def store_events(submission: Submission, count: int) -> None:
    for n in range(1, count + 1):
        event_emit(
            submission_id=submission.pk, kind=Kind.LOG, payload={"lines": [{"step": "1", "line": f"{n}"}]}
        )


# The submission stream ------------------------------------------------------------------------


def stream(submission_id: int, user: Any | None, after: int | None = None) -> WebsocketCommunicator:
    query = "" if after is None else f"?after={after}"
    return WebsocketCommunicator(
        application, f"/ws/submissions/{submission_id}/{query}", headers=headers_for(user)
    )


@pytest.mark.parametrize(("who", "code"), [("anonymous", 4401), ("stranger", 4403)])
def test_the_anonymous_and_a_stranger_are_refused_and_see_no_event(who: str, code: int) -> None:
    submission = SubmissionFactory(owner=UserFactory(username="alice"))
    store_events(submission, 2)
    socket = stream(submission.pk, None if who == "anonymous" else UserFactory(username="mallory"), after=0)

    async def scenario() -> None:
        # The close is the first thing after the accept: no event went out before it.
        assert await close_code(socket) == code

    run(scenario)


def test_a_submission_that_does_not_exist_is_refused_like_a_strangers() -> None:
    socket = stream(999_999, UserFactory(username="alice"))

    async def scenario() -> None:
        assert await close_code(socket) == 4403

    run(scenario)


def test_the_course_staff_and_the_runs_staff_see_a_students_stream() -> None:
    exercise = ExerciseFactory()
    author = UserFactory(username="author")
    exercise.course.staff.add(author)
    run_ = CourseRunFactory(course=exercise.course)
    assistant = MembershipFactory(run=run_, role=Role.ASSISTANT, user=UserFactory(username="ta")).user
    assignment = AssignmentFactory(run=run_, exercises=[exercise])
    owner = MembershipFactory(run=run_, user=UserFactory(username="alice")).user
    submission = SubmissionFactory(owner=owner, exercise=exercise, assignment=assignment)
    store_events(submission, 2)
    sockets = [stream(submission.pk, author, after=0), stream(submission.pk, assistant, after=0)]

    async def scenario() -> None:
        for socket in sockets:
            connected, _ = await socket.connect(timeout=WAIT)
            assert connected
            assert await seqs(socket, 2) == [1, 2]
            await socket.disconnect()

    run(scenario)


def test_the_owner_gets_the_stored_events_after_their_seq_in_order_then_the_live_ones() -> None:
    owner = UserFactory(username="alice")
    submission = SubmissionFactory(owner=owner)
    store_events(submission, 5)
    socket = stream(submission.pk, owner, after=2)

    async def scenario() -> None:
        connected, _ = await socket.connect(timeout=WAIT)
        assert connected
        replayed = [await socket.receive_json_from(timeout=WAIT) for _ in range(3)]
        assert [(m["seq"], m["kind"], m["payload"]["lines"][0]["line"]) for m in replayed] == [
            (3, "log", "3"),
            (4, "log", "4"),
            (5, "log", "5"),
        ]
        await emit(submission_id=submission.pk, kind=Kind.STATUS, payload={"status": "building"})
        live = await socket.receive_json_from(timeout=WAIT)
        assert (live["seq"], live["kind"], live["payload"]) == (6, "status", {"status": "building"})
        await socket.disconnect()

    run(scenario)


def test_without_after_the_owner_gets_every_stored_event() -> None:
    owner = UserFactory(username="alice")
    submission = SubmissionFactory(owner=owner)
    store_events(submission, 3)
    socket = stream(submission.pk, owner)

    async def scenario() -> None:
        connected, _ = await socket.connect(timeout=WAIT)
        assert connected
        assert await seqs(socket, 3) == [1, 2, 3]
        await socket.disconnect()

    run(scenario)


def test_reconnecting_with_the_last_seq_seen_loses_nothing_and_repeats_nothing() -> None:
    owner = UserFactory(username="alice")
    submission = SubmissionFactory(owner=owner)
    store_events(submission, 2)
    first = stream(submission.pk, owner, after=0)

    async def scenario() -> None:
        connected, _ = await first.connect(timeout=WAIT)
        assert connected
        seen = await seqs(first, 2)
        await first.disconnect()
        # While the page is away (a network blip), the worker goes on.
        for n in range(2):
            await emit(submission_id=submission.pk, kind=Kind.LOG, payload={"lines": [], "n": n})
        again = await database_sync_to_async(stream)(submission.pk, owner, seen[-1])
        connected, _ = await again.connect(timeout=WAIT)
        assert connected
        await emit(submission_id=submission.pk, kind=Kind.STATUS, payload={"status": "done"})
        # The replay comes before anything live, so a repeat would be read before seq 5.
        seen += await seqs(again, 3)
        assert seen == [1, 2, 3, 4, 5]
        await again.disconnect()

    run(scenario)


def test_a_push_that_never_arrived_is_filled_in_from_the_store_before_the_next() -> None:
    owner = UserFactory(username="alice")
    submission = SubmissionFactory(owner=owner)
    socket = stream(submission.pk, owner, after=0)

    def store_without_push() -> None:
        """An event stored whose push was lost (the channel layer was unreachable)."""
        SubmissionEvent.objects.create(submission=submission, seq=1, kind=Kind.LOG, payload={"lost": True})
        Submission.objects.filter(pk=submission.pk).update(last_event_seq=1)

    async def scenario() -> None:
        connected, _ = await socket.connect(timeout=WAIT)
        assert connected
        await database_sync_to_async(store_without_push)()
        await emit(submission_id=submission.pk, kind=Kind.STATUS, payload={"status": "building"})
        got = [await socket.receive_json_from(timeout=WAIT) for _ in range(2)]
        assert [(m["seq"], m["payload"]) for m in got] == [(1, {"lost": True}), (2, {"status": "building"})]
        await socket.disconnect()

    run(scenario)


def test_a_ping_is_answered_with_the_last_seq_delivered() -> None:
    owner = UserFactory(username="alice")
    submission = SubmissionFactory(owner=owner)
    store_events(submission, 4)
    socket = stream(submission.pk, owner, after=1)

    async def scenario() -> None:
        connected, _ = await socket.connect(timeout=WAIT)
        assert connected
        assert await seqs(socket, 3) == [2, 3, 4]
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=WAIT) == {"kind": "pong", "seq": 4}
        await socket.disconnect()

    run(scenario)


# The gradebook --------------------------------------------------------------------------------


@pytest.fixture
def book() -> dict[str, Any]:
    exercise = ExerciseFactory(slug="python-slim")
    run_ = CourseRunFactory(course=exercise.course, slug="spring")
    people = {
        "instructor": MembershipFactory(run=run_, role=Role.INSTRUCTOR, user=UserFactory(username="ingrid")),
        "assistant": MembershipFactory(run=run_, role=Role.ASSISTANT, user=UserFactory(username="arne")),
        "alice": MembershipFactory(run=run_, user=UserFactory(username="alice")),
        "bob": MembershipFactory(run=run_, user=UserFactory(username="bob")),
    }
    other = CourseRunFactory(course=exercise.course, slug="autumn")
    people["other_instructor"] = MembershipFactory(
        run=other, role=Role.INSTRUCTOR, user=UserFactory(username="olga")
    )
    assignment = AssignmentFactory(run=run_, exercises=[exercise], max_attempts=3)
    SubmissionFactory(
        owner=people["alice"].user, exercise=exercise, assignment=assignment, status=Status.DONE, score=80.0
    )
    return {"assignment": assignment, "exercise": exercise, "people": people}


def gradebook(book: dict[str, Any], who: str | None) -> WebsocketCommunicator:
    user = None if who is None else book["people"][who].user
    path = f"/ws/runs/spring/assignments/{book['assignment'].pk}/gradebook/?lang=en"
    return WebsocketCommunicator(application, path, headers=headers_for(user))


@pytest.mark.parametrize(
    ("who", "code"), [(None, 4401), ("alice", 4403), ("bob", 4403), ("other_instructor", 4403)]
)
def test_the_gradebook_refuses_the_anonymous_students_and_other_runs_staff(
    book: dict[str, Any], who: str | None, code: int
) -> None:
    socket = gradebook(book, who)

    async def scenario() -> None:
        assert await close_code(socket) == code

    run(scenario)


@pytest.mark.parametrize("who", ["instructor", "assistant"])
def test_a_resync_gives_staff_every_students_row_as_the_page_shows_it(book: dict[str, Any], who: str) -> None:
    socket = gradebook(book, who)
    alice, bob = book["people"]["alice"].user, book["people"]["bob"].user

    async def scenario() -> None:
        connected, _ = await socket.connect(timeout=WAIT)
        assert connected
        await socket.send_json_to({"type": "resync"})
        rows = [await socket.receive_json_from(timeout=WAIT) for _ in range(2)]
        assert [(m["type"], m["user_id"], m["row"]["username"]) for m in rows] == [
            ("row", alice.pk, "alice"),
            ("row", bob.pk, "bob"),
        ]
        assert [
            (m["row"]["total"], m["row"]["cells"][0]["score"], m["row"]["cells"][0]["attempts"]) for m in rows
        ] == [
            (80.0, 80.0, 1),
            (0.0, None, 0),
        ]
        assert f'<tr data-user-id="{alice.pk}" data-username="alice">' in rows[0]["html"]
        assert '<span class="score" data-role="score">80.0</span>' in rows[0]["html"]
        assert '<span class="meta" data-role="attempts">1/3 attempts</span>' in rows[0]["html"]
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=WAIT) == {"type": "pong"}
        await socket.disconnect()

    run(scenario)


def test_a_students_new_grade_reaches_the_open_gradebook_as_their_row_only(book: dict[str, Any]) -> None:
    socket = gradebook(book, "instructor")
    bob = book["people"]["bob"].user

    def bob_is_graded() -> int:
        submission = SubmissionFactory(
            owner=bob,
            exercise=book["exercise"],
            assignment=book["assignment"],
            status=Status.DONE,
            score=50.0,
        )
        gradebook_changed(assignment_id=book["assignment"].pk, user_id=bob.pk)
        return submission.pk

    async def scenario() -> None:
        connected, _ = await socket.connect(timeout=WAIT)
        assert connected
        submission_id = await database_sync_to_async(bob_is_graded)()
        message = await socket.receive_json_from(timeout=WAIT)
        assert (message["user_id"], message["row"]["username"], message["row"]["total"]) == (
            bob.pk,
            "bob",
            50.0,
        )
        assert message["row"]["cells"][0]["submission_id"] == submission_id
        assert '<span class="score" data-role="score">50.0</span>' in message["html"]
        # One hint, one row: alice's is not sent again.
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=WAIT) == {"type": "pong"}
        await socket.disconnect()

    run(scenario)


def test_a_member_removed_from_the_staff_gets_no_more_rows(book: dict[str, Any]) -> None:
    socket = gradebook(book, "assistant")
    assistant = book["people"]["assistant"]
    bob = book["people"]["bob"].user

    def demote_then_change_bob() -> None:
        Membership.objects.filter(pk=assistant.pk).update(role=Role.STUDENT)
        gradebook_changed(assignment_id=book["assignment"].pk, user_id=bob.pk)

    async def scenario() -> None:
        connected, _ = await socket.connect(timeout=WAIT)
        assert connected
        await database_sync_to_async(demote_then_change_bob)()
        closed = await socket.receive_output(timeout=WAIT)
        assert (closed["type"], closed["code"]) == ("websocket.close", 4403)

    run(scenario)


# The channel layer ----------------------------------------------------------------------------


def test_a_receive_cancelled_as_its_socket_closes_ends_every_time() -> None:
    """Each websocket's consumer waits in the channel layer's receive; closing the socket cancels
    it. With a Redis read timeout set, the cancellation was sometimes turned into a timeout and
    retried, and the receive went on polling Redis for good (about 1 in 40)."""
    import asyncio

    from channels.layers import get_channel_layer

    async def scenario() -> None:
        layer = get_channel_layer()
        for n in range(40):
            name = await layer.new_channel()
            waiting = asyncio.ensure_future(layer.receive(name))
            await asyncio.sleep((0, 0.001, 0.005, 0.02)[n % 4])
            waiting.cancel()
            done, _ = await asyncio.wait([waiting], timeout=WAIT)
            assert done, f"cancel {n} did not end the receive"

    run(scenario)


def test_two_hundred_pages_joining_their_groups_at_once_are_all_let_in() -> None:
    """A class opening its pages together: each socket joins its group at the same moment. The
    Redis pool's default cap (100 connections in redis-py 8) failed the handshakes past it."""
    import asyncio

    from channels.layers import get_channel_layer

    async def scenario() -> None:
        layer = get_channel_layer()
        names = [await layer.new_channel() for _ in range(200)]
        await asyncio.gather(*(layer.group_add(f"crowd-{n % 40}", name) for n, name in enumerate(names)))
        await asyncio.gather(*(layer.group_discard(f"crowd-{n % 40}", name) for n, name in enumerate(names)))

    run(scenario)
