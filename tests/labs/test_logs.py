"""A grading's log lines name the submission, from every thread of the worker process, with the
project's own logging configuration."""

from __future__ import annotations

import io
import logging
import logging.config
import threading
from collections.abc import Iterator

import pytest
from django.conf import settings

from labs import logs


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The project's console handler (its filter and format), writing to a buffer."""
    config = {**settings.LOGGING, "root": {"handlers": ["console"], "level": "INFO"}}
    logging.config.dictConfig(config)
    handler = logging.getLogger().handlers[0]
    out = io.StringIO()
    handler.setStream(out)  # type: ignore[attr-defined]
    yield out
    logging.config.dictConfig(settings.LOGGING)


def test_every_line_of_a_grading_names_the_submission_from_any_thread(lines: io.StringIO) -> None:
    logging.getLogger("sandbox.build").info("before")
    with logs.grading(42):
        logging.getLogger("sandbox.build").warning("in the worker")
        worker = threading.Thread(target=lambda: logging.getLogger("sandbox.layers").info("in a thread"))
        worker.start()
        worker.join()
        with logs.grading(43):
            logging.getLogger("labs.services").info("a nested one")
        logging.getLogger("labs.services").info("back")
    logging.getLogger("labs.services").info("after")
    said = [line.split(" ", 2)[2] for line in lines.getvalue().splitlines()]
    assert said == [
        "INFO sandbox.build: before",
        "WARNING sandbox.build: submission=42 in the worker",
        "INFO sandbox.layers: submission=42 in a thread",
        "INFO labs.services: submission=43 a nested one",
        "INFO labs.services: submission=42 back",
        "INFO labs.services: after",
    ]


def test_the_grading_service_names_its_submission_in_what_it_logs(lines: io.StringIO, db: None) -> None:
    from labs import services

    services.submission_grade(submission_id=7)  # none such: the service says so and stops
    assert (
        lines.getvalue()
        .splitlines()[-1]
        .endswith("INFO labs.services: submission=7 submission 7 no longer exists: nothing to grade")
    )
