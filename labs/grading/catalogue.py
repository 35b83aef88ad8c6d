"""The criteria catalogue: stable ids, categories, the evidence each criterion needs, its anchors
in the reference tools, and the teaching text that goes with every result, in English and Korean.

A criterion is declared once, as data: an entry in `labs/grading/texts/<family>.yaml`, keyed by
its id. Its check is the function named after the id without its prefix (`<prefix>.<name>` is
judged by `<name>`) in the family's module; `labs/grading/registry.py` puts the two together from an
explicit list of families. A check receives a `Say` bound to its criterion, so it never writes
its own id, and takes the words it reports from the entry's `says:` templates.

Text is formatted by one formatter: `{name}` is a value, `{name:을}` the value followed by the
Korean particle that fits how it is read (`install`을, `update`를, `npm ci`로). Failure messages
(refusals and build failures, which `sandbox` gives in English with a stable code) are
translated from `texts/failures.yaml` by the same formatter.

Nothing here talks to Docker or Django."""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import yaml

from sandbox import failures

Category = Literal["optimisation", "security", "correctness"]
Source = Literal["dockerfile", "image", "run"]
Verdict = Literal["pass", "partial", "fail", "skip"]

CATEGORIES: tuple[Category, ...] = ("optimisation", "security", "correctness")
PREFIX: dict[Category, str] = {"optimisation": "opt.", "security": "sec.", "correctness": "run."}
SOURCES: tuple[Source, ...] = ("dockerfile", "image", "run")
LANGUAGES = ("en", "ko")
TEXTS = Path(__file__).resolve().parent / "texts"


class Text(NamedTuple):
    """Student-facing text in both languages the interface speaks."""

    en: str
    ko: str

    def get(self, language: str) -> str:
        return self.ko if language.startswith("ko") else self.en


NO_TEXT = Text("", "")

# --- the formatter -----------------------------------------------------------------------------

_JOSA = {"을": "를", "이": "가", "은": "는", "과": "와", "으로": "로"}
PARTICLES = frozenset(_JOSA) | frozenset(_JOSA.values())
_TAIL = re.compile(r"([0-9A-Za-z\uac00-\ud7a3]+)[^0-9A-Za-z\uac00-\ud7a3]*$")


def particle(word: str, given: str) -> str:
    """`word` with the Korean particle that fits how it is read (`install`을, `update`를,
    `npm ci`로); `given` may be either form (을 or 를). English words are read with a final
    consonant after l, m, n and ng; digits as Sino-Korean numbers."""
    batchim_form = next((k for k, v in _JOSA.items() if given in (k, v)), given)
    match = _TAIL.search(word)
    tail = match.group(1) if match else ""
    last = tail[-1:].lower()
    if last and "\uac00" <= last <= "\ud7a3":
        jong = (ord(last) - 0xAC00) % 28
        batchim, rieul = jong != 0, jong == 8
    elif last.isdigit():
        batchim, rieul = last in "013678", last in "178"
    else:
        batchim, rieul = last in ("l", "m", "n") or tail.lower().endswith("ng"), last == "l"
    if batchim_form == "으로":
        return word + ("으로" if batchim and not rieul else "로")
    return word + (batchim_form if batchim else _JOSA[batchim_form])


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec in PARTICLES:
            return particle(format(value), format_spec)
        return str(super().format_field(value, format_spec))


_FORMATTER = _Formatter()


def render(template: str, /, **params: Any) -> str:
    return _FORMATTER.vformat(template, (), params)


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in _FORMATTER.parse(template) if name}


# --- the data ------------------------------------------------------------------------------------


def _text(where: str, value: Any) -> Text:
    if not isinstance(value, Mapping) or set(value) != set(LANGUAGES):
        raise CatalogueError(f"{where}: needs exactly en and ko, got {sorted(value) if value else value}")
    if not all(isinstance(value[lang], str) and value[lang].strip() for lang in LANGUAGES):
        raise CatalogueError(f"{where}: en and ko must both be non-empty text")
    return Text(value["en"], value["ko"])


class CatalogueError(ValueError):
    """A texts/*.yaml entry is malformed: ours to fix, found by the tests."""


@dataclass(frozen=True)
class Criterion:
    id: str
    category: Category
    source: Source
    title: Text
    why: Text
    fix: Text
    anchors: tuple[str, ...] = ()  # what the reference tools call it: "hadolint DL3009", "dockle CIS-DI-0001"
    default_weight: int = 5
    needs: tuple[str, ...] = ()  # the evidence (pipeline jobs) an image or run criterion is judged from
    options: Mapping[str, Any] = field(default_factory=dict)  # rubric options and their defaults
    says: Mapping[str, Text] = field(default_factory=dict)  # result texts by key, with {fields}
    in_default_rubric: bool = True  # counted when an exercise has no rubric of its own

    @property
    def name(self) -> str:
        """The check's function name: the id without its prefix."""
        return self.id.split(".", 1)[1]


_ENTRY_KEYS = {
    "category",
    "source",
    "weight",
    "default_rubric",
    "needs",
    "anchors",
    "options",
    "title",
    "why",
    "fix",
    "says",
}


def _says(where: str, entries: Any) -> dict[str, Text]:
    """Result templates by key, each in both languages, the two naming the same values."""
    if entries is not None and not isinstance(entries, Mapping):
        raise CatalogueError(f"{where}: not a mapping")
    says = {key: _text(f"{where}.{key}", value) for key, value in (entries or {}).items()}
    for key, said in says.items():
        if template_fields(said.en) != template_fields(said.ko):
            raise CatalogueError(f"{where}.{key}: en and ko name different values")
    return says


def _criterion(cid: str, entry: Any, family: str) -> Criterion:
    where = f"texts/{family}.yaml: {cid}"
    if not isinstance(entry, Mapping):
        raise CatalogueError(f"{where}: not a mapping")
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise CatalogueError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    category = entry.get("category")
    if category not in CATEGORIES:
        raise CatalogueError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
    if not cid.startswith(PREFIX[category]) or not re.fullmatch(r"[a-z]+\.[a-z][a-z0-9_]*", cid):
        raise CatalogueError(f"{where}: an id in {category} is {PREFIX[category]}<lower_snake_name>")
    if entry.get("source") not in SOURCES:
        raise CatalogueError(f"{where}: source must be one of {', '.join(SOURCES)}")
    says = _says(f"{where}: says", entry.get("says"))
    return Criterion(
        id=cid,
        category=category,
        source=entry["source"],
        title=_text(f"{where}: title", entry.get("title")),
        why=_text(f"{where}: why", entry.get("why")),
        fix=_text(f"{where}: fix", entry.get("fix")),
        anchors=tuple(entry.get("anchors") or ()),
        default_weight=int(entry.get("weight", 5)),
        needs=tuple(entry.get("needs") or ()),
        options=dict(entry.get("options") or {}),
        says=says,
        in_default_rubric=bool(entry.get("default_rubric", True)),
    )


def family_criteria(family: str) -> list[Criterion]:
    """The criteria of `texts/<family>.yaml`, in the order they are written (and reported)."""
    data = yaml.safe_load((TEXTS / f"{family}.yaml").read_text(encoding="utf-8")) or {}
    return [_criterion(cid, entry, family) for cid, entry in data.items()]


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """One criterion's result. `fraction` is the credit in [0, 1]; when None it follows the
    verdict (pass 1, partial 0.5, fail 0). `skip` means it could not be measured (the build
    failed, say) and is left out of the score; a criterion that does not apply (no pip in the
    Dockerfile) is a pass with `value` saying so."""

    criterion: str
    verdict: Verdict
    value: Any = None
    lines: tuple[int, ...] = ()
    detail: Text = NO_TEXT
    fraction: float | None = None

    def credit(self) -> float:
        if self.fraction is not None:
            return max(0.0, min(1.0, self.fraction))
        return {"pass": 1.0, "partial": 0.5, "fail": 0.0, "skip": 0.0}[self.verdict]

    def as_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "verdict": self.verdict,
            "value": self.value,
            "lines": list(self.lines),
            "detail": {"en": self.detail.en, "ko": self.detail.ko},
            "credit": self.credit(),
        }


MAX_SHOWN = 6
"""Findings listed in one result; the rest are counted."""


class Finding(NamedTuple):
    line: int
    en: str
    ko: str


def findings_text(findings: Sequence[Finding]) -> Text:
    """The findings, each on its line, the ones past `MAX_SHOWN` counted (the words that join
    them are the `common:` texts of `texts/failures.yaml`)."""
    shown = list(findings[:MAX_SHOWN])
    item, separator = common_texts()["finding"], common_texts()["separator"]
    en = separator.en.join(render(item.en, line=f.line, text=f.en) for f in shown)
    ko = separator.ko.join(render(item.ko, line=f.line, text=f.ko) for f in shown)
    extra = len(findings) - len(shown)
    if extra:
        more = common_text("more", count=extra)
        en += more.en
        ko += more.ko
    return Text(en, ko)


def lines_of(findings: Iterable[Finding], *more: int) -> tuple[int, ...]:
    return tuple(sorted({f.line for f in findings} | set(more)))


def clip(text: str, size: int = 60) -> str:
    """Student text quoted in feedback, cut short: thousands of findings may quote it."""
    return text if len(text) <= size else text[: size - 1] + "…"


def quote_words(words: Sequence[str], limit: int = 4) -> str:
    shown = " ".join(clip(w) for w in words[:limit])
    return f"`{shown}{' …' if len(words) > limit else ''}`"


class Say:
    """What a check reports, bound to its criterion: results carry its id, and texts come from
    its catalogue entry's `says:` templates."""

    def __init__(self, criterion: Criterion) -> None:
        self.criterion = criterion

    def text(self, key: str, /, **params: Any) -> Text:
        template = self.criterion.says[key]
        return Text(render(template.en, **params), render(template.ko, **params))

    def finding(self, line: int, key: str, /, **params: Any) -> Finding:
        said = self.text(key, **params)
        return Finding(line, said.en, said.ko)

    def result(
        self,
        verdict: Verdict,
        value: Any = None,
        lines: Iterable[int] = (),
        detail: Text = NO_TEXT,
        fraction: float | None = None,
    ) -> CheckResult:
        return CheckResult(self.criterion.id, verdict, value, tuple(sorted(set(lines))), detail, fraction)

    def findings(
        self, verdict: Verdict, value: Any, findings: Sequence[Finding], fraction: float | None = None
    ) -> CheckResult:
        """A result listing `findings`, on their lines."""
        return self.result(verdict, value, lines_of(findings), findings_text(findings), fraction)

    def not_used(self, what: str, what_ko: str) -> CheckResult:
        """A pass for a criterion about a step the Dockerfile does not have (`what`, in each
        language)."""
        template = common_texts()["not_used"]
        return self.result(
            "pass", "not used", (), Text(render(template.en, what=what), render(template.ko, what=what_ko))
        )

    def share(
        self, met: int, total: int, findings: Sequence[Finding], ok: Text, unit: str = "rules"
    ) -> CheckResult:
        """Pass when every rule is met, fail when none is, partial (credit = share met) between."""
        value = f"{met}/{total} {unit}"
        if met == total:
            return self.result("pass", value, (), ok)
        verdict: Verdict = "fail" if met == 0 else "partial"
        return self.findings(verdict, value, findings, None if met == 0 else met / total)

    def skip_ours(self) -> CheckResult:
        """The check failed on our side: left out of the score, and the student told so."""
        return self.result("skip", detail=failure_text("check_failed"))


# --- failure messages ----------------------------------------------------------------------------


@functools.cache
def _failures() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((TEXTS / "failures.yaml").read_text(encoding="utf-8"))
    return {section: dict(entries) for section, entries in data.items()}


def failure_templates(section: str) -> Mapping[str, str]:
    """The Korean templates of one section of `texts/failures.yaml` (`refusals`, `build`, ...)."""
    return _failures()[section]


def failure_text(key: str) -> Text:
    """A fixed message of our own in both languages (`texts/failures.yaml`, section `ours`)."""
    entry = _failures()["ours"][key]
    return Text(entry["en"], entry["ko"])


@functools.cache
def common_texts() -> dict[str, Text]:
    """The generic result texts (`texts/failures.yaml`, section `common`): how findings are
    listed (and a refusal's line in Korean), and the pass for a step a Dockerfile does not have."""
    return _says("texts/failures.yaml: common", _failures().get("common"))


def common_text(key: str, /, **params: Any) -> Text:
    template = common_texts()[key]
    return Text(render(template.en, **params), render(template.ko, **params))


def korean(code: str, message: str, params: Mapping[str, str] | None = None, line: int | None = None) -> str:
    """Korean for a refusal or build failure the sandbox reported in English with a stable code
    and its parameters; the English text when a code or parameter is unknown."""
    texts = _failures()
    params = dict(params or {})

    def on_line(text: str) -> str:  # "3번째 줄: ...", as findings are listed
        return render(common_texts()["finding"].ko, line=line, text=text) if line else text

    if code in texts["prefixed"]:
        return on_line(render(texts["prefixed"][code], message=message.removeprefix(f"line {line}: ")))
    if not params and code in failures.CODES:
        found = failures.parse_message(code, message, line)
        template = texts["build"].get(found[0]) if found else None
        if found is None or template is None:
            return message
        return on_line(render(template, **found[1]))
    refusals = texts["refusals"]
    template = refusals.get(f"{code}:{params['variant']}") if params.get("variant") else refusals.get(code)
    if template is None:
        return message
    try:
        return on_line(render(template, **params))
    except KeyError:
        return message
