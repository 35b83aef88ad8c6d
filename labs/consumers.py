"""Live stream of one submission's events. Replays what is stored after `after`, then
forwards pushes in order without duplicates; a gap in the pushes is filled from the store."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import translation

from courses.selectors import run_get_for_staff
from labs import metrics
from labs.events import gradebook_group, group_name
from labs.exports import gradebook_row_data
from labs.models import Assignment, Submission
from labs.selectors import gradebook_for, submission_can_view, submission_events_after
from labs.selectors_staff import assignment_get_in_run


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
        # Accept, then close with a code: a close before accepting reaches the browser as 1006
        # (abnormal), and the page would keep reconnecting instead of saying why.
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=4401)
            return
        if not await database_sync_to_async(_authorised)(user, self.submission_id):
            await self.accept()
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
            await asyncio.to_thread(metrics.count, "events_gaps_filled")
            await self._catch_up()
        await self._send(message)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"kind": "pong", "seq": self.last_seq})


def _staff_assignment(user: Any, run_slug: str, assignment_id: int) -> Assignment | None:
    """The assignment, if `user` is staff of its run (what the gradebook page requires)."""
    try:
        run = run_get_for_staff(user, run_slug)
        return assignment_get_in_run(run, assignment_id)
    except Http404:
        return None


def _row_messages(assignment: Assignment, user_ids: list[int] | None, language: str) -> list[dict[str, Any]]:
    """Each student's row as the page shows it, read from the database (the push is a hint)."""
    book = gradebook_for(assignment, user_ids=user_ids)
    with translation.override(language):
        return [
            {
                "type": "row",
                "user_id": row.user_id,
                "row": gradebook_row_data(row, book.exercises),
                "html": render_to_string(
                    "labs/staff/_gradebook_row.html",
                    {"row": row, "book": book, "assignment": assignment, "run": assignment.run},
                ),
            }
            for row in book.rows
        ]


def _language(scope: dict[str, Any]) -> str:
    """The page's language, which the page names in `?lang=`."""
    query = parse_qs(scope.get("query_string", b"").decode())
    try:
        return translation.get_supported_language_variant(query.get("lang", [""])[0])
    except LookupError:
        return settings.LANGUAGE_CODE


class GradebookConsumer(AsyncJsonWebsocketConsumer):
    """A gradebook page's live rows: on each `gradebook.changed` hint, that student's row read
    again from the database; on `resync` (each (re)connection), every row. Staff of the run only:
    4401 to the anonymous, 4403 to everyone else (accepted first, so the code reaches the client)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        kwargs = self.scope["url_route"]["kwargs"]
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=4401)
            return
        self.user = user
        self.run_slug = kwargs["run_slug"]
        found = await database_sync_to_async(_staff_assignment)(user, self.run_slug, kwargs["assignment_id"])
        if found is None:
            await self.accept()
            await self.close(code=4403)
            return
        self.assignment = found
        self.language = _language(self.scope)
        self.group = gradebook_group(found.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _send_rows(self, user_ids: list[int] | None) -> None:
        # A member removed from the run's staff stops receiving rows at the next one.
        still = await database_sync_to_async(_staff_assignment)(self.user, self.run_slug, self.assignment.pk)
        if still is None:
            await self.close(code=4403)
            return
        self.assignment = still
        for message in await database_sync_to_async(_row_messages)(still, user_ids, self.language):
            await self.send_json(message)

    async def gradebook_changed(self, content: dict[str, Any]) -> None:
        await self._send_rows([int(content["user_id"])])

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "resync":
            await self._send_rows(None)
        elif content.get("type") == "ping":
            await self.send_json({"type": "pong"})
