"""Every log line written while a submission is graded names it (`submission=<id>`), from any
thread of the worker process: the pipeline's evidence pool, the build's readers, the sandbox.

A worker's pool process grades one submission at a time (prefork, prefetch 1), so the
submission being graded is a property of the process, not of a thread or a context; the
threads the sandbox starts need not carry it. Only the standard library here: the logging
configuration imports this before Django's apps are ready."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

_current: int | None = None


@contextmanager
def grading(submission_id: int) -> Iterator[None]:
    """Log lines inside name `submission_id`; the one before comes back after."""
    global _current
    before, _current = _current, submission_id
    try:
        yield
    finally:
        _current = before


class SubmissionFilter(logging.Filter):
    """Gives each record `submission`: `submission=<id> ` while one is graded, else empty."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.submission = f"submission={_current} " if _current is not None else ""
        return True
