"""A submission's events as Server-Sent Events. The store is the truth, as for the websocket:
the stream reads what is stored after the last seq it sent, and a push on the submission's
group only wakes it to read again, so a dropped push loses nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from labs.events import group_name
from labs.models import Submission
from labs.selectors import submission_events_after

KEEPALIVE_SECONDS = 15.0
PAGE = 500
FINAL = {str(s) for s in Submission.FINISHED}


def _read(submission_id: int, after: int) -> tuple[list[dict[str, Any]], bool]:
    """The stored events after `after` (a page), and whether the submission had finished
    before they were read (so none can follow them)."""
    status = Submission.objects.filter(pk=submission_id).values_list("status", flat=True).first()
    events = [e.as_message() for e in submission_events_after(submission_id, after, limit=PAGE)]
    return events, status in FINAL


def frame(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return f"id: {message['seq']}\nevent: {message['kind']}\ndata: {data}\n\n".encode()


def _final(message: dict[str, Any]) -> bool:
    return message["kind"] == "status" and message["payload"].get("status") in FINAL


async def event_stream(submission_id: int, after: int, *, seconds: float) -> AsyncIterator[bytes]:
    layer = get_channel_layer()
    channel = await layer.new_channel() if layer is not None else None
    group = group_name(submission_id)
    if channel is not None:
        # Joined before the first read, so nothing stored in between goes unnoticed.
        await layer.group_add(group, channel)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last = after
    try:
        yield b"retry: 1000\n\n"
        while True:
            batch, finished = await sync_to_async(_read)(submission_id, last)
            for message in batch:
                yield frame(message)
                last = message["seq"]
                if _final(message):
                    return
            if len(batch) == PAGE:
                continue
            if finished:
                return
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                if channel is None:
                    await asyncio.sleep(min(1.0, left))
                else:
                    await asyncio.wait_for(layer.receive(channel), timeout=min(KEEPALIVE_SECONDS, left))
            except TimeoutError:
                yield b": keep-alive\n\n"
    finally:
        if channel is not None:
            await layer.group_discard(group, channel)
