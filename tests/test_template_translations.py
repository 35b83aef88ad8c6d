"""Every fixed text a template asks `{% translate %}` for comes out in Korean on a Korean page.
The tag looks a text up with its percent signs doubled (`%(n)s` as `%%(n)s`), so a catalogue
entry written with single ones is never found and the page stays English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TAG = re.compile(r"""\{% translate (?P<q>['"])(?P<text>.+?)(?P=q)(?P<rest> [^%]*)? %\}""")


def _texts() -> list[str]:
    found: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        for m in TAG.finditer(path.read_text(encoding="utf-8")):
            if re.search(r"[A-Za-z]{2}", m["text"]) and " as " not in (m["rest"] or ""):
                found.add(m["text"])
    return sorted(found)


KEPT = {"English"}  # the language switcher names each language in itself
TEXTS = [t for t in _texts() if t not in KEPT]


def test_the_templates_ask_for_texts_with_placeholders_too() -> None:
    assert len(TEXTS) > 100
    assert "base layer %(n)s" in TEXTS


@pytest.mark.parametrize("text", TEXTS)
def test_each_template_text_has_a_korean_translation(text: str) -> None:
    quote = "'" if "'" not in text else '"'
    with translation.override("ko"):
        korean = Template("{% load i18n %}{% translate " + quote + text + quote + " %}").render(Context())
    assert korean != text, f"no Korean for {text!r} (in locale/ko/LC_MESSAGES/django.po; a % doubled as %%)"
    assert sorted(re.findall(r"%\(\w+\)s|\{\w+\}", korean)) == sorted(re.findall(r"%\(\w+\)s|\{\w+\}", text))
