"""The roster and sign-up in a real browser on a phone-sized screen, by keyboard only: the
preview's rows survive the round trip through the confirm form, and no page scrolls sideways."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from courses.models import Membership
from tests.browser import PHONE, login
from tests.factories import CourseRunFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def press_on(page: Page, selector: str, key: str = "Enter") -> None:
    page.focus(selector)
    page.keyboard.press(key)


def test_an_instructor_imports_a_class_by_keyboard_on_a_phone(browser: Browser, live_server) -> None:
    run = CourseRunFactory(slug="spring", title="Spring 2027")
    MembershipFactory(run=run, user=UserFactory(username="prof"), role=Membership.Role.INSTRUCTOR)
    page = browser.new_page(viewport=PHONE, locale="en-US", extra_http_headers={"Accept-Language": "en"})
    login(page, live_server.url, "prof")
    page.goto(f"{live_server.url}/runs/spring/roster/")
    no_sideways_scroll(page)
    page.focus("#id_text")
    page.keyboard.insert_text('email,username,name\nkim@example.com,,"김, 민준"\nlee@example.com,,이서연\n')
    page.keyboard.press("Tab")  # past the paste box to the Preview button
    page.keyboard.press("Enter")
    expect(page.locator("#preview h2")).to_have_text("Preview: nothing is written yet")
    expect(page.locator("#preview tbody tr")).to_have_count(2)
    expect(page.locator("#preview tbody tr").first).to_contain_text("김, 민준")
    no_sideways_scroll(page)
    press_on(page, "#preview button.primary")
    expect(page.locator(".messages li")).to_have_text(
        "2 accounts created; each was emailed a link to set its password."
    )
    expect(page.locator('tr[data-username="kim"] td').nth(1)).to_have_text("김, 민준")
    assert sorted(m.to[0] for m in mail.outbox) == ["kim@example.com", "lee@example.com"]
    no_sideways_scroll(page)


def test_a_student_signs_up_by_keyboard_on_a_phone(browser: Browser, live_server) -> None:
    run = CourseRunFactory(slug="spring", title="Spring 2027", invitation_code="KQ7MX3PA")
    page = browser.new_page(viewport=PHONE, locale="ko-KR", extra_http_headers={"Accept-Language": "ko"})
    page.goto(f"{live_server.url}/join/?code=kq7mx3pa")
    expect(page.locator("h1")).to_have_text("가입하기")
    no_sideways_scroll(page)
    page.focus("#id_username")
    page.keyboard.type("minjun")
    page.keyboard.press("Tab")
    page.keyboard.type("minjun@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse 7")
    page.keyboard.press("Tab")
    expect(page.locator("#id_code")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("이메일을 확인하세요")
    [message] = mail.outbox
    link = re.search(r"http://\S+/join/confirm/\S+/", message.body)
    assert link is not None
    page.goto(link.group(0))
    expect(page.locator(".messages li")).to_have_text("이메일이 확인되어 “Spring 2027”에 참여했습니다.")
    assert run.memberships.filter(user__username="minjun", role="student").exists()
