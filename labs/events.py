"""The one way events reach a browser: stored first (strictly increasing `seq` per submission),
then pushed to group `submission.<id>` after the transaction commits. The push is a hint; a
client that misses one catches up from the store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from labs import metrics
from labs.models import Submission, SubmissionEvent

log = logging.getLogger(__name__)


def group_name(submission_id: int) -> str:
    return f"submission.{submission_id}"


def gradebook_group(assignment_id: int) -> str:
    return f"gradebook.{assignment_id}"


def gradebook_changed(*, assignment_id: int, user_id: int) -> None:
    """Tells the assignment's open gradebooks that one student's row changed, after the
    transaction commits. A hint only: the gradebook reads the row from the database."""

    def push() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(
                gradebook_group(assignment_id), {"type": "gradebook.changed", "user_id": user_id}
            )
        except Exception:
            log.warning("push of a gradebook change for assignment %s failed", assignment_id, exc_info=True)

    transaction.on_commit(push)


def _push(message: dict[str, Any], submission_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            group_name(submission_id), {"type": "submission.event", "event": message}
        )
        metrics.count("events_pushed")
    except Exception:
        metrics.count("events_push_failed")
        # The stored event is the truth; a client catches up by seq.
        log.warning(
            "push of event %s for submission %s failed", message.get("seq"), submission_id, exc_info=True
        )


def event_emit(*, submission_id: int, kind: str, payload: dict[str, Any]) -> SubmissionEvent:
    with transaction.atomic():
        seq = (
            Submission.objects.select_for_update()
            .values_list("last_event_seq", flat=True)
            .get(pk=submission_id)
        ) + 1
        Submission.objects.filter(pk=submission_id).update(last_event_seq=seq)
        event = SubmissionEvent.objects.create(
            submission_id=submission_id, seq=seq, kind=kind, payload=payload
        )
        message = event.as_message()
        transaction.on_commit(lambda: _push(message, submission_id))
    return event


class LogBatcher:
    """Collects build log lines and stores them as one `log` event at most every 250 ms, so a
    chatty build neither floods the channel layer nor writes a row per line."""

    def __init__(
        self,
        submission_id: int,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.submission_id = submission_id
        self.interval = settings.LAYERLAB_LOG_BATCH_SECONDS if interval is None else interval
        self.clock = clock
        self.lines: list[dict[str, Any]] = []
        self.first_at = 0.0

    def add(self, step: str, line: str, *, truncated: bool = False) -> None:
        if not self.lines:
            self.first_at = self.clock()
        entry: dict[str, Any] = {"step": step, "line": line}
        if truncated:
            entry["truncated"] = True
        self.lines.append(entry)
        self.tick()

    def tick(self) -> None:
        if self.lines and self.clock() - self.first_at >= self.interval:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        lines, self.lines = self.lines, []
        event_emit(submission_id=self.submission_id, kind=SubmissionEvent.Kind.LOG, payload={"lines": lines})
