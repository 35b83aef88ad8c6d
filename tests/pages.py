"""Reading a rendered page as a person reads it: the text of the elements marked with a
`data-role` (or any attribute), whitespace collapsed, tags dropped."""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Texts(HTMLParser):
    def __init__(self, attr: str, value: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.attr, self.value = attr, value
        self.found: list[str] = []
        self.depth = 0
        self.buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        if self.depth:
            self.depth += 1
            return
        for name, value in attrs:
            if name == self.attr and (self.value is None or value == self.value):
                self.depth, self.buf = 1, []
                return

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not self.depth:
            return
        self.depth -= 1
        if not self.depth:
            self.found.append(" ".join("".join(self.buf).split()))

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.buf.append(data)


def texts(html: str, value: str | None = None, *, attr: str = "data-role") -> list[str]:
    """The text of each element whose `attr` is `value` (any value when None), in page order."""
    parser = _Texts(attr, value)
    parser.feed(html)
    return parser.found


def text(html: str, value: str, *, attr: str = "data-role") -> str:
    """The text of the one element whose `attr` is `value`."""
    found = texts(html, value, attr=attr)
    assert len(found) == 1, f"{len(found)} elements with {attr}={value!r}"
    return found[0]


class _Attrs(HTMLParser):
    def __init__(self, attr: str) -> None:
        super().__init__()
        self.attr = attr
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v or "" for n, v in attrs if n == self.attr]


def attr_values(html: str, attr: str) -> list[str]:
    """Every value of `attr` in the page, in order (e.g. `href`, `data-session`)."""
    parser = _Attrs(attr)
    parser.feed(html)
    return parser.found


class _Headings(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.open = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2", "h3"):
            self.open += 1
            self.found.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3") and self.open:
            self.open -= 1
            self.found[-1] = " ".join(self.found[-1].split())

    def handle_data(self, data: str) -> None:
        if self.open:
            self.found[-1] += data


def headings(html: str) -> list[str]:
    """The text of every h1, h2 and h3, in page order: the outline a screen reader offers."""
    parser = _Headings()
    parser.feed(html)
    return parser.found
