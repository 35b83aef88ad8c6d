"""Follows one submission's events to its end: the websocket first, resumed from the last
seq after a cut (so nothing is lost or shown twice), and the HTTP events list when the
websocket cannot be had. Events come out in seq order, each once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from layerlab_client.api import Api, ApiError

ENDED = {"done", "failed", "error", "held"}
"""Statuses after which there is nothing to watch: held waits for an author's fix, which may take days."""

WEBSOCKET_TRIES = 5
IDLE_SECONDS = 20.0
POLL_SECONDS = 1.5


def ended(event: dict[str, Any]) -> bool:
    return event.get("kind") == "status" and event.get("payload", {}).get("status") in ENDED


def websocket_url(http_url: str, submission_id: int, after: int) -> str:
    scheme, _, rest = http_url.partition("://")
    ws = "wss" if scheme == "https" else "ws"
    return f"{ws}://{rest}/ws/submissions/{submission_id}/?after={after}"


class Follower:
    def __init__(
        self, api: Api, submission_id: int, after: int = 0, notice: Callable[[str, int], None] | None = None
    ) -> None:
        self.api = api
        self.submission_id = submission_id
        self.last = after
        self.notice = notice or (lambda what, seq: None)
        self.done = False

    def _take(self, event: dict[str, Any]) -> bool:
        """True if the event is new (and so to be shown)."""
        seq = event.get("seq")
        if not isinstance(seq, int) or seq <= self.last:
            return False
        self.last = seq
        if ended(event):
            self.done = True
        return True

    def events(self) -> Iterator[dict[str, Any]]:
        failures = 0
        while not self.done and failures < WEBSOCKET_TRIES:
            try:
                yield from self._websocket()
                failures = 0
            except InvalidStatus as exc:
                raise _refused(exc.response.status_code) from exc
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code in (4401, 4403):
                    raise _refused(exc.rcvd.code - 4000) from exc
                failures += 1
            except (OSError, InvalidHandshake, TimeoutError):
                failures += 1
            if not self.done:
                self.notice("reconnecting", self.last)
                time.sleep(min(0.5 * 2**failures, 5.0))
        if not self.done:
            self.notice("polling", self.last)
            yield from self._poll()

    def _websocket(self) -> Iterator[dict[str, Any]]:
        url = websocket_url(self.api.url, self.submission_id, self.last)
        headers = {"Authorization": f"Bearer {self.api.token}"}
        with connect(url, additional_headers=headers, open_timeout=10, close_timeout=2, max_size=2**22) as ws:
            while not self.done:
                try:
                    raw = ws.recv(timeout=IDLE_SECONDS)
                except TimeoutError:
                    # Quiet for a while: ask the store, in case a push went missing.
                    yield from self._drain()
                    continue
                message = json.loads(raw)
                if isinstance(message, dict) and message.get("kind") != "pong" and self._take(message):
                    yield message

    def _drain(self) -> Iterator[dict[str, Any]]:
        """Every stored event after the last one shown, page by page."""
        while True:
            page = self.api.events(self.submission_id, self.last)
            for event in page["events"]:
                if self._take(event):
                    yield event
            if not page.get("more"):
                return

    def _poll(self) -> Iterator[dict[str, Any]]:
        while not self.done:
            try:
                yield from self._drain()
            except ApiError as exc:
                if exc.status not in (0, 502, 503, 504):
                    raise
            if not self.done:
                time.sleep(POLL_SECONDS)


def _refused(status: int) -> ApiError:
    if status == 401:
        return ApiError(401, "unauthorized", "the token was refused")
    return ApiError(404, "not_found", "no such submission")
