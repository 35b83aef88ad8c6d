"""The demo course that `bin/up` loads: one session, one exercise, a student and an instructor."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from courses.models import Course, Session
from labs.models import Exercise

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
            "description": "Dockerfile을 써 보고 빌드를 지켜보세요. Write a Dockerfile and watch it build.",
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
    return DEMO_USERS
