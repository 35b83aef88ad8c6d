"""Live stream of one submission's events. Replays what is stored after `after`, then
forwards pushes in order without duplicates; a gap in the pushes is filled from the store."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from labs.events import group_name
from labs.models import Submission
from labs.selectors import submission_can_view, submission_events_after


def _authorised(user: Any, submission_id: int) -> bool:
    try:
        submission = Submission.objects.select_related("exercise__session__course").get(pk=submission_id)
    except Submission.DoesNotExist:
        return False
    return submission_can_view(user, submission)


def _events_after(submission_id: int, after: int) -> list[dict[str, Any]]:
    return [e.as_message() for e in submission_events_after(submission_id, after)]


class SubmissionConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        self.submission_id = int(self.scope["url_route"]["kwargs"]["submission_id"])
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if not await database_sync_to_async(_authorised)(user, self.submission_id):
            await self.close(code=4403)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.last_seq = max(0, int(query.get("after", ["0"])[0]))
        except ValueError:
            self.last_seq = 0
        self.group = group_name(self.submission_id)
        # Join before replaying so nothing pushed in between is missed; duplicates are dropped
        # by seq below.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._catch_up()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _catch_up(self) -> None:
        for message in await database_sync_to_async(_events_after)(self.submission_id, self.last_seq):
            await self._send(message)

    async def _send(self, message: dict[str, Any]) -> None:
        if message["seq"] <= self.last_seq:
            return
        await self.send_json(message)
        self.last_seq = message["seq"]

    async def submission_event(self, content: dict[str, Any]) -> None:
        message = content["event"]
        if message["seq"] > self.last_seq + 1:
            await self._catch_up()
        await self._send(message)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"kind": "pong", "seq": self.last_seq})
