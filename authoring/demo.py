"""The demo that `bin/up` loads: a demo course (one session, one exercise), two students and an
instructor, and a term of the seed course with an assignment of all its exercises."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from courses.models import Course, CourseRun, Membership, Session
from labs.models import Assignment, AssignmentExercise, Exercise

DEMO_USERS = {
    "student": "layerlab-student",
    "student2": "layerlab-student2",
    "instructor": "layerlab-instructor",
}

APP_PY = '''"""A tiny web app: answers every request with a greeting."""
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from layerlab\\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Hello).serve_forever()
'''

SOLUTION = """FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.txt .
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -r requirements.txt
COPY app.py .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
RUN useradd --uid 10001 --no-create-home app
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build /src/app.py .
USER 10001
EXPOSE 8000
CMD ["python", "app.py"]
"""

BEHAVIOUR_TESTS = {
    "schemaVersion": "2.0.0",
    "commandTests": [
        {
            "name": "the app imports and knows its handler",
            "command": "python",
            "args": ["-c", "import sys; sys.path.insert(0, '/app'); import app; print(app.Hello.__name__)"],
            "expectedOutput": ["^Hello"],
        }
    ],
    "fileExistenceTests": [{"name": "app.py is in /app", "path": "/app/app.py", "shouldExist": True}],
    "metadataTest": {"exposedPorts": ["8000"]},
}

RUBRIC = {
    "criteria": [
        {"id": "opt.multi_stage", "weight": 10},
        {"id": "opt.slim_final_base", "weight": 5},
        {"id": "sec.pinned_base", "weight": 5},
        {"id": "sec.final_user", "weight": 5},
        {"id": "sec.non_root", "weight": 15, "required": True},
        {"id": "opt.pip_cache", "weight": 5},
        {"id": "opt.cache_order", "weight": 5},
        {"id": "opt.exec_form", "weight": 5},
        {"id": "opt.image_size", "weight": 10, "options": {"full_at_mb": 180, "zero_at_mb": 500}},
        {"id": "opt.layer_count", "weight": 5},
        {"id": "opt.efficiency", "weight": 5},
        {"id": "opt.no_package_caches", "weight": 5},
        {"id": "sec.no_secret_files", "weight": 5},
        {"id": "run.behaviour", "weight": 15, "required": True},
        {"id": "opt.build_cache", "weight": 5},
    ]
}

STARTER = """FROM python:3.11-slim
COPY . /app
WORKDIR /app
CMD python app.py
"""

LESSON = """# 이미지 최적화 맛보기 (Demo)

Dockerfile을 제출하면 샌드박스에서 BuildKit으로 빌드되고, 모든 빌드 단계가 실시간으로 표시됩니다.

Submit a Dockerfile and watch every BuildKit step stream to the page.

| 목표 | Goal |
|---|---|
| 작은 이미지 | a small image |
| 비루트 사용자 | a non-root user |

```dockerfile
FROM python:3.11-slim AS runtime
USER 10001
```
"""

INSTRUCTIONS = """`app.py`를 실행하는 이미지를 만드세요. 슬림 베이스, 비루트 사용자, exec 형식의 CMD를 쓰고
8000번 포트를 EXPOSE 하세요. 채점은 최적화·보안·동작 테스트를 모두 봅니다.

Containerise `app.py`: a slim base, a non-root user, an exec-form `CMD`, and `EXPOSE 8000`.
Grading looks at optimisation, security and behaviour tests.
"""


@transaction.atomic
def demo_load() -> dict[str, str]:
    User = get_user_model()
    users = {}
    for name, password in DEMO_USERS.items():
        user, _ = User.objects.get_or_create(username=name)
        user.set_password(password)
        user.is_staff = name == "instructor"
        user.save()
        users[name] = user
    course, _ = Course.objects.update_or_create(
        slug="demo",
        defaults={
            "title": "Layerlab 데모",
            "title_en": "Layerlab demo",
            "description": "Dockerfile을 써 보고 빌드를 지켜보세요.",
            "description_en": "Write a Dockerfile and watch it build.",
        },
    )
    for staffed in Course.objects.all():  # the demo instructor teaches every course here
        staffed.staff.add(users["instructor"])
    session, _ = Session.objects.update_or_create(
        course=course,
        slug="first-image",
        defaults={
            "title": "첫 번째 이미지",
            "title_en": "Your first image",
            "body_md": LESSON,
            "position": 1,
        },
    )
    Exercise.objects.update_or_create(
        course=session.course,
        slug="demo-python-app",
        defaults={
            "session": session,
            "title": "파이썬 앱 컨테이너화",
            "title_en": "Containerise a Python app",
            "instructions_md": INSTRUCTIONS,
            "starter_dockerfile": STARTER,
            "context_files": {"app.py": APP_PY, "requirements.txt": ""},
            "solution_dockerfile": SOLUTION,
            "behaviour_tests": BEHAVIOUR_TESTS,
            "rubric": RUBRIC,
            "build_timeout_seconds": 300,
            "position": 1,
        },
    )
    for slug in (SEED_COURSE, "demo"):
        target = Course.objects.filter(slug=slug).first()
        if target is not None:
            demo_run_load(target, users)
            break
    return DEMO_USERS


SEED_COURSE = "image-optimisation"
DEMO_RUN = "demo-run"


def demo_run_load(course: Course, users: dict[str, AbstractBaseUser]) -> CourseRun:
    """A term of the seed course (the demo course if the seed is not imported): the demo
    instructor teaches it, both demo students take it, and one assignment holds every exercise
    of the course, open for two weeks with a late window. Loading again keeps submissions and
    grades and puts the times and rules back."""
    today = timezone.localdate()
    run, _ = CourseRun.objects.update_or_create(
        slug=DEMO_RUN,
        defaults={
            "course": course,
            "title": "데모 학기 / Demo term",
            "starts_on": today - timedelta(days=7),
            "ends_on": today + timedelta(days=90),
            "time_zone": "Asia/Seoul",
        },
    )
    roles = {"instructor": Membership.Role.INSTRUCTOR, "student": Membership.Role.STUDENT}
    roles["student2"] = Membership.Role.STUDENT
    for name, role in roles.items():
        Membership.objects.update_or_create(run=run, user=users[name], defaults={"role": role})
    now = timezone.now().replace(second=0, microsecond=0)
    assignment, _ = Assignment.objects.update_or_create(
        run=run,
        title="과제 1: 이미지 최적화",
        defaults={
            "title_en": "Assignment 1: image optimisation",
            "opens_at": now - timedelta(days=1),
            "due_at": now + timedelta(days=14),
            "late_until": now + timedelta(days=17),
            "late_penalty": Assignment.Penalty.PER_DAY,
            "late_penalty_percent": 10,
            "late_penalty_cap_percent": 30,
            "max_attempts": 5,
            "min_interval_seconds": 0,
            "counting": Assignment.Counting.BEST,
        },
    )
    exercises = Exercise.objects.filter(course=course).order_by("session__position", "position", "id")
    for position, exercise in enumerate(exercises):
        AssignmentExercise.objects.update_or_create(
            assignment=assignment, exercise=exercise, defaults={"position": position}
        )
    return run
