"""Authoring in the browser, through Django's test client: who may open each page and endpoint,
the preview (the lesson page's renderer, sanitised), validation as import_course words it with
the field's line, revisions kept and restored, and the size cap."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from authoring.models import ExerciseCheck, ExerciseRevision, SessionRevision
from courses.markdown import render as render_markdown
from courses.models import Membership
from labs.models import Submission
from tests.factories import CourseRunFactory, ExerciseFactory, MembershipFactory, UserFactory
from tests.pages import text, texts

pytestmark = pytest.mark.django_db

RUBRIC = "criteria:\n  - id: opt.exec_form\n    weight: 50\n  - id: sec.final_user\n    weight: 50\n"
SOLUTION = 'FROM python:3.11-slim\nCOPY app.py /app/app.py\nUSER 10001\nCMD ["python", "/app/app.py"]\n'
ALLOWED = (
    "allowed: args, command, envVars, excludedError, excludedOutput, exitCode, expectedError, "
    "expectedOutput, name, setup, teardown"
)
TYPO = "unknown criterion id 'sec.non_roo' (did you mean sec.non_root?)"
TESTS = "schemaVersion: 2.0.0\ncommandTests:\n  - name: runs\n    command: python\n    args: [/app/app.py]\n"


@pytest.fixture
def world() -> dict[str, Any]:
    exercise = ExerciseFactory(
        slug="run-as-user",
        solution_dockerfile=SOLUTION,
        rubric={"criteria": [{"id": "opt.exec_form", "weight": 50.0}]},
    )
    course = exercise.course
    run = CourseRunFactory(course=course)
    author = UserFactory(username="author")
    course.staff.add(author)
    instructor = MembershipFactory(
        run=run, role=Membership.Role.INSTRUCTOR, user=UserFactory(username="prof")
    ).user
    assistant = MembershipFactory(
        run=run, role=Membership.Role.ASSISTANT, user=UserFactory(username="ta")
    ).user
    student = MembershipFactory(run=run, role=Membership.Role.STUDENT, user=UserFactory(username="stu")).user
    other = ExerciseFactory(slug="other-ex")
    other_run = CourseRunFactory(course=other.course)
    stranger = MembershipFactory(
        run=other_run, role=Membership.Role.INSTRUCTOR, user=UserFactory(username="elsewhere")
    ).user
    other.course.staff.add(stranger)
    return {
        "exercise": exercise,
        "session": exercise.session,
        "course": course,
        "author": author,
        "instructor": instructor,
        "assistant": assistant,
        "student": student,
        "stranger": stranger,
    }


def client_for(user: Any | None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def urls(w: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    c, s, e = w["course"].slug, w["session"].slug, w["exercise"].slug
    rev = SessionRevision.objects.create(session=w["session"], text="old", note="x")
    erev = ExerciseRevision.objects.create(exercise=w["exercise"], instructions_md="old")
    sol = Submission.objects.create(
        owner=w["author"], exercise=w["exercise"], dockerfile="FROM scratch\n", trial="solution"
    )
    check = ExerciseCheck.objects.create(exercise=w["exercise"], solution=sol, starter=None)
    base = f"/authoring/courses/{c}/"
    return [
        ("get", base, {}),
        ("post", base + "preview/", {"text": "# hi"}),
        ("get", base + f"sessions/{s}/edit/", {}),
        ("post", base + f"sessions/{s}/edit/", {"text": "# new"}),
        ("get", base + f"sessions/{s}/revisions/", {}),
        ("get", base + f"sessions/{s}/revisions/{rev.pk}/", {}),
        ("post", base + f"sessions/{s}/revisions/{rev.pk}/", {}),
        ("get", base + f"exercises/{e}/edit/", {}),
        ("post", base + f"exercises/{e}/edit/", {"instructions_md": "x", "rubric_yaml": RUBRIC}),
        ("post", base + f"exercises/{e}/validate/", {"rubric_yaml": RUBRIC}),
        ("get", base + f"exercises/{e}/revisions/", {}),
        ("get", base + f"exercises/{e}/revisions/{erev.pk}/", {}),
        ("post", base + f"exercises/{e}/revisions/{erev.pk}/", {}),
        ("post", base + f"exercises/{e}/check/", {}),
        ("get", base + f"exercises/{e}/checks/{check.pk}/", {}),
        ("get", base + f"exercises/{e}/checks/{check.pk}/verdict.json", {}),
        ("get", base + f"exercises/{e}/try/", {}),
        ("post", base + f"exercises/{e}/try/", {"dockerfile": "FROM python:3.11-slim\n"}),
        ("get", base + f"exercises/{e}/trials/{sol.pk}/panel/", {}),
    ]


def test_every_page_and_endpoint_refuses_everyone_but_the_courses_authors(world: dict[str, Any]) -> None:
    before = {
        "body": world["session"].body_md,
        "instructions": world["exercise"].instructions_md,
        "submissions": Submission.objects.count(),
        "revisions": SessionRevision.objects.count(),
    }
    targets = urls(world)
    before["submissions"] = Submission.objects.count()
    before["revisions"] = SessionRevision.objects.count()
    for method, url, data in targets:
        anonymous = getattr(client_for(None), method)(url, data)
        assert anonymous.status_code == 302, url
        assert anonymous["Location"].startswith("/login/?next="), url
        for who, status in (("student", 404), ("stranger", 404), ("assistant", 403)):
            response = getattr(client_for(world[who]), method)(url, data)
            assert response.status_code == status, (who, method, url)
    world["session"].refresh_from_db()
    world["exercise"].refresh_from_db()
    assert world["session"].body_md == before["body"]
    assert world["exercise"].instructions_md == before["instructions"]
    assert Submission.objects.count() == before["submissions"]
    assert SessionRevision.objects.count() == before["revisions"]


@pytest.mark.parametrize("who", ["author", "instructor"])
def test_the_courses_authors_and_its_instructors_open_every_page(world: dict[str, Any], who: str) -> None:
    c = client_for(world[who])
    for method, url, _data in urls(world):
        if method == "get":
            assert c.get(url).status_code == 200, url


def test_the_lesson_page_links_to_the_editor_only_for_authors(world: dict[str, Any]) -> None:
    url = f"/courses/{world['course'].slug}/{world['session'].slug}/"
    edit = f"/authoring/courses/{world['course'].slug}/sessions/{world['session'].slug}/edit/"
    author_page = client_for(world["author"]).get(url).content.decode()
    assert text(author_page, "edit-lesson") == "이 강의 편집"
    assert edit in author_page
    for who in ("student", "assistant", "stranger"):
        assert texts(client_for(world[who]).get(url).content.decode(), "edit-lesson") == []


def test_the_preview_is_the_lesson_renderer_and_drops_scripts(world: dict[str, Any]) -> None:
    c = client_for(world["author"])
    md = (
        "# 제목\n\n<script>alert('x')</script>\n\n"
        '<img src="x" onerror="alert(1)">\n\n'
        "```mermaid\ngraph LR\n  A --> B\n```\n"
    )
    response = c.post(f"/authoring/courses/{world['course'].slug}/preview/", {"text": md})
    assert response.status_code == 200
    html = response.json()["html"]
    assert html == str(render_markdown(md)), "the lesson page's renderer"
    assert "<script" not in html
    assert "alert('x')" not in html
    assert "onerror" not in html
    diagram = '<pre class="mermaid" tabindex="0" role="region" aria-label="다이어그램">'
    assert f"{diagram}graph LR\n  A --&gt; B</pre>" in html
    assert '<h1 id="제목">제목' in html


def test_the_preview_and_the_save_refuse_a_lesson_over_the_cap(world: dict[str, Any]) -> None:
    c = client_for(world["author"])
    big = "가" * (90 * 1024)  # 3 bytes each: 270 KiB > 256 KiB
    response = c.post(f"/authoring/courses/{world['course'].slug}/preview/", {"text": big})
    assert response.status_code == 413
    assert response.json() == {"error": "강의가 270 KiB입니다. 강의는 최대 256 KiB까지 저장할 수 있습니다."}
    edit = f"/authoring/courses/{world['course'].slug}/sessions/{world['session'].slug}/edit/"
    saved = c.post(edit, {"text": big})
    assert saved.status_code == 400
    assert (
        text(saved.content.decode(), "save-error")
        == "강의가 270 KiB입니다. 강의는 최대 256 KiB까지 저장할 수 있습니다."
    )
    world["session"].refresh_from_db()
    assert world["session"].body_md == "# Lesson\n\nSome text."
    assert SessionRevision.objects.count() == 0


def test_saving_a_lesson_keeps_a_revision_and_the_text_before_it(world: dict[str, Any]) -> None:
    c = client_for(world["author"])
    session = world["session"]
    edit = f"/authoring/courses/{world['course'].slug}/sessions/{session.slug}/edit/"
    response = c.post(edit, {"text": "# 새 강의\r\n\r\n본문.", "note": "제목 변경"})
    assert response.status_code == 302
    assert response["Location"] == edit + "?lang=ko"
    session.refresh_from_db()
    assert session.body_md == "# 새 강의\n\n본문."
    baseline, saved = SessionRevision.objects.order_by("id")
    assert (baseline.text, baseline.author, baseline.note) == (
        "# Lesson\n\nSome text.",
        None,
        "",
    )
    assert (saved.text, saved.author, saved.note, saved.field) == (
        "# 새 강의\n\n본문.",
        world["author"],
        "제목 변경",
        "body_md",
    )
    lesson = c.get(f"/courses/{world['course'].slug}/{session.slug}/").content.decode()
    assert '<h1 id="새-강의">새 강의' in lesson

    english = c.post(edit + "?lang=en", {"text": "# New lesson", "lang": "en"})
    assert english["Location"] == edit + "?lang=en"
    session.refresh_from_db()
    assert (session.body_md, session.body_md_en) == ("# 새 강의\n\n본문.", "# New lesson")
    assert [r.text for r in SessionRevision.objects.filter(field="body_md_en").order_by("id")] == [
        "",
        "# New lesson",
    ]


def test_a_revision_shows_its_diff_to_the_current_text_and_restores_as_a_new_revision(
    world: dict[str, Any],
) -> None:
    c = client_for(world["author"])
    session = world["session"]
    edit = f"/authoring/courses/{world['course'].slug}/sessions/{session.slug}/edit/"
    c.post(edit, {"text": "# Lesson\n\nSome text.\nA second line."})
    baseline = SessionRevision.objects.order_by("id").first()
    page = c.get(
        f"/authoring/courses/{world['course'].slug}/sessions/{session.slug}/revisions/{baseline.pk}/"
    )
    diff = page.content.decode()
    assert texts(diff, "diff-hunk", attr="class") == ["@@ -1,3 +1,4 @@"]
    assert texts(diff, "diff-same", attr="class") == ["# Lesson", "", "Some text."]
    assert texts(diff, "diff-add", attr="class") == ["+A second line."]
    assert texts(diff, "diff-del", attr="class") == []
    restored = c.post(
        f"/authoring/courses/{world['course'].slug}/sessions/{session.slug}/revisions/{baseline.pk}/"
    )
    assert restored["Location"] == edit + "?lang=ko"
    session.refresh_from_db()
    assert session.body_md == "# Lesson\n\nSome text."
    newest = SessionRevision.objects.order_by("-id").first()
    assert (newest.text, newest.restored_from, newest.note) == (
        "# Lesson\n\nSome text.",
        baseline,
        f"리비전 {baseline.pk} 복원",
    )
    assert SessionRevision.objects.count() == 3
    listing = c.get(edit).content.decode()
    assert len(texts(listing, "revision")) == 3


def test_validation_gives_import_courses_messages_with_the_fields_line(world: dict[str, Any]) -> None:
    c = client_for(world["author"])
    url = f"/authoring/courses/{world['course'].slug}/exercises/{world['exercise'].slug}/validate/"
    rubric = "criteria:\n  - id: opt.exec_form\n    weight: 50\n  - id: sec.non_roo\n"
    tests = "schemaVersion: 2.0.0\ncommandTests:\n  - name: a\n    command: x\n  - name: b\n    comand: y\n"
    answer = c.post(url, {"rubric_yaml": rubric, "tests_yaml": tests}).json()
    assert answer == {
        "problems": [
            {
                "field": "rubric",
                "line": 4,
                "message": "unknown criterion id 'sec.non_roo' (did you mean sec.non_root?)",
                "text": "rubric:4: unknown criterion id 'sec.non_roo' (did you mean sec.non_root?)",
            },
            {
                "field": "tests",
                "line": 6,
                "message": f"commandTests[1] \"b\": unknown field 'comand'; {ALLOWED}",
                "text": f"tests:6: commandTests[1] \"b\": unknown field 'comand'; {ALLOWED}",
            },
        ]
    }
    broken = c.post(url, {"rubric_yaml": "criteria: [\n", "tests_yaml": TESTS}).json()["problems"]
    assert [(p["field"], p["line"]) for p in broken] == [("rubric", 2)]
    assert broken[0]["message"].startswith("not valid YAML: ")
    assert c.post(url, {"rubric_yaml": RUBRIC, "tests_yaml": TESTS}).json() == {"problems": []}


def test_the_import_gives_the_same_rubric_message_the_browser_does(world: dict[str, Any], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The same validator: the message of a typo in exercise.yaml's rubric is the browser's,
    at the file's line (the field's line + the lines above the rubric: key)."""
    from authoring.files import CourseFileError, course_read
    from tests.authoring.test_files import COURSE_YAML, SESSION_KO, write

    root = tmp_path / "c"
    write(root, "course.yaml", COURSE_YAML)
    write(root, "sessions/images.md", SESSION_KO)
    write(
        root,
        "exercises/slim-python/exercise.yaml",
        "title: t\nrubric:\n  criteria:\n    - id: opt.exec_form\n      weight: 50\n    - id: sec.non_roo\n",
    )
    for rel in ("starter/Dockerfile", "solution/Dockerfile"):
        write(root, f"exercises/slim-python/{rel}", "FROM python:3.11-slim\n")
    with pytest.raises(CourseFileError) as caught:
        course_read(root)
    assert str(caught.value) == f"exercises/slim-python/exercise.yaml:6: {TYPO}"


def test_an_exercise_is_saved_only_when_valid_and_kept_as_a_revision(world: dict[str, Any]) -> None:
    c = client_for(world["author"])
    exercise = world["exercise"]
    edit = f"/authoring/courses/{world['course'].slug}/exercises/{exercise.slug}/edit/"
    bad = c.post(
        edit,
        {
            "instructions_md": "새 설명",
            "instructions_en": "New",
            "rubric_yaml": "criteria:\n  - id: nope\n",
            "tests_yaml": "",
        },
    )
    assert bad.status_code == 400
    page = bad.content.decode()
    assert text(page, "save-error") == "저장하지 않았습니다: 필드 옆에 표시된 문제를 고치세요."
    assert text(page, "problem") == "2번째 줄 unknown criterion id 'nope'"
    exercise.refresh_from_db()
    assert exercise.instructions_md == "" and exercise.rubric == {
        "criteria": [{"id": "opt.exec_form", "weight": 50.0}]
    }
    assert ExerciseRevision.objects.count() == 0

    good = c.post(
        edit,
        {
            "instructions_md": "새 설명",
            "instructions_en": "New",
            "rubric_yaml": RUBRIC,
            "tests_yaml": TESTS,
            "note": "무게",
        },
    )
    assert good.status_code == 302
    exercise.refresh_from_db()
    assert exercise.instructions_md == "새 설명"
    assert exercise.rubric == {
        "required_cap": 59.0,
        "criteria": [
            {"id": "opt.exec_form", "weight": 50.0, "required": False},
            {"id": "sec.final_user", "weight": 50.0, "required": False},
        ],
    }
    assert exercise.behaviour_tests == {
        "schemaVersion": "2.0.0",
        "commandTests": [{"name": "runs", "command": "python", "args": ["/app/app.py"]}],
    }
    baseline, saved = ExerciseRevision.objects.order_by("id")
    assert baseline.rubric_yaml == "criteria:\n- id: opt.exec_form\n  weight: 50.0\n"
    assert (saved.rubric_yaml, saved.tests_yaml, saved.note) == (RUBRIC, TESTS, "무게")
    form = c.get(edit).content.decode()
    assert RUBRIC in form, "the form shows the YAML as the author typed it"

    restored = c.post(
        f"/authoring/courses/{world['course'].slug}/exercises/{exercise.slug}/revisions/{baseline.pk}/"
    )
    assert restored.status_code == 302
    exercise.refresh_from_db()
    assert (exercise.instructions_md, exercise.behaviour_tests) == ("", {})
    assert exercise.rubric == {
        "required_cap": 59.0,
        "criteria": [{"id": "opt.exec_form", "weight": 50.0, "required": False}],
    }
    assert ExerciseRevision.objects.order_by("-id").first().restored_from == baseline


def test_check_this_exercise_makes_two_trials_of_the_solution_and_the_starter(world: dict[str, Any]) -> None:
    c = client_for(world["author"])
    exercise = world["exercise"]
    response = c.post(f"/authoring/courses/{world['course'].slug}/exercises/{exercise.slug}/check/")
    check = ExerciseCheck.objects.get()
    assert (
        response["Location"]
        == f"/authoring/courses/{world['course'].slug}/exercises/{exercise.slug}/checks/{check.pk}/"
    )
    assert (check.solution.trial, check.solution.dockerfile, check.solution.assignment) == (
        "solution",
        exercise.solution_dockerfile,
        None,
    )
    assert (check.starter.trial, check.starter.dockerfile, check.starter.owner) == (
        "starter",
        exercise.starter_dockerfile,
        world["author"],
    )
    page = c.get(response["Location"]).content.decode()
    assert text(page, "verdict") == "확인 중: 솔루션은 100점, 스타터는 그보다 낮아야 합니다…"


def test_trying_a_dockerfile_as_a_student_makes_a_trial_kept_out_of_the_exercise_history(
    world: dict[str, Any],
) -> None:
    c = client_for(world["instructor"])
    exercise = world["exercise"]
    url = f"/authoring/courses/{world['course'].slug}/exercises/{exercise.slug}/try/"
    response = c.post(url, {"dockerfile": "FROM python:3.11-slim\r\nUSER 1000\r\n", "dockerignore": ".git\n"})
    tried = Submission.objects.get()
    assert response["Location"] == f"/labs/submissions/{tried.pk}/"
    assert (tried.trial, tried.owner, tried.assignment, tried.dockerfile, tried.dockerignore) == (
        "try",
        world["instructor"],
        None,
        "FROM python:3.11-slim\nUSER 1000\n",
        ".git\n",
    )
    shown = c.get(response["Location"])
    assert shown.status_code == 200
    assert text(shown.content.decode(), "trial-note") == (
        "스태프의 시험 제출입니다. 성적표, 통계, 제출 횟수 제한, 어떤 기록에도 들어가지 않습니다."
    )
    page = c.get(exercise.get_absolute_url()).content.decode()
    assert texts(page, "history-title") == []
    assert text(page, "author-links") == "이 실습 편집 · 학생처럼 Dockerfile 시험해 보기"
    assert (
        texts(client_for(world["student"]).get(exercise.get_absolute_url()).content.decode(), "author-links")
        == []
    )
    listed = c.get(url).content.decode()
    assert f"/labs/submissions/{tried.pk}/" in listed

    empty = c.post(url, {"dockerfile": "  "})
    assert empty.status_code == 400
    assert text(empty.content.decode(), "try-error") == "Dockerfile이 비어 있습니다."
    assert Submission.objects.count() == 1


def test_a_save_over_someone_elses_newer_save_is_refused_and_the_text_kept(world: dict[str, Any]) -> None:
    session = world["session"]
    edit = f"/authoring/courses/{world['course'].slug}/sessions/{session.slug}/edit/"
    mine, theirs = client_for(world["author"]), client_for(world["instructor"])
    opened = mine.get(edit).content.decode()
    assert 'name="based_on" value="0"' in opened
    theirs.post(edit, {"text": "# 교수자 판", "based_on": "0"})
    newest = SessionRevision.objects.order_by("-id").first()

    refused = mine.post(edit, {"text": "# 저자 판", "based_on": "0"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert text(page, "save-error") == (
        f"편집기를 연 뒤에 prof 님이 새 버전(리비전 {newest.pk})을 저장했습니다. 내 텍스트는 저장되지 않았고 "
        "입력란에 그대로 있습니다. 아래 리비전과 비교한 뒤 다시 저장하면 그 버전을 대신합니다."
    )
    assert "># 저자 판</textarea>" in page
    assert f'name="based_on" value="{newest.pk}"' in page
    session.refresh_from_db()
    assert session.body_md == "# 교수자 판"

    again = mine.post(edit, {"text": "# 저자 판", "based_on": str(newest.pk)})
    assert again.status_code == 302
    session.refresh_from_db()
    assert session.body_md == "# 저자 판"
