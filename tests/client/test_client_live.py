"""The `layerlab` terminal client against the real stack (daphne, a Celery worker, the Docker
engine), run as a student runs it, in a subprocess: log in with a password, submit the seed
course's Python exercise, and read what it prints and how it exits. A proxy that cuts the
connection mid-build shows the client resuming with every log line once; Ctrl-C leaves the
grading going and `show --follow` picks it up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from api.models import Token
from api.services import token_revoke
from courses.models import Membership
from labs.models import Exercise, Submission
from tests.client.proxy import CuttingProxy
from tests.conftest import wait_finished
from tests.factories import AssignmentFactory, CourseRunFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "content" / "image-optimisation"
PYTHON_SLIM = SHIPPED / "exercises" / "python-slim"
PASSWORD = "pw-for-tests"


@pytest.fixture
def course(stack: Any) -> Exercise:
    call_command("import_course", str(SHIPPED), stdout=StringIO())
    return Exercise.objects.get(course__slug="image-optimisation", slug="python-slim")


class Terminal:
    """One student's shell: a config file of their own, English messages."""

    def __init__(self, home: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if k not in ("LAYERLAB_URL", "LAYERLAB_TOKEN")}
        self.env.update(
            {"LAYERLAB_CONFIG": str(home / "config.json"), "LANG": "C.UTF-8", "LAYERLAB_LANG": "en"}
        )
        self.home = home

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "layerlab_client.cli", *args]

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            input=stdin,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=400,
            cwd=self.home,
        )

    def login(self, url: str, username: str, *more: str) -> None:
        done = self.run(
            "login", url, "--username", username, "--password-stdin", *more, stdin=PASSWORD + "\n"
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"Logged in to {url} as {username}."), done.stdout

    def write(self, name: str, text: str) -> str:
        (self.home / name).write_text(text)
        return name


def test_the_seed_solution_passes_for_the_assignment_and_the_starter_falls_short_of_90(
    stack, course, tmp_path
):
    user = UserFactory(username="kim")
    run = CourseRunFactory(course=course.course, slug="cli-term")
    MembershipFactory(run=run, user=user, role=Membership.Role.STUDENT)
    assignment = AssignmentFactory(run=run, title="Week 2", exercises=[course])
    shell = Terminal(tmp_path)
    shell.login(stack.base_url, "kim")

    solution = shell.write("Dockerfile", (PYTHON_SLIM / "solution" / "Dockerfile").read_text())
    done = shell.run("submit", solution, "--exercise", "python-slim", "--assignment", str(assignment.pk))
    assert done.returncode == 0, done.stdout + done.stderr
    first = Submission.objects.get(owner=user)
    assert (first.status, first.score, first.assignment_id) == ("done", 100.0, assignment.pk)
    lines = done.stdout.splitlines()
    assert lines[0] == (
        f"Submitted #{first.pk} (image-optimisation/python-slim). "
        f"Follow it on the web: {stack.base_url}/labs/submissions/{first.pk}/"
    )
    assert "✓ pass    Non-root user in the final image (line 13)" in lines
    assert lines[-2:] == ["Score: 100 / 100 (passing 60)", "Passed."]

    starter = shell.write("starter.Dockerfile", (PYTHON_SLIM / "starter" / "Dockerfile").read_text())
    low = shell.run("submit", starter, "-e", "image-optimisation/python-slim", "--min-score", "90")
    second = Submission.objects.filter(owner=user).latest("pk")
    assert low.returncode == 1, low.stdout + low.stderr
    assert second.assignment_id is None and second.score is not None and second.score < 60
    assert low.stdout.splitlines()[0] == (
        "This is practice: it counts for no assignment. To hand it in for “Week 2”, add --assignment "
        f"{assignment.pk}."
    )
    assert low.stdout.splitlines()[-2:] == [
        f"Score: {second.score:g} / 100 (passing 60)",
        "Below 90: see the findings above.",
    ]
    assert "✗ fail    Non-root user in the final image (line 1)" in low.stdout

    shown = shell.run("show", str(first.pk), "--json")
    assert shown.returncode == 0
    assert '"score": 100.0' in shown.stdout and f'"id": {first.pk}' in shown.stdout


def test_a_refused_base_exits_2_with_the_reason_and_the_nearest_base(stack, course, tmp_path):
    UserFactory(username="lee")
    shell = Terminal(tmp_path)
    shell.login(stack.base_url, "lee")
    path = shell.write("Dockerfile", 'FROM alpine:3.19\nCMD ["sh"]\n')
    done = shell.run("submit", path, "-e", "python-slim")
    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith('Not graded: line 1: base image "alpine:3.19" is not available here.'), last
    assert "Use python:3.11-slim (Debian slim), the nearest available base" in last
    assert Submission.objects.get(owner__username="lee").failure_code == "base_not_allowed"


def test_a_connection_cut_mid_build_resumes_with_every_log_line_once(stack, course, tmp_path):
    UserFactory(username="park")
    nonce = uuid.uuid4().hex[:10]
    dockerfile = (
        "FROM python:3.11-slim\n"
        f"RUN for i in $(seq 1 30); do echo tick-$i-{nonce}; sleep 0.2; done\n"
        'CMD ["python3", "-c", "print(1)"]\n'
    )
    web = urlsplit(stack.base_url)
    with CuttingProxy(
        (web.hostname or "127.0.0.1", web.port or 80), cut_on=f"tick-8-{nonce}".encode()
    ) as proxy:
        shell = Terminal(tmp_path)
        shell.login(proxy.url, "park")
        path = shell.write("Dockerfile", dockerfile)
        done = shell.run("submit", path, "-e", "python-slim", "--verbose")
    assert proxy.cuts == 1
    ticks = [line for line in done.stdout.splitlines() if f"-{nonce}" in line and "│" in line]
    assert ticks == [f"  │ tick-{i}-{nonce}" for i in range(1, 31)], done.stdout
    notices = [line for line in done.stdout.splitlines() if line.startswith("Connection lost")]
    assert len(notices) == 1 and notices[0].startswith("Connection lost; reconnecting from event ")
    submission = Submission.objects.get(owner__username="park")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[-2] == f"Score: {submission.score:g} / 100 (passing 60)"
    assert done.stdout.count("step 2/2 DONE") == 1


def test_ctrl_c_stops_watching_and_show_follow_picks_the_grading_up(stack, course, tmp_path):
    UserFactory(username="choi")
    shell = Terminal(tmp_path)
    shell.login(stack.base_url, "choi")
    path = shell.write(
        "Dockerfile", f"FROM python:3.11-slim\nRUN sleep 6 && echo {uuid.uuid4().hex}\nUSER 10001\n"
    )
    watching = subprocess.Popen(
        shell.argv("submit", path, "-e", "python-slim"),
        env=shell.env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watching.stdout is not None
    for line in watching.stdout:
        if line.startswith("· Building your image."):
            break
    watching.send_signal(signal.SIGINT)
    _out, err = watching.communicate(timeout=30)
    submission = Submission.objects.get(owner__username="choi")
    assert watching.returncode == 130
    assert err.strip() == (
        f"Stopped watching; the grading goes on. Follow it again: layerlab show {submission.pk} --follow"
    )
    again = shell.run("show", str(submission.pk), "--follow")
    assert wait_finished(submission.pk).status == "done"
    assert again.returncode == 1, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1] == "Below 60: see the findings above."
    assert Submission.objects.filter(owner__username="choi").count() == 1


def test_a_read_token_may_not_submit_and_a_revoked_token_is_refused(stack, course, tmp_path):
    user = UserFactory(username="han")
    shell = Terminal(tmp_path)
    shell.login(stack.base_url, "han", "--scope", "read")
    path = shell.write("Dockerfile", (PYTHON_SLIM / "solution" / "Dockerfile").read_text())
    refused = shell.run("submit", path, "-e", "python-slim")
    assert refused.returncode == 4
    assert refused.stderr.strip() == "This token may only read. Make one that may submit."
    assert not Submission.objects.filter(owner=user).exists()

    token = Token.objects.get(user=user)
    token_revoke(user=user, token_id=token.pk)
    gone = shell.run("exercises")
    assert gone.returncode == 4
    assert gone.stderr.strip().startswith("The server refused the token (")
    assert gone.stderr.strip().endswith(f"Run `layerlab login {stack.base_url}` again.")
