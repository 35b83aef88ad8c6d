"""The throwaway course the benchmarks that run against `bin/up` grade in: a course, a session and
`count` tiny exercises on debian:bookworm-slim with a two-criterion rubric, rotated so the
per-exercise rate limit never refuses a benchmark. Import after `django.setup()`."""

from __future__ import annotations

import uuid

from courses.models import Course, Session
from labs.models import Exercise

RUBRIC = {"criteria": [{"id": "opt.exec_form", "weight": 1}, {"id": "sec.final_user", "weight": 1}]}
EXERCISES = 4


def bench_course(count: int = EXERCISES) -> tuple[str, Course, list[Exercise]]:
    """A fresh tag (for the names of what else a benchmark makes), the course and its exercises;
    deleting the course deletes the rest."""
    tag = uuid.uuid4().hex[:6]
    course = Course.objects.create(slug=f"bench-{tag}", title="bench")
    session = Session.objects.create(course=course, slug="s", title="s")
    exercises = [
        Exercise.objects.create(
            course=course,
            session=session,
            slug=f"tiny-{i}",
            title="tiny",
            rubric=RUBRIC,
            allowed_base_images=["debian:bookworm-slim"],
        )
        for i in range(count)
    ]
    return tag, course, exercises
