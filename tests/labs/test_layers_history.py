"""The layers a submission keeps (bounded), their JSON endpoints, the history of attempts at an
exercise, the comparison of two attempts, and the submission page's place among them."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from labs import pipeline
from labs.models import Submission
from labs.selectors import dockerfile_diff, exercise_attempts, verdict_changes
from sandbox.dockerfile import parse
from sandbox.image import HistoryEntry, ImageFacts
from sandbox.layers.cache import LayerCache
from sandbox.layers.report import LayerInfo
from sandbox.layers.summary import DIR, FILE, Entry, LayerSummary
from tests.factories import (
    AssignmentFactory,
    ExerciseFactory,
    MembershipFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _summary(n: int, entries: list[tuple[str, int, str]]) -> LayerSummary:
    return LayerSummary(
        diff_id="sha256:" + f"{n:064x}",
        tar_size=0,
        entries=tuple(Entry(p, s, k, 0o644, 0, 0) for p, s, k in entries),
    )


@dataclass
class _Report:
    layers: tuple[LayerInfo, ...]
    size_bytes: int
    wasted_bytes: int


DOCKERFILE = "FROM debian:bookworm-slim\nWORKDIR /app\nRUN make-data\nENV A=1\nCOPY f.txt /app/\n"


def _facts(history: list[tuple[str, int]]) -> ImageFacts:
    return ImageFacts(
        id="sha256:" + "f" * 64,
        size=0,
        layer_count=4,
        layer_ids=(),
        user="",
        entrypoint=None,
        cmd=None,
        workdir="",
        env=(),
        exposed_ports=(),
        labels={},
        healthcheck=None,
        history=tuple(HistoryEntry(c, s, False) for c, s in history),
    )


@pytest.fixture
def view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """What layer_view keeps of a four-layer image: one base layer, WORKDIR, a RUN that wrote
    5000 files, a COPY. The engine is asked only for the base's history (one entry)."""
    monkeypatch.setenv("LAYERLAB_LAYER_CACHE", str(tmp_path))
    monkeypatch.setattr(pipeline.engine, "image_history", lambda ref: [{"CreatedBy": ""}])
    layers = [
        _summary(1, [("/etc", 0, DIR), ("/etc/os-release", 300, FILE)]),
        _summary(2, [("/app", 0, DIR)]),
        _summary(3, [(f"/app/data/f{i:05d}", i, FILE) for i in range(1, 5001)]),
        _summary(4, [("/app/f.txt", 6, FILE)]),
    ]
    cache = LayerCache(tmp_path)
    for s in layers:
        cache.put(s)
    report = _Report(
        layers=tuple(
            LayerInfo(i, s.diff_id, s.size, len(s.entries), True, 7 if i == 2 else 0)
            for i, s in enumerate(layers)
        ),
        size_bytes=sum(s.size for s in layers),
        wasted_bytes=7,
    )
    facts = _facts(
        [
            ("", 300),
            ("WORKDIR /app", 0),
            ("RUN /bin/sh -c make-data # buildkit", 12502500),
            ("ENV A=1", 0),
            ("COPY f.txt /app/ # buildkit", 6),
        ]
    )
    kept = pipeline.layer_view(
        report=report, facts=facts, parsed=parse(DOCKERFILE), base="debian:bookworm-slim", base_layer_count=1
    )
    assert kept is not None
    return kept


def test_the_kept_layers_are_bounded_and_a_trimmed_layer_says_so(view: dict):
    assert view["base"] == {
        "ref": "debian:bookworm-slim",
        "size": 300,
        "layers": [{"index": 0, "size": 300, "wasted": 0}],
    }
    assert [(x["index"], x["instruction"], x["line"]) for x in view["layers"]] == [
        (1, "WORKDIR /app", 2),
        (2, "RUN make-data", 3),
        (3, "COPY f.txt /app/", 5),
    ]
    run = view["layers"][1]
    assert (run["size"], run["wasted"]) == (sum(range(1, 5001)), 7)
    assert len(run["files"]) == pipeline.KEEP_FILES == 100
    assert (run["files_total"], run["trimmed"]) == (5000, 4900)
    assert view["layers"][2]["files"] == [["/app/f.txt", 6, "added", "file"]]


def _owned(view: dict, **kw) -> Submission:
    return SubmissionFactory(
        status=Submission.Status.DONE, score=80.0, image_size=12_502_806, layers=view, **kw
    )


def test_the_layers_endpoint_gives_the_owner_the_bars_without_the_files(view: dict):
    submission = _owned(view)
    client = Client()
    client.force_login(submission.owner)
    data = client.get(reverse("labs:submission_layers", args=[submission.pk])).json()
    assert data["base"]["layers"] == [{"index": 0, "size": 300, "wasted": 0}]
    assert [(x["index"], x["size"], x["wasted"], x["trimmed"]) for x in data["layers"]] == [
        (1, 0, 0, 0),
        (2, 12502500, 7, 4900),
        (3, 6, 0, 0),
    ]
    assert "files" not in data["layers"][1]
    files = client.get(reverse("labs:submission_layer_files", args=[submission.pk, 3])).json()
    assert files["files"] == [["/app/f.txt", 6, "added", "file"]]
    assert files["dirs"] == [["/app", 6, 1]]
    # A base layer keeps no files; no layer 9 exists.
    assert client.get(reverse("labs:submission_layer_files", args=[submission.pk, 0])).status_code == 404
    assert client.get(reverse("labs:submission_layer_files", args=[submission.pk, 9])).status_code == 404


def test_another_student_gets_404_and_an_anonymous_visitor_is_sent_to_log_in(view: dict):
    submission = _owned(view)
    other = Client()
    other.force_login(UserFactory())
    for url in (
        reverse("labs:submission_layers", args=[submission.pk]),
        reverse("labs:submission_layer_files", args=[submission.pk, 2]),
    ):
        assert other.get(url).status_code == 404
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_a_submission_never_built_has_no_layers():
    submission = SubmissionFactory(status=Submission.Status.FAILED)
    client = Client()
    client.force_login(submission.owner)
    data = client.get(reverse("labs:submission_layers", args=[submission.pk])).json()
    assert (data["layers"], data["base"]["layers"]) == ([], [])


def _attempts(n: int = 3):
    """A student's three attempts at one exercise: practice, then two for an assignment."""
    exercise = ExerciseFactory()
    student = UserFactory()
    assignment = AssignmentFactory(title="Week 1", exercises=[exercise])
    MembershipFactory(run=assignment.run, user=student)
    texts = [
        "FROM python:3.11-slim\nCOPY . /app\nCMD python /app/app.py\n",
        "FROM python:3.11-slim\nCOPY . /app\nUSER nobody\nCMD python /app/app.py\n",
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY . /app\nUSER nobody\nCMD python /app/app.py\n",
    ]
    results = [
        [
            {"criterion": "sec.non_root", "verdict": "fail"},
            {"criterion": "opt.image_size", "verdict": "partial"},
        ],
        [
            {"criterion": "sec.non_root", "verdict": "pass"},
            {"criterion": "opt.image_size", "verdict": "partial"},
        ],
        [
            {"criterion": "sec.non_root", "verdict": "pass"},
            {"criterion": "opt.image_size", "verdict": "pass"},
        ],
    ]
    made = []
    for i in range(n):
        made.append(
            SubmissionFactory(
                owner=student,
                exercise=exercise,
                dockerfile=texts[i],
                results=results[i],
                status=Submission.Status.DONE,
                score=[40.0, 70.0, 95.0][i],
                image_size=[150_000_000, 150_000_000, 60_000_000][i],
                assignment=None if i == 0 else assignment,
            )
        )
    return exercise, student, made


def test_the_history_lists_every_attempt_in_order_with_its_assignment():
    exercise, student, made = _attempts()
    SubmissionFactory(exercise=exercise)  # someone else's
    client = Client()
    client.force_login(student)
    page = client.get(
        reverse("labs:history", args=[exercise.course.slug, exercise.slug]), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert page.status_code == 200
    rows = [
        (a.number, a.submission.pk, a.submission.assignment.title if a.submission.assignment else None)
        for a in page.context["attempts"]
    ]
    assert rows == [(1, made[0].pk, None), (2, made[1].pk, "Week 1"), (3, made[2].pk, "Week 1")]
    html = page.content.decode()
    assert html.count('data-role="history-assignment">Practice<') == 1
    assert html.count('data-role="history-assignment">Week 1<') == 2
    assert f'data-history-score="{made[2].pk}">95.0<' in html
    assert f'data-history-size="{made[2].pk}">60.0 MB<' in html
    assert 'data-role="history-chart"' in html
    korean = client.get(reverse("labs:history", args=[exercise.course.slug, exercise.slug])).content.decode()
    assert f"<h1>{exercise.title}: 내 시도 기록</h1>" in korean
    assert korean.count('data-role="history-assignment">연습<') == 1


def test_the_exercise_page_links_to_the_history():
    exercise, student, made = _attempts(1)
    client = Client()
    client.force_login(student)
    html = client.get(exercise.get_absolute_url()).content.decode()
    assert f'href="{reverse("labs:history", args=[exercise.course.slug, exercise.slug])}"' in html
    assert f'data-history-score="{made[0].pk}">40.0<' in html


def test_comparing_two_attempts_shows_the_exact_changed_lines_and_verdicts():
    exercise, student, made = _attempts()
    client = Client()
    client.force_login(student)
    url = reverse("labs:history", args=[exercise.course.slug, exercise.slug])
    page = client.get(url, {"before": made[0].pk, "after": made[2].pk}, HTTP_ACCEPT_LANGUAGE="en")
    comparison = page.context["comparison"]
    changed = [(r.kind, r.old, r.new, r.text) for r in comparison.rows if r.kind != "same"]
    assert changed == [("added", None, 2, "WORKDIR /app"), ("added", None, 4, "USER nobody")]
    # In the catalogue's order, with their titles.
    assert [(c.criterion, c.title, c.before, c.after) for c in comparison.changes] == [
        ("opt.image_size", "Final image size", "partial", "pass"),
        ("sec.non_root", "Runs as non-root in fact", "fail", "pass"),
    ]
    html = page.content.decode()
    assert '<td class="code">WORKDIR /app</td>' in html
    # Another student's attempt is not among this student's: 404, whatever its id.
    stranger = SubmissionFactory(exercise=exercise)
    assert client.get(url, {"before": made[0].pk, "after": stranger.pk}).status_code == 404
    assert client.get(url, {"before": "x", "after": made[0].pk}).status_code == 404


def test_the_diff_is_bounded():
    rows, truncated = dockerfile_diff("FROM a\n", "FROM a\nRUN echo '<script>'\n")
    assert [(r.kind, r.text) for r in rows] == [
        ("same", "FROM a"),
        ("added", "RUN echo '<script>'"),
    ]
    assert not truncated
    rows, truncated = dockerfile_diff("\n".join(f"RUN a{i}" for i in range(3000)), "")
    assert truncated and len(rows) == 600


def test_verdict_changes_name_only_the_criteria_that_changed():
    before = [
        {"criterion": "sec.non_root", "verdict": "fail"},
        {"criterion": "run.healthcheck", "verdict": "pass"},
    ]
    after = [
        {"criterion": "sec.non_root", "verdict": "pass"},
        {"criterion": "run.healthcheck", "verdict": "pass"},
        {"criterion": "opt.image_size", "verdict": "fail"},
    ]
    before.append({"criterion": "gone.criterion", "verdict": "pass"})
    assert [(c.criterion, c.before, c.after) for c in verdict_changes(before, after)] == [
        ("opt.image_size", None, "fail"),
        ("sec.non_root", "fail", "pass"),
        ("gone.criterion", "pass", None),
    ]


def test_the_submission_page_has_a_heading_a_title_and_links_to_the_attempts_around_it():
    exercise, student, made = _attempts()
    client = Client()
    client.force_login(student)
    html = client.get(
        reverse("labs:submission", args=[made[1].pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert f"<title>{exercise.title}: attempt 2 · Layerlab</title>" in html
    assert f"<h1>{exercise.title}: attempt 2</h1>" in html
    prev, nxt = (reverse("labs:submission", args=[made[i].pk]) for i in (0, 2))
    assert f'href="{prev}" rel="prev" data-role="previous-attempt">← Attempt 1</a>' in html
    assert f'href="{nxt}" rel="next" data-role="next-attempt">Attempt 3 →</a>' in html
    first = client.get(reverse("labs:submission", args=[made[0].pk])).content.decode()
    assert 'data-role="previous-attempt"' not in first and 'data-role="next-attempt"' in first
    assert [a.number for a in exercise_attempts(user=student, exercise=exercise)] == [1, 2, 3]


def test_the_comparison_escapes_the_student_text():
    exercise, student, made = _attempts(1)
    hostile = SubmissionFactory(
        owner=student,
        exercise=exercise,
        dockerfile="FROM python:3.11-slim\nRUN echo '<script>alert(1)</script>'\n",
    )
    client = Client()
    client.force_login(student)
    url = reverse("labs:history", args=[exercise.course.slug, exercise.slug])
    html = client.get(url, {"before": made[0].pk, "after": hostile.pk}).content.decode()
    assert '<td class="code">RUN echo &#x27;&lt;script&gt;alert(1)&lt;/script&gt;&#x27;</td>' in html
    assert "<script>alert(1)" not in html


def test_an_image_of_many_layers_keeps_fewer_files_of_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAYERLAB_LAYER_CACHE", str(tmp_path))
    monkeypatch.setattr(pipeline.engine, "image_history", lambda ref: [])
    layers = [_summary(n, [(f"/d{n}/f{i:03d}", i, FILE) for i in range(200)]) for n in range(1, 41)]
    cache = LayerCache(tmp_path)
    for s in layers:
        cache.put(s)
    report = _Report(
        layers=tuple(LayerInfo(i, s.diff_id, s.size, 200, True, 0) for i, s in enumerate(layers)),
        size_bytes=sum(s.size for s in layers),
        wasted_bytes=0,
    )
    kept = pipeline.layer_view(
        report=report, facts=_facts([]), parsed=parse("FROM scratch\n"), base="scratch", base_layer_count=0
    )
    assert kept is not None
    assert [len(x["files"]) for x in kept["layers"]] == [50] * 40  # 2000 files in all
    assert {x["trimmed"] for x in kept["layers"]} == {150}
    assert {x["instruction"] for x in kept["layers"]} == {""}  # the history cannot tell them apart
