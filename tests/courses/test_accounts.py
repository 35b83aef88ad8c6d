"""Accounts: signing up with an invitation code (confirmed by an emailed link), resetting a
forgotten password, and the set-password link an account made from a roster gets."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from courses import services
from courses.models import Membership
from courses.selectors import run_role
from tests.factories import CourseRunFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()

SIGNUP = {
    "username": "minjun",
    "email": "minjun@example.com",
    "password": "correct horse 7",
    "code": "kq7mx3pa",
}


@pytest.fixture
def run():
    return CourseRunFactory(slug="spring", title="Spring 2027", invitation_code="KQ7MX3PA")


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def texts(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def link_in(message, prefix: str) -> str:
    """The path of the one link in an email that starts with `prefix`."""
    [path] = re.findall(rf"http://testserver({re.escape(prefix)}\S+)", message.body)
    return path


def sign_up(client, capture, **changes):
    with capture(execute=True):
        return client.post("/join/", {**SIGNUP, **changes})


# Sign-up --------------------------------------------------------------------------------------


def test_signing_up_mails_a_link_and_the_account_cannot_log_in_before_it_is_followed(
    run, client, django_capture_on_commit_callbacks
):
    response = sign_up(client, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert (
        "We sent a link to minjun@example.com. Follow it to confirm your address: then your account "
        "works and you are a member of the course run." in response.content.decode()
    )
    user = User.objects.get(username="minjun")
    assert (user.email, user.is_active) == ("minjun@example.com", False)
    assert not run.memberships.exists()
    assert Client().login(username="minjun", password="correct horse 7") is False
    [message] = mail.outbox
    assert message.to == ["minjun@example.com"]
    assert message.subject == "Layerlab: confirm your email"
    assert "You signed up for Layerlab as minjun, to join “Spring 2027”." in message.body
    assert "Open this link within 72 hours to confirm your email" in message.body


def test_following_the_link_activates_the_account_logs_in_and_enrols(
    run, client, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0], "/join/confirm/")
    response = client.get(link, follow=True)
    assert response.redirect_chain == [("/join/", 302)]
    assert texts(response) == ["Your email is confirmed and you are a member of “Spring 2027”."]
    assert response.context["user"].get_username() == "minjun"
    assert "<strong>Spring 2027</strong>" in response.content.decode()
    user = User.objects.get(username="minjun")
    assert user.is_active and run_role(user, run) == "student"
    assert Client().login(username="minjun", password="correct horse 7") is True

    again = Client(HTTP_ACCEPT_LANGUAGE="en").get(link, follow=True)
    assert again.redirect_chain == [("/login/", 302)]
    assert texts(again) == ["Your email was confirmed before. Log in."]
    assert Membership.objects.filter(user=user).count() == 1


def test_the_sign_up_is_honoured_even_if_joining_closed_before_the_link_was_followed(
    run, client, django_capture_on_commit_callbacks
):
    sign_up(client, django_capture_on_commit_callbacks)
    run.joining_open = False
    run.save()
    client.get(link_in(mail.outbox[0], "/join/confirm/"))
    assert run_role(User.objects.get(username="minjun"), run) == "student"


def test_a_tampered_or_expired_link_is_refused(run, client, settings, django_capture_on_commit_callbacks):
    sign_up(client, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0], "/join/confirm/")
    tampered = client.get(link.replace("/confirm/", "/confirm/x"))
    assert tampered.status_code == 400
    assert "This confirmation link is invalid or has expired. Sign up again." in tampered.content.decode()
    settings.LAYERLAB_SIGNUP_CONFIRM_SECONDS = -1
    expired = client.get(link)
    assert expired.status_code == 400
    assert "This confirmation link is invalid or has expired. Sign up again." in expired.content.decode()
    assert User.objects.get(username="minjun").is_active is False
    assert not run.memberships.exists()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code": "WRONG234"}, "No course run has this invitation code."),
        ({"username": "taken"}, "This username is taken. Choose another."),
        ({"username": "TAKEN"}, "This username is taken. Choose another."),
        ({"email": "Owner@Example.com"}, "An account with this email exists. Log in, or reset its password."),
        ({"password": "short"}, "This password is too short. It must contain at least 8 characters."),
        ({"username": "has space"}, "Enter a valid username."),
    ],
    ids=["wrong-code", "taken", "taken-other-case", "email-of-an-account", "short-password", "bad-username"],
)
def test_a_refused_sign_up_says_why_on_the_form_and_writes_nothing(
    run, client, django_capture_on_commit_callbacks, changes, error
):
    UserFactory(username="taken", email="owner@example.com")
    response = sign_up(client, django_capture_on_commit_callbacks, **changes)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert User.objects.count() == 1 and mail.outbox == []


def test_a_closed_run_refuses_sign_ups(run, client, django_capture_on_commit_callbacks):
    run.joining_open = False
    run.save()
    response = sign_up(client, django_capture_on_commit_callbacks)
    assert "Joining “Spring 2027” is closed. Ask your instructor." in response.content.decode()
    assert not User.objects.exists()


def test_an_expired_unconfirmed_sign_up_frees_its_username(run, client, django_capture_on_commit_callbacks):
    stale = User.objects.create_user("minjun", "typo@example.con", "whatever 12", is_active=False)
    User.objects.filter(pk=stale.pk).update(date_joined=timezone.now() - timedelta(days=4))
    sign_up(client, django_capture_on_commit_callbacks)
    assert list(User.objects.values_list("username", "email")) == [("minjun", "minjun@example.com")]


def test_a_recent_unconfirmed_sign_up_keeps_its_username(run, client, django_capture_on_commit_callbacks):
    User.objects.create_user("minjun", "first@example.com", "whatever 12", is_active=False)
    response = sign_up(client, django_capture_on_commit_callbacks)
    assert "This username is taken. Choose another." in response.content.decode()


def test_the_sign_up_page_takes_the_code_from_the_link_and_offers_to_log_in(run, client):
    page = client.get("/join/?code=kq7mx3pa").content.decode()
    assert 'name="code" value="kq7mx3pa"' in page
    assert 'href="/login/?next=%2Fjoin%2F%3Fcode%3DKQ7MX3PA"' in page
    assert "Already have an account? Log in" in page


def test_the_sign_up_email_follows_the_page_language(run, django_capture_on_commit_callbacks):
    sign_up(Client(HTTP_ACCEPT_LANGUAGE="ko"), django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.subject == "Layerlab: 이메일 주소를 확인하세요"


# Password reset -------------------------------------------------------------------------------


def test_the_login_page_links_to_password_reset_and_sign_up(client):
    page = client.get("/login/").content.decode()
    assert '<a href="/password-reset/">Forgot your password?</a>' in page
    assert '<a href="/join/">No account? Sign up with an invitation code</a>' in page
    korean = Client().get("/login/").content.decode()
    assert '<a href="/password-reset/">비밀번호를 잊으셨나요?</a>' in korean


def set_password_by_link(client, link: str, password: str):
    """Django's confirm view moves the token out of the address first, then takes the form."""
    response = client.get(link)
    assert response.status_code == 302
    form_url = response["Location"]
    assert form_url.endswith("/set-password/")
    return client.get(form_url), client.post(form_url, {"new_password1": password, "new_password2": password})


def test_a_forgotten_password_is_reset_by_the_emailed_link_once(client):
    UserFactory(username="alice", email="alice@example.com")
    response = client.post("/password-reset/", {"email": "ALICE@example.com"}, follow=True)
    assert response.redirect_chain == [("/password-reset/sent/", 302)]
    assert "If an account has this email, a link to set a new password is on its way." in (
        response.content.decode()
    )
    [message] = mail.outbox
    assert (message.to, message.subject) == (["alice@example.com"], "Layerlab: set a new password")
    link = link_in(message, "/reset/")
    form_page, done = set_password_by_link(client, link, "new secret 42")
    assert "For the account alice." in form_page.content.decode()
    assert (done.status_code, done["Location"]) == (302, "/reset/done/")
    assert "Your password is set. Log in with it." in client.get("/reset/done/").content.decode()
    assert Client().login(username="alice", password="new secret 42") is True

    used = Client(HTTP_ACCEPT_LANGUAGE="en").get(link, follow=True)
    assert "This link is not valid: it was used already, or it has expired." in used.content.decode()


def test_a_reset_for_an_unknown_or_unconfirmed_email_says_the_same_and_sends_nothing(client):
    User.objects.create_user("pending", "pending@example.com", "whatever 12", is_active=False)
    for email in ("nobody@example.com", "pending@example.com"):
        response = client.post("/password-reset/", {"email": email}, follow=True)
        assert response.redirect_chain == [("/password-reset/sent/", 302)]
    assert mail.outbox == []


# Accounts made from a roster ------------------------------------------------------------------


def import_one(run, capture) -> User:
    with translation.override("en"), capture(execute=True):
        services.roster_import(
            run=run,
            csv_text="email,username,name\nkim@example.com,kim,김민준\n",
            dry_run=False,
            link_base="http://testserver",
        )
    return User.objects.get(username="kim")


def test_an_account_made_from_a_roster_sets_its_password_with_the_emailed_link(
    run, client, django_capture_on_commit_callbacks
):
    kim = import_one(run, django_capture_on_commit_callbacks)
    assert kim.is_active and not kim.has_usable_password()
    [message] = mail.outbox
    assert message.to == ["kim@example.com"]
    assert message.subject == "Layerlab: your account for “Spring 2027”"
    assert "Your instructor added you to “Spring 2027” on Layerlab. Your username is kim." in message.body
    assert "Later, log in at http://testserver/login/." in message.body
    form_page, done = set_password_by_link(client, link_in(message, "/reset/"), "kim's secret 1")
    assert "For the account kim." in form_page.content.decode()
    assert done["Location"] == "/reset/done/"
    fresh = Client()
    assert fresh.login(username="kim", password="kim's secret 1") is True
    assert run_role(kim, run) == "student"


def test_a_roster_account_that_lost_its_link_can_ask_for_one(run, client, django_capture_on_commit_callbacks):
    import_one(run, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    client.post("/password-reset/", {"email": "kim@example.com"})
    [message] = mail.outbox
    _form_page, done = set_password_by_link(client, link_in(message, "/reset/"), "kim's secret 2")
    assert done["Location"] == "/reset/done/"
    assert Client().login(username="kim", password="kim's secret 2") is True


def test_an_instructor_can_email_the_set_password_link_again(run, django_capture_on_commit_callbacks):
    kim = import_one(run, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    assistant = Client()
    assistant.force_login(MembershipFactory(run=run, role=Membership.Role.ASSISTANT).user)
    membership = Membership.objects.get(user=kim)
    assert assistant.post(f"/runs/spring/roster/{membership.pk}/password-link/").status_code == 403
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(MembershipFactory(run=run, role=Membership.Role.INSTRUCTOR).user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/runs/spring/roster/{membership.pk}/password-link/", follow=True)
    assert texts(response) == ["A link to set a password was emailed to kim@example.com."]
    assert [m.to for m in mail.outbox] == [["kim@example.com"]]
    kim.set_password("now set 123")
    kim.save()
    response = client.post(f"/runs/spring/roster/{membership.pk}/password-link/", follow=True)
    assert texts(response) == ["This account already has a password."]
