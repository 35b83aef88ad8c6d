"""courses.markdown: the one renderer and sanitiser of lesson Markdown."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import translation

from courses.markdown import (
    HIGHLIGHT_MAX_BYTES,
    RENDERER_VERSION,
    Rendered,
    highlight_file,
    pygments_css,
    render,
)

ROOT = Path(__file__).resolve().parents[2]
SEED_LESSON = Path(__file__).parent / "data" / "week2-day2-session2-image-optimization.ko.md"

# A tree as lessons draw them; a tab and trailing spaces included on purpose.
TREE = (
    "이미지 최적화 기법:\n"
    "\n"
    "베이스 이미지 선택:\n"
    "├── Alpine Linux: 최소 크기 (5MB)\n"
    "│   └── musl libc\t(탭 포함)\n"
    "├── Distroless: Google의 보안 강화 이미지   \n"
    "└── 보안 패치 주기 고려\n"
)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def fence(lang: str, body: str) -> str:
    return f"```{lang}\n{body}```\n"


def code_text(fragment: str) -> str:
    """The text inside the first <code> of a highlighted block, tags removed, entities decoded."""
    inner = re.search(r"<code>(.*?)</code>", fragment, re.S)
    assert inner, fragment
    return html.unescape(re.sub(r"<[^>]+>", "", inner.group(1)))


def test_render_still_returns_a_string_for_existing_callers():
    out = render("hello *world*")
    assert isinstance(out, str)
    assert isinstance(out, Rendered)
    assert "<em>world</em>" in out


def test_dockerfile_block_is_highlighted_with_pygments_spans():
    out = render(fence("dockerfile", "FROM python:3.11-slim AS build\nRUN pip install flask\n"))
    assert 'class="language-dockerfile highlight"' in out
    assert '<span class="k">FROM</span>' in out
    assert '<span class="k">RUN</span>' in out


@pytest.mark.parametrize(
    ("lang", "source", "token"),
    [
        ("bash", "if true; then echo hi; fi\n", '<span class="k">if</span>'),
        ("python", "def f():\n    return 1\n", '<span class="k">def</span>'),
        ("js", "const x = 1;\n", '<span class="kd">const</span>'),
        ("yaml", "services:\n  web: {}\n", '<span class="nt">services</span>'),
    ],
)
def test_other_lesson_languages_are_highlighted(lang, source, token):
    assert token in render(fence(lang, source))


def test_table_is_rendered_with_align_attributes_not_styles():
    out = render("| 이미지 | 크기 |\n|:--|--:|\n| alpine | 5MB |\n")
    assert "<table>" in out
    assert '<th align="left">이미지</th>' in out
    assert '<td align="right">5MB</td>' in out
    assert "style=" not in out


def test_admonitions_become_divs_with_titles():
    out = render('!!! note "알아두기"\n    캐시를 활용하세요.\n\n!!! warning\n    root 금지.\n')
    assert '<div class="admonition note">' in out
    assert '<p class="admonition-title">알아두기</p>' in out
    assert '<div class="admonition warning">' in out


def test_headings_get_ids_permalinks_and_a_table_of_contents():
    out = render("# 제목\n\n## 학습 목표 (5분)\n\n### Build cache\n\n## 학습 목표 (5분)\n")
    assert '<h2 id="학습-목표-5분">' in out
    assert '<h3 id="build-cache">' in out
    assert '<h2 id="학습-목표-5분_1">' in out  # a repeated heading gets its own id
    assert '<a class="headerlink" href="#학습-목표-5분" title="Link to this section"' in out
    toc = out.toc_html
    assert toc.startswith('<div class="toc">')
    assert '<a href="#학습-목표-5분"' in toc
    assert '<a href="#build-cache"' in toc
    assert "제목" not in toc  # the page title (h1) is not listed


def test_mermaid_block_becomes_pre_mermaid_with_escaped_source():
    source = 'graph TB\n    A["Source <Code>"] --> B[Build & Tools]\n'
    out = render(fence("mermaid", source))
    block = re.search(r'<pre class="mermaid"[^>]*>(.*?)</pre>', out, re.S)
    assert block, out
    assert "<code>" not in block.group(1)
    assert "&lt;Code&gt;" in block.group(1)
    assert "--&gt;" in block.group(1)
    assert html.unescape(block.group(1)) == source.rstrip("\n")


def test_box_drawing_tree_in_a_plain_code_block_is_preserved_byte_for_byte():
    out = render(f"트리:\n\n{fence('', TREE)}\n끝.\n")
    assert code_text(out) == TREE


def test_script_tags_are_removed_with_their_content():
    out = render("안녕\n\n<script>alert(1)</script>\n\n<p>x<script>alert(2)</script></p>\n")
    assert "<script" not in out
    assert "alert" not in out


def test_event_attributes_are_stripped_from_raw_html():
    out = render("<img src=x onerror=alert(1)>\n\n<b onclick=\"alert(1)\" onmouseover='x()'>b</b>\n")
    assert "onerror" not in out
    assert "onclick" not in out
    assert "onmouseover" not in out
    assert '<img src="x">' in out


def test_javascript_urls_are_removed_from_markdown_and_html_links():
    out = render(
        '[x](javascript:alert(1))\n\n<a href="javascript:alert(2)">y</a>\n\n[ok](https://docs.docker.com/)\n'
    )
    assert "javascript:" not in out
    assert '<a href="https://docs.docker.com/" rel="noopener noreferrer">ok</a>' in out


def test_iframes_and_style_attributes_are_removed():
    out = render('<iframe src="https://evil.example/">inside</iframe>\n\n<p style="color:red">red</p>\n')
    assert "<iframe" not in out
    assert "inside" not in out
    assert "style=" not in out
    assert "<p>red</p>" in out


def test_ids_are_kept_only_on_headings():
    out = render('<div id="location" class="x">a</div>\n\n<h2 id="mine">Mine</h2>\n')
    assert 'id="location"' not in out
    assert '<h2 id="mine">' in out


@pytest.mark.parametrize("lang", ["mermaid", "html", ""])
def test_onclick_inside_a_code_or_mermaid_block_stays_text(lang):
    out = render(fence(lang, 'A["<b onclick=alert(1)>hi</b>"] --> B\n'))
    assert "<b" not in out
    assert "&lt;b onclick=alert(1)&gt;" in re.sub(r"<[^>]+>", "", out)
    assert "<b onclick=alert(1)>hi</b>" in html.unescape(re.sub(r"<[^>]+>", "", out))


def test_rendered_html_is_cached_by_content_hash_and_renderer_version(monkeypatch):
    import courses.markdown as m

    calls = []
    real = m._render_uncached
    monkeypatch.setattr(m, "_render_uncached", lambda text: calls.append(text) or real(text))
    first = render("## 캐시\n\n본문")
    second = render("## 캐시\n\n본문")
    assert first == second and first.toc_html == second.toc_html
    assert calls == ["## 캐시\n\n본문"]
    render("## 캐시\n\n다른 본문")
    assert len(calls) == 2
    assert RENDERER_VERSION


def test_pygments_stylesheet_in_static_is_current():
    css = (ROOT / "static" / "courses" / "pygments.css").read_text()
    assert css == pygments_css()
    assert ".highlight .k " in css


def test_the_seed_lesson_renders_with_its_korean_headings_and_mermaid_blocks():
    text = SEED_LESSON.read_text(encoding="utf-8")
    out = render(text)
    assert "<h1 id=" in out and "이미지 최적화 및 빌드 전략" in out
    for heading in ("학습 목표 (5분)", "1. 이론: 멀티 스테이지 빌드 아키텍처 (20분)", "빌드 성능 측정 예시"):
        assert f'{heading}<a class="headerlink"' in out
        assert heading in out.toc_html
    mermaid = re.findall(r'<pre class="mermaid"[^>]*>(.*?)</pre>', out, re.S)
    assert len(mermaid) == text.count("```mermaid") == 2
    assert mermaid[0].startswith("graph TB")
    assert mermaid[1].startswith("sequenceDiagram")
    assert "Client-&gt;&gt;Daemon: docker build" in mermaid[1]
    assert out.count('class="language-dockerfile highlight"') == text.count("```dockerfile")
    assert "├── Alpine Linux: 최소 크기 (5MB)\n" in out


def test_tables_diagrams_and_code_scroll_in_named_boxes_reachable_by_keyboard():
    text = (
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        + fence("mermaid", "graph LR\nA-->B\n")
        + "\n"
        + fence("python", "x = 1\n")
    )
    with translation.override("en"):
        out = render(text)
    assert '<div class="scroll-box" tabindex="0" role="region" aria-label="Table"><table>' in out
    assert out.count("</table></div>") == 1
    assert '<pre class="mermaid" tabindex="0" role="region" aria-label="Diagram">graph LR' in out
    assert (
        '<div class="language-python highlight"><pre tabindex="0" role="region" aria-label="Code block">'
        in out
    )
    with translation.override("ko"):
        korean = render(text)  # the same cached rendering, named in the page's language
    assert 'aria-label="표"' in korean and 'aria-label="다이어그램"' in korean
    assert 'aria-label="코드 블록"' in korean


def test_a_context_file_is_highlighted_by_its_type_and_bounded():
    python = highlight_file("src/app.py", "import os\n")
    assert python.language == "Python"
    assert python.html.startswith(
        '<div class="highlight"><pre><span></span><code><span class="kn">import</span>'
    )
    go_mod = highlight_file("go.mod", "module example.com/x\n")
    assert go_mod == type(go_mod)('<pre class="plain"><code>module example.com/x\n</code></pre>', "")
    unknown = highlight_file("notes.weird", "<b>hi</b>")
    assert unknown.html == '<pre class="plain"><code>&lt;b&gt;hi&lt;/b&gt;</code></pre>'
    big = highlight_file("big.py", "x = 1\n" * (HIGHLIGHT_MAX_BYTES // 6 + 1))
    assert big.language == "" and big.html.startswith('<pre class="plain"><code>x = 1\n')
    hostile = highlight_file("evil.js", "</code></pre><script>alert(1)</script>")
    assert "<script>" not in hostile.html and "&lt;script&gt;" in hostile.html
