"""Who is in a course run: joining by code, the CSV roster import, the roster page and who may
see it, roles, the invitation code, and `make_instructor`."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from courses import services
from courses.models import CourseRun, Membership
from courses.selectors import run_role, runs_for_user
from tests.factories import CourseRunFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
Role = Membership.Role


@pytest.fixture(autouse=True)
def _english():
    """Services speak the active language; these tests read their English."""
    with translation.override("en"):
        yield


@pytest.fixture
def run():
    return CourseRunFactory(slug="spring", title="Spring 2027", invitation_code="KQ7MX3PA")


def english(client: Client, path: str, **kw):
    return client.get(path, HTTP_ACCEPT_LANGUAGE="en", **kw)


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def texts(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# Joining by code ------------------------------------------------------------------------------


def test_a_student_joins_with_the_code_typed_in_any_case_with_spaces(run):
    user = UserFactory()
    membership = services.membership_join(user=user, code="  kq7m x3pa ")
    assert (membership.run, membership.role) == (run, Role.STUDENT)
    assert run_role(user, run) == "student"
    assert list(runs_for_user(user)) == [run]


def test_a_wrong_code_is_refused_and_nothing_is_written(run):
    user = UserFactory()
    with pytest.raises(ValidationError) as refused:
        services.membership_join(user=user, code="KQ7MX3PB")
    assert refused.value.code == "wrong_code"
    assert refused.value.messages == ["No course run has this invitation code."]
    assert not Membership.objects.exists()


def test_a_closed_run_refuses_its_code(run):
    run.joining_open = False
    run.save()
    with pytest.raises(ValidationError) as refused:
        services.membership_join(user=UserFactory(), code="KQ7MX3PA")
    assert refused.value.code == "joining_closed"
    assert refused.value.messages == ["Joining “Spring 2027” is closed. Ask your instructor."]
    assert not Membership.objects.exists()


def test_joining_twice_keeps_one_membership_even_after_joining_closed(run):
    user = UserFactory()
    first = services.membership_join(user=user, code="KQ7MX3PA")
    run.joining_open = False
    run.save()
    again = services.membership_join(user=user, code="kq7mx3pa")
    assert again.pk == first.pk
    assert Membership.objects.filter(run=run, user=user).count() == 1


@pytest.mark.parametrize("role", [Role.ASSISTANT, Role.INSTRUCTOR])
def test_staff_who_use_the_code_keep_their_role(run, role):
    member = MembershipFactory(run=run, role=role)
    assert services.membership_join(user=member.user, code="KQ7MX3PA").role == role
    member.refresh_from_db()
    assert member.role == role


def test_the_join_page_enrols_a_logged_in_student_and_lists_the_run(run):
    user = UserFactory()
    client = logged_in(user)
    response = client.post("/join/", {"code": "kq7mx3pa"}, follow=True)
    assert response.redirect_chain == [("/join/", 302)]
    assert texts(response) == ["You are a member of “Spring 2027” (Student)."]
    page = response.content.decode()
    assert "<strong>Spring 2027</strong>" in page
    assert run_role(user, run) == "student"


def test_the_join_page_shows_a_wrong_code_next_to_the_field(run):
    client = logged_in(UserFactory())
    response = client.post("/join/", {"code": "NOPE2345"})
    assert response.status_code == 200
    assert "No course run has this invitation code." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Membership.objects.exists()


def test_the_join_page_speaks_korean_by_default(run):
    client = Client()
    client.force_login(UserFactory())
    page = client.get("/join/").content.decode()
    assert "<h1>강좌 학기 참여</h1>" in page and "초대 코드" in page


# CSV roster import ----------------------------------------------------------------------------

BOM = b"\xef\xbb\xbf"


def roster_bytes(rows: str) -> bytes:
    """What a spreadsheet program saves as "CSV UTF-8": a BOM, CRLF line ends."""
    return BOM + rows.replace("\n", "\r\n").encode("utf-8")


@pytest.fixture
def roster_file(run):
    """Each kind of row the plan tells apart, with the spreadsheet row it sits on."""
    UserFactory(username="jisoo", email="jisoo@example.com")  # an account outside the run: added
    member = UserFactory(username="hana", email="hana@example.com")
    MembershipFactory(run=run, user=member, role=Role.ASSISTANT)  # already a member (staff)
    UserFactory(username="taken", email="owner@example.com")
    return roster_bytes(
        "email,username,name\n"
        'kim.minjun@example.com,,"김민준"\n'  # 2 create, username from the email
        'lee@example.com,seoyeon,"이, 서연 ""Sunny"""\n'  # 3 create, comma and quotes in the name
        "JISOO@example.com,,지수\n"  # 4 add (existing account by email, any case)
        "hana@example.com,hana,하나\n"  # 5 already a member
        ",,이름만\n"  # 6 missing email and username
        "not-an-email,,박\n"  # 7 invalid email
        "kim.minjun@example.com,,중복\n"  # 8 duplicate of row 2
        "new@example.com,taken,최\n"  # 9 username taken by a different email
        "\n"  # 10 blank: skipped, not wrong
        ",ghost,\n"  # 11 username only, no such account
        "owner@example.com,someone,\n"  # 12 email of another account
    )


def plan_table(plan):
    return [(r.row, r.action, r.username, r.name, r.reason) for r in plan.rows]


EXPECTED_PLAN = [
    (2, "create", "kim.minjun", "김민준", ""),
    (3, "create", "seoyeon", '이, 서연 "Sunny"', ""),
    (4, "add", "jisoo", "지수", ""),
    (5, "member", "hana", "하나", ""),
    (6, "error", "", "이름만", "No email and no username."),
    (7, "error", "", "박", "“not-an-email” is not a valid email address."),
    (8, "error", "", "중복", "Same email as row 2."),
    (9, "error", "taken", "최", "The username “taken” is taken by an account with a different email."),
    (11, "error", "ghost", "", "No account has the username “ghost”, and there is no email to create one."),
    (12, "error", "someone", "", "This email belongs to the account “taken”, not “someone”."),
]


def test_a_dry_run_says_what_each_row_would_do_and_writes_nothing(run, roster_file):
    users, members = User.objects.count(), Membership.objects.count()
    with CaptureQueriesContext(connection) as queries:
        plan = services.roster_import(run=run, csv_text=roster_file, dry_run=True)
    assert plan_table(plan) == EXPECTED_PLAN
    assert [r.role for r in plan.members] == ["assistant"]
    assert (len(plan.created), len(plan.added), len(plan.members), len(plan.errors)) == (2, 1, 1, 6)
    assert not plan.applied and plan.problem == ""
    writes = [q["sql"] for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.I)]
    assert writes == []
    assert (User.objects.count(), Membership.objects.count()) == (users, members)
    assert mail.outbox == []


def test_applying_creates_and_adds_the_good_rows_and_mails_each_new_account(
    run, roster_file, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        plan = services.roster_import(
            run=run, csv_text=roster_file, dry_run=False, link_base="http://testserver"
        )
    assert plan.applied and plan_table(plan) == EXPECTED_PLAN
    kim = User.objects.get(username="kim.minjun")
    lee = User.objects.get(username="seoyeon")
    assert (kim.email, kim.get_full_name(), kim.has_usable_password()) == (
        "kim.minjun@example.com",
        "김민준",
        False,
    )
    assert lee.first_name == '이, 서연 "Sunny"'
    assert {m.user.username: m.role for m in run.memberships.select_related("user")} == {
        "kim.minjun": "student",
        "seoyeon": "student",
        "jisoo": "student",
        "hana": "assistant",  # never downgraded by an import
    }
    assert not User.objects.filter(username__in=["ghost", "someone"]).exists()
    assert sorted(m.to[0] for m in mail.outbox) == ["kim.minjun@example.com", "lee@example.com"]
    assert all("http://testserver/reset/" in m.body for m in mail.outbox)


def test_the_same_file_imported_again_changes_nothing(run, roster_file, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.roster_import(run=run, csv_text=roster_file, dry_run=False, link_base="http://x")
    mail.outbox.clear()
    again = services.roster_import(run=run, csv_text=roster_file, dry_run=True)
    assert [(r.row, r.action) for r in again.rows if r.action != "error"] == [
        (2, "member"),
        (3, "member"),
        (4, "member"),
        (5, "member"),
    ]


def test_the_import_is_one_transaction(run, roster_file, monkeypatch, django_capture_on_commit_callbacks):
    real_create = Membership.objects.create
    calls = []

    def create_then_fail(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real_create(**kwargs)

    monkeypatch.setattr(Membership.objects, "create", create_then_fail)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        services.roster_import(run=run, csv_text=roster_file, dry_run=False, link_base="http://x")
    assert not User.objects.filter(username__in=["kim.minjun", "seoyeon"]).exists()
    assert not run.memberships.filter(user__username="jisoo").exists()
    assert mail.outbox == []


def test_a_plan_that_changed_since_the_preview_is_not_applied(run):
    data = roster_bytes("email\nnew@example.com\n")
    preview = services.roster_import(run=run, csv_text=data, dry_run=True)
    assert [r.action for r in preview.rows] == ["create"]
    UserFactory(username="someone", email="new@example.com")  # made elsewhere meanwhile
    with pytest.raises(services.RosterPlanChanged) as changed:
        services.roster_import(run=run, csv_text=data, dry_run=False, expected_digest=preview.digest)
    assert [r.action for r in changed.value.plan.rows] == ["add"]
    assert not run.memberships.exists()


def test_usernames_made_from_emails_avoid_accounts_and_other_rows(run):
    UserFactory(username="kim")
    data = "email,username\nkim@a.example,\nkim@b.example,\nx@c.example,kim3\n"
    plan = services.roster_import(run=run, csv_text=data, dry_run=True)
    assert [(r.row, r.action, r.username) for r in plan.rows] == [
        (2, "create", "kim2"),
        (3, "create", "kim4"),
        (4, "create", "kim3"),
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            "email,name\nkim@example.com,김민준\n".encode("cp949"),
            "The file is not UTF-8 (byte 28). Save it as “CSV UTF-8” and upload it again.",
        ),
        (
            b"kim@example.com,Kim\n",
            "The first row must name the columns: email, username (optional), name (optional).",
        ),
        (b"", "The file is empty: it needs a header row (email, username, name)."),
    ],
    ids=["cp949", "no-header", "empty"],
)
def test_a_file_that_cannot_be_read_is_refused_whole(run, data, problem):
    plan = services.roster_import(run=run, csv_text=data, dry_run=False)
    assert (plan.problem, plan.rows, plan.applied) == (problem, [], False)
    assert User.objects.count() == 0


def test_a_semicolon_separated_file_with_korean_headers_is_read(run):
    data = roster_bytes("이메일;이름\nkim@example.com;김민준\n")
    plan = services.roster_import(run=run, csv_text=data, dry_run=True)
    assert plan_table(plan) == [(2, "create", "kim", "김민준", "")]


# The roster page ------------------------------------------------------------------------------


@pytest.fixture
def people(run):
    """Everyone the authorisation matrix tries, by name."""
    other_run = CourseRunFactory(slug="autumn", course=run.course)
    return {
        "instructor": MembershipFactory(
            run=run, role=Role.INSTRUCTOR, user=UserFactory(username="prof")
        ).user,
        "assistant": MembershipFactory(run=run, role=Role.ASSISTANT, user=UserFactory(username="ta")).user,
        "student": MembershipFactory(run=run, role=Role.STUDENT, user=UserFactory(username="stu")).user,
        "other_instructor": MembershipFactory(
            run=other_run, role=Role.INSTRUCTOR, user=UserFactory(username="elsewhere")
        ).user,
    }


ROSTER = "/runs/spring/roster/"


def test_anonymous_visitors_are_sent_to_log_in(people):
    response = Client().get(ROSTER)
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/runs/spring/roster/")


@pytest.mark.parametrize("who", ["student", "other_instructor"])
def test_students_and_other_runs_staff_get_404_on_every_roster_view(people, who):
    client = logged_in(people[who])
    member = Membership.objects.get(user=people["student"])
    assert client.get(ROSTER).status_code == 404
    assert "This page does not exist, or it is not yours to see." in client.get(ROSTER).content.decode()
    assert client.post(f"{ROSTER}import/", {"text": "email\nx@example.com\n"}).status_code == 404
    assert client.post(f"{ROSTER}{member.pk}/role/", {"role": "instructor"}).status_code == 404
    assert client.post("/runs/spring/invitation/", {"action": "regenerate"}).status_code == 404
    member.refresh_from_db()
    assert member.role == "student"


def test_an_unknown_run_is_404_even_for_a_superuser():
    client = logged_in(UserFactory(is_superuser=True))
    assert client.get("/runs/nope/roster/").status_code == 404


def test_an_assistant_sees_the_roster_but_cannot_change_roles_or_the_code(run, people):
    client = logged_in(people["assistant"])
    response = client.get(ROSTER)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Roster · Spring 2027" in page
    assert '<code class="code" data-role="invitation-code">KQ7MX3PA</code>' in page
    assert "http://testserver/join/?code=KQ7MX3PA" in page
    assert "Instructors: 1 · Assistants: 1 · Students: 1" in page
    assert "<select" not in page and 'value="regenerate"' not in page
    member = Membership.objects.get(user=people["student"])
    denied = client.post(f"{ROSTER}{member.pk}/role/", {"role": "assistant"})
    assert denied.status_code == 403
    assert "Your role does not allow this." in denied.content.decode()
    assert client.post("/runs/spring/invitation/", {"action": "regenerate"}).status_code == 403
    assert client.post("/runs/spring/invitation/", {"action": "close"}).status_code == 403
    assert "Add students from a CSV file" not in page
    assert client.post(f"{ROSTER}import/", {"text": "email\nx@example.com\n"}).status_code == 403
    assert client.post(f"{ROSTER}{member.pk}/password-link/").status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()
    member.refresh_from_db()
    run.refresh_from_db()
    assert (member.role, run.invitation_code, run.joining_open) == ("student", "KQ7MX3PA", True)


def test_an_instructor_makes_a_student_an_assistant(run, people):
    client = logged_in(people["instructor"])
    response = client.get(ROSTER)
    assert response.status_code == 200
    assert '<label class="visually-hidden" for="role-' in response.content.decode()
    member = Membership.objects.get(user=people["student"])
    response = client.post(f"{ROSTER}{member.pk}/role/", {"role": "assistant"}, follow=True)
    assert response.redirect_chain == [(ROSTER, 302)]
    assert texts(response) == ["stu is now: Assistant."]
    member.refresh_from_db()
    assert member.role == "assistant"


def test_the_last_instructor_cannot_step_down(run, people):
    client = logged_in(people["instructor"])
    own = Membership.objects.get(user=people["instructor"])
    response = client.post(f"{ROSTER}{own.pk}/role/", {"role": "student"}, follow=True)
    assert texts(response) == ["prof is the run's only instructor; make someone else an instructor first."]
    own.refresh_from_db()
    assert own.role == "instructor"


def test_the_courses_authors_see_every_run_of_it_but_manage_none(run, people):
    author = UserFactory(username="author")
    run.course.staff.add(author)
    client = logged_in(author)
    page = client.get(ROSTER)
    assert page.status_code == 200
    assert "Add students from a CSV file" not in page.content.decode()
    member = Membership.objects.get(user=people["student"])
    assert client.post(f"{ROSTER}{member.pk}/role/", {"role": "assistant"}).status_code == 403
    assert client.post(f"{ROSTER}import/", {"text": "email\nx@example.com\n"}).status_code == 403
    other_course_run = CourseRunFactory(slug="elsewhere")
    assert client.get(f"/runs/{other_course_run.slug}/roster/").status_code == 404


def test_a_superuser_manages_any_run(run, people):
    client = logged_in(UserFactory(is_superuser=True))
    assert client.get(ROSTER).status_code == 200
    member = Membership.objects.get(user=people["student"])
    assert client.post(f"{ROSTER}{member.pk}/role/", {"role": "instructor"}).status_code == 302
    member.refresh_from_db()
    assert member.role == "instructor"


def test_a_new_code_replaces_the_old_one_and_closing_stops_joining(run, people):
    client = logged_in(people["instructor"])
    response = client.post("/runs/spring/invitation/", {"action": "regenerate"}, follow=True)
    run.refresh_from_db()
    assert run.invitation_code != "KQ7MX3PA" and len(run.invitation_code) == 8
    assert texts(response) == [f"New invitation code: {run.invitation_code}. The old one no longer works."]
    with pytest.raises(ValidationError):
        services.membership_join(user=UserFactory(), code="KQ7MX3PA")
    response = client.post("/runs/spring/invitation/", {"action": "close"}, follow=True)
    assert texts(response) == ["Joining is closed: the code no longer works."]
    assert "Joining is closed" in response.content.decode() and 'value="open"' in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        services.membership_join(user=UserFactory(), code=run.invitation_code)
    assert refused.value.code == "joining_closed"


def test_the_roster_upload_previews_then_the_confirm_button_applies(
    run, people, django_capture_on_commit_callbacks
):
    client = logged_in(people["instructor"])
    upload = SimpleUploadedFile(
        "class.csv", roster_bytes('email,username,name\nkim@example.com,,"김, 민준"\nbad,,x\n'), "text/csv"
    )
    preview = client.post(f"{ROSTER}import/", {"file": upload})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "Preview: nothing is written yet" in page
    assert "<td>김, 민준</td>" in page
    assert "<strong>Wrong:</strong> “bad” is not a valid email address." in page
    assert "Confirm: create 1 and add 0" in page
    assert not User.objects.filter(username="kim").exists()

    form = preview.context["apply_form"]
    with django_capture_on_commit_callbacks(execute=True):
        applied = client.post(
            f"{ROSTER}import/",
            {"csv_text": form.initial["csv_text"], "digest": form.initial["digest"]},
            follow=True,
        )
    assert applied.redirect_chain == [(ROSTER, 302)]
    assert texts(applied) == ["1 account created; a link to set its password was emailed."]
    assert '<tr data-username="kim">' in applied.content.decode()
    assert "No password set yet" in applied.content.decode()
    assert [m.to for m in mail.outbox] == [["kim@example.com"]]
    assert run_role(User.objects.get(username="kim"), run) == "student"


def test_the_upload_form_needs_a_file_or_rows(run, people):
    response = logged_in(people["instructor"]).post(f"{ROSTER}import/", {})
    assert response.status_code == 400
    assert "Choose a CSV file or paste its rows." in response.content.decode()


def test_a_confirmation_whose_accounts_changed_shows_the_new_preview(run, people):
    client = logged_in(people["instructor"])
    preview = client.post(f"{ROSTER}import/", {"text": "email\nnew@example.com\n"})
    form = preview.context["apply_form"]
    UserFactory(username="someone", email="new@example.com")
    response = client.post(
        f"{ROSTER}import/", {"csv_text": form.initial["csv_text"], "digest": form.initial["digest"]}
    )
    assert response.status_code == 200
    assert texts(response) == ["Accounts changed since the preview. Check the new preview."]
    assert "Existing account, added" in response.content.decode()
    assert not run.memberships.filter(user__username="someone").exists()


# make_instructor ------------------------------------------------------------------------------


def test_make_instructor_creates_or_promotes_the_membership(run, capsys):
    alice = UserFactory(username="alice")
    call_command("make_instructor", "spring", "alice")
    assert run_role(alice, run) == "instructor"
    assert capsys.readouterr().out == "alice is now an instructor of spring.\n"
    bob = MembershipFactory(run=run, user=UserFactory(username="bob"), role=Role.STUDENT).user
    call_command("make_instructor", "spring", "bob")
    assert run_role(bob, run) == "instructor"
    assert capsys.readouterr().out == "bob was student, now instructor of spring.\n"
    call_command("make_instructor", "spring", "bob")
    assert capsys.readouterr().out == "bob is already an instructor of spring.\n"


def test_make_instructor_says_which_of_run_or_user_is_missing(run):
    UserFactory(username="alice")
    with pytest.raises(CommandError) as no_run:
        call_command("make_instructor", "winter", "alice")
    assert str(no_run.value) == "No course run with the slug “winter” (runs: spring)."
    with pytest.raises(CommandError) as no_user:
        call_command("make_instructor", "spring", "nobody")
    assert str(no_user.value) == (
        "No account with the username “nobody”. "
        "Create it first (manage.py createsuperuser, or the sign-up page)."
    )
    assert not CourseRun.objects.get(slug="spring").memberships.exists()
