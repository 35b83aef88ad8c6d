"""The client's own texts and what it does to the server's before a terminal sees them."""

from __future__ import annotations

import io
import string

import pytest
from layerlab_client.messages import STATES, TEXTS, VERDICTS, Say, language
from layerlab_client.render import Plain, clean


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_text_has_both_languages_with_the_same_fields(key: str) -> None:
    en, ko = TEXTS[key]
    assert en and ko and en != ko
    assert _fields(en) == _fields(ko)


def test_verdicts_and_step_states_are_named_in_both_languages() -> None:
    assert all(en and ko for en, ko in [*VERDICTS.values(), *STATES.values()])


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LC_ALL": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LAYERLAB_LANG": "en", "LC_ALL": "ko_KR.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_the_language_follows_the_locale(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name in ("LAYERLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert language() == expected
    assert language("ko") == "ko"


def test_escapes_in_a_build_log_never_reach_the_terminal() -> None:
    hostile = (
        "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m "  # a window title, clear screen, colour
        "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ "  # a hyperlink
        "\rback\x08\x9b6n 한글"  # carriage return, backspace, an 8-bit query
    )
    assert clean(hostile) == "red link back 한글"
    assert clean("x" * 5000) == "x" * 1999 + "…"


def test_a_log_line_is_printed_clean_and_only_with_verbose() -> None:
    event = {
        "seq": 3,
        "kind": "log",
        "payload": {"lines": [{"step": "#5", "line": "\x1b[2Jhello\x1b]0;t\x07"}]},
    }
    quiet, loud = io.StringIO(), io.StringIO()
    Plain(Say("en"), quiet).event(event)
    Plain(Say("en"), loud, verbose=True).event(event)
    assert quiet.getvalue() == ""
    assert loud.getvalue() == "  │ hello\n"


def test_a_failed_check_prints_its_line_why_and_fix_in_korean() -> None:
    out = io.StringIO()
    Plain(Say("ko"), out).event(
        {
            "seq": 9,
            "kind": "check",
            "payload": {
                "criterion": "sec.final_user",
                "verdict": "fail",
                "lines": [4],
                "title": {"en": "Non-root user", "ko": "root가 아닌 사용자"},
                "detail": {"en": "line 4: root", "ko": "4번째 줄: root"},
                "fix": {"en": "Add USER", "ko": "USER를 추가하세요:\n```\nUSER 10001\n```"},
            },
        }
    )
    assert out.getvalue().splitlines() == [
        "✗ 실패    root가 아닌 사용자 (4번째 줄)",
        "    4번째 줄: root",
        "    → USER를 추가하세요:",
        "      USER 10001",
    ]
