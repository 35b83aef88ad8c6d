"""Following a submission without a browser: the websocket with a token instead of a session
cookie (the project's ASGI application, the real Redis channel layer), and Server-Sent Events
(Django's ASGI handler, the same channel layer): stored events replayed after a seq, new ones
as they are stored, the stream ended by the final status."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from api.services import token_create, token_revoke
from config.asgi import application
from labs.events import event_emit
from tests.factories import SubmissionFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_redis")]
WAIT = 5


def _emit(submission_id: int, kind: str, payload: dict[str, Any]) -> None:
    event_emit(submission_id=submission_id, kind=kind, payload=payload)


def _socket(submission_id: int, headers: list[tuple[bytes, bytes]], after: int = 0) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application, f"/ws/submissions/{submission_id}/?after={after}", headers=headers
    )


def test_a_token_opens_the_websocket_without_an_origin_and_replays_after_the_seq() -> None:
    user = UserFactory()
    submission = SubmissionFactory(owner=user)
    for n in range(3):
        _emit(submission.pk, "log", {"lines": [{"step": "s", "line": f"line {n}"}]})
    raw = token_create(user=user, name="cli", scope="read")[1]

    async def scenario() -> None:
        socket = _socket(submission.pk, [(b"authorization", f"Bearer {raw}".encode())], after=1)
        connected, _ = await socket.connect(timeout=WAIT)
        assert connected
        got = [(await socket.receive_json_from(timeout=WAIT))["seq"] for _ in range(2)]
        assert got == [2, 3]
        await sync_to_async(_emit)(submission.pk, "status", {"status": "done", "message": ""})
        live = await socket.receive_json_from(timeout=WAIT)
        assert (live["seq"], live["payload"]["status"]) == (4, "done")
        await socket.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize("who", ["revoked", "other student", "made up"])
def test_a_token_that_may_not_see_the_submission_is_closed_with_a_code(who: str) -> None:
    owner = UserFactory()
    submission = SubmissionFactory(owner=owner)
    if who == "made up":
        raw, expected = "ll_" + "y" * 43, 4401
    elif who == "revoked":
        token, raw = token_create(user=owner, name="cli", scope="read")
        token_revoke(user=owner, token_id=token.pk)
        expected = 4401
    else:
        raw, expected = token_create(user=UserFactory(), name="cli", scope="read")[1], 4403

    async def scenario() -> None:
        socket = _socket(submission.pk, [(b"authorization", f"Bearer {raw}".encode())])
        connected, _ = await socket.connect(timeout=WAIT)
        assert connected
        closed = await socket.receive_output(timeout=WAIT)
        assert (closed["type"], closed["code"]) == ("websocket.close", expected)

    async_to_sync(scenario)()


def test_without_a_token_the_websocket_still_needs_the_sites_origin() -> None:
    submission = SubmissionFactory()

    async def scenario() -> None:
        socket = _socket(submission.pk, [(b"origin", b"https://elsewhere.example")])
        connected, _ = await socket.connect(timeout=WAIT)
        assert not connected

    async_to_sync(scenario)()


def _frames(body: str) -> list[dict[str, Any]]:
    """The events of an SSE body, each with the id and event name it was sent under."""
    out = []
    for block in body.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.split("\n") if ": " in line and not line.startswith(":")
        )
        if "data" in fields:
            event = json.loads(fields["data"])
            assert (fields["id"], fields["event"]) == (str(event["seq"]), event["kind"])
            out.append(event)
    return out


async def _read_stream(client: AsyncClient, url: str, raw: str, **headers: str) -> str:
    response = await client.get(url, headers={"Authorization": f"Bearer {raw}", **headers})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    chunks = [chunk async for chunk in response.streaming_content]
    return b"".join(chunks).decode()


def test_sse_replays_after_last_event_id_and_ends_with_the_final_status() -> None:
    user = UserFactory()
    submission = SubmissionFactory(owner=user)
    _emit(submission.pk, "status", {"status": "building", "message": ""})
    _emit(submission.pk, "step", {"id": "s1", "state": "done"})
    _emit(submission.pk, "status", {"status": "done", "message": ""})
    raw = token_create(user=user, name="cli", scope="read")[1]
    url = f"/api/v1/submissions/{submission.pk}/stream"
    body = async_to_sync(_read_stream)(AsyncClient(), url, raw, **{"Last-Event-ID": "1"})
    assert body.startswith("retry: 1000\n\n")
    assert [(e["seq"], e["kind"]) for e in _frames(body)] == [(2, "step"), (3, "status")]


def test_sse_sends_events_stored_while_it_waits_then_ends() -> None:
    user = UserFactory()
    submission = SubmissionFactory(owner=user)
    _emit(submission.pk, "status", {"status": "queued", "message": ""})
    raw = token_create(user=user, name="cli", scope="read")[1]
    url = f"/api/v1/submissions/{submission.pk}/stream?after=0"

    async def scenario() -> str:
        reading = asyncio.create_task(_read_stream(AsyncClient(), url, raw))
        await asyncio.sleep(0.5)  # the stream has replayed seq 1 and waits on the channel layer
        assert not reading.done()
        await sync_to_async(_emit)(submission.pk, "log", {"lines": [{"step": "s", "line": "hi"}]})
        await sync_to_async(_emit)(submission.pk, "status", {"status": "failed", "message": "no"})
        return await asyncio.wait_for(reading, timeout=WAIT)

    body = async_to_sync(scenario)()
    assert [(e["seq"], e["kind"]) for e in _frames(body)] == [(1, "status"), (2, "log"), (3, "status")]
