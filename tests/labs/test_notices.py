"""Warnings that do not stop a build reach the student with the build (real engine)."""

from __future__ import annotations

import pytest

from labs import services
from labs.models import Submission
from tests.factories import SubmissionFactory

pytestmark = [pytest.mark.docker, pytest.mark.django_db]


def test_direction_controls_and_dropped_setuid_bits_are_told_and_the_build_goes_on() -> None:
    dockerfile = (
        "FROM python:3.11-slim\n"
        'RUN echo "ok" # \u202etxt.exe\n'
        "COPY --chmod=4755 app.py /app/app.py\n"
        "USER 1000\n"
    )
    submission = SubmissionFactory(dockerfile=dockerfile)

    services.submission_grade(submission_id=submission.pk)

    submission.refresh_from_db()
    assert submission.status == Submission.Status.DONE
    carrying = [e.payload for e in submission.events.filter(kind="status") if e.payload.get("notices")]
    assert len(carrying) == 1
    notes = carrying[0]["notices"]
    assert [(n["code"], n["line"]) for n in notes] == [("bidi_control", 2), ("chmod_bits_dropped", 3)]
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in notes[0]["message"]
    assert "U+202E" in notes[0]["message_ko"] and notes[0]["message_ko"] != notes[0]["message"]
