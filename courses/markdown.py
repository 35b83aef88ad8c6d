"""The one Markdown renderer and sanitiser.

Python-Markdown (with pymdown-extensions) turns a lesson into HTML: code highlighted by Pygments
on the server, tables, admonitions, heading anchors and a table of contents, and ```mermaid
blocks left as escaped source in ``<pre class="mermaid">`` for Mermaid JS to draw in the browser.
Python-Markdown does not sanitise, so everything it produces goes through nh3, even an
instructor's text. Rendered HTML is cached by a hash of the text and ``RENDERER_VERSION``.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any

import markdown as md
import nh3
from django.core.cache import cache
from django.utils.translation import gettext as _
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_for_filename
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound
from pymdownx.slugs import slugify

# Bump whenever the extensions, their options or the sanitiser's allow-lists change: cached HTML
# from an older renderer is then never served.
RENDERER_VERSION = "3"
CACHE_SECONDS = 7 * 24 * 3600
PYGMENTS_STYLE = "default"  # a light theme; static/courses/pygments.css is generated from it
PYGMENTS_CSS_CLASS = "highlight"

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
# ids only where the renderer puts them (headings): an id elsewhere could clobber page globals.
_HEADING_ATTRS = {"class", "id"}
_ATTRS = {
    "*": {"class"},
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    **{f"h{n}": _HEADING_ATTRS for n in range(1, 7)},
}
# Dropped together with everything inside them, not just unwrapped.
_CLEAN_CONTENT_TAGS = {"script", "style", "iframe", "object", "embed", "noscript", "template"}


class Rendered(str):
    """Sanitised lesson HTML (the string itself) plus its sanitised table of contents.

    A ``str`` so that ``render(text)`` keeps working wherever a string is expected;
    ``toc_html`` is the ``<div class="toc">`` list of the headings, for a side bar.
    """

    toc_html: str

    def __new__(cls, body_html: str, toc_html: str = "") -> Rendered:
        obj = super().__new__(cls, body_html)
        obj.toc_html = toc_html
        return obj


def _fence_mermaid(source: str, language: str, class_name: str, options: Any, md: Any, **kwargs: Any) -> str:
    """A ```mermaid block: its source, escaped, for Mermaid JS to read and replace with an SVG."""
    return f'<pre class="mermaid">{html.escape(source, quote=False)}</pre>'


def _extensions() -> tuple[list[str], dict[str, dict[str, Any]]]:
    extensions = [
        "tables",
        "admonition",
        "sane_lists",
        "toc",
        "pymdownx.highlight",
        "pymdownx.superfences",
    ]
    configs: dict[str, dict[str, Any]] = {
        "tables": {"use_align_attribute": True},  # not style="", which the sanitiser drops
        "toc": {
            "permalink": True,
            "permalink_title": "Link to this section",
            "toc_depth": "2-4",
            "slugify": slugify(case="lower"),  # keeps Korean letters in ids
        },
        "pymdownx.highlight": {
            "use_pygments": True,
            "css_class": PYGMENTS_CSS_CLASS,
            "guess_lang": False,
            "pygments_lang_class": True,
        },
        "pymdownx.superfences": {
            "custom_fences": [{"name": "mermaid", "class": "mermaid", "format": _fence_mermaid}],
            "preserve_tabs": True,  # a tab inside a code block stays a tab
        },
    }
    return extensions, configs


def _sanitise(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=_TAGS,
        attributes=_ATTRS,
        clean_content_tags=_CLEAN_CONTENT_TAGS,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def _render_uncached(text: str) -> tuple[str, str]:
    extensions, configs = _extensions()
    converter = md.Markdown(extensions=extensions, extension_configs=configs, output_format="html")
    body = converter.convert(text)
    toc = getattr(converter, "toc", "")
    return _sanitise(body), _sanitise(toc)


def render(text: str) -> Rendered:
    """Markdown to safe HTML; ``.toc_html`` on the result holds the table of contents."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    key = f"courses.markdown:{RENDERER_VERSION}:{digest}"
    cached = cache.get(key)
    if cached is None:
        cached = _render_uncached(text)
        cache.set(key, cached, CACHE_SECONDS)
    body, toc = cached
    return Rendered(_scroll_boxes(body), toc)


_TABLE_OPEN = re.compile(r"<table\b")
_CODE_OPEN = re.compile(r'<pre(?! class="mermaid")(?=[ >])')


def _scroll_boxes(body: str) -> str:
    """Wide tables, diagrams and code scroll sideways in their own box (on a phone too) rather
    than shrink or break words; a box that scrolls is reachable by keyboard (tabindex) and named
    for a screen reader. Done on the sanitised HTML, where a `<` is always a tag, and after the
    cache, so the names follow the page's language."""

    def box(label: str) -> str:
        return f'tabindex="0" role="region" aria-label="{html.escape(label)}"'

    body = _TABLE_OPEN.sub(f'<div class="scroll-box" {box(_("Table"))}><table', body)
    body = body.replace("</table>", "</table></div>")
    body = body.replace('<pre class="mermaid">', f'<pre class="mermaid" {box(_("Diagram"))}>')
    return _CODE_OPEN.sub(f"<pre {box(_('Code block'))}", body)


def render_preview(text: str) -> Rendered:
    """The same rendering, not cached: an author's preview changes with every keystroke, and
    caching each draft would only push the lessons' own entries out of the cache."""
    body, toc = _render_uncached(text)
    return Rendered(_scroll_boxes(body), toc)


def pygments_css() -> str:
    """The stylesheet for highlighted code, as written to static/courses/pygments.css."""
    header = (
        f"/* Generated by courses.markdown.pygments_css() from Pygments' {PYGMENTS_STYLE!r} style."
        " Do not edit. */\n"
    )
    formatter = HtmlFormatter(style=PYGMENTS_STYLE)
    selector = f".{PYGMENTS_CSS_CLASS}"
    # Only rules under .highlight: the line-number rules Pygments adds are global and unused here.
    rules = formatter.get_background_style_defs(selector) + formatter.get_token_style_defs(selector)
    return header + "\n".join(rules) + "\n"


HIGHLIGHT_MAX_BYTES = 64 * 1024
# Names whose extension misleads Pygments (go.mod is not Modula-2).
_PLAIN_NAMES = {"go.mod", "go.sum", ".dockerignore", ".gitignore"}


@dataclass(frozen=True)
class Highlighted:
    html: str
    """Safe HTML: the file's text, escaped, in Pygments' spans when highlighted."""
    language: str
    """What the file was highlighted as ("" when it was not)."""


def highlight_file(path: str, text: str) -> Highlighted:
    """A file shown as the lesson shows code: Pygments on the server, the same style sheet
    (static/courses/pygments.css). Highlighting is bounded: a file over HIGHLIGHT_MAX_BYTES is
    shown as plain escaped text, and so is a name Pygments does not know."""
    name = path.rsplit("/", 1)[-1]
    plain = Highlighted(f'<pre class="plain"><code>{html.escape(text)}</code></pre>', "")
    if len(text.encode("utf-8")) > HIGHLIGHT_MAX_BYTES or name in _PLAIN_NAMES:
        return plain
    try:
        lexer = get_lexer_for_filename(name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return plain
    if isinstance(lexer, TextLexer):
        return plain
    formatter = HtmlFormatter(style=PYGMENTS_STYLE, cssclass=PYGMENTS_CSS_CLASS, wrapcode=True)
    return Highlighted(pygments_highlight(text, lexer, formatter), lexer.name)
